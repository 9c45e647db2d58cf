package lineapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/lineapi"
)

// okTransport answers every request 200 with an empty JSON object, so the
// benchmarks measure the client's own work (building and sending the body),
// not a server's.
type okTransport struct{}

func (okTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"X-Line-Request-Id": {"req-1"}},
		Body:       io.NopCloser(strings.NewReader(`{"sentMessages":[{"id":"1","quoteToken":"q"}]}`)),
		Request:    req,
	}, nil
}

// benchMessages is a typical turn: two texts and a question with quick replies.
var benchMessages = []json.RawMessage{
	json.RawMessage(`{"type":"text","text":"確認コードが届かないのですね。一緒に原因を確かめましょう。"}`),
	json.RawMessage(`{"type":"text","text":"迷惑メールフォルダーも確認してください。"}`),
	json.RawMessage(`{"type":"text","text":"コードはどこに届く設定ですか?","quickReply":{"items":[` +
		`{"type":"action","action":{"type":"postback","label":"メール","data":"n=method&c=email","displayText":"メール"}},` +
		`{"type":"action","action":{"type":"postback","label":"SMS","data":"n=method&c=sms","displayText":"SMS"}},` +
		`{"type":"action","action":{"type":"postback","label":"アプリ","data":"n=method&c=app","displayText":"アプリ"}},` +
		`{"type":"action","action":{"type":"postback","label":"わからない","data":"n=method&c=unknown","displayText":"わからない"}}]}}`),
}

func benchSend(b *testing.B, token string) {
	c, err := lineapi.New(lineapi.Config{
		AccessToken: "bench-token",
		BaseURL:     "http://line.invalid",
		HTTPClient:  &http.Client{Transport: okTransport{}},
		Logger:      slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		b.Fatal(err)
	}
	out := bot.Outgoing{ID: 1, ChatID: user, ReplyToken: token, RetryKey: uuid.NewString(),
		Messages: benchMessages, EventTime: time.Now()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(ctx, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSendReply(b *testing.B) { benchSend(b, "reply-token") }
func BenchmarkSendPush(b *testing.B)  { benchSend(b, "") }
