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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		evs := []bot.Event{textEvent("e1", "U1", "こんにちは", t0), textEvent("e2", "U1", "コードは[code]です", t0.Add(time.Second))}
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

		// The same id twice in one request (one statement): once.
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

		items := storagetest.Pending(t, db, "U1")
		var ids []string
		for _, it := range items {
			ids = append(ids, it.Event.ID)
		}
		if got := strings.Join(ids, ","); got != "e1,e2,e3" {
			t.Fatalf("pending %s, want e1,e2,e3", got)
		}
		if items[1].Event.Text != "コードは[code]です" || !items[1].Event.Timestamp.Equal(t0.Add(time.Second)) {
			t.Fatalf("stored event %+v", items[1].Event)
		}
	})
}

// plainPlan answers every text with reply (none when ""), moving the
// session one node on.
func plainPlan(reply string) bot.PlanFunc {
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
			p.Reply = &bot.Reply{Messages: []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"type":"text","text":%q}`, reply))},
				Bubbles: []bot.Bubble{{Type: "text", Text: reply}}, Author: bot.AuthorBot, Trace: tr}
		}
		return p, nil
	}
}

// claim claims chats without waiting, failing the test on error.
func claim(t testing.TB, db *storage.DB, plan bot.PlanFunc, chats ...string) *bot.Claim {
	t.Helper()
	c, err := db.Claim(context.Background(), chats, false, t0, plan)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sentAll finishes a claim with every row it holds delivered by reply.
func sentAll(t testing.TB, c *bot.Claim) {
	t.Helper()
	var done []bot.DeliveryOutcome
	for _, ct := range c.Chats {
		for _, o := range ct.Undelivered {
			done = append(done, bot.DeliveryOutcome{Out: o, Delivery: bot.Delivery{Via: "push", RequestID: "req-u"}})
		}
		if ct.Out != nil {
			done = append(done, bot.DeliveryOutcome{Out: *ct.Out, Delivery: bot.Delivery{Via: "reply", RequestID: "req-1"}})
		}
	}
	if err := c.Finish(context.Background(), done, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// TestClaimRunsTheNextTurn: a claim runs the first pending event of a chat
// by event time, stores its reply in the outbox (attempted, as it may go
// out at once) and logs it once its delivery is recorded; the session
// carries over to the next turn, and a processed event never runs again.
func TestClaimRunsTheNextTurn(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		// Accepted out of order (a redelivery of an older event arrives late).
		for _, ev := range []bot.Event{
			textEvent("e2", "U1", "次", t0.Add(2*time.Second)),
			textEvent("e1", "U1", "メールはt***@example.comです", t0.Add(1500*time.Millisecond)),
		} {
			if _, err := db.Accept(ctx, []bot.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		c := claim(t, db, plainPlan("はい"), "U1")
		ct := c.Chats["U1"]
		if ct == nil || ct.Item == nil || ct.Item.Event.ID != "e1" || !ct.More || ct.Err != nil {
			t.Fatalf("claim %+v", ct)
		}
		out := ct.Out
		if out == nil || out.ID == 0 || out.ReplyToken != "rte1" || out.ChatID != "U1" || len(out.RetryKey) != 36 || len(out.Messages) != 1 || out.Attempted {
			t.Fatalf("outgoing %+v", out)
		}
		// The row is stored attempted; the Outgoing for the first send says not.
		var row storage.OutboxRow
		db.Gorm().First(&row, out.ID)
		if !row.Attempted || row.Status != storage.StatusPending {
			t.Fatalf("outbox row %+v", row)
		}
		sentAll(t, c)

		convs, err := db.Conversations(ctx, "U1")
		if err != nil || len(convs) != 1 || convs[0].Status != storage.ConversationOpen || convs[0].Owner != bot.OwnerBot || convs[0].PackID != "p" || convs[0].Node != "n1" ||
			!convs[0].LastActivityAt.Equal(t0.Add(1500*time.Millisecond)) {
			t.Fatalf("conversations %+v, %v", convs, err)
		}
		msgs, _ := db.Messages(ctx, convs[0].ID)
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want 2", len(msgs))
		}
		in, outMsg := msgs[0], msgs[1]
		if in.Direction != storage.DirectionIn || in.Author != bot.AuthorUser || in.Text != "メールはt***@example.comです" || in.LineMessageID != "me1" ||
			in.NodeAfter != "n1" || in.Reason != dialog.ReasonAnswer {
			t.Fatalf("inbound %+v", in)
		}
		if outMsg.Direction != storage.DirectionOut || outMsg.Author != bot.AuthorBot || outMsg.Text != "はい" || outMsg.DeliveryStatus != storage.StatusSent ||
			outMsg.Via != "reply" || outMsg.RequestID != "req-1" || outMsg.SentAt == nil || *outMsg.OutboxID != out.ID {
			t.Fatalf("outbound %+v", outMsg)
		}
		db.Gorm().First(&row, out.ID)
		if row.Status != storage.StatusSent || row.ReplyToken != "" || row.Via != "reply" {
			t.Fatalf("outbox row after delivery %+v", row)
		}

		// The next claim runs e2 with the session e1 left, in the same conversation.
		var seen bot.TurnContext
		c = claim(t, db, func(tc bot.TurnContext) (bot.TurnPlan, error) {
			seen = tc
			return plainPlan("")(tc)
		}, "U1")
		if ct := c.Chats["U1"]; ct.Item == nil || ct.Item.Event.ID != "e2" || ct.More || ct.Out != nil {
			t.Fatalf("second claim %+v", ct)
		}
		sentAll(t, c)
		if seen.State.Node != "n1" || seen.Conversation == nil || seen.Conversation.ID != convs[0].ID || seen.Conversation.Owner != bot.OwnerBot {
			t.Fatalf("second turn saw %+v", seen)
		}
		c = claim(t, db, plainPlan("again"), "U1")
		if ct := c.Chats["U1"]; ct.Item != nil {
			t.Fatalf("a processed event ran again: %+v", ct)
		}
		sentAll(t, c)
		if n, _ := db.Backlog(ctx); n != 0 {
			t.Fatalf("backlog %d", n)
		}
	})
}

// TestClaimBatch: one claim runs the next event of several chats in one
// transaction. An event whose plan fails is left pending (the others are
// committed), a chat with undelivered outbox rows gets them back instead of
// a turn, and a chat held elsewhere is left out.
func TestClaimBatch(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		for _, ev := range []bot.Event{
			textEvent("a1", "UA", "a", t0), textEvent("b1", "UB", "boom", t0), textEvent("c1", "UC", "c", t0),
			textEvent("c2", "UC", "c", t0.Add(time.Second)), textEvent("h1", "UH", "h", t0),
		} {
			if _, err := db.Accept(ctx, []bot.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		// UC's first turn is committed but its reply not delivered (a crash).
		if err := claim(t, db, plainPlan("c"), "UC").Finish(ctx, nil, t0); err != nil {
			t.Fatal(err)
		}
		held, err := db.LockChat(ctx, "UH")
		if err != nil {
			t.Fatal(err)
		}
		defer held()
		boom := errors.New("boom")
		c := claim(t, db, func(tc bot.TurnContext) (bot.TurnPlan, error) {
			if tc.Item.Event.Text == "boom" {
				return bot.TurnPlan{}, boom
			}
			return plainPlan("ok")(tc)
		}, "UA", "UB", "UC", "UH", "UA")
		if len(c.Chats) != 3 || c.Chats["UH"] != nil {
			t.Fatalf("claimed %v, want UA, UB and UC", c.Chats)
		}
		if ct := c.Chats["UA"]; ct.Item == nil || ct.Out == nil || ct.Err != nil {
			t.Fatalf("UA %+v", ct)
		}
		if ct := c.Chats["UB"]; ct.Item == nil || !errors.Is(ct.Err, boom) || ct.Out != nil {
			t.Fatalf("UB %+v", ct)
		}
		if ct := c.Chats["UC"]; ct.Item != nil || len(ct.Undelivered) != 1 || !ct.Undelivered[0].Attempted || ct.Undelivered[0].Log == nil {
			t.Fatalf("UC %+v", ct)
		}
		sentAll(t, c)
		for chat, want := range map[string]int{"UA": 0, "UB": 1, "UC": 1, "UH": 1} {
			if got := len(storagetest.Pending(t, db, chat)); got != want {
				t.Errorf("%s: %d pending, want %d", chat, got, want)
			}
		}
		if n := storagetest.Count(t, db, "messages", "direction = ? AND text = ?", storage.DirectionOut, "c"); n != 1 {
			t.Errorf("UC's undelivered reply logged %d times, want once", n)
		}
	})
}

// TestFinishRecordsOneByOneWhenRefused: when the database refuses a
// batch's delivery records because of one bad row, the others are recorded
// on their own, and only the bad one stays pending.
func TestFinishRecordsOneByOneWhenRefused(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		chats := []string{"U1", "U2", "U3"}
		for _, chat := range chats {
			if _, err := db.Accept(ctx, []bot.Event{textEvent(chat+"-1", chat, "x", t0)}); err != nil {
				t.Fatal(err)
			}
		}
		c := claim(t, db, plainPlan("ok"), chats...)
		var done []bot.DeliveryOutcome
		for _, chat := range chats {
			out := *c.Chats[chat].Out
			if chat == "U2" {
				l := *out.Log
				l.ConversationID = 1 << 40 // no such conversation: its log rows break a foreign key
				out.Log = &l
			}
			done = append(done, bot.DeliveryOutcome{Out: out, Delivery: bot.Delivery{Via: "reply"}})
		}
		if err := c.Finish(ctx, done, t0); err == nil {
			t.Fatal("Finish: want the bad row's error")
		}
		var rows []storage.OutboxRow
		db.Gorm().Order("chat_id").Find(&rows)
		for _, r := range rows {
			want := storage.StatusSent
			if r.ChatID == "U2" {
				want = storage.StatusPending
			}
			if r.Status != want {
				t.Errorf("%s: %s, want %s", r.ChatID, r.Status, want)
			}
		}
		// The chats were released.
		sentAll(t, claim(t, db, plainPlan(""), chats...))
	})
}

func TestFailEvent(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		db.Accept(ctx, []bot.Event{textEvent("e1", "U1", "x", t0)})
		seq := storagetest.Pending(t, db, "U1")[0].Seq
		for i := 1; i <= 3; i++ {
			failed, err := db.FailEvent(ctx, seq, "boom", 3, t0)
			if err != nil || failed != (i == 3) {
				t.Fatalf("attempt %d: failed=%v err=%v", i, failed, err)
			}
		}
		if n, _ := db.Backlog(ctx); n != 0 {
			t.Fatalf("failed event still pending")
		}
	})
}

// TestDeliveryOfARowMadeBeforeVersion2: an outbox row whose messages were
// logged when it was made (schema version 1) has its log entries updated.
func TestDeliveryOfARowMadeBeforeVersion2(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		g := db.Gorm()
		if err := g.Create(&storage.User{ID: "U1", Kind: "user", CreatedAt: t0, UpdatedAt: t0}).Error; err != nil {
			t.Fatal(err)
		}
		conv := storage.Conversation{UserID: "U1", Status: storage.ConversationOpen, Owner: bot.OwnerBot, StartedAt: t0, LastActivityAt: t0}
		if err := g.Create(&conv).Error; err != nil {
			t.Fatal(err)
		}
		row := storage.OutboxRow{ChatID: "U1", ReplyToken: "rt", RetryKey: "k", Messages: `[{"type":"text","text":"古い返信"}]`,
			Status: storage.StatusPending, EventAt: t0, CreatedAt: t0}
		if err := g.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		msg := storage.Message{ConversationID: conv.ID, Direction: storage.DirectionOut, Author: bot.AuthorBot, Type: "text", Text: "古い返信",
			OutboxID: &row.ID, DeliveryStatus: storage.StatusPending, At: t0, CreatedAt: t0}
		if err := g.Create(&msg).Error; err != nil {
			t.Fatal(err)
		}
		c := claim(t, db, plainPlan(""), "U1")
		if und := c.Chats["U1"].Undelivered; len(und) != 1 || und[0].Log != nil {
			t.Fatalf("undelivered %+v; want the row without Log", und)
		}
		sentAll(t, c)
		msgs, _ := db.Messages(ctx, conv.ID)
		if len(msgs) != 1 || msgs[0].DeliveryStatus != storage.StatusSent || msgs[0].Via != "push" || msgs[0].RequestID != "req-u" || msgs[0].SentAt == nil {
			t.Fatalf("log entries %+v", msgs)
		}
	})
}

func TestLockChat(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
		AND objid = ((hashtext(current_schema() || '/' || ?)::bigint & 4294967295)::text)::oid`, chat)
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

// TestClaimWaitsAndSeesPreviousHolder: a claim that waits for a chat
// another process holds gets it once released, and reads what the holder
// committed meanwhile.
func TestClaimWaitsAndSeesPreviousHolder(t *testing.T) {
	t.Parallel()
	u := storagetest.PostgresURL(t)
	ctx := context.Background()
	a := storagetest.Open(t, u)
	b := storagetest.Open(t, u)
	if _, err := a.Accept(ctx, []bot.Event{textEvent("w1", "U1", "x", t0), textEvent("w2", "U1", "y", t0.Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	held := claim(t, a, plainPlan("a"), "U1") // runs w1; its reply stays undelivered
	if ct := held.Chats["U1"]; ct.Item == nil || ct.Item.Event.ID != "w1" || ct.Out == nil {
		t.Fatalf("a's claim %+v", ct)
	}
	got := make(chan *bot.Claim, 1)
	go func() {
		c, err := b.Claim(ctx, []string{"U1"}, true, t0, plainPlan("b"))
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	// Until b waits for the lock (a backend waiting on an advisory lock).
	for {
		var waiting int64
		a.Gorm().Raw(`SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7101 AND objsubid = 2 AND NOT granted
			AND objid = ((hashtext(current_schema() || '/' || 'U1')::bigint & 4294967295)::text)::oid`).Scan(&waiting)
		if waiting > 0 {
			break
		}
		select {
		case c := <-got:
			t.Fatalf("b claimed a held chat: %+v", c)
		case <-time.After(time.Millisecond):
		}
	}
	if err := held.Finish(ctx, nil, t0); err != nil {
		t.Fatal(err)
	}
	c := <-got
	if c == nil {
		return
	}
	ct := c.Chats["U1"]
	if ct == nil || len(ct.Undelivered) != 1 || ct.Undelivered[0].ID != held.Chats["U1"].Out.ID || ct.Item != nil {
		t.Fatalf("b's claim %+v; want a's reply to deliver first", ct)
	}
	sentAll(t, c)
}
