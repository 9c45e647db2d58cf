// Package console is the staff and operator web console and its JSON API:
// sign-in, conversations, transcripts, takeover and staff replies. Pages are
// server-rendered html/template with every asset embedded (no CDN); the
// only script library is htmx, vendored in static/.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"time"
	_ "time/tzdata" // Asia/Tokyo must resolve in a container without zoneinfo

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/staffhours"
	"github.com/todoku/todoku/storage"
)

// Config is what the console needs from the application.
type Config struct {
	DB *storage.DB
	// Submit puts staff events (bot.StaffMessage, bot.HandBack) through the
	// pipeline, in order with the user's own (the workers' Submit).
	Submit func(ctx context.Context, events ...bot.Event) error
	Logger *slog.Logger
	// SessionIdle signs a browser out after this long without a request.
	SessionIdle time.Duration
	// StaffHours are shown in the queue (nil: always staffed).
	StaffHours *staffhours.Hours
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Console serves the console pages and the JSON API.
type Console struct {
	cfg      Config
	db       *storage.DB
	log      *slog.Logger
	accounts Accounts
	pages    *pages
	tokyo    *time.Location
}

// New builds the console; it parses every template at once, so a broken
// one fails at start, not at the first request.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, db: cfg.DB, log: cfg.Logger, accounts: Accounts{DB: cfg.DB}, tokyo: tokyo}
	if c.pages, err = parsePages(c.funcs()); err != nil {
		return nil, err
	}
	return c, nil
}

// Accounts returns the account service (for the first-start admin).
func (c *Console) Accounts() Accounts { return c.accounts }

// route is one entry of the route table: who may call it is part of the
// route, so no handler can forget to check.
type route struct {
	method, path string
	role         string // least role allowed; "" for signed-out pages
	h            gin.HandlerFunc
}

func (c *Console) pageRoutes() []route {
	return []route{
		{"GET", "/", RoleStaff, c.handleHome},
		{"GET", "/signin", "", c.handleSignInForm},
		{"POST", "/signin", "", c.handleSignIn},
		{"POST", "/signout", RoleStaff, c.handleSignOut},
		{"GET", "/account/password", RoleStaff, c.handlePasswordForm},
		{"POST", "/account/password", RoleStaff, c.handlePasswordChange},

		{"GET", "/queue", RoleStaff, c.handleQueue},
		{"GET", "/queue/live", RoleStaff, c.handleQueueLive},
		{"GET", "/conversations", RoleStaff, c.handleList},
		{"GET", "/conversations/export.csv", RoleStaff, c.handleExportCSV},
		{"GET", "/conversations/export.jsonl", RoleStaff, c.handleExportJSONL},
		{"GET", "/conversations/:id", RoleStaff, c.handleTranscript},
		{"GET", "/conversations/:id/live", RoleStaff, c.handleTranscriptLive},
		{"POST", "/conversations/:id/takeover", RoleStaff, c.handleTakeover},
		{"POST", "/conversations/:id/messages", RoleStaff, c.handleReply},
		{"POST", "/conversations/:id/handback", RoleStaff, c.handleHandback},
		{"POST", "/conversations/:id/notes", RoleStaff, c.handleNote},
		{"POST", "/conversations/:id/tags", RoleStaff, c.handleTag},
		{"POST", "/conversations/:id/tags/delete", RoleStaff, c.handleUntag},
		{"POST", "/conversations/:id/outcome", RoleStaff, c.handleOutcome},

		{"GET", "/admin/accounts", RoleAdmin, c.handleAccounts},
		{"POST", "/admin/accounts", RoleAdmin, c.handleAccountCreate},
		{"POST", "/admin/accounts/:name", RoleAdmin, c.handleAccountUpdate},
		{"GET", "/admin/tokens", RoleAdmin, c.handleTokens},
		{"POST", "/admin/tokens", RoleAdmin, c.handleTokenCreate},
		{"POST", "/admin/tokens/:name/revoke", RoleAdmin, c.handleTokenRevoke},
		{"GET", "/admin/audit", RoleAdmin, c.handleAudit},
	}
}

func (c *Console) apiRoutes() []route {
	return []route{
		{"GET", "/api/v1/conversations", RoleStaff, c.apiList},
		{"GET", "/api/v1/conversations/:id", RoleStaff, c.apiConversation},
		{"POST", "/api/v1/conversations/:id/takeover", RoleStaff, c.apiTakeover},
		{"POST", "/api/v1/conversations/:id/messages", RoleStaff, c.apiReply},
		{"POST", "/api/v1/conversations/:id/handback", RoleStaff, c.apiHandback},
		{"GET", "/api/v1/conversations/:id/notes", RoleStaff, c.apiNotes},
		{"POST", "/api/v1/conversations/:id/notes", RoleStaff, c.apiAddNote},
		{"GET", "/api/v1/conversations/:id/tags", RoleStaff, c.apiTags},
		{"POST", "/api/v1/conversations/:id/tags", RoleStaff, c.apiAddTag},
		{"DELETE", "/api/v1/conversations/:id/tags/:tag", RoleStaff, c.apiRemoveTag},
		{"PUT", "/api/v1/conversations/:id/outcome", RoleStaff, c.apiSetOutcome},
		{"GET", "/api/v1/audit", RoleAdmin, c.apiAudit},
	}
}

// Register mounts the console and its API on r.
func (c *Console) Register(r gin.IRoutes) {
	r.GET("/static/*file", c.handleStatic)
	for _, rt := range c.pageRoutes() {
		hs := []gin.HandlerFunc{c.securityHeaders}
		if rt.role != "" {
			hs = append(hs, c.requireSession(rt.role))
		}
		r.Handle(rt.method, rt.path, append(hs, rt.h)...)
	}
	for _, rt := range c.apiRoutes() {
		r.Handle(rt.method, rt.path, c.requireToken(rt.role), rt.h)
	}
}

// Handler is the console alone (for CONSOLE_ADDR).
func (c *Console) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	c.Register(r)
	return r
}

// securityHeaders keeps pages out of frames and caches, and scripts to our own.
func (c *Console) securityHeaders(ctx *gin.Context) {
	h := ctx.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (c *Console) now() time.Time { return c.cfg.Now().UTC() }

// audit records an action; a failure is logged, not shown (the action
// itself has happened).
func (c *Console) audit(ctx context.Context, p Principal, action, subject, detail string) {
	if err := c.db.Audit(ctx, p.Name, action, subject, detail); err != nil {
		c.log.Warn("audit failed", slog.String("action", action), slog.Any("error", err))
	}
}
