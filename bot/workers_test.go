package bot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/linemsg"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// eachURL runs f with the URL of a fresh database for each dialect, so that
// tests can open it several times (a restart, a second replica).
func eachURL(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		u := storagetest.SQLiteURL(t)
		storagetest.Open(t, u) // migrate
		f(t, u)
	})
	t.Run("postgres", func(t *testing.T) {
		u := storagetest.PostgresURL(t)
		storagetest.Open(t, u)
		f(t, u)
	})
}

func startWorkers(t *testing.T, p *bot.Processor, n int) *bot.Workers {
	t.Helper()
	w := bot.NewWorkers(p, n)
	w.SweepInterval = 50 * time.Millisecond
	w.SweepAge = 0
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	return w
}

func backlogZero(t *testing.T, db *storage.DB) func() bool {
	return func() bool {
		n, err := db.Backlog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	}
}

// checkReplies verifies that every chat got exactly one reply per event, in
// the order of its events ("echo U3:1", "echo U3:2", ...).
func checkReplies(t *testing.T, perChat int, chats int, sends ...[]sent) {
	t.Helper()
	next := map[string]int{}
	total := 0
	for _, ss := range sends {
		for _, s := range ss {
			total++
			chat, seq, _ := strings.Cut(strings.TrimPrefix(s.Texts[0], "echo "), ":")
			n, _ := strconv.Atoi(seq)
			if n != next[chat]+1 {
				t.Fatalf("chat %s: reply %d after %d (out of order or duplicated)", chat, n, next[chat])
			}
			next[chat] = n
		}
	}
	if total != perChat*chats || len(next) != chats {
		t.Fatalf("%d replies to %d chats, want %d to %d", total, len(next), perChat*chats, chats)
	}
}

func TestWorkersKeepOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	const chats, perChat = 20, 15
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		w := startWorkers(t, newProcessor(db, e, s), 6)
		var wg sync.WaitGroup
		for c := range chats {
			wg.Go(func() {
				chat := fmt.Sprintf("U%d", c)
				for i := 1; i <= perChat; i++ {
					ev := text(fmt.Sprintf("%s-%d", chat, i), chat, fmt.Sprintf("%s:%d", chat, i), t0.Add(time.Duration(i)*time.Second))
					if _, err := db.Accept(context.Background(), []bot.Event{ev}); err != nil {
						t.Error(err)
						return
					}
					w.Notify(chat)
				}
			})
		}
		wg.Wait()
		waitFor(t, "all replies", func() bool { return len(s.Sends()) >= chats*perChat })
		waitFor(t, "empty inbox", backlogZero(t, db))
		if v := e.Violations(); len(v) != 0 {
			t.Fatalf("engine saw events out of order: %v", v)
		}
		checkReplies(t, perChat, chats, s.Sends())
	})
}

func TestWorkersSameEventTwiceAtOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		w := startWorkers(t, newProcessor(db, e, s), 4)
		ev := text("dup", "U1", "U1:1", t0)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				redelivered := ev
				redelivered.Redelivery = true
				if _, err := db.Accept(context.Background(), []bot.Event{redelivered}); err != nil {
					t.Error(err)
				}
				w.Notify("U1")
			})
		}
		wg.Wait()
		waitFor(t, "empty inbox", backlogZero(t, db))
		// Once the workers have drained, nothing can run the event again:
		// it is done in the inbox.
		if err := w.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(e.Steps()); n != 1 {
			t.Fatalf("processed %d times", n)
		}
		checkReplies(t, 1, 1, s.Sends())
	})
}

// TestWorkersCrashRecovery fills the inbox, stops the workers part way, and
// leaves a committed turn whose reply was being sent (as a crash between the
// send and recording it would). A new process on the same database must
// deliver that reply and process every remaining event, none twice.
func TestWorkersCrashRecovery(t *testing.T) {
	t.Parallel()
	const chats, perChat = 12, 20
	eachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db1, err := storage.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var evs []bot.Event
		for i := 1; i <= perChat; i++ {
			for c := range chats {
				chat := fmt.Sprintf("U%d", c)
				evs = append(evs, text(fmt.Sprintf("%s-%d", chat, i), chat, fmt.Sprintf("%s:%d", chat, i), t0.Add(time.Duration(i)*time.Second)))
			}
		}
		if n, err := db1.Accept(ctx, evs); err != nil || n != len(evs) {
			t.Fatalf("Accept = %d, %v", n, err)
		}

		// First process: stop after some replies.
		e1, s1 := &fakeEngine{}, &fakeSender{}
		var count atomic.Int64
		stopNow := make(chan struct{})
		var once sync.Once
		s1.onSend = func(bot.Outgoing) {
			if count.Add(1) == 40 {
				once.Do(func() { close(stopNow) })
			}
		}
		w1 := bot.NewWorkers(newProcessor(db1, e1, s1), 4)
		if err := w1.Start(ctx); err != nil {
			t.Fatal(err)
		}
		<-stopNow
		if err := w1.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		left, _ := db1.Backlog(ctx)
		if left == 0 {
			t.Fatal("everything was processed before the stop: the test proves nothing")
		}

		// A turn committed but its delivery cut short by the crash: the
		// claim lets go of the chat without recording anything.
		crashChat := "U3"
		c, err := db1.Claim(ctx, []string{crashChat}, true, time.Now(), func(tc bot.TurnContext) (bot.TurnPlan, error) {
			res := e1.Step(tc.State, dialog.Input{Kind: dialog.InputText, Text: tc.Item.Event.Text})
			msgs, err := linemsg.Render(res.Replies)
			p := bot.TurnPlan{In: &bot.Inbound{Type: "text", Text: tc.Item.Event.Text}, State: &res.State,
				Reply: &bot.Reply{Messages: msgs, Bubbles: []bot.Bubble{{Type: "text", Text: "?"}}, Author: bot.AuthorBot}}
			if tc.Conversation == nil {
				p.Open = &bot.Opening{Owner: bot.OwnerBot}
			}
			return p, err
		})
		if err != nil {
			t.Fatal(err)
		}
		out := c.Chats[crashChat].Out
		if out == nil {
			t.Fatalf("crash turn: %+v", c.Chats[crashChat])
		}
		if err := c.Finish(ctx, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		db1.Close()

		// Restart.
		db2 := storagetest.Open(t, url)
		e2, s2 := &fakeEngine{}, &fakeSender{}
		startWorkers(t, newProcessor(db2, e2, s2), 4)
		waitFor(t, "empty inbox", backlogZero(t, db2))
		waitFor(t, "all replies", func() bool { return len(s1.Sends())+len(s2.Sends()) >= chats*perChat })
		waitFor(t, "outbox delivered", func() bool {
			return storagetest.Count(t, db2, "outbox", "status = ?", storage.StatusPending) == 0
		})
		if v := append(e1.Violations(), e2.Violations()...); len(v) != 0 {
			t.Fatalf("out of order: %v", v)
		}
		if steps := len(e1.Steps()) + len(e2.Steps()); steps != chats*perChat {
			t.Fatalf("%d engine steps for %d events", steps, chats*perChat)
		}
		checkReplies(t, perChat, chats, s1.Sends(), s2.Sends())
		var attempted int
		for _, s := range s2.Sends() {
			if s.Attempted {
				attempted++
				if s.RetryKey != out.RetryKey || s.Chat != crashChat {
					t.Fatalf("resent row %+v, want retry key %s", s, out.RetryKey)
				}
			}
		}
		if attempted != 1 {
			t.Fatalf("%d sends marked attempted, want 1", attempted)
		}
	})
}

// TestReplicasShareOnePostgres runs two worker pools on two connections to
// one Postgres schema, with each event accepted by either at random and 10%
// redelivered to the other: each event processed once, each chat in order.
func TestReplicasShareOnePostgres(t *testing.T) {
	t.Parallel()
	const chats, perChat = 16, 15
	url := storagetest.PostgresURL(t)
	dbs := []*storage.DB{storagetest.Open(t, url), storagetest.Open(t, url)}
	engines := []*fakeEngine{{}, {}}
	senders := []*fakeSender{{}, {}}
	var ws []*bot.Workers
	for i := range dbs {
		ws = append(ws, startWorkers(t, newProcessor(dbs[i], engines[i], senders[i]), 4))
	}
	// A shared recorder keeps the global order of sends across replicas.
	var mu sync.Mutex
	var all []sent
	for _, s := range senders {
		s.onSend = func(out bot.Outgoing) {
			mu.Lock()
			defer mu.Unlock()
			all = append(all, sent{Chat: out.ChatID, Texts: []string{textOf(out)}})
		}
	}
	var wg sync.WaitGroup
	for c := range chats {
		wg.Go(func() {
			chat := fmt.Sprintf("U%d", c)
			for i := 1; i <= perChat; i++ {
				ev := text(fmt.Sprintf("%s-%d", chat, i), chat, fmt.Sprintf("%s:%d", chat, i), t0.Add(time.Duration(i)*time.Second))
				r := rand.IntN(2)
				targets := []int{r}
				if rand.IntN(10) == 0 {
					targets = append(targets, 1-r)
				}
				for _, k := range targets {
					if _, err := dbs[k].Accept(context.Background(), []bot.Event{ev}); err != nil {
						t.Error(err)
						return
					}
					ws[k].Notify(chat)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "all replies", func() bool { mu.Lock(); defer mu.Unlock(); return len(all) >= chats*perChat })
	waitFor(t, "empty inbox", backlogZero(t, dbs[0]))
	for _, w := range ws { // drained: every turn and send has ended
		if err := w.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if v := append(engines[0].Violations(), engines[1].Violations()...); len(v) != 0 {
		t.Fatalf("out of order: %v", v)
	}
	mu.Lock()
	defer mu.Unlock()
	checkReplies(t, perChat, chats, all)
	if len(senders[0].Sends()) == 0 || len(senders[1].Sends()) == 0 {
		t.Fatalf("one replica did all the work: %d / %d", len(senders[0].Sends()), len(senders[1].Sends()))
	}
}

func textOf(out bot.Outgoing) string {
	s := string(out.Messages[0])
	i := strings.Index(s, `"text":"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(`"text":"`):]
	return s[:strings.IndexByte(s, '"')]
}

func TestShutdownBeforeStartAndNotifyAfter(t *testing.T) {
	t.Parallel()
	db := storagetest.SQLite(t)
	w := bot.NewWorkers(newProcessor(db, &fakeEngine{}, &fakeSender{}), 2)
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Notify("U1") // must not block or panic
}

// TestWorkersBatch fills the inbox before the workers start, so they take
// chats in batches (Workers.BatchChats), with what a batch meets: an event
// whose turn fails (retried, then given up on, and the chat goes on), a
// chat someone else holds (waited for), a reply LINE refuses. Every other
// event is answered once, in order.
func TestWorkersBatch(t *testing.T) {
	t.Parallel()
	const chats, perChat = 30, 4
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		e, s := &fakeEngine{}, &fakeSender{failFor: map[string]bool{"F": true}}
		var evs []bot.Event
		for c := range chats {
			chat := fmt.Sprintf("U%d", c)
			for i := 1; i <= perChat; i++ {
				evs = append(evs, text(fmt.Sprintf("%s-%d", chat, i), chat, fmt.Sprintf("%s:%d", chat, i), t0.Add(time.Duration(i)*time.Second)))
			}
		}
		evs = append(evs,
			text("P-1", "P", "P:1", t0.Add(time.Second)),
			text("P-x", "P", "panic", t0.Add(2*time.Second)),
			text("P-2", "P", "P:2", t0.Add(3*time.Second)),
			text("F-1", "F", "F:1", t0.Add(time.Second)),
			text("H-1", "H", "H:1", t0.Add(time.Second)))
		if _, err := db.Accept(ctx, evs); err != nil {
			t.Fatal(err)
		}
		held, err := db.LockChat(ctx, "H")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(held) // first (cleanups run last in, first out): a worker may wait for it
		p := newProcessor(db, e, s)
		w := bot.NewWorkers(p, 2)
		w.BatchChats = 16
		w.SweepInterval = 0
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Shutdown(context.Background()) })
		waitFor(t, "the others answered", func() bool { return len(s.Sends()) >= chats*perChat+2 })
		if slices.ContainsFunc(s.Sends(), func(x sent) bool { return x.Chat == "H" }) {
			t.Fatal("a chat someone else held was processed")
		}
		held()
		waitFor(t, "empty inbox", backlogZero(t, db))
		waitFor(t, "the held chat answered", func() bool { return len(s.Sends()) == chats*perChat+3 })

		if v := e.Violations(); len(v) != 0 {
			t.Fatalf("engine saw events out of order: %v", v)
		}
		var normal []sent
		for _, x := range s.Sends() {
			if x.Chat != "P" && x.Chat != "H" {
				normal = append(normal, x)
			}
		}
		checkReplies(t, perChat, chats, normal)
		var rows []storage.InboxEvent
		db.Gorm().Where("chat_id IN ?", []string{"P", "F"}).Order("id").Find(&rows)
		for _, r := range rows {
			want := storage.StatusDone
			if r.WebhookEventID == "P-x" {
				want = storage.StatusFailed
			}
			if r.Status != want {
				t.Errorf("inbox event %s: status %s, want %s", r.WebhookEventID, r.Status, want)
			}
		}
		var out storage.OutboxRow
		if err := db.Gorm().Where("chat_id = ?", "F").First(&out).Error; err != nil || out.Status != storage.StatusFailed {
			t.Fatalf("refused reply: outbox %+v, %v", out, err)
		}

		var m dto.Metric
		p.Metrics.BatchEvents.Write(&m)
		batches, events := m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		if batches == 0 || events < 2*float64(batches) {
			t.Fatalf("%d batches of %v events in all: the workers did not batch", batches, events)
		}
		t.Logf("%d batches, %.1f events each", batches, events/float64(batches))
	})
}

// profileSource answers display names from a map.
type profileSource map[string]string

func (p profileSource) DisplayName(_ context.Context, userID string) (string, error) {
	return p[userID], nil
}

// TestDisplayNameFromProfile: when a user's conversation opens, their
// display name is fetched and stored off the reply path, and the fetcher
// stops with the workers.
func TestDisplayNameFromProfile(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		p := newProcessor(db, &fakeEngine{}, &fakeSender{})
		p.Profiles = profileSource{"U1": "山田 花子"}
		w := bot.NewWorkers(p, 2)
		if err := w.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := w.Submit(context.Background(), text("e1", "U1", "こんにちは", t0)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "display name", func() bool {
			u, err := db.User(context.Background(), "U1")
			return err == nil && u.DisplayName == "山田 花子" && u.ProfileAt != nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v (the profile fetcher kept the workers from stopping)", err)
		}
	})
}
