package app

import (
	"context"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestIdleSweep: a conversation nobody wrote in for IDLE_TIMEOUT ends
// (abandoned, as it never reached a resolution) without a new message;
// one with recent activity stays open; a second sweep adds nothing.
func TestIdleSweep(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		a := newTestApp(t, testConfig(t, url, nil), Options{})
		now := time.Now().UTC()
		for chat, at := range map[string]time.Time{"U-idle": now.Add(-time.Hour), "U-busy": now.Add(-time.Minute)} {
			ev := bot.Event{ID: "e-" + chat, Type: "message", SourceType: "user", UserID: chat, ChatID: chat, MessageType: "text", Text: "こんにちは", Timestamp: at}
			if _, err := a.Processor.HandleNow(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		n, err := a.sweepIdle(ctx, now)
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d events, %v; want 1", n, err)
		}
		if err := a.Processor.Process(ctx, "U-idle"); err != nil {
			t.Fatal(err)
		}
		if n, _ := a.sweepIdle(ctx, now); n != 0 {
			t.Fatalf("after the sweep's events ran, %d more", n)
		}
		for chat, want := range map[string]string{"U-idle": storage.ConversationClosed, "U-busy": storage.ConversationOpen} {
			convs, _ := a.DB.Conversations(ctx, chat)
			if len(convs) != 1 || convs[0].Status != want {
				t.Fatalf("%s: %+v, want one %s", chat, convs, want)
			}
		}
		convs, _ := a.DB.Conversations(ctx, "U-idle")
		if c := convs[0]; c.Outcome == nil || *c.Outcome != bot.OutcomeAbandoned || c.EndReason != bot.EndIdle {
			t.Fatalf("idle conversation ended as %v / %q", c.Outcome, c.EndReason)
		}
	})
}
