package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/app"
	"github.com/todoku/todoku/bench/loadgen"
	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/bot/webhook"
	"github.com/todoku/todoku/storage/storagetest"
)

// todokuInProcess runs todoku (app.New, a.Serve: what `todoku serve`
// runs) in this process on a fresh SQLite database, sending to the rig's
// fake.
func todokuInProcess(t *testing.T, r *rig) string {
	t.Helper()
	return todokuOn(t, r, storagetest.SQLiteURL(t))
}

// todokuOn is todokuInProcess on the database at dbURL.
func todokuOn(t *testing.T, r *rig, dbURL string) string {
	t.Helper()
	cfg, err := app.ConfigFrom(map[string]string{
		"DATABASE_URL": dbURL, "LINE_CHANNEL_SECRET": Secret, "LINE_CHANNEL_ACCESS_TOKEN": linefake.DefaultToken,
		"LINE_API_BASE_URL": r.FakeURL, "RETENTION_DAYS": "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	return "http://" + ln.Addr().String() + webhook.Path
}

// TestShortLoadTodoku sends a short load with redelivered duplicates to
// todoku in process, on SQLite and (with TODOKU_TEST_POSTGRES) on Postgres,
// and checks the tally: everything acknowledged is answered exactly once.
func TestShortLoadTodoku(t *testing.T) {
	storagetest.EachURL(t, testShortLoad)
}

func testShortLoad(t *testing.T, dbURL string) {
	r, err := newRig("")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	url := todokuOn(t, r, dbURL)
	st, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: url, Secret: Secret, Tracker: r.Tracker,
		Rate: 300, Events: 300, Duration: 10 * time.Second, Users: 50,
		Mix: loadgen.Mix{Postback: 0.2, Sticker: 0.05}, Duplicates: 0.1, Drain: 20 * time.Second, Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 300 || st.Acked != 300 || st.Replied != 300 || st.Lost != 0 || st.Dup != 0 || st.Errors != 0 {
		t.Fatalf("sent %d acked %d replied %d lost %d dup %d errors %d; want 300 300 300 0 0 0",
			st.Sent, st.Acked, st.Replied, st.Lost, st.Dup, st.Errors)
	}
	if st.DupSent == 0 {
		t.Fatal("no redelivered duplicates were sent")
	}
	if st.Ack.N != st.AckedReqs || st.Ack.P50 <= 0 || st.Ack.P99 < st.Ack.P50 || st.Ack.Max < st.Ack.P99 {
		t.Fatalf("ack latency %+v over %d acked requests", st.Ack, st.AckedReqs)
	}
	if st.EventsPerSec <= 0 || st.Reply.N != 300 {
		t.Fatalf("events/s %v, reply latencies %d", st.EventsPerSec, st.Reply.N)
	}
	// The fake saw one accepted reply per event and no pushes.
	if got := len(r.Fake.Where(func(c linefake.Call) bool { return linefake.IsReply(c) && c.Accepted() })); got != 300 {
		t.Fatalf("%d accepted replies at the fake, want 300", got)
	}
	var buf bytes.Buffer
	loadgen.Table(&buf, []loadgen.Result{{Name: "a", Stats: *st}, {Name: "b", Stats: *st}}, 0)
	if !strings.Contains(buf.String(), "(1.00×)") || !strings.Contains(buf.String(), "events/s handled") {
		t.Fatalf("table:\n%s", buf.String())
	}
}

// TestShortLoadTokenExpiry: while the fake refuses every reply token,
// todoku falls back to push with a retry key; nothing is lost or answered
// twice, and the tracker matches the pushes to the events.
func TestShortLoadTokenExpiry(t *testing.T) {
	r, err := newRig("")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	url := todokuInProcess(t, r)
	r.Fake.ExpireTokens(true)
	st, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: url, Secret: Secret, Tracker: r.Tracker,
		Rate: 200, Events: 100, Duration: 10 * time.Second, Users: 20, Drain: 20 * time.Second, Seed: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Acked != 100 || st.Replied != 100 || st.Lost != 0 || st.Dup != 0 {
		t.Fatalf("acked %d replied %d lost %d dup %d; want 100 100 0 0", st.Acked, st.Replied, st.Lost, st.Dup)
	}
	pushes := r.Fake.Where(func(c linefake.Call) bool { return linefake.IsPush(c) && c.Accepted() })
	if len(pushes) != 100 {
		t.Fatalf("%d accepted pushes, want 100", len(pushes))
	}
	for _, c := range pushes {
		if c.RetryKey() == "" {
			t.Fatal("push without X-Line-Retry-Key")
		}
	}
}

// TestEchoBotThroughProxy builds the SDK's echo bot unmodified and checks
// that its replies reach the fake through the TLS proxy.
func TestEchoBotThroughProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the SDK's echo bot")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bins, err := buildEcho(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	lc := loadgen.Config{Rate: 200, Events: 100, Duration: 10 * time.Second, Users: 20, Mix: loadgen.Mix{Sticker: 0.1}, Drain: 10 * time.Second}
	tg := &target{Name: "echo", Kind: kindEcho, Bin: bins, LogPath: filepath.Join(dir, "echo.log")}
	res, err := runTarget(ctx, tg, lc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acked != 100 || res.Replied != 100 || res.Lost != 0 || res.Dup != 0 || res.PeakRSSKiB <= 0 {
		log, _ := os.ReadFile(tg.LogPath)
		t.Fatalf("echo bot: %s rss=%d\nlog tail: %s", loadgen.Line(&res), res.PeakRSSKiB, tail(log, 2000))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestLoadDetectsLossAndDuplicates: the tally must be able to fail. A
// server that acknowledges and never answers loses every event; one that
// answers each event twice (reply, then push) duplicates every answer.
func TestLoadDetectsLossAndDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  int
		wantLost bool
		wantDup  bool
	}{
		{"silent", 0, true, false},
		{"twice", 2, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newRig("")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			client := &http.Client{Timeout: 5 * time.Second}
			h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				body, _ := io.ReadAll(req.Body)
				var cb struct {
					Events []struct {
						ReplyToken string `json:"replyToken"`
						Source     struct {
							UserID string `json:"userId"`
						} `json:"source"`
					} `json:"events"`
				}
				_ = json.Unmarshal(body, &cb)
				for _, ev := range cb.Events {
					if tc.answers >= 1 {
						post(t, client, r.FakeURL+linefake.PathReply, fmt.Sprintf(`{"replyToken":%q,"messages":[{"type":"text","text":"a"}]}`, ev.ReplyToken))
					}
					if tc.answers >= 2 {
						post(t, client, r.FakeURL+linefake.PathPush, fmt.Sprintf(`{"to":%q,"messages":[{"type":"text","text":"a"}]}`, ev.Source.UserID))
					}
				}
				w.WriteHeader(http.StatusOK)
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			st, err := loadgen.Run(context.Background(), loadgen.Config{
				URL: srv.URL, Secret: Secret, Tracker: r.Tracker, Rate: 200, Events: 40, Users: 1000, Drain: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if (st.Lost == st.Acked && st.Acked == 40) != tc.wantLost || (st.Dup == 40) != tc.wantDup {
				t.Fatalf("acked %d lost %d dup %d; want lost=%v dup=%v", st.Acked, st.Lost, st.Dup, tc.wantLost, tc.wantDup)
			}
		})
	}
}

func post(t *testing.T, c *http.Client, url, body string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+linefake.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("%s: status %d", url, res.StatusCode)
	}
}
