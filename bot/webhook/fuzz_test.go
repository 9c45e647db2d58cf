package webhook_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/todoku/todoku/bot/webhook"
	"github.com/todoku/todoku/redact"
)

// FuzzWebhook posts arbitrary bodies, correctly signed, to the handler. It must
// never panic, never answer 5xx (LINE would redeliver a bad body forever), and
// everything it accepts must be redacted, valid UTF-8 and free of NUL.
func FuzzWebhook(f *testing.F) {
	seeds := []string{
		`{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}`,
		string(body(textEvent("Uaaaa", "確認コードが届きません"))),
		string(body(textEvent("Ubbbb", "コードは123456です"))),
		`{"events":[{"type":"postback","webhookEventId":"01P","timestamp":1,"source":{"type":"user","userId":"U1"},"replyToken":"r","postback":{"data":"n=a"}}]}`,
		`{"events":[{"type":"unsend","webhookEventId":"01U","source":{"type":"user","userId":"U1"},"unsend":{"messageId":"1"}}]}`,
		`{"events":[{"type":"message","source":{"type":"group","groupId":"C1"},"message":{"type":"sticker","id":"1"}}]}`,
		`{"events":[{"type":"somethingNew","webhookEventId":"01X","source":{"type":"user","userId":"U1"}}]}`,
		`{"events":[{"webhookEventId":"01NOTYPE"},1,null,"x",[]]}`,
		`{"events":[{"type":"message","source":"U1","message":{"type":"text","text":5}}]}`,
		`{"events":[{"type":"message","timestamp":"soon","deliveryContext":[],"message":{"type":"text","text":"\u0000"}}]}`,
		`{"events": [`,
		`null`,
		`[]`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inbox := &memInbox{}
		h := webhook.New(webhook.Config{ChannelSecret: secret, Inbox: inbox, Logger: slog.New(slog.DiscardHandler)})
		req := httptest.NewRequest(http.MethodPost, "/callback", bytes.NewReader(b))
		req.Header.Set("X-Line-Signature", sign(b, secret))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for a signed body", rec.Code)
		}
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("unexpected status %d", rec.Code)
		}
		for _, ev := range inbox.stored() {
			if ev.ID == "" || ev.Type == "" {
				t.Errorf("event without id or type: %+v", ev)
			}
			if redact.Text(ev.Text) != ev.Text {
				t.Errorf("text not redacted: %q", ev.Text)
			}
			for _, s := range []string{ev.ID, ev.Type, ev.UserID, ev.ChatID, ev.Text, ev.Data, ev.ReplyToken, ev.MessageID, ev.MessageType} {
				if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
					t.Errorf("unsafe string %q in %+v", s, ev)
				}
			}
		}
	})
}

// FuzzWebhookBatch posts whole signed bodies of up to 5,000 events, up to
// and past the body cap, made from the fuzzer's bytes: each event's type
// (unfollow, follow, text, postback), chat, text and whether it repeats the
// previous event's id. Within the cap the answer is 200 and every distinct
// event is accepted once; past it, 413; never 5xx.
func FuzzWebhookBatch(f *testing.F) {
	f.Add(uint16(1), []byte("a"))
	f.Add(uint16(4096), []byte{0}) // 4,096 minimal unfollow events (issue 16)
	f.Add(uint16(5000), []byte("確認コードが届きません 123456"))
	f.Add(uint16(300), []byte{2, 7, 3, 0xff, 0xfe, 1})
	f.Fuzz(func(t *testing.T, n uint16, seed []byte) {
		n %= 5001
		events := make([]map[string]any, n)
		ids := map[string]bool{}
		for i := range events {
			events[i] = batchEvent(i, seed)
			ids[events[i]["webhookEventId"].(string)] = true
		}
		b := body(events...)
		inbox := &memInbox{}
		h := webhook.New(webhook.Config{ChannelSecret: secret, Inbox: inbox, Logger: slog.New(slog.DiscardHandler)})
		r := post(h, b, sign(b, secret), nil)
		if len(b) > webhook.DefaultMaxBody {
			if r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d events, %d bytes: status %d, want 413", n, len(b), r.status)
			}
			return
		}
		if r.status != http.StatusOK {
			t.Fatalf("%d events, %d bytes: status %d %s", n, len(b), r.status, r.body)
		}
		if got := len(inbox.stored()); got != len(ids) {
			t.Fatalf("%d events with %d distinct ids: %d accepted", n, len(ids), got)
		}
	})
}

// batchEvent is event i of a FuzzWebhookBatch body.
func batchEvent(i int, seed []byte) map[string]any {
	k := byte(0)
	if len(seed) > 0 {
		k = seed[i%len(seed)]
	}
	id := fmt.Sprintf("01BATCH%07d", i)
	if k%11 == 10 && i > 0 {
		id = fmt.Sprintf("01BATCH%07d", i-1) // the same event twice in one body
	}
	ev := map[string]any{
		"webhookEventId": id, "timestamp": 1767225600000 + i, "mode": "active",
		"source": map[string]any{"type": "user", "userId": fmt.Sprintf("U%032x", int(k)%37)},
	}
	switch k % 4 {
	case 0:
		ev["type"] = "unfollow"
	case 1:
		ev["type"], ev["replyToken"] = "follow", fmt.Sprintf("r%d", i)
	case 2:
		ev["type"], ev["replyToken"] = "message", fmt.Sprintf("r%d", i)
		ev["message"] = map[string]any{"id": fmt.Sprint(i), "type": "text", "text": string(seed)}
	case 3:
		ev["type"], ev["replyToken"] = "postback", fmt.Sprintf("r%d", i)
		ev["postback"] = map[string]any{"data": string(seed)}
	}
	return ev
}
