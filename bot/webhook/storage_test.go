package webhook_test

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/todoku/todoku/bot/webhook"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// The webhook on the real inbox (SQLite, and Postgres when enabled): the same
// event delivered several times at once is stored once, redacted text is
// what is stored, and a closed database answers 503.
func TestWebhookOnStorage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		var woken atomic.Int32
		h := webhook.New(webhook.Config{ChannelSecret: secret, Inbox: db, Logger: slog.New(slog.DiscardHandler),
			Notify: func(...string) { woken.Add(1) }})

		ev := textEvent("Uwebhookstore0000000000000000001", "コードは 739184 です")
		ev["webhookEventId"] = "01JWEBHOOKSTORAGE0000000001"
		b := body(ev)
		var wg sync.WaitGroup
		statuses := make(chan int, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- post(h, b, sign(b, secret), nil).status
			}()
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			if s != 200 {
				t.Errorf("status %d, want 200 for every copy", s)
			}
		}
		if n := woken.Load(); n != 8 {
			t.Errorf("workers woken %d times, want 8 (once per acknowledged copy)", n)
		}
		items := storagetest.Pending(t, db, "Uwebhookstore0000000000000000001")
		if len(items) != 1 {
			t.Fatalf("%d pending events, want 1", len(items))
		}
		got := items[0].Event
		if strings.Contains(got.Text, "739184") || !strings.Contains(got.Text, "コードは") {
			t.Errorf("stored text %q: want the code masked and the rest kept", got.Text)
		}
		if got.ReplyToken != ev["replyToken"] || got.MessageType != "text" || got.SourceType != "user" {
			t.Errorf("stored event %+v", got)
		}

		db.Close()
		other := textEvent("Uwebhookstore0000000000000000002", "はい")
		b = body(other)
		if s := post(h, b, sign(b, secret), nil).status; s != 503 {
			t.Errorf("closed database: status %d, want 503", s)
		}
	})
}
