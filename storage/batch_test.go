package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// uniqueChats returns n chat ids no other test uses: advisory locks are
// per database, and the Postgres tests of all packages share one.
func uniqueChats(n int) []string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "Ubatch" + hex.EncodeToString(b) + string(rune('a'+i))
	}
	return ids
}

func TestLockChatsNext(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		c := uniqueChats(5) // c[0] two events, c[1] one, c[2] none, c[3] undelivered, c[4] held elsewhere
		_, err := db.Accept(ctx, []bot.Event{
			textEvent("b2", c[0], "2", t0.Add(2*time.Second)),
			textEvent("b1", c[0], "1", t0.Add(time.Second)),
			textEvent("b3", c[1], "x", t0),
			textEvent("b4", c[3], "y", t0),
			textEvent("b5", c[4], "z", t0),
		})
		if err != nil {
			t.Fatal(err)
		}
		// c[3]: a turn committed but its reply never recorded.
		items, _ := db.PendingEvents(ctx, c[3], 1)
		if _, err := db.RunTurn(ctx, items[0], t0, plainPlan("はい")); err != nil {
			t.Fatal(err)
		}
		db.Accept(ctx, []bot.Event{textEvent("b6", c[3], "later", t0.Add(time.Minute))})

		holder, err := db.LockChat(ctx, c[4])
		if err != nil {
			t.Fatal(err)
		}
		unlock, next, err := db.LockChatsNext(ctx, append(c, c[1])) // c[1] twice: taken once
		if err != nil {
			t.Fatal(err)
		}
		if n := next[c[0]]; n.Event == nil || n.Event.Event.ID != "b1" || !n.More || n.Undelivered {
			t.Errorf("chat with two events: %+v", n)
		}
		if n := next[c[1]]; n.Event == nil || n.Event.Event.ID != "b3" || n.More || n.Event.Event.Text != "x" {
			t.Errorf("chat with one event: %+v", n)
		}
		if n, ok := next[c[2]]; !ok || n.Event != nil {
			t.Errorf("chat with nothing pending: %+v, locked %v", n, ok)
		}
		if n := next[c[3]]; !n.Undelivered || n.Event == nil || n.Event.Event.ID != "b6" {
			t.Errorf("chat with an undelivered reply: %+v", n)
		}
		if _, ok := next[c[4]]; ok {
			t.Errorf("a chat held by someone else was locked")
		}
		// What the batch holds is not free for anyone else until unlock.
		// (A try, not LockChat with a deadline: a cancelled wait can still
		// be granted the lock on the server for a moment.)
		if u, other, err := db.LockChatsNext(ctx, c[:1]); err != nil || len(other) != 0 {
			t.Errorf("a second batch locked a chat the first holds: %+v, %v", other, err)
		} else {
			u()
		}
		unlock()
		unlock() // a second call does nothing
		holder()
		u, err := db.LockChat(ctx, c[0])
		if err != nil {
			t.Fatalf("after unlock: %v", err)
		}
		u()
		unlock, next, err = db.LockChatsNext(ctx, c[4:])
		if err != nil || len(next) != 1 {
			t.Fatalf("after the holder let go: %+v, %v", next, err)
		}
		unlock()
	})
}

// TestLockChatsNextAcrossProcesses: on Postgres a chat another process
// (here another connection pool) holds is left out, and is ours again once
// it lets go.
func TestLockChatsNextAcrossProcesses(t *testing.T) {
	u := storagetest.PostgresURL(t)
	a, b := storagetest.Open(t, u), storagetest.Open(t, u)
	ctx := context.Background()
	c := uniqueChats(2)
	held, err := a.LockChat(ctx, c[0])
	if err != nil {
		t.Fatal(err)
	}
	unlock, next, err := b.LockChatsNext(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := next[c[0]]; ok {
		t.Fatal("b locked a chat a holds")
	}
	if _, ok := next[c[1]]; !ok {
		t.Fatal("b did not lock a free chat")
	}
	// a cannot take c[1] while b's batch holds it.
	if u, other, err := a.LockChatsNext(ctx, c[1:]); err != nil || len(other) != 0 {
		t.Fatalf("a locked a chat b's batch holds: %+v, %v", other, err)
	} else {
		u()
	}
	unlock()
	held()
	unlock, next, err = b.LockChatsNext(ctx, c)
	if err != nil || len(next) != 2 {
		t.Fatalf("after both let go: %+v, %v", next, err)
	}
	unlock()
}

func TestRunTurnsAndFinishDeliveries(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		c := uniqueChats(4)
		// c[0] has a conversation already; the others are new chats.
		db.Accept(ctx, []bot.Event{textEvent("r0", c[0], "first", t0)})
		items, _ := db.PendingEvents(ctx, c[0], 1)
		if _, err := db.RunTurn(ctx, items[0], t0, plainPlan("")); err != nil {
			t.Fatal(err)
		}
		db.Accept(ctx, []bot.Event{
			textEvent("r1", c[0], "a", t0.Add(time.Minute)),
			textEvent("r2", c[1], "b", t0.Add(time.Minute)),
			textEvent("r3", c[2], "boom", t0.Add(time.Minute)),
			textEvent("r4", c[3], "d", t0.Add(time.Minute)),
		})
		var batch []bot.InboxItem
		for _, chat := range c {
			it, _ := db.PendingEvents(ctx, chat, 1)
			batch = append(batch, it[0])
		}
		done := batch[3]
		if _, err := db.RunTurn(ctx, done, t0, plainPlan("")); err != nil { // processed meanwhile
			t.Fatal(err)
		}
		boom := errors.New("boom")
		outcomes, err := db.RunTurns(ctx, batch, t0.Add(2*time.Minute), func(tc bot.TurnContext) (bot.TurnPlan, error) {
			if tc.Item.Event.Text == "boom" {
				return bot.TurnPlan{}, boom
			}
			return plainPlan("reply to " + tc.Item.Event.Text)(tc)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(outcomes) != 4 || outcomes[0].Err != nil || outcomes[1].Err != nil || !errors.Is(outcomes[2].Err, boom) || !errors.Is(outcomes[3].Err, bot.ErrNotPending) {
			t.Fatalf("outcomes %+v", outcomes)
		}
		// Each outcome names its own outbox row.
		for i, chat := range c[:2] {
			und, err := db.Undelivered(ctx, chat)
			o := outcomes[i].Out
			if err != nil || len(und) != 1 || o == nil || und[0].ID != o.ID || o.ChatID != chat || !und[0].Attempted || o.ReplyToken != batch[i].Event.ReplyToken {
				t.Fatalf("chat %d: undelivered %+v, %v; outcome %+v", i, und, err, o)
			}
		}
		// The failed plan wrote nothing and stays pending.
		if it, _ := db.PendingEvents(ctx, c[2], 5); len(it) != 1 || it[0].Event.ID != "r3" {
			t.Fatalf("event whose plan failed: pending %+v", it)
		}
		if convs, _ := db.Conversations(ctx, c[2]); len(convs) != 0 {
			t.Fatalf("event whose plan failed opened a conversation: %+v", convs)
		}

		err = db.FinishDeliveries(ctx, []bot.DeliveryOutcome{
			{Out: *outcomes[0].Out, Delivery: bot.Delivery{Via: "reply", RequestID: "q0"}},
			{Out: *outcomes[1].Out, Failure: "LINE answered 400"},
		}, t0.Add(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []struct{ status, via, requestID, errText, text string }{
			{storage.StatusSent, "reply", "q0", "", "reply to a"},
			{storage.StatusFailed, "", "", "LINE answered 400", "reply to b"},
		} {
			if und, _ := db.Undelivered(ctx, c[i]); len(und) != 0 {
				t.Fatalf("chat %d still undelivered: %+v", i, und)
			}
			convs, _ := db.Conversations(ctx, c[i])
			if len(convs) != 1 {
				t.Fatalf("chat %d: conversations %+v", i, convs)
			}
			msgs, _ := db.Messages(ctx, convs[0].ID)
			last := msgs[len(msgs)-1]
			if last.Direction != storage.DirectionOut || last.Text != want.text || last.DeliveryStatus != want.status || last.Via != want.via ||
				last.RequestID != want.requestID || last.Error != want.errText || (last.SentAt != nil) != (want.status == storage.StatusSent) {
				t.Fatalf("chat %d: last message %+v, want %+v", i, last, want)
			}
			if i == 0 && (len(msgs) != 3 || convs[0].Node != "n2") {
				t.Fatalf("existing conversation: %d messages, node %q", len(msgs), convs[0].Node)
			}
		}
		if err := db.FinishDeliveries(ctx, nil, t0); err != nil {
			t.Fatalf("nothing to record: %v", err)
		}
		// The batch saved each session and marked its events done.
		if n, _ := db.Backlog(ctx); n != 1 { // r3, whose plan failed
			t.Fatalf("backlog %d after the batch, want 1", n)
		}
		db.Accept(ctx, []bot.Event{textEvent("r5", c[0], "e", t0.Add(5*time.Minute))})
		it, _ := db.PendingEvents(ctx, c[0], 1)
		var seen string
		if _, err := db.RunTurn(ctx, it[0], t0.Add(5*time.Minute), func(tc bot.TurnContext) (bot.TurnPlan, error) {
			seen = tc.State.Node
			return plainPlan("")(tc)
		}); err != nil || seen != "n2" {
			t.Fatalf("the turn after the batch saw session node %q (%v), want n2", seen, err)
		}
	})
}

// TestDeliveryOfARowMadeBeforeVersion2: an outbox row made by schema
// version 1 had its log entries written at the turn. Delivered after an
// upgrade, those entries are updated, and none is written a second time.
func TestDeliveryOfARowMadeBeforeVersion2(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		chat := uniqueChats(1)[0]
		g := db.Gorm()
		if err := g.Create(&storage.User{ID: chat, Kind: "user", CreatedAt: t0, UpdatedAt: t0}).Error; err != nil {
			t.Fatal(err)
		}
		conv := storage.Conversation{UserID: chat, Status: storage.ConversationOpen, Owner: bot.OwnerBot, StartedAt: t0, LastActivityAt: t0}
		if err := g.Create(&conv).Error; err != nil {
			t.Fatal(err)
		}
		row := storage.OutboxRow{ChatID: chat, ReplyToken: "rt", RetryKey: "k", Messages: `[{"type":"text","text":"古い返信"}]`,
			Status: storage.StatusPending, EventAt: t0, CreatedAt: t0}
		if err := g.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		msg := storage.Message{ConversationID: conv.ID, Direction: storage.DirectionOut, Type: "text", Text: "古い返信",
			OutboxID: &row.ID, DeliveryStatus: storage.StatusPending, At: t0, CreatedAt: t0}
		if err := g.Create(&msg).Error; err != nil {
			t.Fatal(err)
		}
		und, err := db.Undelivered(ctx, chat)
		if err != nil || len(und) != 1 || und[0].Log != nil {
			t.Fatalf("Undelivered = %+v, %v; want the row without Log", und, err)
		}
		if err := db.MarkSent(ctx, und[0], bot.Delivery{Via: "push", RequestID: "r1"}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		msgs, _ := db.Messages(ctx, conv.ID)
		if len(msgs) != 1 || msgs[0].DeliveryStatus != storage.StatusSent || msgs[0].Via != "push" || msgs[0].RequestID != "r1" || msgs[0].SentAt == nil {
			t.Fatalf("log entries %+v", msgs)
		}
	})
}
