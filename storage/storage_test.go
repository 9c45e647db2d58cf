package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func textEvent(id, user, text string, at time.Time) bot.Event {
	return bot.Event{ID: id, Type: "message", SourceType: "user", UserID: user, ChatID: user,
		MessageType: "text", MessageID: "m" + id, Text: text, ReplyToken: "rt" + id, Timestamp: at}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		dialect string
		wantErr bool
	}{
		{"postgres://u@h/db", storage.Postgres, false},
		{"postgresql://u@h/db", storage.Postgres, false},
		{"", storage.SQLite, false},
		{"data/x.db", storage.SQLite, false},
		{"sqlite:/tmp/x", storage.SQLite, false},
		{"mysql://u@h/db", "", true},
	}
	for _, tt := range tests {
		d, err := storage.DialectOf(tt.url)
		if (err != nil) != tt.wantErr || d != tt.dialect {
			t.Fatalf("Dialect(%q) = %q, %v; want %q, error %v", tt.url, d, err, tt.dialect, tt.wantErr)
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrate again: %v", err)
			}
		}
		v, err := db.Version(ctx)
		if err != nil || v != storage.SchemaVersion {
			t.Fatalf("Version = %d, %v; want %d", v, err, storage.SchemaVersion)
		}
		ok, err := db.SchemaUpToDate(ctx)
		if err != nil || !ok {
			t.Fatalf("SchemaUpToDate = %v, %v", ok, err)
		}
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("Ready: %v", err)
		}
	})
}

func TestMigrateConcurrentAndFresh(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return storagetest.SQLiteURL(t) }},
		{"postgres", func(t *testing.T) string { return storagetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url(t)
			var dbs []*storage.DB
			for i := 0; i < 3; i++ {
				db, err := storage.Open(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				dbs = append(dbs, db)
			}
			if ok, err := dbs[0].SchemaUpToDate(ctx); err != nil || ok {
				t.Fatalf("fresh database: SchemaUpToDate = %v, %v; want false", ok, err)
			}
			if err := dbs[0].Ready(ctx); err == nil {
				t.Fatal("Ready on an unmigrated database: want an error")
			}
			var wg sync.WaitGroup
			errs := make([]error, len(dbs))
			for i, db := range dbs {
				wg.Go(func() { errs[i] = db.Migrate(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("migrate %d: %v", i, err)
				}
			}
			if v, _ := dbs[2].Version(ctx); v != storage.SchemaVersion {
				t.Fatalf("version %d, want %d", v, storage.SchemaVersion)
			}
		})
	}
}

func TestAcceptDedupe(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		evs := []bot.Event{textEvent("e1", "U1", "こんにちは", t0), textEvent("e2", "U1", "コードは123456です", t0.Add(time.Second))}
		n, err := db.Accept(ctx, evs)
		if err != nil || n != 2 {
			t.Fatalf("Accept = %d, %v; want 2", n, err)
		}
		redelivered := evs[1]
		redelivered.Redelivery = true
		n, err = db.Accept(ctx, []bot.Event{redelivered, textEvent("e3", "U1", "x", t0.Add(2*time.Second))})
		if err != nil || n != 1 {
			t.Fatalf("Accept with a redelivery = %d, %v; want 1", n, err)
		}

		// The same id twice in one request (one multi-row insert): once.
		n, err = db.Accept(ctx, []bot.Event{textEvent("e4", "U3", "a", t0), textEvent("e4", "U3", "a", t0)})
		if err != nil || n != 1 {
			t.Fatalf("Accept of one id twice in a request = %d, %v; want 1", n, err)
		}

		// The same event delivered many times at once: exactly one is fresh.
		var fresh atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				n, err := db.Accept(ctx, []bot.Event{textEvent("same", "U2", "hi", t0)})
				if err != nil {
					t.Errorf("Accept: %v", err)
				}
				fresh.Add(int64(n))
			})
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("concurrent Accept of one event: %d fresh, want 1", fresh.Load())
		}
		if n, _ := db.Backlog(ctx); n != 5 {
			t.Fatalf("Backlog = %d, want 5", n)
		}

		items, err := db.PendingEvents(ctx, "U1", 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.Event.ID)
		}
		if got := strings.Join(ids, ","); got != "e1,e2,e3" {
			t.Fatalf("pending order %s, want e1,e2,e3", got)
		}
		if items[1].Event.Text != "コードは[code]です" {
			t.Fatalf("stored text %q: not redacted", items[1].Event.Text)
		}
		if !items[1].Event.Timestamp.Equal(t0.Add(time.Second)) {
			t.Fatalf("timestamp %v", items[1].Event.Timestamp)
		}
	})
}

func TestPendingOrderByEventTime(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		// Accepted out of order (a redelivery of an older event arrives late).
		for _, ev := range []bot.Event{
			textEvent("b", "U1", "2", t0.Add(2*time.Second)),
			textEvent("a", "U1", "1", t0.Add(1500*time.Millisecond)),
			textEvent("c", "U1", "3", t0.Add(10*time.Second)),
		} {
			if _, err := db.Accept(ctx, []bot.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		items, _ := db.PendingEvents(ctx, "U1", 10)
		var ids []string
		for _, it := range items {
			ids = append(ids, it.Event.ID)
		}
		if got := strings.Join(ids, ","); got != "a,b,c" {
			t.Fatalf("order %s, want a,b,c", got)
		}
	})
}

func plainPlan(reply string) func(bot.TurnContext) (bot.TurnPlan, error) {
	return func(tc bot.TurnContext) (bot.TurnPlan, error) {
		st := tc.State
		st.Node = "n" + fmt.Sprint(len(st.History)+1)
		st.History = append(st.History, st.Node)
		tr := bot.LogTrace{Reason: dialog.ReasonAnswer, NodeBefore: tc.State.Node, NodeAfter: st.Node, TopicAfter: "welcome", PackID: "p", PackVersion: "1"}
		p := bot.TurnPlan{In: &bot.Inbound{Type: "text", Text: tc.Item.Event.Text, Trace: tr}, State: &st, Position: &bot.Position{Node: st.Node, Topic: "welcome"}}
		if tc.Conversation == nil {
			p.Open = &bot.Opening{Owner: bot.OwnerBot, PackID: "p", PackVersion: "1"}
		}
		if reply != "" {
			p.Reply = &bot.Reply{Messages: []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"type":"text","text":%q}`, reply))}, Author: bot.AuthorBot, Trace: tr}
		}
		return p, nil
	}
}

func TestRunTurn(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		if _, err := db.Accept(ctx, []bot.Event{textEvent("e1", "U1", "メールはtaro@example.comです", t0)}); err != nil {
			t.Fatal(err)
		}
		items, _ := db.PendingEvents(ctx, "U1", 10)
		out, err := db.RunTurn(ctx, items[0], t0.Add(time.Second), plainPlan("はい"))
		if err != nil {
			t.Fatal(err)
		}
		if out == nil || out.ReplyToken != "rte1" || out.ChatID != "U1" || len(out.RetryKey) != 36 || len(out.Messages) != 1 {
			t.Fatalf("outgoing %+v", out)
		}
		// Processed once only.
		if _, err := db.RunTurn(ctx, items[0], t0, plainPlan("again")); !errors.Is(err, bot.ErrNotPending) {
			t.Fatalf("second RunTurn: %v, want ErrNotPending", err)
		}
		if n, _ := db.Backlog(ctx); n != 0 {
			t.Fatalf("backlog %d", n)
		}
		und, err := db.Undelivered(ctx, "U1")
		// The row has a reply token: the turn stored it as attempted
		// (TurnMarksAttempted), but the Outgoing to send first says not.
		if err != nil || len(und) != 1 || und[0].ID != out.ID || !und[0].Attempted || out.Attempted || out.ReplyToken == "" {
			t.Fatalf("Undelivered = %+v, %v (RunTurn returned %+v)", und, err, out)
		}
		if err := db.MarkAttempted(ctx, out.ID); err != nil {
			t.Fatal(err)
		}
		und, _ = db.Undelivered(ctx, "U1")
		if !und[0].Attempted {
			t.Fatal("Attempted not stored")
		}
		if err := db.MarkSent(ctx, *out, bot.Delivery{Via: "reply", RequestID: "req-1"}, t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if und, _ = db.Undelivered(ctx, "U1"); len(und) != 0 {
			t.Fatalf("still undelivered: %+v", und)
		}

		convs, err := db.Conversations(ctx, "U1")
		if err != nil || len(convs) != 1 || convs[0].Status != storage.ConversationOpen || convs[0].Owner != bot.OwnerBot || convs[0].PackID != "p" || convs[0].Node != "n1" {
			t.Fatalf("conversations %+v, %v", convs, err)
		}
		msgs, _ := db.Messages(ctx, convs[0].ID)
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want 2", len(msgs))
		}
		in, outMsg := msgs[0], msgs[1]
		if in.Direction != storage.DirectionIn || in.Text != "メールはt***@example.comです" || in.LineMessageID != "me1" || in.NodeAfter != "n1" || in.Reason != dialog.ReasonAnswer {
			t.Fatalf("inbound %+v", in)
		}
		if outMsg.Direction != storage.DirectionOut || outMsg.Text != "はい" || outMsg.DeliveryStatus != storage.StatusSent || outMsg.Via != "reply" || outMsg.RequestID != "req-1" || outMsg.SentAt == nil {
			t.Fatalf("outbound %+v", outMsg)
		}

		// The session carries over to the next turn.
		if _, err := db.Accept(ctx, []bot.Event{textEvent("e2", "U1", "次", t0.Add(time.Minute))}); err != nil {
			t.Fatal(err)
		}
		items, _ = db.PendingEvents(ctx, "U1", 10)
		var seen dialog.State
		_, err = db.RunTurn(ctx, items[0], t0.Add(time.Minute), func(tc bot.TurnContext) (bot.TurnPlan, error) {
			seen = tc.State
			if tc.Conversation == nil || tc.Conversation.ID != convs[0].ID {
				t.Errorf("conversation %+v, want %d", tc.Conversation, convs[0].ID)
			}
			return plainPlan("")(tc)
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen.Node != "n1" {
			t.Fatalf("session node %q, want n1", seen.Node)
		}
	})
}

func TestFailEvent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		db.Accept(ctx, []bot.Event{textEvent("e1", "U1", "x", t0)})
		items, _ := db.PendingEvents(ctx, "U1", 10)
		boom := errors.New("boom")
		if _, err := db.RunTurn(ctx, items[0], t0, func(bot.TurnContext) (bot.TurnPlan, error) { return bot.TurnPlan{}, boom }); !errors.Is(err, boom) {
			t.Fatalf("RunTurn error %v", err)
		}
		for i := 1; i <= 3; i++ {
			failed, err := db.FailEvent(ctx, items[0].Seq, "boom", 3, t0)
			if err != nil || failed != (i == 3) {
				t.Fatalf("attempt %d: failed=%v err=%v", i, failed, err)
			}
		}
		if n, _ := db.Backlog(ctx); n != 0 {
			t.Fatalf("failed event still pending")
		}
	})
}

func TestLockChat(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		var inside, max atomic.Int64
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				unlock, err := db.LockChat(ctx, "U1")
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n > max.Load() {
					max.Store(n)
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				unlock()
			})
		}
		wg.Wait()
		if max.Load() != 1 {
			t.Fatalf("%d holders at once", max.Load())
		}
		// Another chat is not blocked.
		unlock, _ := db.LockChat(ctx, "U1")
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		u2, err := db.LockChat(cctx, "U2")
		if err != nil {
			t.Fatalf("U2 blocked by U1: %v", err)
		}
		u2()
		// A waiter gives up with its context.
		cctx2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel2()
		if _, err := db.LockChat(cctx2, "U1"); err == nil {
			t.Fatal("LockChat on a held chat: want a timeout")
		}
		unlock()
	})
}

func TestLockChatAcrossProcesses(t *testing.T) {
	u := storagetest.PostgresURL(t)
	ctx := context.Background()
	a := storagetest.Open(t, u)
	b := storagetest.Open(t, u)
	unlock, err := a.LockChat(ctx, "U1")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.LockChat(cctx, "U1"); err == nil {
		t.Fatal("second process took a held chat lock")
	}
	unlock()
	u2, err := b.LockChat(ctx, "U1")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	u2()
	// A process that dies releases its locks: kill the backend holding one.
	chat := fmt.Sprintf("U9-%d", time.Now().UnixNano())
	c := storagetest.Open(t, u)
	if _, err := c.LockChat(ctx, chat); err != nil {
		t.Fatal(err)
	}
	res := a.Gorm().Exec(`SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = 7101 AND objsubid = 2
		AND objid = ((hashtext(?)::bigint & 4294967295)::text)::oid`, chat)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	cctx3, cancel3 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel3()
	u3, err := a.LockChat(cctx3, chat)
	if err != nil {
		t.Fatalf("lock of a dead process not released: %v", err)
	}
	u3()
}

// TestLockChatWorkSeesPreviousHolder: the work LockChatWork reads is read
// after the lock is granted, so it includes what the previous holder (in
// another process) committed while the caller was waiting.
func TestLockChatWorkSeesPreviousHolder(t *testing.T) {
	u := storagetest.PostgresURL(t)
	ctx := context.Background()
	a := storagetest.Open(t, u)
	b := storagetest.Open(t, u)
	for _, ev := range []bot.Event{textEvent("w1", "U1", "x", t0), textEvent("w2", "U1", "y", t0.Add(time.Second))} {
		if _, err := a.Accept(ctx, []bot.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	unlock, outs, items, err := a.LockChatWork(ctx, "U1", 32)
	if err != nil || len(outs) != 0 || len(items) != 2 || items[0].Event.ID != "w1" || items[1].Event.ID != "w2" {
		t.Fatalf("LockChatWork = %d undelivered, %+v, %v; want 0, w1 and w2", len(outs), items, err)
	}
	type result struct {
		outs  []bot.Outgoing
		items []bot.InboxItem
		err   error
	}
	got := make(chan result, 1)
	go func() {
		u2, outs, items, err := b.LockChatWork(ctx, "U1", 32)
		if err == nil {
			u2()
		}
		got <- result{outs, items, err}
	}()
	time.Sleep(100 * time.Millisecond) // b is waiting for the lock now
	// While holding the lock, a processes w1: its reply is in the outbox, undelivered.
	out, err := a.RunTurn(ctx, items[0], t0, func(bot.TurnContext) (bot.TurnPlan, error) {
		return bot.TurnPlan{Open: &bot.Opening{Owner: bot.OwnerBot}, In: &bot.Inbound{Type: "text"},
			Reply: &bot.Reply{Messages: []json.RawMessage{json.RawMessage(`{"type":"text","text":"a"}`)}, Author: bot.AuthorBot}}, nil
	})
	if err != nil || out == nil {
		t.Fatalf("RunTurn: %v, %v", out, err)
	}
	select {
	case r := <-got:
		t.Fatalf("b got the lock while a held it: %+v", r)
	default:
	}
	unlock()
	r := <-got
	if r.err != nil || len(r.outs) != 1 || r.outs[0].ID != out.ID || len(r.items) != 1 || r.items[0].Event.ID != "w2" {
		t.Fatalf("after a's unlock b read %d undelivered (%+v), %d pending (%+v), %v; want outbox %d and w2",
			len(r.outs), r.outs, len(r.items), r.items, r.err, out.ID)
	}
}
