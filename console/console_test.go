package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// rig is a console on a real database behind a gin engine, driven through
// httptest like a browser (cookies kept per client).
type rig struct {
	t    *testing.T
	db   *storage.DB
	c    *console.Console
	r    *gin.Engine
	now  time.Time
	w    *bot.Workers
	sent *sent
}

func newRig(t *testing.T, db *storage.DB) *rig {
	t.Helper()
	g := &rig{t: t, db: db, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	g.w, g.sent = startPipeline(t, db)
	db.Now = func() time.Time { return g.now } // sessions and the audit log on the rig's clock
	c, err := console.New(console.Config{DB: db, Submit: g.w.Submit, Now: func() time.Time { return g.now }, SessionIdle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	g.c, g.r = c, gin.New()
	c.Register(g.r)
	return g
}

// account creates an account with a known password.
func (g *rig) account(name, role string) {
	g.t.Helper()
	if _, err := (console.Accounts{DB: g.db}).Create(context.Background(), name, role, name+"-password-123", "test"); err != nil {
		g.t.Fatal(err)
	}
}

// client is one browser: its cookies and the CSRF token of its last page.
type client struct {
	g       *rig
	cookies map[string]string
	csrf    string
}

func (g *rig) client() *client { return &client{g: g, cookies: map[string]string{}} }

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type resp struct {
	code int
	body string
	loc  string
	hdr  http.Header
}

func (cl *client) do(method, path string, form url.Values, hdr map[string]string) resp {
	cl.g.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for k, v := range cl.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	cl.g.r.ServeHTTP(w, req)
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(cl.cookies, ck.Name)
		} else {
			cl.cookies[ck.Name] = ck.Value
		}
	}
	out := resp{code: w.Code, body: w.Body.String(), loc: w.Header().Get("Location"), hdr: w.Header()}
	if m := csrfRe.FindStringSubmatch(out.body); m != nil {
		cl.csrf = m[1]
	}
	return out
}

// doBody sends a raw body (JSON for the API).
func (cl *client) doBody(method, path, body string, hdr map[string]string) resp {
	cl.g.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	cl.g.r.ServeHTTP(w, req)
	return resp{code: w.Code, body: w.Body.String(), loc: w.Header().Get("Location"), hdr: w.Header()}
}

func (cl *client) get(path string) resp { return cl.do("GET", path, nil, nil) }

// post sends a form with the client's CSRF token.
func (cl *client) post(path string, form url.Values) resp {
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", cl.csrf)
	return cl.do("POST", path, form, nil)
}

func (cl *client) signIn(name, password string) resp {
	cl.g.t.Helper()
	cl.get("/signin")
	return cl.post("/signin", url.Values{"name": {name}, "password": {password}})
}

// signedIn returns a client signed in as a new account of that role.
func (g *rig) signedIn(name, role string) *client {
	g.t.Helper()
	g.account(name, role)
	cl := g.client()
	if r := cl.signIn(name, name+"-password-123"); r.code != http.StatusSeeOther {
		g.t.Fatalf("sign in as %s: %d %s", name, r.code, r.body)
	}
	cl.get("/queue") // a page with the session's CSRF token
	return cl
}

func TestSignInAndOut(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		g.account("alice", console.RoleStaff)
		cl := g.client()
		if r := cl.get("/queue"); r.code != http.StatusSeeOther || r.loc != "/signin?next=%2Fqueue" {
			t.Fatalf("signed out GET /queue = %d %q, want the sign-in page", r.code, r.loc)
		}
		r := cl.get("/signin")
		if r.code != 200 || !strings.Contains(r.body, "サインイン") {
			t.Fatalf("GET /signin = %d", r.code)
		}
		if r := cl.post("/signin", url.Values{"name": {"alice"}, "password": {"wrong-password-1"}}); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "ユーザー名またはパスワードが違います") {
			t.Fatalf("wrong password = %d", r.code)
		}
		r = cl.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password-123"}, "next": {"/conversations"}})
		if r.code != http.StatusSeeOther || r.loc != "/conversations" {
			t.Fatalf("sign in = %d %q", r.code, r.loc)
		}
		ck := r.hdr.Values("Set-Cookie")
		joined := strings.Join(ck, "\n")
		if !strings.Contains(joined, "todoku_session=") || !strings.Contains(joined, "HttpOnly") || !strings.Contains(joined, "SameSite=Lax") || strings.Contains(joined, "Secure") {
			t.Fatalf("session cookie flags over plain HTTP: %s", joined)
		}
		if r := cl.get("/queue"); r.code != 200 || !strings.Contains(r.body, "alice") {
			t.Fatalf("signed in GET /queue = %d", r.code)
		}
		if r := cl.post("/signout", nil); r.code != http.StatusSeeOther {
			t.Fatalf("sign out = %d", r.code)
		}
		if r := cl.get("/queue"); r.code != http.StatusSeeOther {
			t.Fatalf("after sign-out GET /queue = %d, want a redirect", r.code)
		}
		actions := auditActions(t, db)
		for _, a := range []string{"console.signin_failed", "console.signin", "console.signout"} {
			if !actions[a] {
				t.Errorf("audit log lacks %s: %v", a, actions)
			}
		}
	})
}

func auditActions(t *testing.T, db *storage.DB) map[string]bool {
	t.Helper()
	es, err := db.AuditEntries(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range es {
		m[e.Action] = true
	}
	return m
}

func TestSecureCookieBehindTLS(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	g.account("alice", console.RoleStaff)
	cl := g.client()
	cl.get("/signin")
	r := cl.do("POST", "/signin", url.Values{"name": {"alice"}, "password": {"alice-password-123"}, "csrf": {cl.csrf}}, map[string]string{"X-Forwarded-Proto": "https"})
	if r.code != http.StatusSeeOther || !strings.Contains(strings.Join(r.hdr.Values("Set-Cookie"), "\n"), "Secure") {
		t.Fatalf("behind TLS the session cookie must be Secure: %d %v", r.code, r.hdr.Values("Set-Cookie"))
	}
}

func TestSessionIdlesOut(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	cl := g.signedIn("alice", console.RoleStaff)
	g.now = g.now.Add(50 * time.Minute)
	if r := cl.get("/queue"); r.code != 200 {
		t.Fatalf("after 50 minutes = %d, want still signed in", r.code)
	}
	g.now = g.now.Add(50 * time.Minute) // 50 minutes after the last request: still within the hour
	if r := cl.get("/queue"); r.code != 200 {
		t.Fatalf("activity must extend the session: %d", r.code)
	}
	g.now = g.now.Add(61 * time.Minute)
	if r := cl.get("/queue"); r.code != http.StatusSeeOther {
		t.Fatalf("after an idle hour = %d, want the sign-in page", r.code)
	}
}

func TestSignInThrottle(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	g.account("alice", console.RoleStaff)
	cl := g.client()
	cl.get("/signin")
	for i := 0; i < 5; i++ {
		if r := cl.post("/signin", url.Values{"name": {"alice"}, "password": {"nope-nope-nope"}}); r.code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i+1, r.code)
		}
	}
	// Locked now, even with the right password.
	if r := cl.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password-123"}}); r.code != http.StatusTooManyRequests {
		t.Fatalf("sixth try = %d, want 429", r.code)
	}
	g.now = g.now.Add(16 * time.Minute)
	if r := cl.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password-123"}}); r.code != http.StatusSeeOther {
		t.Fatalf("after the lock = %d, want signed in", r.code)
	}

	// Per address: many names from one address.
	g.account("bob", console.RoleStaff)
	other := g.client()
	other.get("/signin")
	for i := 0; i < 20; i++ {
		other.post("/signin", url.Values{"name": {"guess" + string(rune('a'+i))}, "password": {"nope-nope-nope"}})
	}
	if r := other.post("/signin", url.Values{"name": {"bob"}, "password": {"bob-password-123"}}); r.code != http.StatusTooManyRequests {
		t.Fatalf("after 20 failures from one address = %d, want 429", r.code)
	}
}

func TestCSRF(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		admin := g.signedIn("root", console.RoleAdmin)
		for _, path := range []string{"/admin/tokens", "/signout", "/account/password", "/admin/accounts"} {
			form := url.Values{"name": {"x"}, "role": {"staff"}}
			if r := admin.do("POST", path, form, nil); r.code != http.StatusForbidden {
				t.Errorf("POST %s without a CSRF token = %d, want 403", path, r.code)
			}
			form.Set("csrf", "forged")
			if r := admin.do("POST", path, form, nil); r.code != http.StatusForbidden {
				t.Errorf("POST %s with a wrong CSRF token = %d, want 403", path, r.code)
			}
		}
		// The sign-in form has its own token (login CSRF).
		cl := g.client()
		if r := cl.do("POST", "/signin", url.Values{"name": {"root"}, "password": {"root-password-123"}}, nil); r.code != http.StatusForbidden {
			t.Errorf("sign-in without its token = %d, want 403", r.code)
		}
	})
}

func TestOneTimePasswordMustBeChanged(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	acc := console.Accounts{DB: g.db}
	created, pw, err := acc.EnsureAdmin(context.Background(), "", "")
	if err != nil || !created || len(pw) < 16 {
		t.Fatalf("EnsureAdmin = %v, %q, %v", created, pw, err)
	}
	if again, _, _ := acc.EnsureAdmin(context.Background(), "other", "whatever-123456"); again {
		t.Fatal("a second admin was created on the next start")
	}
	cl := g.client()
	if r := cl.signIn("admin", pw); r.code != http.StatusSeeOther || r.loc != "/account/password" {
		t.Fatalf("sign in with the one-time password = %d %q", r.code, r.loc)
	}
	if r := cl.get("/queue"); r.code != http.StatusSeeOther || r.loc != "/account/password" {
		t.Fatalf("before changing it, /queue = %d %q", r.code, r.loc)
	}
	cl.get("/account/password")
	r := cl.post("/account/password", url.Values{"current": {pw}, "password": {"short"}, "confirm": {"short"}})
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("a short password = %d", r.code)
	}
	r = cl.post("/account/password", url.Values{"current": {pw}, "password": {"a-much-better-one"}, "confirm": {"a-much-better-one"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("change = %d %s", r.code, r.body)
	}
	if r := cl.get("/admin/accounts"); r.code != 200 {
		t.Fatalf("after changing it, /admin/accounts = %d", r.code)
	}
}

func TestAdminManagesAccountsAndTokens(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		admin := g.signedIn("root", console.RoleAdmin)
		admin.get("/admin/accounts")
		r := admin.post("/admin/accounts", url.Values{"name": {"carol"}, "role": {"operator"}})
		m := regexp.MustCompile(`<code class="copy">([^<]+)</code>`).FindStringSubmatch(r.body)
		if r.code != 200 || m == nil {
			t.Fatalf("create account = %d, no one-time password shown", r.code)
		}
		carol := g.client()
		if r := carol.signIn("carol", m[1]); r.code != http.StatusSeeOther || r.loc != "/account/password" {
			t.Fatalf("carol's first sign-in = %d %q", r.code, r.loc)
		}
		if r := admin.post("/admin/accounts", url.Values{"name": {"carol"}, "role": {"staff"}}); r.code != http.StatusConflict {
			t.Fatalf("duplicate account = %d", r.code)
		}
		if r := admin.post("/admin/accounts/carol", url.Values{"action": {"disable"}}); r.code != http.StatusSeeOther {
			t.Fatalf("disable = %d", r.code)
		}
		if r := carol.get("/account/password"); r.code != http.StatusSeeOther {
			t.Fatalf("a disabled account's session still works: %d", r.code)
		}
		if r := admin.post("/admin/accounts/root", url.Values{"action": {"disable"}}); r.code != http.StatusUnprocessableEntity {
			t.Fatalf("disabling yourself = %d", r.code)
		}

		admin.get("/admin/tokens")
		r = admin.post("/admin/tokens", url.Values{"name": {"script"}, "role": {"staff"}})
		tm := regexp.MustCompile(`<code class="copy">(tdk_[^<]+)</code>`).FindStringSubmatch(r.body)
		if r.code != 200 || tm == nil {
			t.Fatalf("create token = %d", r.code)
		}
		api := g.client()
		if r := api.do("GET", "/api/v1/conversations", nil, map[string]string{"Authorization": "Bearer " + tm[1]}); r.code != 200 {
			t.Fatalf("API with the new token = %d %s", r.code, r.body)
		}
		if r := admin.post("/admin/tokens/script/revoke", nil); r.code != http.StatusSeeOther {
			t.Fatalf("revoke = %d", r.code)
		}
		if r := api.do("GET", "/api/v1/conversations", nil, map[string]string{"Authorization": "Bearer " + tm[1]}); r.code != http.StatusUnauthorized {
			t.Fatalf("API with a revoked token = %d", r.code)
		}
		if r := admin.get("/admin/audit"); r.code != 200 || !strings.Contains(r.body, "token.revoke") || !strings.Contains(r.body, "account.disable") {
			t.Fatalf("audit page = %d", r.code)
		}
	})
}

func TestStaticAssetsAreEmbedded(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	cl := g.signedIn("alice", console.RoleStaff)
	page := cl.get("/queue").body
	for _, name := range []string{"app.css", "app.js", "htmx-2.0.11.min.js"} {
		m := regexp.MustCompile(`/static/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]+`).FindString(page)
		if m == "" {
			t.Fatalf("the page does not link %s", name)
		}
		r := cl.get(m)
		if r.code != 200 || len(r.body) < 100 || !strings.Contains(r.hdr.Get("Cache-Control"), "immutable") {
			t.Fatalf("GET %s = %d (%d bytes, %q)", m, r.code, len(r.body), r.hdr.Get("Cache-Control"))
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Fatal("the page refers to another site (no CDN)")
	}
}
