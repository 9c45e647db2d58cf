package linefake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/bot/linefake"
)

const key = "123e4567-e89b-12d3-a456-426614174000"

type req struct {
	method, path, body, token, retryKey string
}

func do(t *testing.T, f *linefake.Server, r req) (int, http.Header, map[string]any) {
	t.Helper()
	hr, err := http.NewRequest(r.method, f.URL()+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	tok := r.token
	if tok == "" {
		tok = f.Token()
	}
	hr.Header.Set("Authorization", "Bearer "+tok)
	if r.retryKey != "" {
		hr.Header.Set("X-Line-Retry-Key", r.retryKey)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, res.Header, m
}

const text = `[{"type":"text","text":"hi"}]`

func TestFake(t *testing.T) {
	f := linefake.New()
	defer f.Close()
	f.ExpectToken("t1", "Ua")
	steps := []struct {
		name string
		req  req
		want int
		msg  string // substring of the error message
	}{
		{"wrong bearer token", req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"t1","messages":` + text + `}`, token: "nope"}, 401, "invalid token"},
		{"reply", req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"t1","messages":` + text + `}`}, 200, ""},
		{"reply token single use", req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"t1","messages":` + text + `}`}, 400, "Invalid reply token"},
		{"expired token", req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"expired1","messages":` + text + `}`}, 400, "Invalid reply token"},
		{"no messages", req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"t2","messages":[]}`}, 400, "1 to 5"},
		{"retry key on reply", req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"t3","messages":` + text + `}`, retryKey: key}, 400, "retry key"},
		{"push with a bad key", req{method: "POST", path: linefake.PathPush, body: `{"to":"Ub","messages":` + text + `}`, retryKey: "nope"}, 400, "Retry-Key"},
		{"push", req{method: "POST", path: linefake.PathPush, body: `{"to":"Ub","messages":` + text + `}`, retryKey: key}, 200, ""},
		{"push again with the key", req{method: "POST", path: linefake.PathPush, body: `{"to":"Ub","messages":` + text + `}`, retryKey: key}, 409, "already accepted"},
		{"push without key", req{method: "POST", path: linefake.PathPush, body: `{"to":"Ub","messages":` + text + `}`}, 200, ""},
		{"loading", req{method: "POST", path: linefake.PathLoading, body: `{"chatId":"Ua","loadingSeconds":20}`}, 202, ""},
		{"loading in a group", req{method: "POST", path: linefake.PathLoading, body: `{"chatId":"Cg","loadingSeconds":20}`}, 400, "user ID"},
		{"loading seconds not a multiple of 5", req{method: "POST", path: linefake.PathLoading, body: `{"chatId":"Ua","loadingSeconds":7}`}, 400, "multiple of 5"},
		{"profile", req{method: "GET", path: linefake.PathProfile + "Ua"}, 200, ""},
		{"bot info", req{method: "GET", path: linefake.PathBotInfo}, 200, ""},
		{"unknown path", req{method: "GET", path: "/v2/bot/nothing"}, 404, ""},
	}
	for _, s := range steps {
		code, hdr, body := do(t, f, s.req)
		if code != s.want {
			t.Errorf("%s: status %d, want %d (%v)", s.name, code, s.want, body)
		}
		if s.msg != "" && !strings.Contains(body["message"].(string), s.msg) {
			t.Errorf("%s: message %q lacks %q", s.name, body["message"], s.msg)
		}
		if hdr.Get("X-Line-Request-Id") == "" {
			t.Errorf("%s: no x-line-request-id", s.name)
		}
		if code == 409 && hdr.Get("X-Line-Accepted-Request-Id") == "" {
			t.Errorf("%s: 409 without x-line-accepted-request-id", s.name)
		}
	}
	if got := f.Delivered("Ua"); got != 1 {
		t.Errorf("Delivered(Ua) = %d, want 1", got)
	}
	if got := f.Delivered("Ub"); got != 2 {
		t.Errorf("Delivered(Ub) = %d, want 2", got)
	}
	if got := len(f.Calls()); got != len(steps) {
		t.Errorf("%d calls recorded, want %d", got, len(steps))
	}
}

func TestFakeFailures(t *testing.T) {
	f := linefake.New()
	defer f.Close()
	push := req{method: "POST", path: linefake.PathPush, body: `{"to":"Ub","messages":` + text + `}`}

	f.FailNext(429, 2)
	for i, want := range []int{429, 429, 200} {
		if code, _, _ := do(t, f, push); code != want {
			t.Errorf("FailNext call %d: %d, want %d", i, code, want)
		}
	}
	f.FailFor(500, 200*time.Millisecond)
	if code, _, _ := do(t, f, push); code != 500 {
		t.Errorf("FailFor: %d, want 500", code)
	}
	time.Sleep(250 * time.Millisecond)
	if code, _, _ := do(t, f, push); code != 200 {
		t.Errorf("after FailFor: %d, want 200", code)
	}

	f.ExpireTokens(true)
	if code, _, _ := do(t, f, req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"fresh","messages":` + text + `}`}); code != 400 {
		t.Errorf("ExpireTokens: %d, want 400", code)
	}
	f.ExpireTokens(false)

	f.LoseResponses(1)
	if code, _, _ := do(t, f, req{method: "POST", path: linefake.PathReply, body: `{"replyToken":"lost","messages":` + text + `}`}); code != 500 {
		t.Errorf("LoseResponses: %d, want 500", code)
	}
	if got := f.Delivered("lost"); got != 1 {
		t.Errorf("a lost response still delivers: Delivered = %d, want 1", got)
	}

	f.SetDelay(100 * time.Millisecond)
	start := time.Now()
	do(t, f, push)
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("SetDelay: answered in %v", el)
	}
	f.SetDelay(0)

	go func() {
		time.Sleep(50 * time.Millisecond)
		do(t, f, req{method: "POST", path: linefake.PathPush, body: `{"to":"Uwait","messages":` + text + `}`})
	}()
	if !f.WaitFor(func(c linefake.Call) bool { return c.To() == "Uwait" }, 5*time.Second) {
		t.Error("WaitFor did not see the push")
	}
	if f.WaitFor(func(c linefake.Call) bool { return c.To() == "Unever" }, 50*time.Millisecond) {
		t.Error("WaitFor matched a call that never came")
	}
}
