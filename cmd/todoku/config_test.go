package main

import (
	"io"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(*Config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c *Config) bool {
			return c.Addr == ":8080" && c.DatabaseURL == "" && c.Workers == 8 && c.IdleTimeout == 30*time.Minute &&
				c.RetentionDays == 365 && !c.LineConnected() && c.LineAPIBaseURL == "https://api.line.me"
		}},
		{name: "env", env: map[string]string{"ADDR": "127.0.0.1:9", "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t", "LINE_API_BASE_URL": "http://fake/"},
			check: func(c *Config) bool {
				return c.Addr == "127.0.0.1:9" && c.LineConnected() && c.LineAPIBaseURL == "http://fake"
			}},
		{name: "flag wins over env", env: map[string]string{"ADDR": ":1"}, args: []string{"-addr", ":2"},
			check: func(c *Config) bool { return c.Addr == ":2" }},
		{name: "secret without token", env: map[string]string{"LINE_CHANNEL_SECRET": "s"}, wantErr: "LINE_CHANNEL_ACCESS_TOKEN"},
		{name: "bad workers", env: map[string]string{"WORKERS": "zero"}, wantErr: "WORKERS"},
		{name: "pool too small", env: map[string]string{"WORKERS": "8", "DB_MAX_CONNS": "10"}, wantErr: "at least 18"},
		{name: "pool set", env: map[string]string{"WORKERS": "2", "DB_MAX_CONNS": "6"}, check: func(c *Config) bool { return c.DBMaxConns == 6 }},
		{name: "bad idle", env: map[string]string{"IDLE_TIMEOUT": "-5m"}, wantErr: "IDLE_TIMEOUT"},
		{name: "bad retention", env: map[string]string{"RETENTION_DAYS": "-1"}, wantErr: "RETENTION_DAYS"},
		{name: "bad bool", env: map[string]string{"DELETE_ON_UNFOLLOW": "maybe"}, wantErr: "DELETE_ON_UNFOLLOW"},
		{name: "bad level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{name: "bad format", env: map[string]string{"LOG_FORMAT": "xml"}, wantErr: "LOG_FORMAT"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range settings {
				t.Setenv(s.env, "")
				os.Unsetenv(s.env)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, _, err := parseConfig("test", tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
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

// TestREADMEListsEverySetting keeps the configuration table in README.md true.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(readme), "`"+s.env+"`") {
			t.Errorf("README.md does not document %s", s.env)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out strings.Builder
	if code := run(t.Context(), []string{"frobnicate"}, nil, io.Discard, &out); code != 2 || !strings.Contains(out.String(), "unknown command") {
		t.Errorf("exit %d, %q", code, out.String())
	}
}

func TestKBValidate(t *testing.T) {
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"kb", "validate", "../../knowledge/packs/microsoft.ja.yaml"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), ": ok") {
		t.Fatalf("embedded pack: exit %d %s %s", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"kb", "validate", "../../knowledge/testdata/broken.yaml"}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "broken.yaml:") {
		t.Fatalf("broken pack: exit %d %s", code, errb.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"kb", "validate", "nope.yaml"}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nope.yaml") {
		t.Fatalf("missing file: exit %d %s", code, errb.String())
	}
}

// TestServeGOGC: serve collects at 200 unless GOGC says otherwise.
func TestServeGOGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	t.Setenv("GOGC", "")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != serveGOGC {
		t.Fatalf("GC percent %d with GOGC unset, want %d", got, serveGOGC)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // as the runtime read it at start
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Fatalf("GC percent %d with GOGC=50, want 50 (the operator's choice)", got)
	}
}
