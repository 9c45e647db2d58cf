package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds each page template parsed with the layout, and the static
// files' fingerprints (their URLs change when their content does, so they
// can be cached for good).
type pages struct {
	byName map[string]*template.Template
	hashes map[string]string
}

func parsePages(funcs template.FuncMap) (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}, hashes: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.hashes[strings.TrimPrefix(name, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	funcs["asset"] = func(name string) string { return "/static/" + name + "?v=" + p.hashes[name] }
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", base, err)
		}
		p.byName[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page gets: the page's own data in Data.
type view struct {
	Title   string
	Me      *signedIn
	CSRF    string
	Nav     string // the active menu entry
	Flash   string
	Error   string
	Waiting int // conversations waiting for a person, for the menu badge
	Data    any
}

// render writes page name with the layout ("layout" template) or, for an
// htmx fragment, the named template alone.
func (c *Console) render(ctx *gin.Context, status int, name string, v view) {
	c.renderTemplate(ctx, status, name, "layout", v)
}

func (c *Console) renderTemplate(ctx *gin.Context, status int, page, tmpl string, v view) {
	t := c.pages.byName[page]
	if t == nil {
		panic("console: no page " + page)
	}
	if u := current(ctx); u != nil && v.Me == nil {
		v.Me, v.CSRF = u, u.csrf
		if tmpl == "layout" {
			v.Waiting, _ = c.db.WaitingCount(ctx.Request.Context())
		}
	}
	if v.Flash == "" {
		v.Flash = flashes[ctx.Query("ok")]
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, tmpl, v); err != nil {
		c.log.Error("render failed", slog.String("page", page), slog.Any("error", err))
		ctx.String(http.StatusInternalServerError, "internal error")
		return
	}
	ctx.Data(status, "text/html; charset=utf-8", b.Bytes())
}

// renderError shows a message page (or JSON for the API).
func (c *Console) renderError(ctx *gin.Context, status int, msg string) {
	if strings.HasPrefix(ctx.Request.URL.Path, "/api/") {
		apiError(ctx, status, msg)
		return
	}
	c.render(ctx, status, "error", view{Title: "エラー", Error: msg})
}

// flashes are the messages a redirect after a POST can show (?ok=KEY).
var flashes = map[string]string{
	"takeover":  "この会話を担当しました。ボットは応答を止めています。",
	"sent":      "メッセージを送信しました。",
	"handback":  "ボットに戻しました。",
	"note":      "メモを追加しました。",
	"tag":       "タグを更新しました。",
	"outcome":   "結果を更新しました。",
	"password":  "パスワードを変更しました。",
	"account":   "アカウントを更新しました。",
	"revoked":   "トークンを無効にしました。",
	"signedout": "サインアウトしました。",
}

func (c *Console) handleStatic(ctx *gin.Context) {
	name := strings.TrimPrefix(ctx.Param("file"), "/")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || name == "" {
		ctx.Status(http.StatusNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if ctx.Query("v") == c.pages.hashes[name] {
		ctx.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		ctx.Header("Cache-Control", "no-cache")
	}
	ctx.Header("X-Content-Type-Options", "nosniff")
	ctx.Data(http.StatusOK, ct, b)
}

// funcs are the template helpers.
func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"tokyo": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(c.tokyo).Format("2006/01/02 15:04")
		},
		"clock": func(t time.Time) string { return t.In(c.tokyo).Format("15:04") },
		"day": func(t time.Time) string {
			t = t.In(c.tokyo)
			return t.Format("2006年1月2日") + "(" + weekdaysJa[t.Weekday()] + ")"
		},
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":       func(t time.Time) string { return agoJa(c.now().Sub(t)) },
		"roleJa":    func(r string) string { return roleNames[r] },
		"ownerJa":   func(o string) string { return ownerNames[o] },
		"outcomeJa": func(o string) string { return outcomeNames[o] },
		"deref": func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		},
		"can":       Allows,
		"hasPrefix": strings.HasPrefix,
		"short": func(s string, n int) string {
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n]) + "…"
		},
		"reasonJa": func(r string) string {
			if ja, ok := reasonNames[r]; ok {
				return ja
			}
			return r
		},
		"score": func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"add":   func(a, b int) int { return a + b },
	}
}

// reasonNames say in Japanese why the dialog moved (dialog.Reason*).
var reasonNames = map[string]string{
	"start": "開始", "choice": "ボタン", "answer": "回答", "intent": "意図", "command": "コマンド",
	"reprompt": "聞き返し", "offer": "担当者を提案", "idle": "再開の確認", "safety": "安全のための注意",
	"non_text": "テキスト以外", "group": "グループ", "stale": "古いボタン", "staff": "スタッフ対応中",
	"confirm": "確認", "deny": "否定", "waiting": "担当者待ち", "same": "同じ案内", "handback": "ボットに返却",
	"missed": "未回答（届くのが遅すぎたため）",
}

var weekdaysJa = [...]string{"日", "月", "火", "水", "木", "金", "土"}

var roleNames = map[string]string{RoleStaff: "スタッフ", RoleOperator: "オペレーター", RoleAdmin: "管理者"}

// agoJa says how long ago, roughly, in Japanese.
func agoJa(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "たった今"
	case d < time.Hour:
		return fmt.Sprintf("%d分", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d時間%d分", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d日", int(d/(24*time.Hour)))
}
