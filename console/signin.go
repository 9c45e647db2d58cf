package console

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/storage"
)

// Sign-in throttling: failures within throttleWindow of the first add up;
// the limit-th locks the account (or the address) for throttleLock. The
// address limit is higher: several people may share one office address.
const (
	throttleWindow  = 15 * time.Minute
	throttleLock    = 15 * time.Minute
	accountFailures = 5
	addressFailures = 20
)

type signInData struct {
	Name, Next string
	PreCSRF    string
}

func (c *Console) handleSignInForm(ctx *gin.Context) {
	if c.loadSession(ctx) != nil {
		ctx.Redirect(http.StatusSeeOther, "/")
		return
	}
	c.showSignIn(ctx, http.StatusOK, "", "")
}

func (c *Console) showSignIn(ctx *gin.Context, status int, name, errMsg string) {
	pre := randomString(24)
	setCookie(ctx, preCSRFCookie, pre, 3600)
	c.render(ctx, status, "signin", view{Title: "サインイン", Error: errMsg,
		Data: signInData{Name: name, Next: safeNext(ctx.Query("next") + ctx.PostForm("next")), PreCSRF: pre}})
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

func (c *Console) handleSignIn(ctx *gin.Context) {
	pre, _ := ctx.Cookie(preCSRFCookie)
	if pre == "" || subtle.ConstantTimeCompare([]byte(pre), []byte(ctx.PostForm(csrfField))) != 1 {
		c.renderError(ctx, http.StatusForbidden, "フォームの有効期限が切れました。サインインのページを開き直してください。")
		return
	}
	name := strings.TrimSpace(ctx.PostForm("name"))
	pw := ctx.PostForm("password")
	addr := ctx.ClientIP()
	keys := []string{"account:" + name, "address:" + addr}
	now := c.now()
	until, err := c.db.ThrottledUntil(ctx.Request.Context(), keys, now)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	if !until.IsZero() {
		c.showSignIn(ctx, http.StatusTooManyRequests, name, "サインインの失敗が続いたため、しばらく受け付けを止めています。"+until.In(c.tokyo).Format("15:04")+"以降にもう一度お試しください。")
		return
	}
	acc, err := c.db.StaffAccountByName(ctx.Request.Context(), name)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.fail(ctx, err)
		return
	}
	ok := false
	if acc != nil {
		ok = CheckPassword(acc.PasswordHash, pw) && acc.DisabledAt == nil
	} else {
		CheckPassword(dummyHash, pw) // as slow as a real check
	}
	if !ok {
		if err := c.db.ThrottleFailure(ctx.Request.Context(), keys[0], now, throttleWindow, accountFailures, throttleLock); err != nil {
			c.log.Warn("sign-in throttle", slog.Any("error", err))
		}
		if err := c.db.ThrottleFailure(ctx.Request.Context(), keys[1], now, throttleWindow, addressFailures, throttleLock); err != nil {
			c.log.Warn("sign-in throttle", slog.Any("error", err))
		}
		subject := name
		if acc == nil {
			subject = "" // an unknown name may be a password typed in the wrong field
		}
		c.audit(ctx.Request.Context(), Principal{Name: "address:" + addr}, "console.signin_failed", subject, "")
		c.showSignIn(ctx, http.StatusUnauthorized, name, "ユーザー名またはパスワードが違います。")
		return
	}
	if err := c.db.ThrottleReset(ctx.Request.Context(), keys[0]); err != nil {
		c.log.Warn("sign-in throttle reset", slog.Any("error", err))
	}
	if err := c.startSession(ctx, acc); err != nil {
		c.fail(ctx, err)
		return
	}
	setCookie(ctx, preCSRFCookie, "", -1)
	c.audit(ctx.Request.Context(), Principal{Name: acc.Name}, "console.signin", acc.Name, "")
	if acc.MustChangePassword {
		ctx.Redirect(http.StatusSeeOther, "/account/password")
		return
	}
	ctx.Redirect(http.StatusSeeOther, safeNext(ctx.PostForm("next")))
}

func (c *Console) handleSignOut(ctx *gin.Context) {
	u := current(ctx)
	if err := c.db.DeleteStaffSession(ctx.Request.Context(), u.sessionHash); err != nil {
		c.fail(ctx, err)
		return
	}
	setCookie(ctx, sessionCookie, "", -1)
	c.audit(ctx.Request.Context(), u.Principal, "console.signout", u.Name, "")
	ctx.Redirect(http.StatusSeeOther, "/signin?ok=signedout")
}

func (c *Console) handleHome(ctx *gin.Context) {
	ctx.Redirect(http.StatusSeeOther, "/queue")
}

type passwordData struct{ MustChange bool }

func (c *Console) handlePasswordForm(ctx *gin.Context) {
	u := current(ctx)
	c.render(ctx, http.StatusOK, "password", view{Title: "パスワードの変更", Nav: "password", Data: passwordData{MustChange: u.mustChange}})
}

func (c *Console) handlePasswordChange(ctx *gin.Context) {
	u := current(ctx)
	show := func(status int, msg string) {
		c.render(ctx, status, "password", view{Title: "パスワードの変更", Nav: "password", Error: msg, Data: passwordData{MustChange: u.mustChange}})
	}
	acc, err := c.db.StaffAccountByName(ctx.Request.Context(), u.Name)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	if !CheckPassword(acc.PasswordHash, ctx.PostForm("current")) {
		show(http.StatusUnprocessableEntity, "今のパスワードが違います。")
		return
	}
	pw := ctx.PostForm("password")
	if pw != ctx.PostForm("confirm") {
		show(http.StatusUnprocessableEntity, "確認用のパスワードが一致しません。")
		return
	}
	if pw == ctx.PostForm("current") {
		show(http.StatusUnprocessableEntity, "今と違うパスワードにしてください。")
		return
	}
	if err := CheckNewPassword(pw); err != nil {
		show(http.StatusUnprocessableEntity, err.Error()+"。")
		return
	}
	if _, err := c.accounts.SetPassword(ctx.Request.Context(), u.Name, pw, u.Name, u.sessionHash); err != nil {
		c.fail(ctx, err)
		return
	}
	ctx.Redirect(http.StatusSeeOther, "/queue?ok=password")
}

// fail logs an unexpected error and shows a generic page: the details stay
// in the log.
func (c *Console) fail(ctx *gin.Context, err error) {
	c.log.Error("console request failed", slog.String("path", ctx.FullPath()), slog.Any("error", err))
	c.renderError(ctx, http.StatusInternalServerError, "処理中に問題が起きました。時間をおいてもう一度お試しください。")
}
