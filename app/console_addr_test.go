package app

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/todoku/todoku/storage/storagetest"
)

// TestConsoleAddr: with CONSOLE_ADDR the console and its API answer only
// there, and ADDR keeps the webhook, health and metrics alone.
func TestConsoleAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	consoleAddr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(t, storagetest.SQLiteURL(t), nil)
	cfg.ConsoleAddr = consoleAddr
	s := serveOn(t, cfg)
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status := func(url string) int {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			res, err := client.Get(url)
			if err == nil {
				res.Body.Close()
				return res.StatusCode
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", url, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, c := range []struct {
		url  string
		want int
	}{
		{s.base + "/healthz", 200},
		{s.base + "/", 404},
		{s.base + "/signin", 404},
		{s.base + "/api/v1/conversations", 404},
		{"http://" + consoleAddr + "/", 303},
		{"http://" + consoleAddr + "/signin", 200},
		{"http://" + consoleAddr + "/api/v1/conversations", 401},
		{"http://" + consoleAddr + "/healthz", 404},
	} {
		if got := status(c.url); got != c.want {
			t.Errorf("GET %s = %d, want %d", c.url, got, c.want)
		}
	}
}
