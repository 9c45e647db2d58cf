package webhook_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/todoku/todoku/bot/webhook"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// Issue 16 on the real inbox, both databases.

// TestRedeliveryWithoutIDOnStorage: an event without webhookEventId and its
// redelivery (isRedelivery true, another reply token) are one inbox event.
func TestRedeliveryWithoutIDOnStorage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		h := webhook.New(webhook.Config{ChannelSecret: secret, Inbox: db, Logger: slog.New(slog.DiscardHandler)})
		const user = "Unoid000000000000000000000000001"
		ev := textEvent(user, "届きません")
		delete(ev, "webhookEventId")
		for i, redelivery := range []bool{false, true} {
			ev["deliveryContext"] = map[string]any{"isRedelivery": redelivery}
			ev["replyToken"] = []string{"tok-first", "tok-again"}[i]
			b := body(ev)
			if r := post(h, b, sign(b, secret), nil); r.status != 200 {
				t.Fatalf("delivery %d: %d %s", i+1, r.status, r.body)
			}
		}
		if n := storagetest.Count(t, db, "inbox_events", "chat_id = ?", user); n != 1 {
			t.Fatalf("%d inbox events for one event delivered twice, want 1", n)
		}
	})
}

// unfollows is a signed-ready body of n minimal unfollow events, each from
// its own user: the largest batch of events that fits under the body cap.
func unfollows(n int) []byte {
	events := make([]map[string]any, n)
	for i := range events {
		events[i] = map[string]any{
			"type": "unfollow", "mode": "active", "timestamp": 1767225600000 + i,
			"webhookEventId": fmt.Sprintf("01UNFOLLOW%016d", i),
			"source":         map[string]any{"type": "user", "userId": fmt.Sprintf("U%032x", i)},
		}
	}
	return body(events...)
}

// TestLargeBatchOnStorage: 4,096 events in one signed body (under the 1 MiB
// cap) are accepted in one request, and a redelivery of the whole body
// adds nothing. The insert must not be bounded by the database's parameter
// limit (SQLite's is 32,766: at eight parameters an event, a multi-row
// INSERT of 4,096 events refused the body forever).
func TestLargeBatchOnStorage(t *testing.T) {
	b := unfollows(4096)
	if len(b) > webhook.DefaultMaxBody {
		t.Fatalf("the body is %d bytes, over the cap", len(b))
	}
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		// What is checked is that the body is taken, not how fast (that is
		// BenchmarkLargeBatch): under -race on a busy machine the insert can
		// outlast the default accept timeout.
		h := webhook.New(webhook.Config{ChannelSecret: secret, Inbox: db, Logger: slog.New(slog.DiscardHandler), AcceptTimeout: time.Minute})
		for range 2 {
			if r := post(h, b, sign(b, secret), nil); r.status != 200 {
				t.Fatalf("%d bytes: %d %s", len(b), r.status, r.body)
			}
		}
		if n := storagetest.Count(t, db, "inbox_events", ""); n != 4096 {
			t.Fatalf("%d inbox events, want 4096", n)
		}
	})
}

// BenchmarkLargeBatch is the acknowledgement of the 4,096-event body on
// each database (a fresh inbox each time).
func BenchmarkLargeBatch(b *testing.B) {
	body := unfollows(4096)
	sig := sign(body, secret)
	storagetest.EachB(b, func(b *testing.B, db *storage.DB) {
		h := webhook.New(webhook.Config{ChannelSecret: secret, Inbox: db, Logger: slog.New(slog.DiscardHandler)})
		for b.Loop() {
			b.StopTimer()
			if err := db.Gorm().Exec("DELETE FROM inbox_events").Error; err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if r := post(h, body, sig, nil); r.status != 200 {
				b.Fatalf("%d %s", r.status, r.body)
			}
		}
	})
}
