package webhook_test

import (
	"log/slog"
	"testing"

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
