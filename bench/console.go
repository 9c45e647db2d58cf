package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/bench/loadgen"
	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/storage"
)

// cmdConsole measures the console's list and search on PostgreSQL with
// 100,000 conversations and 1,000,000 messages that it seeds itself: the
// first page of the list, filtered pages, and text searches from common to
// rare, each requested through the JSON API in-process (routing, token,
// query, audit row, JSON), repeated, with p50 and p95. The target is p95
// under 200 ms for the first page and for a search.
func cmdConsole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("pg", DefaultPGAdmin, "Postgres server (admin URL) to create the bench database on")
	dbURL := fs.String("db", "", "an existing database to use (seeded if it has fewer conversations than -conversations); kept afterwards")
	convs := fs.Int("conversations", 100_000, "conversations to seed")
	perConv := fs.Int("messages", 10, "messages per conversation")
	reps := fs.Int("n", 60, "requests per query (after 5 warm-up requests)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	compare := fs.Bool("compare", true, "also run every query without the index on conversations.last_activity_at (dropped, then made again), side by side")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		u, drop, err := freshDB(ctx, *admin)
		if err != nil {
			return err
		}
		defer drop()
		*dbURL = u
	}
	db, err := storage.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	start := time.Now()
	seeded, err := seedConsole(ctx, db, *convs, *perConv)
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(stdout, "seeded %d conversations and %d messages in %v\n", *convs, *convs**perConv, time.Since(start).Round(time.Second))
	}

	c, err := console.New(console.Config{DB: db, Submit: func(context.Context, ...bot.Event) error { return nil },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	tok, err := c.Accounts().CreateToken(ctx, fmt.Sprintf("bench-%d", time.Now().UnixNano()), console.RoleStaff, "bench")
	if err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	c.Register(r)

	queries := []struct{ name, query string }{
		{"first page", ""},
		{"second page", "cursor=SECOND"},
		{"waiting", "owner=waiting"},
		{"closed, resolved", "status=closed&outcome=resolved"},
		{"topic + 30 days", "topic=sms_check&from=" + time.Now().AddDate(0, 0, -30).Format("2006-01-02")},
		{"one user", "user=U00000000000000000000000000012345"},
		{"search common (届きません)", "q=" + url.QueryEscape("届きません")},
		{"search medium (機種変更)", "q=" + url.QueryEscape("機種変更")},
		{"search rare (ワンタイムパスコード)", "q=" + url.QueryEscape("ワンタイムパスコード")},
		{"search latin (sms)", "q=sms"},
		{"search 2 chars (迷惑)", "q=" + url.QueryEscape("迷惑")},
		{"search + waiting", "owner=waiting&q=" + url.QueryEscape("届きません")},
	}
	get := func(q string) (int, []byte) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/conversations?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code, w.Body.Bytes()
	}
	// The second page's cursor comes from the first page.
	_, first := get("")
	var page struct {
		Conversations []json.RawMessage
		Next          *string
	}
	if err := json.Unmarshal(first, &page); err != nil || page.Next == nil {
		return fmt.Errorf("first page: %v (%d conversations)", err, len(page.Conversations))
	}
	type result struct {
		Variant   string  `json:"variant"`
		Name      string  `json:"name"`
		Query     string  `json:"query"`
		Rows      int     `json:"rows"`
		P50ms     float64 `json:"p50_ms"`
		P95ms     float64 `json:"p95_ms"`
		MaxMs     float64 `json:"max_ms"`
		OfTarget  float64 `json:"p95_of_target"`
		HasCursor bool    `json:"next_page"`
	}
	measure := func(variant string) ([]result, error) {
		var results []result
		fmt.Fprintf(stdout, "\n%s\n%-32s %6s %9s %9s %9s %12s\n", variant, "query (JSON API, in-process)", "rows", "p50 ms", "p95 ms", "max ms", "p95/200ms")
		for _, q := range queries {
			query := q.query
			if query == "cursor=SECOND" {
				query = "cursor=" + *page.Next
			}
			var durs []time.Duration
			var rows int
			var next bool
			for i := 0; i < *reps+5; i++ {
				t0 := time.Now()
				code, body := get(query)
				d := time.Since(t0)
				if code != http.StatusOK {
					return nil, fmt.Errorf("%s: %d %s", q.name, code, body)
				}
				if i >= 5 {
					durs = append(durs, d)
				}
				var p struct {
					Conversations []json.RawMessage
					Next          *string
				}
				_ = json.Unmarshal(body, &p)
				rows, next = len(p.Conversations), p.Next != nil
			}
			slices.Sort(durs)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			res := result{Variant: variant, Name: q.name, Query: query, Rows: rows, P50ms: ms(durs[len(durs)/2]),
				P95ms: ms(durs[len(durs)*95/100]), MaxMs: ms(durs[len(durs)-1]), HasCursor: next}
			res.OfTarget = res.P95ms / 200
			results = append(results, res)
			fmt.Fprintf(stdout, "%-32s %6d %9.1f %9.1f %9.1f %11.2fx\n", q.name, res.Rows, res.P50ms, res.P95ms, res.MaxMs, res.OfTarget)
		}
		return results, nil
	}
	results, err := measure("as migrated (index on conversations.last_activity_at)")
	if err != nil {
		return err
	}
	if *compare {
		g := db.Gorm().WithContext(ctx)
		if err := g.Exec("DROP INDEX conversations_activity").Error; err != nil {
			return err
		}
		without, err := measure("without the activity index")
		if err2 := g.Exec("CREATE INDEX conversations_activity ON conversations (last_activity_at DESC, id DESC)").Error; err == nil {
			err = err2
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%-32s %22s\n", "query", "p95 with / without")
		for i, r := range results {
			fmt.Fprintf(stdout, "%-32s %21.2fx\n", r.Name, r.P95ms/without[i].P95ms)
		}
		results = append(results, without...)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(*jsonOut, b, 0o644)
	}
	return nil
}

// seedConsole fills db with n conversations of perConv messages each
// (unless it has them already), in SQL on the server: users, conversations
// over the last year (mostly closed with an outcome, some open with the
// bot, waiting or staff), and messages alternating between what people
// write (bench/loadgen's texts; one in 20,000 carries the rare phrase
// ワンタイムパスコード) and the bot's answers, with the search index kept up
// as the rows go in. It reports whether it seeded.
func seedConsole(ctx context.Context, db *storage.DB, n, perConv int) (bool, error) {
	var have int64
	if err := db.Gorm().WithContext(ctx).Raw("SELECT COUNT(*) FROM conversations").Scan(&have).Error; err != nil {
		return false, err
	}
	if have >= int64(n) {
		return false, nil
	}
	if db.Dialect() != storage.Postgres {
		return false, fmt.Errorf("the console bench seeds PostgreSQL only")
	}
	bots := []string{
		"確認コードは、どの方法で受け取る設定になっていますか？",
		"迷惑メールフォルダや、その他のフォルダを確認してみてください。",
		"登録したメールアドレスや電話番号がもう使えなくても、アカウントがなくなるわけではありません。",
		"コードの送り先を選ぶ画面に、使えない場合の選択肢があります。",
		"担当者におつなぎします。このままトークでお待ちください。",
		"回復フォームでは、できるだけ多くの情報を入力してください。",
		"SMSが届かないときは、電話番号と国番号が正しいか確認してください。",
		"お役に立てたならうれしいです。ほかにお困りのことはありますか？",
	}
	openFrom := n - n/50 // the newest 2% are open; a tenth of those wait, a tenth are with staff
	topics := []string{"welcome", "ask_method", "email_check", "sms_check", "app_check", "replace_method", "recovery_form", "handoff", "resolved"}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, kind, display_name, created_at, updated_at)
			SELECT 'U' || lpad(g::text, 32, '0'), 'user', '', now(), now() FROM generate_series(1, $1) g
			ON CONFLICT DO NOTHING`, []any{n * 6 / 10}},
		// Conversation g belongs to user g % (0.6 n) + 1; a user's latest one may be open.
		{`INSERT INTO conversations (user_id, status, owner, assigned_staff_id, outcome, end_reason, pack_id, pack_version,
				node, topic, handoff_at, started_at, last_activity_at, closed_at)
			SELECT 'U' || lpad((g % $1 + 1)::text, 32, '0'),
				CASE WHEN g > $2 THEN 'open' ELSE 'closed' END,
				CASE WHEN g > $3 AND g % 10 = 0 THEN 'waiting' WHEN g > $4 AND g % 10 = 1 THEN 'staff' ELSE 'bot' END,
				CASE WHEN g > $5 AND g % 10 = 1 THEN 'sato' END,
				CASE WHEN g <= $6 THEN (ARRAY['resolved','resolved','resolved','abandoned','handed_over','not_resolved'])[g % 6 + 1] END,
				CASE WHEN g <= $7 THEN 'resolved' ELSE '' END,
				'microsoft-ja', '2026-11-25.1',
				($8::text[])[g % $9 + 1], ($10::text[])[g % $11 + 1],
				CASE WHEN g > $12 AND g % 10 IN (0, 1) THEN ts END,
				ts - interval '10 minutes', ts, CASE WHEN g <= $13 THEN ts END
			FROM (SELECT g, now() - ($14 - g) * interval '5 minutes' - (random() * interval '3 minutes') AS ts
				FROM generate_series(1, $15) g) s`,
			[]any{n * 6 / 10, openFrom, openFrom, openFrom, openFrom, openFrom, openFrom,
				topics, len(topics), topics, len(topics), openFrom, openFrom, n, n}},
		{`INSERT INTO messages (conversation_id, direction, author, type, text, node_after, topic_after, intent, score, reason,
				pack_id, pack_version, delivery_status, via, at, created_at)
			SELECT c.id, CASE WHEN k % 2 = 0 THEN 'in' ELSE 'out' END, CASE WHEN k % 2 = 0 THEN 'user' ELSE 'bot' END, 'text',
				CASE WHEN k % 2 = 1 THEN ($1::text[])[(c.id + k) % $2 + 1]
					WHEN (c.id * 7 + k) % 20000 = 0 THEN 'ワンタイムパスコードがSMSで届きません'
					ELSE ($3::text[])[(c.id * 31 + k * 17) % $4 + 1] END,
				c.node, c.topic, CASE WHEN k % 2 = 0 THEN 'email_not_arriving' ELSE '' END, 0.8, 'intent',
				'microsoft-ja', '2026-11-25.1', CASE WHEN k % 2 = 1 THEN 'sent' ELSE '' END, CASE WHEN k % 2 = 1 THEN 'reply' ELSE '' END,
				c.started_at + k * interval '1 minute', c.started_at + k * interval '1 minute'
			FROM conversations c CROSS JOIN generate_series(0, $5 - 1) k`,
			[]any{bots, len(bots), loadgen.Texts, len(loadgen.Texts), perConv}},
		{`ANALYZE`, nil},
	}
	sqlDB, err := db.Gorm().DB()
	if err != nil {
		return false, err
	}
	for _, s := range stmts {
		if _, err := sqlDB.ExecContext(ctx, s.sql, s.args...); err != nil {
			return false, fmt.Errorf("seed: %w", err)
		}
	}
	return true, nil
}
