package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// BenchmarkLoggedTurn measures the database work of one turn, as the
// pipeline does it: accept the event into the inbox, read it back, run the
// turn transaction (session, conversation, inbound and outbound messages,
// outbox row, inbox marked done), then mark the delivery attempted and sent.
func BenchmarkLoggedTurn(b *testing.B) {
	msgs := []json.RawMessage{
		json.RawMessage(`{"type":"text","text":"メールが届かないのですね。迷惑メールフォルダも確認してみてください。"}`),
		json.RawMessage(`{"type":"text","text":"見つかりましたか？","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":"はい","data":"go=email_resolved","displayText":"はい"}}]}}`),
	}
	storagetest.EachB(b, func(b *testing.B, db *storage.DB) {
		ctx := context.Background()
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			chat := fmt.Sprintf("U%032d", i%100)
			now := t0.Add(time.Duration(i) * time.Second)
			ev := textEvent(fmt.Sprint("ev", i), chat, "迷惑メールにもないです", now)
			if _, err := db.Accept(ctx, []bot.Event{ev}); err != nil {
				b.Fatal(err)
			}
			items, err := db.PendingEvents(ctx, chat, 32)
			if err != nil || len(items) != 1 {
				b.Fatalf("pending: %d, %v", len(items), err)
			}
			out, err := db.RunTurn(ctx, items[0], now, func(tc bot.TurnContext) (bot.TurnPlan, error) {
				st := tc.State
				st.Node, st.LastSeen = "email_more_checks", now
				return bot.TurnPlan{
					Log: true, InType: "text", InText: ev.Text, PackID: "microsoft-ja", PackVersion: "1",
					Result: &dialog.Result{State: st, Trace: dialog.Trace{
						FromNode: tc.State.Node, ToNode: "email_more_checks", FromTopic: "email", ToTopic: "email",
						Intent: "email_spam_checked", Score: 0.8,
					}},
					Messages: msgs,
				}, nil
			})
			if err != nil || out == nil {
				b.Fatalf("run turn: %v (outgoing %v)", err, out)
			}
			if err := db.MarkAttempted(ctx, out.ID); err != nil {
				b.Fatal(err)
			}
			if err := db.MarkSent(ctx, *out, bot.Delivery{Via: "reply", RequestID: "req"}, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
