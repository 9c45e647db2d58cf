package app

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envMap is an environment for Flags.Config.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// parse binds names (all settings when none) on a fresh flag set, parses
// args and builds the configuration from env.
func parse(t *testing.T, env map[string]string, args []string, names ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := BindFlags(fs, names...)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return cf.Config(envMap(env))
}

// writeFile writes content to a file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfig(t *testing.T) {
	t.Parallel()
	secretFile := writeFile(t, "secret", "file-secret\n")
	tokenFile := writeFile(t, "token", "file-token\r\n")
	dbFile := writeFile(t, "db", "postgres://u:pw-from-file@db/x")
	empty := writeFile(t, "empty", "\n")
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(*Config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c *Config) bool {
			return c.Addr == ":8080" && c.DatabaseURL == "" && c.Workers == 8 && c.IdleTimeout == 30*time.Minute &&
				c.RetentionDays == 365 && c.MaxEventAge == 24*time.Hour && !c.LineConnected() && c.LineAPIBaseURL == "https://api.line.me" && c.PoolSize() == 24
		}},
		{name: "env", env: map[string]string{"ADDR": "127.0.0.1:9", "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t", "LINE_API_BASE_URL": "http://fake/"},
			check: func(c *Config) bool {
				return c.Addr == "127.0.0.1:9" && c.LineConnected() && c.LineAPIBaseURL == "http://fake"
			}},
		{name: "an empty variable is unset", env: map[string]string{"ADDR": "", "LINE_CHANNEL_SECRET": ""},
			check: func(c *Config) bool { return c.Addr == ":8080" && !c.LineConnected() }},
		{name: "flag wins over env", env: map[string]string{"ADDR": ":1"}, args: []string{"-addr", ":2"},
			check: func(c *Config) bool { return c.Addr == ":2" }},
		{name: "secret flag wins over env", env: map[string]string{"LINE_CHANNEL_SECRET": "env", "LINE_CHANNEL_ACCESS_TOKEN": "t"}, args: []string{"-line-channel-secret", "flag"},
			check: func(c *Config) bool { return c.ChannelSecret == "flag" }},
		{name: "secrets from files", env: map[string]string{"LINE_CHANNEL_SECRET_FILE": secretFile, "LINE_CHANNEL_ACCESS_TOKEN_FILE": tokenFile, "DATABASE_URL_FILE": dbFile},
			check: func(c *Config) bool {
				return c.ChannelSecret == "file-secret" && c.ChannelToken == "file-token" && c.DatabaseURL == "postgres://u:pw-from-file@db/x"
			}},
		{name: "secret file flag", env: map[string]string{"LINE_CHANNEL_SECRET": "env", "LINE_CHANNEL_ACCESS_TOKEN": "t"}, args: []string{"-line-channel-secret-file", secretFile},
			check: func(c *Config) bool { return c.ChannelSecret == "file-secret" }},
		{name: "secret and its file", env: map[string]string{"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_SECRET_FILE": secretFile}, wantErr: "LINE_CHANNEL_SECRET and LINE_CHANNEL_SECRET_FILE are both set"},
		{name: "secret flag and its file flag", args: []string{"-database-url", "x.db", "-database-url-file", dbFile}, wantErr: "not both"},
		{name: "missing secret file", env: map[string]string{"DATABASE_URL_FILE": "/nonexistent/db"}, wantErr: "DATABASE_URL_FILE: open /nonexistent/db"},
		{name: "empty secret file", env: map[string]string{"DATABASE_URL_FILE": empty}, wantErr: "is empty"},
		{name: "secret without token", env: map[string]string{"LINE_CHANNEL_SECRET": "s"}, wantErr: "LINE_CHANNEL_ACCESS_TOKEN"},
		{name: "bad workers", env: map[string]string{"WORKERS": "zero"}, wantErr: "WORKERS"},
		{name: "pool too small", env: map[string]string{"WORKERS": "8", "DB_MAX_CONNS": "10"}, wantErr: "at least 18"},
		{name: "pool set", env: map[string]string{"WORKERS": "2", "DB_MAX_CONNS": "6"}, check: func(c *Config) bool { return c.PoolSize() == 6 }},
		{name: "bad idle", env: map[string]string{"IDLE_TIMEOUT": "-5m"}, wantErr: "IDLE_TIMEOUT"},
		{name: "max event age", env: map[string]string{"MAX_EVENT_AGE": "0"}, check: func(c *Config) bool { return c.MaxEventAge == 0 }},
		{name: "bad max event age", env: map[string]string{"MAX_EVENT_AGE": "-1h"}, wantErr: "MAX_EVENT_AGE"},
		{name: "bad retention", env: map[string]string{"RETENTION_DAYS": "-1"}, wantErr: "RETENTION_DAYS"},
		{name: "bad bool", env: map[string]string{"DELETE_ON_UNFOLLOW": "maybe"}, wantErr: "DELETE_ON_UNFOLLOW"},
		{name: "bad level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{name: "bad format", env: map[string]string{"LOG_FORMAT": "xml"}, wantErr: "LOG_FORMAT"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.env, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
				}
				for _, secret := range []string{"file-secret", "pw-from-file"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("the error prints a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

// TestConfigSubset: a command that binds some settings reads only those
// from the environment; the rest keep their defaults (a stray variable it
// does not use cannot make it fail).
func TestConfigSubset(t *testing.T) {
	t.Parallel()
	c, err := parse(t, map[string]string{"DATABASE_URL": "x.db", "WORKERS": "zero", "ADDR": ":1"}, nil, "DATABASE_URL")
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "x.db" || c.Workers != 8 || c.Addr != ":8080" {
		t.Fatalf("config %+v", c)
	}
	if _, err := parse(t, nil, []string{"-addr", ":1"}, "DATABASE_URL"); err == nil {
		t.Fatal("a flag of a setting the command does not take was accepted")
	}
}

// TestFlagDefault: a command's own default (chat logs at warn) gives way to
// the environment and the flag like the built-in one.
func TestFlagDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, "warn"},
		{map[string]string{"LOG_LEVEL": "debug"}, nil, "debug"},
		{map[string]string{"LOG_LEVEL": "debug"}, []string{"-log-level", "error"}, "error"},
	} {
		fs := flag.NewFlagSet("chat", flag.ContinueOnError)
		cf := BindFlags(fs)
		cf.Default("LOG_LEVEL", "warn")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		c, err := cf.Config(envMap(tc.env))
		if err != nil || c.LogLevel != tc.want {
			t.Errorf("env %v args %v: level %q, %v; want %s", tc.env, tc.args, c.LogLevel, err, tc.want)
		}
	}
}

// testSecrets is a configuration whose every secret is set, as environment
// variables, and the values that must never be printed.
func testSecrets() (env map[string]string, values []string) {
	env = map[string]string{
		"LINE_CHANNEL_SECRET":       "chan-secret-3f9a1c",
		"LINE_CHANNEL_ACCESS_TOKEN": "access-token-77b2e4",
		"DATABASE_URL":              "postgres://todoku:db-pass-5d1e@127.0.0.1:1/x?password=query-pass-8c0f&sslmode=bogus",
	}
	return env, []string{"chan-secret-3f9a1c", "access-token-77b2e4", "db-pass-5d1e", "query-pass-8c0f"}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	env, secrets := testSecrets()
	c, err := parse(t, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := "token " + secrets[1] + " url " + env["DATABASE_URL"] + " pass " + secrets[2] + " " + secrets[0]
	out := c.Redact(in)
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("Redact left %s in %q", s, out)
		}
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, "127.0.0.1:1") {
		t.Errorf("Redact(%q) = %q: want the secrets replaced and the rest kept", in, out)
	}
	// Nothing configured: nothing changes.
	plain, _ := parse(t, nil, nil)
	if got := plain.Redact("postgres://a:b@c/d"); got != "postgres://a:b@c/d" {
		t.Errorf("Redact without secrets changed %q", got)
	}
}

// TestLoggerRedacts: whatever reaches the logger (a message, a string, an
// error, a value with String, attributes given to With) has the secrets
// replaced, in both formats; times and levels keep their form.
func TestLoggerRedacts(t *testing.T) {
	t.Parallel()
	_, secrets := testSecrets()
	for _, format := range []string{"json", "text"} {
		env, _ := testSecrets()
		env["LOG_FORMAT"] = format
		c, err := parse(t, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		log := NewLogger(c, &buf).With(slog.String("dsn", c.DatabaseURL))
		log.Error("failed with "+secrets[0], slog.Any("error", errors.New("connect "+c.DatabaseURL)),
			slog.String("token", secrets[1]), slog.Any("url", stringer(c.DatabaseURL)),
			slog.Group("g", slog.String("inner", secrets[2])))
		out := buf.String()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s log contains %s:\n%s", format, s, out)
			}
		}
		if !strings.Contains(out, "ERROR") || !strings.Contains(out, "[redacted]") {
			t.Errorf("%s log lost its level or the redaction marks:\n%s", format, out)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestREADMEListsEverySetting keeps the configuration table in README.md
// true: every variable has a row with its flag and default, and each secret
// is marked as one (it can be read from NAME_FILE).
func TestREADMEListsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ = strings.Cut(name, "`")
			rows[name] = line
		}
	}
	for _, s := range settings {
		row, ok := rows[s.env]
		if !ok {
			t.Errorf("README.md does not document %s", s.env)
			continue
		}
		def := "(unset)"
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		if !strings.Contains(row, "`-"+s.flag+"`") || !strings.Contains(row, "| "+def+" |") {
			t.Errorf("README.md: the row of %s lacks its flag -%s or its default %s:\n%s", s.env, s.flag, def, row)
		}
		if s.secret != strings.Contains(row, "(secret") {
			t.Errorf("README.md: the row of %s says (secret) %v, want %v", s.env, !s.secret, s.secret)
		}
	}
}
