package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestOfficialFixtureThroughCallback posts every event of LINE's Python SDK
// webhook fixture (bot/webhook/testdata/line-bot-sdk-python), signed, to
// /callback, one body each, and checks what is answered and kept for each:
// a one-to-one message of any type, a follow and a postback are answered; a
// join is answered once with the group notice; in groups and rooms nothing
// else is answered or kept; the other types are acknowledged and dropped.
func TestOfficialFixtureThroughCallback(t *testing.T) {
	raw, err := os.ReadFile("../bot/webhook/testdata/line-bot-sdk-python/webhook.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	answered := map[string]bool{ // by event type (message: by source and message type below)
		"follow": true, "postback": true, "join": true,
	}
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		fake := linefake.New()
		defer fake.Close()
		s := serveOn(t, testConfig(t, dbURL, fake))
		base := time.Now()
		chats := map[string]bool{}
		want := map[string]bool{} // reply token -> answered
		for i, ev := range fixture.Events {
			ev["webhookEventId"] = fmt.Sprintf("01FIXTURE%02d", i) // the fixture repeats one id and one token
			ev["timestamp"] = base.Add(time.Duration(i) * time.Millisecond).UnixMilli()
			src, _ := ev["source"].(map[string]any)
			chat := fmt.Sprint(src["userId"])
			switch src["type"] {
			case "group":
				chat = fmt.Sprint(src["groupId"])
			case "room":
				chat = fmt.Sprint(src["roomId"])
			}
			chats[chat] = true
			if _, ok := ev["replyToken"]; ok {
				token := fmt.Sprintf("fixture-tok-%02d", i)
				ev["replyToken"] = token
				fake.ExpectToken(token, chat)
				want[token] = answered[fmt.Sprint(ev["type"])] || ev["type"] == "message" && src["type"] == "user"
			}
			b, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{ev}})
			if code, body := s.post(t, b, "sign"); code != 200 {
				t.Fatalf("event %d (%s): %d %s", i, ev["type"], code, body)
			}
		}
		// One last message in every chat, answered: once it is, everything
		// before it in that chat has been handled (one chat's events run in order).
		n := len(fixture.Events)
		for chat := range chats {
			n++
			token := fmt.Sprintf("sentinel-%d", n)
			ev := e2eText(chat, "@todoku 最初から", token, base.Add(time.Duration(n)*time.Millisecond))
			if !strings.HasPrefix(chat, "U") {
				kind, key := "group", "groupId"
				if strings.HasPrefix(chat, "R") {
					kind, key = "room", "roomId"
				}
				ev["source"] = map[string]any{"type": kind, key: chat, "userId": "U206d25c2ea6bd87c17655609a1c37cb8"}
				msg := ev["message"].(map[string]any)
				msg["mention"] = map[string]any{"mentionees": []any{map[string]any{"index": 0, "length": 7, "type": "user", "isSelf": true}}}
			}
			fake.ExpectToken(token, chat)
			if code, body := s.post(t, e2eBody(ev), "sign"); code != 200 {
				t.Fatalf("sentinel for %s: %d %s", chat, code, body)
			}
			if !fake.WaitFor(func(c linefake.Call) bool { return c.ReplyToken() == token }, 20*time.Second) {
				t.Fatalf("chat %s: the last message was not answered", chat)
			}
		}
		for i, ev := range fixture.Events {
			token, ok := ev["replyToken"].(string)
			if !ok {
				continue
			}
			replies := fake.Where(func(c linefake.Call) bool { return linefake.IsReply(c) && c.ReplyToken() == token })
			if got := len(replies) > 0; got != want[token] {
				t.Errorf("event %d (%s from %v): answered %v, want %v", i, ev["type"], ev["source"], got, want[token])
			}
			if len(replies) > 1 {
				t.Errorf("event %d answered %d times", i, len(replies))
			}
		}
		s.shutdown(t)

		// Groups and rooms keep only what the bot answered: the join and the
		// mention, by type, never what members wrote.
		db := storagetest.Open(t, dbURL)
		for chat := range chats {
			if strings.HasPrefix(chat, "U") {
				continue
			}
			convs, err := db.Conversations(context.Background(), chat)
			if err != nil {
				t.Fatal(err)
			}
			var in []string
			for _, c := range convs {
				msgs, _ := db.Messages(context.Background(), c.ID)
				for _, m := range msgs {
					if m.Direction == storage.DirectionIn {
						in = append(in, m.Type)
						if m.Text != "" {
							t.Errorf("chat %s: a member's text is kept: %q", chat, m.Text)
						}
					}
				}
			}
			wantIn := "text" // the mention
			if chat == "Ca56f94637cc4347f90a25382909b24b9" {
				wantIn = "join text"
			}
			if got := strings.Join(in, " "); got != wantIn {
				t.Errorf("chat %s keeps inbound %q, want %q", chat, got, wantIn)
			}
		}
	})
}
