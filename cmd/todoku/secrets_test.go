package main

import (
	"strings"
	"testing"
)

// TestNoSecretInOutput runs every command that takes flags with every
// secret set in the environment: neither usage, nor a flag error, nor a
// configuration error, nor a database failure (drivers quote the URL they
// were given), nor the logs print a secret's value.
func TestNoSecretInOutput(t *testing.T) {
	secrets := []string{"chan-secret-3f9a1c", "access-token-77b2e4", "db-pass-5d1e", "query-pass-8c0f"}
	t.Setenv("LINE_CHANNEL_SECRET", secrets[0])
	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", secrets[1])
	t.Setenv("LINE_API_BASE_URL", "http://127.0.0.1:1")
	t.Setenv("LOG_LEVEL", "debug")
	const (
		unreachable = "postgres://todoku:db-pass-5d1e@127.0.0.1:1/x?password=query-pass-8c0f&connect_timeout=1"
		unparsable  = "postgres://todoku:db-pass-5d1e@127.0.0.1:1/x?password=query-pass-8c0f&sslmode=bogus"
	)
	withDB := [][]string{{"serve"}, {"chat", "--json"}, {"migrate"}, {"purge", "--older-than", "90d"},
		{"user", "delete", "Uabc"}, {"admin", "purge", "--older-than", "90d"}, {"admin", "user", "delete", "Uabc"},
		{"admin", "create-user", "sato", "--role", "staff"}, {"admin", "disable", "sato"},
		{"admin", "token", "create", "--role", "staff", "--name", "bot1"}, {"admin", "token", "revoke", "bot1"}}
	// The rich menu commands call LINE (unreachable here) with the token.
	withLINE := [][]string{{"richmenu", "show"}, {"richmenu", "apply"}}
	withFlags := append(append([][]string{{"health"}, {"richmenu", "image", "-o", t.TempDir() + "/menu.png"}}, withDB...), withLINE...)
	type run struct {
		args  []string
		dbURL string
		env   map[string]string
		code  int
	}
	var runs []run
	for _, cmd := range withFlags {
		runs = append(runs,
			run{args: append(cmd[:len(cmd):len(cmd)], "-h"), dbURL: unreachable, code: 0},
			run{args: append(cmd[:len(cmd):len(cmd)], "-line-chanel-secret", "x"), dbURL: unreachable, code: 2})
	}
	for _, cmd := range withDB {
		runs = append(runs, run{args: cmd, dbURL: unreachable, code: 1}, run{args: cmd, dbURL: unparsable, code: 1})
	}
	for _, cmd := range withLINE {
		runs = append(runs, run{args: cmd, dbURL: unreachable, code: 1})
	}
	for _, cmd := range [][]string{{"serve"}, {"chat"}} {
		runs = append(runs, run{args: cmd, dbURL: unreachable, env: map[string]string{"WORKERS": "zero"}, code: 2},
			run{args: cmd, dbURL: unreachable, env: map[string]string{"LINE_CHANNEL_ACCESS_TOKEN": ""}, code: 2})
	}
	for _, r := range runs {
		t.Run(strings.Join(r.args, " "), func(t *testing.T) {
			t.Setenv("DATABASE_URL", r.dbURL)
			for k, v := range r.env {
				t.Setenv(k, v)
			}
			code, out, errs := admRun(t, r.args...)
			if code != r.code {
				t.Errorf("exit %d, want %d\n%s%s", code, r.code, out, errs)
			}
			for _, s := range secrets {
				if strings.Contains(out+errs, s) {
					t.Errorf("printed the secret %s:\n%s%s", s, out, errs)
				}
			}
		})
	}
}
