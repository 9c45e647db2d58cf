package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// BenchmarkLoggedTurn measures the database work of one turn, as the
// pipeline does it: accept the event into the inbox, read it back, run the
// turn transaction (session, conversation, inbound and outbound messages,
// outbox row, inbox marked done), then mark the delivery attempted and sent.
func BenchmarkLoggedTurn(b *testing.B) {
	storagetest.EachB(b, benchLoggedTurns)
}

// benchLoggedTurns runs BenchmarkLoggedTurn's loop on db.
func benchLoggedTurns(b *testing.B, db *storage.DB) {
	msgs := []json.RawMessage{
		json.RawMessage(`{"type":"text","text":"メールが届かないのですね。迷惑メールフォルダも確認してみてください。"}`),
		json.RawMessage(`{"type":"text","text":"見つかりましたか？","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":"はい","data":"go=email_resolved","displayText":"はい"}}]}}`),
	}
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
			tr := bot.LogTrace{NodeBefore: tc.State.Node, NodeAfter: "email_more_checks", TopicBefore: "email", TopicAfter: "email",
				Intent: "email_spam_checked", Score: 0.8, PackID: "microsoft-ja", PackVersion: "1"}
			p := bot.TurnPlan{
				In: &bot.Inbound{Type: "text", Text: ev.Text, Trace: tr}, State: &st,
				Position: &bot.Position{Node: "email_more_checks", Topic: "email"},
				Reply:    &bot.Reply{Messages: msgs, Author: bot.AuthorBot, Trace: tr},
			}
			if tc.Conversation == nil {
				p.Open = &bot.Opening{Owner: bot.OwnerBot, PackID: "microsoft-ja", PackVersion: "1"}
			}
			return p, nil
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
}
