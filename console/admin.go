package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/storage"
)

type accountsData struct {
	Accounts  []storage.StaffAccount
	Roles     []string
	Created   string // name of the account just created or reset
	Generated string // its one-time password, shown once
}

func (c *Console) showAccounts(ctx *gin.Context, status int, errMsg string, d accountsData) {
	accs, err := c.db.StaffAccounts(ctx.Request.Context())
	if err != nil {
		c.fail(ctx, err)
		return
	}
	d.Accounts, d.Roles = accs, Roles
	c.render(ctx, status, "accounts", view{Title: "アカウント", Nav: "accounts", Error: errMsg, Data: d})
}

func (c *Console) handleAccounts(ctx *gin.Context) {
	c.showAccounts(ctx, http.StatusOK, "", accountsData{})
}

func (c *Console) handleAccountCreate(ctx *gin.Context) {
	u := current(ctx)
	name := strings.TrimSpace(ctx.PostForm("name"))
	gen, err := c.accounts.Create(ctx.Request.Context(), name, ctx.PostForm("role"), "", u.Name)
	switch {
	case errors.Is(err, storage.ErrExists):
		c.showAccounts(ctx, http.StatusConflict, "「"+name+"」というアカウントはすでにあります。", accountsData{})
		return
	case err != nil && (errors.Is(err, ErrBadName) || !ValidRole(ctx.PostForm("role"))):
		c.showAccounts(ctx, http.StatusUnprocessableEntity, "名前または権限が正しくありません。"+ErrBadName.Error()+"。", accountsData{})
		return
	case err != nil:
		c.fail(ctx, err)
		return
	}
	c.showAccounts(ctx, http.StatusOK, "", accountsData{Created: name, Generated: gen})
}

// handleAccountUpdate applies one action from the accounts table: role,
// disable, enable, or reset (a new one-time password).
func (c *Console) handleAccountUpdate(ctx *gin.Context) {
	u := current(ctx)
	name := ctx.Param("name")
	if name == u.Name && ctx.PostForm("action") != "reset" {
		c.showAccounts(ctx, http.StatusUnprocessableEntity, "自分のアカウントの権限や有効・無効は変更できません。", accountsData{})
		return
	}
	var err error
	var gen string
	switch ctx.PostForm("action") {
	case "role":
		err = c.accounts.SetRole(ctx.Request.Context(), name, ctx.PostForm("role"), u.Name)
	case "disable":
		err = c.accounts.SetDisabled(ctx.Request.Context(), name, true, u.Name)
	case "enable":
		err = c.accounts.SetDisabled(ctx.Request.Context(), name, false, u.Name)
	case "reset":
		keep := ""
		if name == u.Name {
			keep = u.sessionHash
		}
		gen, err = c.accounts.SetPassword(ctx.Request.Context(), name, "", u.Name, keep)
	default:
		c.showAccounts(ctx, http.StatusUnprocessableEntity, "不明な操作です。", accountsData{})
		return
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		c.showAccounts(ctx, http.StatusNotFound, "そのアカウントはありません。", accountsData{})
	case err != nil && strings.HasPrefix(err.Error(), "unknown role"):
		c.showAccounts(ctx, http.StatusUnprocessableEntity, "権限が正しくありません。", accountsData{})
	case err != nil:
		c.fail(ctx, err)
	case gen != "":
		c.showAccounts(ctx, http.StatusOK, "", accountsData{Created: name, Generated: gen})
	default:
		ctx.Redirect(http.StatusSeeOther, "/admin/accounts?ok=account")
	}
}

type tokensData struct {
	Tokens  []storage.APIToken
	Roles   []string
	Name    string // the token just created
	Token   string // shown once
	Example string
}

func (c *Console) showTokens(ctx *gin.Context, status int, errMsg string, d tokensData) {
	ts, err := c.db.APITokens(ctx.Request.Context())
	if err != nil {
		c.fail(ctx, err)
		return
	}
	d.Tokens, d.Roles = ts, Roles
	c.render(ctx, status, "tokens", view{Title: "APIトークン", Nav: "tokens", Error: errMsg, Data: d})
}

func (c *Console) handleTokens(ctx *gin.Context) { c.showTokens(ctx, http.StatusOK, "", tokensData{}) }

func (c *Console) handleTokenCreate(ctx *gin.Context) {
	u := current(ctx)
	name := strings.TrimSpace(ctx.PostForm("name"))
	tok, err := c.accounts.CreateToken(ctx.Request.Context(), name, ctx.PostForm("role"), u.Name)
	switch {
	case errors.Is(err, storage.ErrExists):
		c.showTokens(ctx, http.StatusConflict, "「"+name+"」という有効なトークンはすでにあります。", tokensData{})
	case err != nil && (errors.Is(err, ErrBadName) || !ValidRole(ctx.PostForm("role"))):
		c.showTokens(ctx, http.StatusUnprocessableEntity, "名前または権限が正しくありません。"+ErrBadName.Error()+"。", tokensData{})
	case err != nil:
		c.fail(ctx, err)
	default:
		c.showTokens(ctx, http.StatusOK, "", tokensData{Name: name, Token: tok})
	}
}

func (c *Console) handleTokenRevoke(ctx *gin.Context) {
	u := current(ctx)
	err := c.accounts.RevokeToken(ctx.Request.Context(), ctx.Param("name"), u.Name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		c.showTokens(ctx, http.StatusNotFound, "その名前の有効なトークンはありません。", tokensData{})
	case err != nil:
		c.fail(ctx, err)
	default:
		ctx.Redirect(http.StatusSeeOther, "/admin/tokens?ok=revoked")
	}
}

type auditData struct {
	Entries []storage.AuditLog
	Next    int64
}

const auditPage = 100

func (c *Console) handleAudit(ctx *gin.Context) {
	before, _ := strconv.ParseInt(ctx.Query("before"), 10, 64)
	es, err := c.db.AuditEntries(ctx.Request.Context(), before, auditPage)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	d := auditData{Entries: es}
	if len(es) == auditPage {
		d.Next = es[len(es)-1].ID
	}
	c.render(ctx, http.StatusOK, "audit", view{Title: "監査ログ", Nav: "audit", Data: d})
}
