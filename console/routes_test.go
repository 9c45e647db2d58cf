package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestEveryRouteByRole: signed out, every page sends the browser to sign
// in (the API answers 401); each role reaches exactly the routes of its
// level. The table must name every registered route.
func TestEveryRouteByRole(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	conv := g.waitingConversation("Uroutes")
	id := fmt.Sprint(conv.ID)
	routes := []struct {
		method, path string // path as registered
		url          string // what to request
		role         string // least role; "" public
	}{
		{"GET", "/", "/", console.RoleStaff},
		{"GET", "/signin", "/signin", ""},
		{"POST", "/signin", "/signin", ""},
		{"POST", "/signout", "/signout", console.RoleStaff},
		{"GET", "/account/password", "/account/password", console.RoleStaff},
		{"POST", "/account/password", "/account/password", console.RoleStaff},
		{"GET", "/queue", "/queue", console.RoleStaff},
		{"GET", "/queue/live", "/queue/live", console.RoleStaff},
		{"GET", "/conversations", "/conversations", console.RoleStaff},
		{"GET", "/conversations/export.csv", "/conversations/export.csv", console.RoleStaff},
		{"GET", "/conversations/export.jsonl", "/conversations/export.jsonl", console.RoleStaff},
		{"GET", "/conversations/:id", "/conversations/" + id, console.RoleStaff},
		{"GET", "/conversations/:id/live", "/conversations/" + id + "/live", console.RoleStaff},
		{"POST", "/conversations/:id/takeover", "/conversations/" + id + "/takeover", console.RoleStaff},
		{"POST", "/conversations/:id/messages", "/conversations/" + id + "/messages", console.RoleStaff},
		{"POST", "/conversations/:id/handback", "/conversations/" + id + "/handback", console.RoleStaff},
		{"POST", "/conversations/:id/notes", "/conversations/" + id + "/notes", console.RoleStaff},
		{"POST", "/conversations/:id/tags", "/conversations/" + id + "/tags", console.RoleStaff},
		{"POST", "/conversations/:id/tags/delete", "/conversations/" + id + "/tags/delete", console.RoleStaff},
		{"POST", "/conversations/:id/outcome", "/conversations/" + id + "/outcome", console.RoleStaff},
		{"GET", "/admin/accounts", "/admin/accounts", console.RoleAdmin},
		{"POST", "/admin/accounts", "/admin/accounts", console.RoleAdmin},
		{"POST", "/admin/accounts/:name", "/admin/accounts/nobody", console.RoleAdmin},
		{"GET", "/admin/tokens", "/admin/tokens", console.RoleAdmin},
		{"POST", "/admin/tokens", "/admin/tokens", console.RoleAdmin},
		{"POST", "/admin/tokens/:name/revoke", "/admin/tokens/nobody/revoke", console.RoleAdmin},
		{"GET", "/admin/audit", "/admin/audit", console.RoleAdmin},
		{"GET", "/static/*file", "/static/app.css", ""},

		{"GET", "/api/v1/conversations", "/api/v1/conversations", console.RoleStaff},
		{"GET", "/api/v1/conversations/:id", "/api/v1/conversations/" + id, console.RoleStaff},
		{"POST", "/api/v1/conversations/:id/takeover", "/api/v1/conversations/" + id + "/takeover", console.RoleStaff},
		{"POST", "/api/v1/conversations/:id/messages", "/api/v1/conversations/" + id + "/messages", console.RoleStaff},
		{"POST", "/api/v1/conversations/:id/handback", "/api/v1/conversations/" + id + "/handback", console.RoleStaff},
		{"GET", "/api/v1/conversations/:id/notes", "/api/v1/conversations/" + id + "/notes", console.RoleStaff},
		{"POST", "/api/v1/conversations/:id/notes", "/api/v1/conversations/" + id + "/notes", console.RoleStaff},
		{"GET", "/api/v1/conversations/:id/tags", "/api/v1/conversations/" + id + "/tags", console.RoleStaff},
		{"POST", "/api/v1/conversations/:id/tags", "/api/v1/conversations/" + id + "/tags", console.RoleStaff},
		{"DELETE", "/api/v1/conversations/:id/tags/:tag", "/api/v1/conversations/" + id + "/tags/x", console.RoleStaff},
		{"PUT", "/api/v1/conversations/:id/outcome", "/api/v1/conversations/" + id + "/outcome", console.RoleStaff},
		{"GET", "/api/v1/audit", "/api/v1/audit", console.RoleAdmin},
	}
	listed := map[string]bool{}
	for _, r := range routes {
		listed[r.method+" "+r.path] = true
	}
	for _, r := range g.r.Routes() {
		if !listed[r.Method+" "+r.Path] {
			t.Errorf("route %s %s is not in the test's table", r.Method, r.Path)
		}
	}

	clients := map[string]*client{}
	tokens := map[string]string{}
	for _, role := range console.Roles {
		clients[role] = g.signedIn("as-"+role, role)
		tok, err := (console.Accounts{DB: g.db}).CreateToken(context.Background(), "tok-"+role, role, "test")
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = tok
	}
	for _, rt := range routes {
		api := strings.HasPrefix(rt.path, "/api/")
		if rt.role == "" {
			continue
		}
		// Signed out.
		r := g.client().do(rt.method, rt.url, nil, nil)
		if api && r.code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token = %d, want 401", rt.method, rt.url, r.code)
		}
		if !api && (r.code != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin")) {
			t.Errorf("%s %s signed out = %d %q, want the sign-in page", rt.method, rt.url, r.code, r.loc)
		}
		for _, role := range console.Roles {
			var r resp
			if api {
				r = g.client().doBody(rt.method, rt.url, "{}", map[string]string{"Authorization": "Bearer " + tokens[role], "Content-Type": "application/json"})
			} else {
				cl := clients[role]
				if rt.path == "/signout" {
					cl = g.signedIn(fmt.Sprintf("out-%s-%d", role, len(rt.url)), role) // a session to spend
				}
				if rt.method == "GET" {
					r = cl.get(rt.url)
				} else {
					r = cl.post(rt.url, nil)
				}
			}
			allowed := console.Allows(role, rt.role)
			if allowed && (r.code == http.StatusForbidden || r.code == http.StatusUnauthorized) {
				t.Errorf("%s %s as %s = %d, want allowed", rt.method, rt.url, role, r.code)
			}
			if !allowed && r.code != http.StatusForbidden {
				t.Errorf("%s %s as %s = %d, want 403", rt.method, rt.url, role, r.code)
			}
		}
	}
}
