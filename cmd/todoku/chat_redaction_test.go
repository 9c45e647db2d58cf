package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/todoku/todoku/redact/redacttest"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestChatSecretsAsWritten: `todoku chat --json` masks secrets as people
// write them before the database, and answers each with the warning.
func TestChatSecretsAsWritten(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, dbURL string) {
		var in strings.Builder
		for _, f := range redacttest.Written {
			in.WriteString(f.Text + "\n")
		}
		code, out, errs := chatRun(t, dbURL, in.String(), "--json", "--user", "Usecrets")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := parseChatLines(t, out)
		if len(lines) != len(redacttest.Written) {
			t.Fatalf("%d lines for %d inputs", len(lines), len(redacttest.Written))
		}
		for i, l := range lines {
			if !strings.Contains(fmt.Sprintf("%s", l.Messages), "共有しないでください") {
				t.Errorf("%q: no code-safety warning in %s", redacttest.Written[i].Text, l.Messages)
			}
		}
		redacttest.CheckNoSecret(t, "the database", storagetest.Dump(t, storagetest.Open(t, dbURL)))
		redacttest.CheckNoSecret(t, "chat's output", errs)
	})
}
