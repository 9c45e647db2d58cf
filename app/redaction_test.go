package app

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/redact/redacttest"
	"github.com/todoku/todoku/storage/storagetest"
)

// safetyWarning is part of the pack's code_safety text.
const safetyWarning = "共有しないでください"

// TestSecretsAsWrittenNeverStored sends secrets as people write them through
// the webhook, then reads every table and the debug logs: the secret is
// nowhere, and the reply warns not to share it. Texts that only look like
// secrets are stored as written and answered without the warning.
func TestSecretsAsWrittenNeverStored(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		fake := linefake.New()
		defer fake.Close()
		var logs syncBuffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s := startServe(t, newTestApp(t, testConfig(t, dbURL, fake), Options{Logger: log}))
		texts := append([]string{}, redacttest.Plain...)
		for _, f := range redacttest.Written {
			texts = append(texts, f.Text)
		}
		now := time.Now()
		for i, text := range texts {
			user, token := fmt.Sprintf("U%032d", i), fmt.Sprintf("tok-secret-%d", i)
			fake.ExpectToken(token, user)
			if code, body := s.post(t, e2eBody(e2eText(user, text, token, now.Add(time.Duration(i)*time.Millisecond))), "sign"); code != 200 {
				t.Fatalf("%q: %d %s", text, code, body)
			}
		}
		for i, text := range texts {
			token := fmt.Sprintf("tok-secret-%d", i)
			if !fake.WaitFor(func(c linefake.Call) bool { return c.ReplyToken() == token }, 15*time.Second) {
				t.Fatalf("%q: no reply", text)
			}
			reply := string(fake.Where(func(c linefake.Call) bool { return c.ReplyToken() == token })[0].Body)
			if warned, want := strings.Contains(reply, safetyWarning), i >= len(redacttest.Plain); warned != want {
				t.Errorf("%q: warned %v, want %v: %s", text, warned, want, reply)
			}
		}
		s.shutdown(t)
		stored := storagetest.Dump(t, storagetest.Open(t, dbURL))
		redacttest.CheckNoSecret(t, "the database", stored)
		redacttest.CheckNoSecret(t, "the logs", logs.String())
		for _, p := range redacttest.Plain {
			if !strings.Contains(stored, p) {
				t.Errorf("%q was not stored as written", p)
			}
			if strings.Contains(logs.String(), p) {
				t.Errorf("the logs hold a message text: %q", p)
			}
		}
	})
}
