package console_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand"
	"github.com/todoku/todoku/storage"
)

// The console's tests run the real pipeline: the embedded pack, the
// engine, workers on the test's database, and a Sender that records what
// would go to LINE.

var (
	engineOnce sync.Once
	engine     *dialog.Engine
	engineErr  error
)

func testEngine(t testing.TB) *dialog.Engine {
	engineOnce.Do(func() {
		pack, err := knowledge.EmbeddedPack("microsoft-ja")
		if err != nil {
			engineErr = err
			return
		}
		engine, engineErr = dialog.New(pack, understand.New(pack), dialog.Options{Threshold: understand.DefaultThreshold})
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

// sent records deliveries.
type sent struct {
	mu  sync.Mutex
	out []bot.Outgoing
}

func (s *sent) Send(_ context.Context, out bot.Outgoing) (bot.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, out)
	via := "reply"
	if out.ReplyToken == "" {
		via = "push"
	}
	return bot.Delivery{Via: via, RequestID: "req"}, nil
}

func (s *sent) ShowLoading(context.Context, string, int) error { return nil }

// pushes returns the texts pushed (not replied) to chat.
func (s *sent) pushes(chat string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var texts []string
	for _, o := range s.out {
		if o.ChatID == chat && o.ReplyToken == "" {
			for _, m := range o.Messages {
				texts = append(texts, string(m))
			}
		}
	}
	return texts
}

func (s *sent) count(chat string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.out {
		if o.ChatID == chat {
			n++
		}
	}
	return n
}

// startPipeline runs workers on db until the test ends.
func startPipeline(t testing.TB, db *storage.DB) (*bot.Workers, *sent) {
	t.Helper()
	s := &sent{}
	p := bot.NewProcessor(testEngine(t), db, s)
	w := bot.NewWorkers(p, 2)
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.Shutdown(ctx)
	})
	return w, s
}

var evSeq int64
var evMu sync.Mutex

// userSays submits a text event from user, as the webhook would.
func userSays(t testing.TB, w *bot.Workers, user, text string) {
	t.Helper()
	evMu.Lock()
	evSeq++
	n := evSeq
	evMu.Unlock()
	id := user + "-" + time.Now().Format("150405.000000000") + "-" + string(rune('a'+n%26))
	ev := bot.Event{ID: id, Type: "message", SourceType: "user", UserID: user, ChatID: user, MessageType: "text",
		MessageID: "m" + id, Text: text, ReplyToken: "rt" + id, Timestamp: time.Now()}
	if err := w.Submit(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// eventually waits up to 10 s for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
