package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestConsoleAcrossReplicas: two `todoku serve` processes on one
// PostgreSQL. A staff member signed in on replica B takes over a
// conversation whose user writes to replica A, and sees the user's next
// message, received by A, in B's transcript without reloading (the page's
// poll). The first admin is created once although both replicas start at once.
func TestConsoleAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts two servers")
	}
	dbURL := storagetest.PostgresURL(t) // skips without TODOKU_TEST_POSTGRES
	fake := linefake.New()
	defer fake.Close()
	c := &repCluster{t: t, bin: repBuild(t), dir: t.TempDir(),
		env:      append(repEnv(dbURL, fake), "TODOKU_ADMIN_PASSWORD=replica-admin-password"),
		replicas: []*repReplica{{addr: repFreePort(t)}, {addr: repFreePort(t)}}}
	defer c.stopAll()
	errs := make(chan error, 2)
	for i := range c.replicas {
		go func() { errs <- c.start(i) }()
	}
	for range c.replicas {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	a, b := "http://"+c.replicas[0].addr, "http://"+c.replicas[1].addr

	user := "U0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	n := 0
	say := func(text string) {
		t.Helper()
		n++
		ev := map[string]any{
			"type": "message", "mode": "active", "timestamp": time.Now().UnixMilli(),
			"source": map[string]any{"type": "user", "userId": user}, "webhookEventId": fmt.Sprintf("01CONSOLEREPLICA%010d", n),
			"deliveryContext": map[string]any{"isRedelivery": false}, "replyToken": fmt.Sprintf("console-rep-%d", n),
			"message": map[string]any{"id": fmt.Sprint(n), "type": "text", "quoteToken": "q", "text": text},
		}
		fake.ExpectToken(fmt.Sprintf("console-rep-%d", n), user)
		body, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{ev}})
		m := hmac.New(sha256.New, []byte(repSecret))
		m.Write(body)
		req, _ := http.NewRequest(http.MethodPost, a+"/callback", bytes.NewReader(body))
		req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("webhook to replica A: %v %v", err, res)
		}
		res.Body.Close()
	}
	say("確認コードが届きません")
	say("人と話したい")

	// Staff on replica B.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	get := func(path string) (int, string) {
		t.Helper()
		res, err := browser.Get(b + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	post := func(path, page string, form url.Values) *http.Response {
		t.Helper()
		m := csrf.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the page before POST %s", path)
		}
		form.Set("csrf", m[1])
		res, err := browser.PostForm(b+path, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	_, page := get("/signin")
	if res := post("/signin", page, url.Values{"name": {"admin"}, "password": {"replica-admin-password"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on replica B: %d (the first admin was not created once?)", res.StatusCode)
	}
	var id string
	deadline := time.Now().Add(15 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		_, q := get("/queue")
		if m := regexp.MustCompile(`href="/conversations/(\d+)"`).FindStringSubmatch(q); m != nil {
			id = m[1]
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if id == "" {
		t.Fatal("replica B's queue never showed the conversation that replica A received")
	}
	_, page = get("/conversations/" + id)
	if res := post("/conversations/"+id+"/takeover", page, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("takeover on B: %d", res.StatusCode)
	}
	_, page = get("/conversations/" + id)
	v := regexp.MustCompile(`/live\?v=([^"]+)"`).FindStringSubmatch(page)
	if v == nil {
		t.Fatal("the transcript does not poll")
	}
	live := "/conversations/" + id + "/live?v=" + strings.ReplaceAll(v[1], "&amp;", "&")

	sent := time.Now()
	say("まだ誰もいませんか")
	for {
		code, body := get(live)
		if code == 200 && strings.Contains(body, "まだ誰もいませんか") {
			break
		}
		if time.Since(sent) > 15*time.Second {
			t.Fatalf("the message replica A received never showed on replica B (last poll %d)", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("a message received by replica A showed in replica B's transcript poll %v later", time.Since(sent).Round(10*time.Millisecond))
	if got := fake.Delivered(user); got != 2 {
		t.Errorf("the bot answered while staff owned the conversation: %d deliveries, want the 2 before the takeover", got)
	}
}
