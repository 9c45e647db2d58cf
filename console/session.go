package console

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/storage"
)

const (
	sessionCookie = "todoku_session"
	// preCSRFCookie carries the sign-in form's CSRF token before there is
	// a session (login CSRF).
	preCSRFCookie = "todoku_signin"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
	// touchEvery bounds session writes: last_seen_at moves at most this often.
	touchEvery = time.Minute
)

// signedIn is what requireSession puts in the gin context.
type signedIn struct {
	Principal
	sessionHash string
	csrf        string
	mustChange  bool
}

const ctxUser = "console.user"

func current(ctx *gin.Context) *signedIn {
	v, _ := ctx.Get(ctxUser)
	u, _ := v.(*signedIn)
	return u
}

// secure reports whether the browser reached us over TLS (directly, or
// through a proxy that says so), so that cookies get the Secure flag.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(ctx *gin.Context, name, value string, maxAge int) {
	http.SetCookie(ctx.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure(ctx.Request), SameSite: http.SameSiteLaxMode,
	})
}

// requireSession lets signed-in accounts with at least role through. A
// signed-out browser is sent to the sign-in page, a state-changing request
// without the session's CSRF token gets 403, and so does a role that may
// not. An account with a one-time password may only change it.
func (c *Console) requireSession(role string) gin.HandlerFunc {
	return func(ctx *gin.Context) {
		u := c.loadSession(ctx)
		if u == nil {
			if ctx.Request.Method == http.MethodGet {
				next := ctx.Request.URL.RequestURI()
				if isLive(ctx) {
					next = "/"
				}
				if ctx.GetHeader("HX-Request") != "" {
					// htmx polling: make the browser itself go to the sign-in page.
					ctx.Header("HX-Redirect", "/signin")
					ctx.AbortWithStatus(http.StatusUnauthorized)
					return
				}
				ctx.Redirect(http.StatusSeeOther, "/signin?next="+url.QueryEscape(next))
			} else {
				ctx.Redirect(http.StatusSeeOther, "/signin")
			}
			ctx.Abort()
			return
		}
		if ctx.Request.Method != http.MethodGet && ctx.Request.Method != http.MethodHead {
			got := ctx.GetHeader(csrfHeader)
			if got == "" {
				got = ctx.PostForm(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(u.csrf)) != 1 {
				c.renderError(ctx, http.StatusForbidden, "フォームの有効期限が切れました。ページを読み込み直してから、もう一度お試しください。")
				ctx.Abort()
				return
			}
		}
		if !Allows(u.Role, role) {
			c.renderError(ctx, http.StatusForbidden, "このページを開く権限がありません。")
			ctx.Abort()
			return
		}
		if u.mustChange && ctx.FullPath() != "/account/password" && ctx.FullPath() != "/signout" {
			ctx.Redirect(http.StatusSeeOther, "/account/password")
			ctx.Abort()
			return
		}
		ctx.Set(ctxUser, u)
	}
}

// isLive reports a polling request: it must not count as activity, or an
// open tab would never idle out.
func isLive(ctx *gin.Context) bool { return strings.HasSuffix(ctx.FullPath(), "/live") }

// loadSession returns the signed-in account, or nil.
func (c *Console) loadSession(ctx *gin.Context) *signedIn {
	ck, err := ctx.Cookie(sessionCookie)
	if err != nil || ck == "" {
		return nil
	}
	h := digest(ck)
	now := c.now()
	s, acc, err := c.db.StaffSession(ctx.Request.Context(), h, now.Add(-c.cfg.SessionIdle))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			c.log.Warn("session lookup failed", slog.Any("error", err))
		}
		return nil
	}
	if acc.DisabledAt != nil {
		return nil
	}
	if !isLive(ctx) && now.Sub(s.LastSeenAt) > touchEvery {
		if err := c.db.TouchStaffSession(ctx.Request.Context(), h); err != nil {
			c.log.Warn("session touch failed", slog.Any("error", err))
		}
	}
	return &signedIn{Principal: Principal{Name: acc.Name, Role: acc.Role}, sessionHash: h, csrf: s.CSRF, mustChange: acc.MustChangePassword}
}

// startSession signs acc in on this browser.
func (c *Console) startSession(ctx *gin.Context, acc *storage.StaffAccount) error {
	// Sessions idle out and failures age: clearing them here keeps the
	// tables small.
	if _, err := c.db.DeleteIdleStaffSessions(ctx.Request.Context(), c.now().Add(-c.cfg.SessionIdle)); err != nil {
		c.log.Warn("clearing idle sessions failed", slog.Any("error", err))
	}
	if err := c.db.PruneThrottle(ctx.Request.Context(), c.now().Add(-throttleWindow)); err != nil {
		c.log.Warn("clearing old sign-in failures failed", slog.Any("error", err))
	}
	secret := randomString(32)
	s := &storage.StaffSession{IDHash: digest(secret), AccountID: acc.ID, CSRF: randomString(32), Address: ctx.ClientIP()}
	if err := c.db.CreateStaffSession(ctx.Request.Context(), s); err != nil {
		return err
	}
	setCookie(ctx, sessionCookie, secret, 0)
	return nil
}

// requireToken lets API calls with a bearer token of at least role through:
// 401 without a valid token, 403 for a role that may not.
func (c *Console) requireToken(role string) gin.HandlerFunc {
	return func(ctx *gin.Context) {
		ctx.Header("Cache-Control", "no-store")
		auth := ctx.GetHeader("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !strings.HasPrefix(tok, tokenPrefix) {
			ctx.Header("WWW-Authenticate", `Bearer realm="todoku"`)
			apiError(ctx, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		t, err := c.db.APITokenByHash(ctx.Request.Context(), digest(strings.TrimSpace(tok)))
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				c.log.Warn("token lookup failed", slog.Any("error", err))
				apiError(ctx, http.StatusInternalServerError, "internal error")
				return
			}
			ctx.Header("WWW-Authenticate", `Bearer realm="todoku", error="invalid_token"`)
			apiError(ctx, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		if !Allows(t.Role, role) {
			apiError(ctx, http.StatusForbidden, "this token's role may not do that")
			return
		}
		ctx.Set(ctxUser, &signedIn{Principal: Principal{Name: "token:" + t.Name, Role: t.Role}})
	}
}

func apiError(ctx *gin.Context, status int, msg string) {
	ctx.AbortWithStatusJSON(status, gin.H{"error": msg})
}
