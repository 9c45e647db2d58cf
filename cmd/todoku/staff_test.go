package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/storage/storagetest"
)

// staffRun runs a command line with stdin.
func staffRun(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAccountAndTokenCommands(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, url string) {
		db := storagetest.Open(t, url)
		dbFlag := "--database-url=" + url
		steps := []struct {
			stdin string
			args  []string
			code  int
			out   string // stdout holds exactly this ("*" any one line)
		}{
			{"", []string{"admin", "create-user", "alice", "--role", "staff", dbFlag}, 0, "*"},                 // generated, printed once
			{"a-long-password-1\n", []string{"admin", "create-user", "bob", "--role=operator", dbFlag}, 0, ""}, // from stdin: nothing printed
			{"", []string{"admin", "create-user", "bob", "--role", "staff", dbFlag}, 1, ""},                    // exists
			{"", []string{"admin", "create-user", "carol", "--role", "boss", dbFlag}, 2, ""},                   // no such role
			{"short\n", []string{"admin", "create-user", "carol", "--role", "staff", dbFlag}, 2, ""},           // too short
			{"another-password-2\n", []string{"admin", "set-password", "bob", dbFlag}, 0, ""},
			{"", []string{"admin", "set-password", "nobody", dbFlag}, 3, ""},
			{"", []string{"admin", "disable", "alice", dbFlag}, 0, ""},
			{"", []string{"admin", "enable", "alice", dbFlag}, 0, ""},
			{"", []string{"admin", "token", "create", "--role", "staff", "--name", "script", dbFlag}, 0, "tdk_"},
			{"", []string{"admin", "token", "create", "--role", "staff", "--name", "script", dbFlag}, 1, ""}, // active name
			{"", []string{"admin", "token", "revoke", "script", dbFlag}, 0, ""},
			{"", []string{"admin", "token", "revoke", "script", dbFlag}, 3, ""},
		}
		for _, s := range steps {
			code, out, errOut := staffRun(s.stdin, s.args...)
			if code != s.code {
				t.Fatalf("%v: exit %d, want %d (%s)", s.args, code, s.code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			switch {
			case s.out == "" && out != "":
				t.Errorf("%v printed %q, want nothing on stdout", s.args, out)
			case s.out != "" && (len(lines) != 1 || (s.out != "*" && !strings.HasPrefix(lines[0], s.out))):
				t.Errorf("%v printed %q, want one line (%s)", s.args, out, s.out)
			}
		}
		ctx := context.Background()
		bob, err := db.StaffAccountByName(ctx, "bob")
		if err != nil || bob.Role != console.RoleOperator || !console.CheckPassword(bob.PasswordHash, "another-password-2") {
			t.Fatalf("bob: %+v, %v", bob, err)
		}
		alice, _ := db.StaffAccountByName(ctx, "alice")
		if alice.DisabledAt != nil || !alice.MustChangePassword {
			t.Fatalf("alice: %+v", alice)
		}
		ts, _ := db.APITokens(ctx)
		if len(ts) != 1 || ts[0].RevokedAt == nil || strings.HasPrefix(ts[0].TokenHash, "tdk_") {
			t.Fatalf("tokens: %+v", ts)
		}
		var actions []string
		for _, e := range admAudit(t, db) {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{"account.create", "account.password", "account.disable", "account.enable", "token.create", "token.revoke"} {
			if !strings.Contains(strings.Join(actions, " "), want) {
				t.Errorf("audit log lacks %s: %v", want, actions)
			}
		}
	})
}
