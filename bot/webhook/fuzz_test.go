package webhook_test

import (
	"bytes"
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
