package lineapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/lineapi"
	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/bot/metrics"
)

const user = "U0123456789abcdef0123456789abcdef"

func newClient(t *testing.T, fake *linefake.Server, logs *bytes.Buffer) *lineapi.Client {
	t.Helper()
	return newClientWith(t, fake, logs, nil)
}

func newClientWith(t *testing.T, fake *linefake.Server, logs *bytes.Buffer, m *metrics.Metrics) *lineapi.Client {
	t.Helper()
	var w = &bytes.Buffer{}
	if logs != nil {
		w = logs
	}
	c, err := lineapi.New(lineapi.Config{
		AccessToken: fake.Token(),
		BaseURL:     fake.URL(),
		HTTPClient:  &http.Client{Timeout: 2 * time.Second},
		Logger:      slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxAttempts: 4,
		BaseBackoff: time.Millisecond,
		MaxBackoff:  4 * time.Millisecond,
		Metrics:     m,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func outgoing(token string) bot.Outgoing {
	return bot.Outgoing{
		ID:         1,
		ChatID:     user,
		ReplyToken: token,
		RetryKey:   uuid.NewString(),
		Messages:   []json.RawMessage{json.RawMessage(`{"type":"text","text":"確認コードは誰にも教えないでください。"}`)},
		EventTime:  time.Now(),
	}
}

func TestSend(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *linefake.Server, out *bot.Outgoing)
		wantVia   string
		wantErr   bool
		replies   int // calls to the reply endpoint
		pushes    int // calls to the push endpoint
		delivered int // accepted deliveries to the user
	}{
		{name: "reply ok", wantVia: "reply", replies: 1, delivered: 1},
		{name: "expired token falls back to push", wantVia: "push", replies: 1, pushes: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = "expired-" + uuid.NewString() }},
		{name: "all tokens expired", wantVia: "push", replies: 1, pushes: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { f.ExpireTokens(true) }},
		{name: "old event pushes without trying the token", wantVia: "push", pushes: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.EventTime = time.Now().Add(-2 * time.Minute) }},
		{name: "no token pushes", wantVia: "push", pushes: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = "" }},
		{name: "429 then reply succeeds", wantVia: "reply", replies: 3, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { f.FailNext(429, 2) }},
		{name: "429 on every reply attempt then push", wantVia: "push", replies: 4, pushes: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { f.FailNext(429, 4) }},
		{name: "500 then reply succeeds", wantVia: "reply", replies: 2, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { f.FailNext(500, 1) }},
		{name: "push 500 every time fails", wantErr: true, pushes: 4,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = ""; f.FailNext(500, 100) }},
		{name: "push 429 then success", wantVia: "push", pushes: 3, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = ""; f.FailNext(429, 2) }},
		{name: "push 400 is not retried", wantErr: true, pushes: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = ""; f.FailNext(400, 1) }},
		{name: "reply delivered but response lost: retried reply proves delivery", wantVia: "reply", replies: 2, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { f.LoseResponses(1) }},
		{name: "push delivered but response lost: 409 on retry", wantVia: "push", pushes: 2, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = ""; f.LoseResponses(1) }},
		{name: "attempted and token unused: reply", wantVia: "reply", replies: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.Attempted = true }},
		{name: "no retry key: a fresh UUID is used", wantVia: "push", pushes: 1, delivered: 1,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = ""; out.RetryKey = "" }},
		{name: "retry key not a UUID", wantErr: true,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.ReplyToken = ""; out.RetryKey = "abc" }},
		{name: "six messages refused before sending", wantErr: true,
			setup: func(f *linefake.Server, out *bot.Outgoing) {
				for len(out.Messages) < 6 {
					out.Messages = append(out.Messages, out.Messages[0])
				}
			}},
		{name: "undecodable message", wantErr: true,
			setup: func(f *linefake.Server, out *bot.Outgoing) { out.Messages[0] = json.RawMessage(`{"type":`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linefake.New()
			defer fake.Close()
			c := newClient(t, fake, nil)
			out := outgoing("tok-" + uuid.NewString())
			if tt.setup != nil {
				tt.setup(fake, &out)
			}
			fake.ExpectToken(out.ReplyToken, user)
			d, err := c.Send(context.Background(), out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send err = %v, wantErr %v", err, tt.wantErr)
			}
			if d.Via != tt.wantVia {
				t.Errorf("Via = %q, want %q", d.Via, tt.wantVia)
			}
			if err == nil && d.RequestID == "" {
				t.Errorf("no request id in %+v", d)
			}
			if got := len(fake.Replies()); got != tt.replies {
				t.Errorf("reply calls = %d, want %d", got, tt.replies)
			}
			if got := len(fake.Pushes()); got != tt.pushes {
				t.Errorf("push calls = %d, want %d", got, tt.pushes)
			}
			if got := fake.Delivered(out.ChatID); got != tt.delivered {
				t.Errorf("delivered = %d, want %d", got, tt.delivered)
			}
			for _, p := range fake.Pushes() {
				key := p.RetryKey()
				if _, err := uuid.Parse(key); err != nil || len(key) != 36 {
					t.Errorf("push retry key %q is not a UUID", key)
				}
				if out.RetryKey != "" && key != out.RetryKey {
					t.Errorf("push retry key = %q, want the stored %q", key, out.RetryKey)
				}
				if p.To() != out.ChatID {
					t.Errorf("push to %q, want %q", p.To(), out.ChatID)
				}
			}
			for _, call := range fake.Calls() {
				if got := call.Header.Get("Authorization"); got != "Bearer "+fake.Token() {
					t.Errorf("authorization = %q", got)
				}
			}
		})
	}
}

// A reply in flight when the process died (Attempted) that LINE accepted: the
// retry's 400 "Invalid reply token" means it was delivered, so nothing is
// pushed. Without Attempted, the same 400 means an expired token: push.
func TestSendAttemptedReply(t *testing.T) {
	tests := []struct {
		name      string
		attempted bool
		wantVia   string
		delivered int
	}{
		{name: "attempted: used token counts as delivered", attempted: true, wantVia: "reply", delivered: 1},
		{name: "not attempted: used token means push", attempted: false, wantVia: "push", delivered: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linefake.New()
			defer fake.Close()
			c := newClient(t, fake, nil)
			out := outgoing("tok-" + uuid.NewString())
			fake.ExpectToken(out.ReplyToken, user)
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			out.Attempted = tt.attempted
			d, err := c.Send(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			if d.Via != tt.wantVia {
				t.Errorf("Via = %q, want %q", d.Via, tt.wantVia)
			}
			if got := fake.Delivered(user); got != tt.delivered {
				t.Errorf("delivered = %d, want %d", got, tt.delivered)
			}
		})
	}
}

func TestSendPushConflictIsSuccess(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	m := metrics.New()
	c := newClientWith(t, fake, nil, m)
	out := outgoing("")
	first, err := c.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.ToFloat64(m.LineAPICalls.WithLabelValues(lineapi.EndpointPush, "409"))
	again, err := c.Send(context.Background(), out)
	if err != nil {
		t.Fatalf("409 must count as delivered: %v", err)
	}
	if again.Via != "push" || again.RequestID != first.RequestID {
		t.Errorf("second delivery %+v, want push with the accepted request id %q", again, first.RequestID)
	}
	if got := fake.Delivered(user); got != 1 {
		t.Errorf("delivered = %d, want 1", got)
	}
	if got := testutil.ToFloat64(m.LineAPICalls.WithLabelValues(lineapi.EndpointPush, "409")) - before; got != 1 {
		t.Errorf("push 409 metric grew by %v, want 1", got)
	}
}

func TestSendHonoursContext(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	c, err := lineapi.New(lineapi.Config{
		AccessToken: fake.Token(), BaseURL: fake.URL(), MaxAttempts: 50,
		BaseBackoff: 200 * time.Millisecond, MaxBackoff: time.Second,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailFor(500, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Send(ctx, outgoing(""))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Send took %v after the context ended", el)
	}
}

func TestSendWrongToken(t *testing.T) {
	fake := linefake.New(linefake.WithToken("right"))
	defer fake.Close()
	c, err := lineapi.New(lineapi.Config{AccessToken: "wrong", BaseURL: fake.URL(), BaseBackoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(context.Background(), outgoing("tok"))
	var apiErr *lineapi.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 APIError", err)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d calls, a 401 must not be retried", n)
	}
}

func TestSendNeverLogsContents(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	var logs bytes.Buffer
	c := newClient(t, fake, &logs)
	out := outgoing("expired-tok")
	out.Messages = []json.RawMessage{json.RawMessage(`{"type":"text","text":"ひみつのないよう"}`)}
	fake.FailNext(500, 1)
	if _, err := c.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ひみつのないよう", fake.Token(), "expired-tok"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"endpoint":"reply"`) {
		t.Errorf("logs lack the call records:\n%s", logs.String())
	}
}

func TestMetrics(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	m := metrics.New()
	c := newClientWith(t, fake, nil, m)
	ok := m.LineAPICalls.WithLabelValues(lineapi.EndpointReply, "200")
	limited := m.LineAPICalls.WithLabelValues(lineapi.EndpointReply, "429")
	okBefore, limitedBefore := testutil.ToFloat64(ok), testutil.ToFloat64(limited)
	fake.FailNext(429, 1)
	if _, err := c.Send(context.Background(), outgoing("tok-m")); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(ok) - okBefore; got != 1 {
		t.Errorf("reply 200 grew by %v, want 1", got)
	}
	if got := testutil.ToFloat64(limited) - limitedBefore; got != 1 {
		t.Errorf("reply 429 grew by %v, want 1", got)
	}
}

func TestSendConcurrent(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	c := newClient(t, fake, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := outgoing("")
			if i%2 == 0 {
				out.ReplyToken = uuid.NewString()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := c.Send(ctx, out); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(fake.Deliveries()); got != 40 {
		t.Errorf("deliveries = %d, want 40", got)
	}
}

func TestShowLoading(t *testing.T) {
	tests := []struct {
		name     string
		chat     string
		seconds  int
		wantCall bool
		wantSecs float64
	}{
		{name: "rounded up to a multiple of 5", chat: user, seconds: 7, wantCall: true, wantSecs: 10},
		{name: "minimum 5", chat: user, seconds: 0, wantCall: true, wantSecs: 5},
		{name: "maximum 60", chat: user, seconds: 90, wantCall: true, wantSecs: 60},
		{name: "group chats are skipped", chat: "C0123456789abcdef0123456789abcdef", seconds: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linefake.New()
			defer fake.Close()
			c := newClient(t, fake, nil)
			if err := c.ShowLoading(context.Background(), tt.chat, tt.seconds); err != nil {
				t.Fatal(err)
			}
			calls := fake.Where(linefake.IsLoading)
			if (len(calls) == 1) != tt.wantCall {
				t.Fatalf("%d loading calls, want call %v", len(calls), tt.wantCall)
			}
			if !tt.wantCall {
				return
			}
			body := calls[0].JSON()
			if body["chatId"] != tt.chat || body["loadingSeconds"] != tt.wantSecs {
				t.Errorf("body = %v, want chatId %s loadingSeconds %v", body, tt.chat, tt.wantSecs)
			}
			if calls[0].Method != http.MethodPost || calls[0].Status != http.StatusAccepted {
				t.Errorf("call %s answered %d", calls[0].Method, calls[0].Status)
			}
			if calls[0].RetryKey() != "" {
				t.Errorf("loading call carries a retry key")
			}
		})
	}
}

func TestLoadingSeconds(t *testing.T) {
	for in, want := range map[int]int{-1: 5, 1: 5, 5: 5, 6: 10, 10: 10, 59: 60, 61: 60} {
		if got := lineapi.LoadingSeconds(in); got != want {
			t.Errorf("LoadingSeconds(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestGetProfile(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	fake.SetProfile(user, "山田")
	c := newClient(t, fake, nil)
	p, err := c.GetProfile(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	if p.DisplayName != "山田" || p.UserID != user || p.Language != "ja" {
		t.Errorf("profile = %+v", p)
	}
	if _, err := c.GetProfile(context.Background(), "../message/push"); err == nil {
		t.Errorf("a path-like user id must be refused")
	}
	fake.FailNext(500, 1)
	if _, err := c.GetProfile(context.Background(), user); err != nil {
		t.Errorf("profile after one 500: %v", err)
	}
	info, err := c.GetBotInfo(context.Background())
	if err != nil || info.BasicID == "" {
		t.Errorf("bot info = %+v, %v", info, err)
	}
}

func TestNew(t *testing.T) {
	if _, err := lineapi.New(lineapi.Config{}); err == nil {
		t.Error("New without a token must fail")
	}
	if _, err := lineapi.New(lineapi.Config{AccessToken: "x", BaseURL: "not a url"}); err == nil {
		t.Error("New with a bad base URL must fail")
	}
	if _, err := lineapi.New(lineapi.Config{AccessToken: "x"}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestSendRequest checks what reply and push put on the wire: the SDK's
// headers, the retry key on push only, and the stored message objects as they
// are, in order.
func TestSendRequest(t *testing.T) {
	msgs := []json.RawMessage{
		json.RawMessage(`{"type":"text","text":"一つ目です。"}`),
		json.RawMessage(`{"type":"text","text":"二つ目 <a&b>","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":"はい","data":"n=a&c=yes","displayText":"はい"}}]}}`),
	}
	tests := []struct {
		name     string
		token    string
		path     string
		retryKey bool
		field    string
		want     string
	}{
		{name: "reply", token: "tok-1", path: linefake.PathReply, field: "replyToken", want: "tok-1"},
		{name: "push", token: "", path: linefake.PathPush, retryKey: true, field: "to", want: user},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linefake.New()
			defer fake.Close()
			c := newClient(t, fake, nil)
			out := outgoing(tt.token)
			out.Messages = msgs
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls()
			if len(calls) != 1 {
				t.Fatalf("calls = %d, want 1", len(calls))
			}
			call := calls[0]
			if call.Method != http.MethodPost || call.Path != tt.path {
				t.Fatalf("request = %s %s, want POST %s", call.Method, call.Path, tt.path)
			}
			if got := call.Header.Get("Authorization"); got != "Bearer "+fake.Token() {
				t.Fatalf("Authorization = %q", got)
			}
			if got := call.Header.Get("Content-Type"); got != "application/json; charset=UTF-8" {
				t.Fatalf("Content-Type = %q", got)
			}
			if got := call.Header.Get("User-Agent"); !strings.HasPrefix(got, "LINE-BotSDK-Go/") {
				t.Fatalf("User-Agent = %q", got)
			}
			if got := call.RetryKey(); (got != "") != tt.retryKey || tt.retryKey && got != out.RetryKey {
				t.Fatalf("X-Line-Retry-Key = %q, want set=%v (%q)", got, tt.retryKey, out.RetryKey)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(call.Body, &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if len(body) != 2 {
				t.Fatalf("body has %d fields, want 2: %s", len(body), call.Body)
			}
			var v string
			if err := json.Unmarshal(body[tt.field], &v); err != nil || v != tt.want {
				t.Fatalf("%s = %q (%v), want %q", tt.field, v, err, tt.want)
			}
			var got []json.RawMessage
			if err := json.Unmarshal(body["messages"], &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(msgs) {
				t.Fatalf("messages = %d, want %d", len(got), len(msgs))
			}
			for i := range msgs {
				if string(got[i]) != string(msgs[i]) {
					t.Fatalf("message %d = %s, want %s", i, got[i], msgs[i])
				}
			}
		})
	}
}
