package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/todoku/todoku/storage/storagetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// chatRun runs `todoku chat` with args on the database at dbURL.
func chatRun(t *testing.T, dbURL, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("LOG_LEVEL", "error")
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"chat"}, args...), strings.NewReader(input), &out, &errb)
	return code, out.String(), errb.String()
}

type chatLine struct {
	Node     string            `json:"node"`
	Topic    string            `json:"topic"`
	Messages []json.RawMessage `json:"messages"`
	Error    string            `json:"error"`
}

func parseChatLines(t *testing.T, out string) []chatLine {
	t.Helper()
	var lines []chatLine
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var c chatLine
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("not one JSON object per line: %q: %v", l, err)
		}
		lines = append(lines, c)
	}
	return lines
}

func TestChatJSON(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		input := "こんにちは\npostback:go=ask_method\nSMSです\nその番号はもう解約しました\n"
		code, out, stderr := chatRun(t, dbURL, input, "--json", "--user", "Uchat1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := parseChatLines(t, out)
		want := []string{"welcome", "ask_method", "sms_check", "replace_method"}
		if len(lines) != len(want) {
			t.Fatalf("%d input lines gave %d output lines:\n%s", len(want), len(lines), out)
		}
		for i, l := range lines {
			if l.Topic != want[i] || l.Node == "" {
				t.Errorf("line %d: node %q topic %q, want topic %s", i+1, l.Node, l.Topic, want[i])
			}
			if len(l.Messages) < 1 || len(l.Messages) > 5 {
				t.Errorf("line %d: %d messages, LINE allows 1 to 5", i+1, len(l.Messages))
			}
			for _, m := range l.Messages {
				var obj struct {
					Type string `json:"type"`
				}
				if json.Unmarshal(m, &obj) != nil || (obj.Type != "text" && obj.Type != "template" && obj.Type != "flex") {
					t.Errorf("line %d: not a LINE message object: %s", i+1, m)
				}
			}
		}
		golden(t, "chat_json.golden", timeless(out)) // the same on every database

		// State persists per user across runs: the next run continues from
		// replace_method, and another user starts afresh.
		_, out, _ = chatRun(t, dbURL, "戻る\n", "--json", "--user", "Uchat1")
		if l := parseChatLines(t, out); l[0].Topic != "sms_check" {
			t.Errorf("after a restart, 戻る went to %s, want sms_check (the state was not kept)", l[0].Topic)
		}
		_, out, _ = chatRun(t, dbURL, "戻る\n", "--json", "--user", "Uchat2")
		if l := parseChatLines(t, out); l[0].Topic != "welcome" {
			t.Errorf("a new user's 戻る went to %s, want welcome", l[0].Topic)
		}
	})
}

func TestChatJSONBadInput(t *testing.T) {
	code, out, _ := chatRun(t, storagetest.SQLiteURL(t), "postback:\nこんにちは\n", "--json", "--user", "Ubad")
	lines := parseChatLines(t, out)
	if len(lines) != 2 || !strings.Contains(lines[0].Error, "postback") || lines[1].Topic != "welcome" {
		t.Fatalf("want an error line then a normal line, got:\n%s", out)
	}
	if code != 1 {
		t.Errorf("exit %d after a bad line, want 1", code)
	}
}

func TestChatInteractive(t *testing.T) {
	code, out, stderr := chatRun(t, storagetest.SQLiteURL(t), "こんにちは\n1\n", "--user", "Utty")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"bot: {greeting}。Microsoft アカウント", "  1) コードが届かない", "[コードが届かない]", "確認コードは、どの方法で受け取る設定になっていますか？", ") メール"} {
		if !strings.Contains(timeless(out), want) {
			t.Errorf("interactive output lacks %q:\n%s", want, out)
		}
	}
}

// timeless replaces the greeting, which follows the time of day in Japan,
// with {greeting}, so that output compares at any hour.
func timeless(s string) string {
	return strings.NewReplacer("おはようございます。", "{greeting}。", "こんにちは。", "{greeting}。", "こんばんは。", "{greeting}。").Replace(s)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/todoku -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n got: %s\nwant: %s", path, got, want)
	}
}
