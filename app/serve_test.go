package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/dialog/route"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

const e2eSecret = "e2e-channel-secret-0123456789abcdef"

// Users of the tests that seed data.
const (
	userOld = "U0000000000000000000000000000a01d"
	userNew = "U0000000000000000000000000000e1e1"
)

var (
	engineOnce sync.Once
	engine     *route.Router
	engineErr  error
)

// newTestApp is New on cfg, closed when the test ends. The apps of a test
// binary share one engine on the default pack (building one trains the
// understanding).
func newTestApp(t *testing.T, cfg *Config, opt Options) *App {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = retLog
	}
	if opt.Engine == nil {
		engineOnce.Do(func() { engine, engineErr = newEngine(cfg) })
		if engineErr != nil {
			t.Fatal(engineErr)
		}
		opt.Engine = engine
	}
	a, err := New(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// testConfig is a valid configuration on the database at dbURL: 4 workers,
// no retention, connected to fake when it is not nil.
func testConfig(t *testing.T, dbURL string, fake *linefake.Server) *Config {
	t.Helper()
	env := map[string]string{"DATABASE_URL": dbURL, "RETENTION_DAYS": "0", "WORKERS": "4"}
	if fake != nil {
		env["LINE_CHANNEL_SECRET"], env["LINE_CHANNEL_ACCESS_TOKEN"], env["LINE_API_BASE_URL"] = e2eSecret, fake.Token(), fake.URL()
	}
	cfg, err := parse(t, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// e2eServer is `todoku serve` running in-process.
type e2eServer struct {
	base   string
	stop   context.CancelFunc
	done   chan error
	client *http.Client
}

// startServe runs a.Serve on a loopback port until the test ends.
func startServe(t *testing.T, a *App) *e2eServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &e2eServer{base: "http://" + ln.Addr().String(), stop: cancel, done: make(chan error, 1), client: &http.Client{Timeout: 10 * time.Second}}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// serveOn builds the service on cfg and serves it.
func serveOn(t *testing.T, cfg *Config) *e2eServer {
	t.Helper()
	return startServe(t, newTestApp(t, cfg, Options{}))
}

// shutdown stops the server as SIGTERM would and waits for the drain.
func (s *e2eServer) shutdown(t *testing.T) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Error("serve did not stop within 40 s of shutdown")
	}
}

func (s *e2eServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := s.client.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// post sends body to /callback; sig "" sends no signature, "sign" signs it.
func (s *e2eServer) post(t *testing.T, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/callback", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig == "sign" {
		sig = e2eSign(body)
	}
	if sig != "" {
		req.Header.Set("X-Line-Signature", sig)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func e2eSign(body []byte) string {
	m := hmac.New(sha256.New, []byte(e2eSecret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type e2eEvent map[string]any

func e2eText(user, text, token string, ts time.Time) e2eEvent {
	return e2eEvent{
		"type": "message", "mode": "active", "timestamp": ts.UnixMilli(),
		"source":          map[string]any{"type": "user", "userId": user},
		"webhookEventId":  strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))[:26],
		"deliveryContext": map[string]any{"isRedelivery": false},
		"replyToken":      token,
		"message":         map[string]any{"id": fmt.Sprint(ts.UnixNano()), "type": "text", "quoteToken": "q", "text": text},
	}
}

func e2eBody(events ...e2eEvent) []byte {
	if events == nil {
		events = []e2eEvent{}
	}
	b, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": events})
	return b
}

func TestServeEndToEnd(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		fake := linefake.New()
		defer fake.Close()
		s := serveOn(t, testConfig(t, dbURL, fake))
		user := "U" + strings.ReplaceAll(uuid.NewString(), "-", "")

		checks := []struct {
			name     string
			body     []byte
			sig      string
			want     int
			wantBody string
		}{
			{"missing signature", e2eBody(e2eText(user, "x", "t0", time.Now())), "", 400, `"error"`},
			{"forged signature", e2eBody(e2eText(user, "x", "t1", time.Now())), "bm90IGEgc2lnbmF0dXJl", 400, `"error"`},
			{"malformed JSON", []byte(`{"events": [`), "sign", 400, `"error"`},
			{"verification request", e2eBody(), "sign", 200, ""},
			{"body over 1 MiB", []byte(`{"events":[],"pad":"` + strings.Repeat("x", 1<<20+10) + `"}`), "sign", 413, ""},
		}
		for _, c := range checks {
			code, body := s.post(t, c.body, c.sig)
			if code != c.want || !strings.Contains(body, c.wantBody) {
				t.Errorf("%s: got %d %s, want %d containing %q", c.name, code, body, c.want, c.wantBody)
			}
		}
		if n := len(fake.Calls()); n != 0 {
			t.Fatalf("rejected requests reached LINE: %d calls", n)
		}
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(method, s.base+"/callback", nil)
			res, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
				t.Errorf("%s /callback: %d, Allow %q; want 405 and Allow: POST", method, res.StatusCode, res.Header.Get("Allow"))
			}
		}

		// A conversation: each typed message is answered with its own token,
		// on the topic the dev set expects.
		turns := []struct{ text, token, wantData string }{
			{"確認コードが届きません", "tok-1", "go=email_check"},
			{"メールです。迷惑メールフォルダも見ました", "tok-2", ""},
			{"コードは 482913 です", "tok-3", ""}, // a code: warned, and never stored
		}
		for i, turn := range turns {
			fake.ExpectToken(turn.token, user)
			ev := e2eText(user, turn.text, turn.token, time.Now().Add(time.Duration(i)*time.Millisecond))
			if code, body := s.post(t, e2eBody(ev), "sign"); code != 200 {
				t.Fatalf("turn %d: %d %s", i, code, body)
			}
			if !fake.WaitFor(func(c linefake.Call) bool { return linefake.IsReply(c) && c.ReplyToken() == turn.token }, 15*time.Second) {
				t.Fatalf("turn %d (%s): no reply", i, turn.text)
			}
			reply := fake.Where(func(c linefake.Call) bool { return linefake.IsReply(c) && c.ReplyToken() == turn.token })[0]
			if turn.wantData != "" && !strings.Contains(string(reply.Body), turn.wantData) {
				t.Errorf("turn %d: reply lacks a %s button: %s", i, turn.wantData, reply.Body)
			}
			if i == 2 && !strings.Contains(string(reply.Body), "共有") {
				t.Errorf("a code in the message got no safety warning: %s", reply.Body)
			}
		}

		// A redelivery of an answered event is acknowledged and not processed again.
		ev := e2eText(user, "SMSが届きません", "tok-4", time.Now().Add(time.Second))
		fake.ExpectToken("tok-4", user)
		s.post(t, e2eBody(ev), "sign")
		fake.WaitFor(func(c linefake.Call) bool { return c.ReplyToken() == "tok-4" }, 15*time.Second)
		ev["deliveryContext"] = map[string]any{"isRedelivery": true}
		if code, _ := s.post(t, e2eBody(ev), "sign"); code != 200 {
			t.Fatalf("redelivery: %d", code)
		}

		// An expired reply token falls back to push with a retry key.
		ev = e2eText(user, "30日も待つの？", "expired-5", time.Now().Add(2*time.Second))
		s.post(t, e2eBody(ev), "sign")
		pushes := fake.WaitForN(linefake.IsPush, 1, 15*time.Second)
		if len(pushes) != 1 || uuid.Validate(pushes[0].RetryKey()) != nil || pushes[0].To() != user {
			t.Fatalf("expired token: want one push to %s with a UUID retry key, got %d", user, len(pushes))
		}
		// One user's events run in order: had the redelivery been taken as
		// new, it would have been answered before this later event was.
		if n := len(fake.Where(func(c linefake.Call) bool { return c.ReplyToken() == "tok-4" })); n != 1 {
			t.Errorf("redelivered event answered %d times, want 1", n)
		}

		for _, p := range []struct{ path, want string }{{"/healthz", "ok"}, {"/readyz", "ready"}, {"/metrics", "todoku_webhook_requests_total"}} {
			if code, body := s.get(t, p.path); code != 200 || !strings.Contains(body, p.want) {
				t.Errorf("GET %s: %d %.200s", p.path, code, body)
			}
		}
		s.shutdown(t)

		// Nothing raw is stored: the code was masked before the database.
		db := storagetest.Open(t, dbURL)
		convs, err := db.Conversations(context.Background(), user)
		if err != nil || len(convs) == 0 {
			t.Fatalf("conversations: %v (%d)", err, len(convs))
		}
		msgs, err := db.Messages(context.Background(), convs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var in int
		for _, m := range msgs {
			if strings.Contains(m.Text, "482913") {
				t.Errorf("raw code stored: %q", m.Text)
			}
			if m.Direction == storage.DirectionIn {
				in++
			}
			if m.PackID != "microsoft-ja" || m.PackVersion == "" {
				t.Errorf("message %d lacks the pack that served it: %q %q", m.ID, m.PackID, m.PackVersion)
			}
		}
		if in != 5 {
			t.Errorf("logged %d inbound messages, want 5", in)
		}
	})
}

func TestServeWithoutLINE(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	s := serveOn(t, testConfig(t, storagetest.SQLiteURL(t), nil))
	code, body := s.post(t, e2eBody(), "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) {
		t.Errorf("/callback without LINE: %d %s, want 503 with a JSON error", code, body)
	}
	if code, _ := s.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := s.get(t, "/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
}

// TestServeShutdownLosesNothing stops the server right after a burst is
// acknowledged and starts it again: every event is answered exactly once.
func TestServeShutdownLosesNothing(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		fake := linefake.New()
		defer fake.Close()
		s := serveOn(t, testConfig(t, dbURL, fake))
		texts := []string{"こんにちは", "コードが届かない", "メール", "迷惑メールにもない", "人と話したい"}
		var tokens []string
		base := time.Now()
		for u := 0; u < 6; u++ {
			user := fmt.Sprintf("U%032x", u+1)
			for i, text := range texts {
				tok := fmt.Sprintf("tok-%d-%d", u, i)
				tokens = append(tokens, tok)
				fake.ExpectToken(tok, user)
				if code, body := s.post(t, e2eBody(e2eText(user, text, tok, base.Add(time.Duration(i)*time.Millisecond))), "sign"); code != 200 {
					t.Fatalf("post: %d %s", code, body)
				}
			}
		}
		s.shutdown(t) // SIGTERM right after the acks
		s2 := serveOn(t, testConfig(t, dbURL, fake))
		defer s2.shutdown(t)
		isOurs := func(c linefake.Call) bool { return linefake.IsReply(c) && c.Status == 200 }
		got := fake.WaitForN(isOurs, len(tokens), 30*time.Second)
		seen := map[string]int{}
		for _, c := range got {
			seen[c.ReplyToken()]++
		}
		for _, tok := range tokens {
			if seen[tok] != 1 {
				t.Errorf("token %s answered %d times, want exactly 1", tok, seen[tok])
			}
		}
		// One user's replies arrive in the order of their messages.
		for u := 0; u < 6; u++ {
			var order []string
			for _, c := range fake.Where(isOurs) {
				if strings.HasPrefix(c.ReplyToken(), fmt.Sprintf("tok-%d-", u)) {
					order = append(order, c.ReplyToken())
				}
			}
			for i := range order {
				if want := fmt.Sprintf("tok-%d-%d", u, i); order[i] != want {
					t.Errorf("user %d: reply %d was %s, want %s", u, i, order[i], want)
					break
				}
			}
		}
	})
}

// TestNoSecretInReadyzOrLogs serves a conversation with every secret set
// (for PostgreSQL, a password in the URL too), then loses the database:
// /readyz answers 503 without the cause, and no log line, at debug level,
// holds a secret's value.
func TestNoSecretInReadyzOrLogs(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		secrets := []string{e2eSecret}
		if u, err := url.Parse(dbURL); err == nil && u.Scheme == "postgres" {
			const pw = "db-pass-5d1e0c" // trust authentication ignores it
			u.User = url.UserPassword(u.User.Username(), pw)
			dbURL, secrets = u.String(), append(secrets, pw)
		}
		fake := linefake.New()
		defer fake.Close()
		c := testConfig(t, dbURL, fake)
		c.LogLevel = "debug"
		secrets = append(secrets, c.ChannelToken)
		var logs syncBuffer
		a := newTestApp(t, c, Options{Logger: NewLogger(c, &logs)})
		s := startServe(t, a)

		user := "U" + strings.ReplaceAll(uuid.NewString(), "-", "")
		fake.ExpectToken("tok-s", user)
		if code, body := s.post(t, e2eBody(e2eText(user, "確認コードが届きません", "tok-s", time.Now())), "sign"); code != 200 {
			t.Fatalf("post: %d %s", code, body)
		}
		if !fake.WaitFor(func(c linefake.Call) bool { return c.ReplyToken() == "tok-s" }, 15*time.Second) {
			t.Fatal("no reply")
		}
		if code, body := s.post(t, e2eBody(), "bm90IGEgc2lnbmF0dXJl"); code != 400 {
			t.Fatalf("forged signature: %d %s", code, body)
		}
		if code, _ := s.get(t, "/readyz"); code != 200 {
			t.Fatalf("/readyz: %d", code)
		}
		a.DB.Close()
		code, body := s.get(t, "/readyz")
		if code != http.StatusServiceUnavailable || strings.TrimSpace(body) != `{"status":"not ready"}` {
			t.Errorf("/readyz without a database: %d %s; want 503 and no cause", code, body)
		}
		s.shutdown(t)
		out := logs.String()
		if !strings.Contains(out, `"not ready"`) {
			t.Errorf("the cause of not being ready was not logged:\n%s", out)
		}
		for _, sec := range secrets {
			if strings.Contains(out+body, sec) {
				t.Errorf("a secret (%d characters) reached the logs or /readyz:\n%s", len(sec), out)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
