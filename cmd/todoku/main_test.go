package main

import (
	"io"
	"runtime/debug"
	"strings"
	"testing"
)

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
	prev, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer debug.SetGCPercent(prev)
	defer debug.SetMemoryLimit(prevLimit)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != serveGOGC {
		t.Fatalf("GC percent %d with GOGC unset, want %d", got, serveGOGC)
	}
	if got := debug.SetMemoryLimit(-1); got != serveMemLimit {
		t.Fatalf("memory limit %d with GOMEMLIMIT unset, want %d", got, serveMemLimit)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // as the runtime read it at start
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Fatalf("GC percent %d with GOGC=50, want 50 (the operator's choice)", got)
	}
}
