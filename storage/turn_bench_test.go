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
// pipeline does it: accept the event into the inbox, claim its chat (the
// turn's transaction: session, conversation, inbound message, outbox row,
// inbox marked done), then record the delivery (its messages logged).
func BenchmarkLoggedTurn(b *testing.B) {
	storagetest.EachB(b, benchLoggedTurns)
}

// benchLoggedTurns runs BenchmarkLoggedTurn's loop on db.
func benchLoggedTurns(b *testing.B, db *storage.DB) {
	msgs := []json.RawMessage{
		json.RawMessage(`{"type":"text","text":"メールが届かないのですね。迷惑メールフォルダも確認してみてください。"}`),
		json.RawMessage(`{"type":"text","text":"見つかりましたか？","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":"はい","data":"go=email_resolved","displayText":"はい"}}]}}`),
	}
	bubbles := []bot.Bubble{{Type: "text", Text: "メールが届かないのですね。迷惑メールフォルダも確認してみてください。"}, {Type: "text", Text: "見つかりましたか？"}}
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
		c, err := db.Claim(ctx, []string{chat}, false, now, func(tc bot.TurnContext) (bot.TurnPlan, error) {
			st := tc.State
			st.Node, st.LastSeen = "email_more_checks", now
			tr := bot.LogTrace{NodeBefore: tc.State.Node, NodeAfter: "email_more_checks", TopicBefore: "email", TopicAfter: "email",
				Intent: "email_spam_checked", Score: 0.8, PackID: "microsoft-ja", PackVersion: "1"}
			p := bot.TurnPlan{
				In: &bot.Inbound{Type: "text", Text: ev.Text, Trace: tr}, State: &st,
				Position: &bot.Position{Node: "email_more_checks", Topic: "email"},
				Reply:    &bot.Reply{Messages: msgs, Bubbles: bubbles, Author: bot.AuthorBot, Trace: tr},
				Progress: &bot.Progress{Subject: "email"}, // what every turn past the start sends
			}
			if tc.Conversation == nil {
				p.Open = &bot.Opening{Owner: bot.OwnerBot, PackID: "microsoft-ja", PackVersion: "1"}
			}
			return p, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		out := c.Chats[chat].Out
		if out == nil {
			b.Fatalf("no reply: %+v", c.Chats[chat])
		}
		if err := c.Finish(ctx, []bot.DeliveryOutcome{{Out: *out, Delivery: bot.Delivery{Via: "reply", RequestID: "req"}}}, now); err != nil {
			b.Fatal(err)
		}
	}
}
