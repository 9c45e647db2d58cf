package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

func admAudit(t *testing.T, db *storage.DB) []storage.AuditLog {
	t.Helper()
	var rows []storage.AuditLog
	if err := db.Gorm().Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// admRun runs the binary's command line in-process.
func admRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

const (
	admOld = "U0000000000000000000000000000a01d"
	admNew = "U0000000000000000000000000000e1e1"
)

func TestPurgeCommand(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, url string) {
		db := storagetest.Open(t, url)
		storagetest.Seed(t, db, admOld, time.Now().UTC().Add(-100*24*time.Hour))
		storagetest.Seed(t, db, admNew, time.Now().UTC().Add(-10*24*time.Hour))

		// A dry run counts and deletes nothing.
		code, out, errs := admRun(t, "purge", "--older-than", "90d", "--dry-run", "--database-url", url)
		if code != 0 {
			t.Fatalf("purge --dry-run: exit %d\n%s%s", code, out, errs)
		}
		for _, want := range []string{"would delete", "conversations  1", "messages  2", "inbox_events  1", "outbox  1", "sessions  1", "users  1"} {
			if !strings.Contains(admSquash(out), want) {
				t.Fatalf("dry run output lacks %q:\n%s", want, out)
			}
		}
		if n := storagetest.Count(t, db, "messages", ""); n != 4 {
			t.Fatalf("dry run deleted messages: %d left, want 4", n)
		}
		if a := admAudit(t, db); len(a) != 0 {
			t.Fatalf("dry run wrote audit records: %+v", a)
		}

		// The real run, through the admin group, flags after the name.
		code, out, errs = admRun(t, "admin", "purge", "--database-url", url, "--older-than", "90d", "--actor", "cli:alice")
		if code != 0 {
			t.Fatalf("admin purge: exit %d\n%s%s", code, out, errs)
		}
		for _, want := range []string{"deleted everything older than", "conversations  1", "messages  2", "users  1", "actor cli:alice"} {
			if !strings.Contains(admSquash(out), want) {
				t.Fatalf("purge output lacks %q:\n%s", want, out)
			}
		}
		for table, want := range map[string]int64{"users": 1, "conversations": 1, "messages": 2, "sessions": 1, "inbox_events": 1, "outbox": 1} {
			if n := storagetest.Count(t, db, table, ""); n != want {
				t.Fatalf("%s: %d rows left, want %d", table, n, want)
			}
		}
		if n := storagetest.Count(t, db, "users", "id = ?", admNew); n != 1 {
			t.Fatal("the recent user was purged")
		}
		a := admAudit(t, db)
		if len(a) != 1 || a[0].Actor != "cli:alice" || a[0].Action != storage.AuditPurge || strings.Contains(a[0].Detail, "secret-content") {
			t.Fatalf("audit = %+v", a)
		}

		// Again: nothing left to delete.
		code, out, _ = admRun(t, "purge", "--older-than", "2160h", "--database-url", url)
		if code != 0 || !strings.Contains(admSquash(out), "conversations  0") {
			t.Fatalf("second purge: exit %d\n%s", code, out)
		}
	})
}

// admSquash collapses runs of spaces to two, so the table aligns the same
// whatever the column widths.
func admSquash(s string) string {
	for strings.Contains(s, "   ") {
		s = strings.ReplaceAll(s, "   ", "  ")
	}
	return strings.ReplaceAll(s, "\n  ", "\n")
}

func TestPurgeCommandRejectsBadInput(t *testing.T) {
	url := storagetest.SQLiteURL(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"purge"}, "--older-than is required"},
		{[]string{"purge", "--older-than", "0d"}, "want a positive age"},
		{[]string{"purge", "--older-than", "-5d"}, "want a positive age"},
		{[]string{"purge", "--older-than", "ninety days"}, "want a positive age"},
		{[]string{"purge", "--older-than", "90x"}, "want a positive age"},
		{[]string{"purge", "--older-than", "0s"}, "want a positive age"},
		{[]string{"purge", "--older-than", "90d", "extra"}, "unexpected argument"},
		{[]string{"purge", "--older-than", "90d", "--actor", " "}, "--actor must not be empty"},
		{[]string{"purge", "--bogus"}, "flag provided but not defined"},
		{[]string{"admin"}, "usage:"},
		{[]string{"admin", "frobnicate"}, `unknown command "frobnicate"`},
	} {
		code, out, errs := admRun(t, append(tc.args, "--database-url", url)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("todoku %s: exit %d, stderr %q; want exit %d and %q (stdout %q)", strings.Join(tc.args, " "), code, errs, exitUsage, tc.want, out)
		}
	}
}

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"", 0, false},
		{"d", 0, false},
		{"0d", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"90", 0, false},
		{"90days", 0, false},
		{"-3h", 0, false},
		{"99999999d", 0, false},
		{"1000000h", 0, false},
	} {
		got, err := parseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAge(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUserDeleteCommand(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, url string) {
		db := storagetest.Open(t, url)
		now := time.Now().UTC()
		storagetest.Seed(t, db, admOld, now)
		storagetest.Seed(t, db, admNew, now)

		// The flag may follow the id.
		code, out, errs := admRun(t, "user", "delete", admOld, "--actor", "staff:bob", "--database-url", url)
		if code != exitOK || !strings.Contains(out, "deleted everything stored about "+admOld) || errs != "" {
			t.Fatalf("user delete: exit %d\n%s%s", code, out, errs)
		}
		// Forgotten in the files too, not only in the tables (SQLite; on
		// PostgreSQL the command vacuums: storage's TestReclaimAfterDeleteUser).
		if db.Dialect() == storage.SQLite && storagetest.SQLiteFilesHold(t, url, "secret-content-"+admOld) {
			t.Fatal("the deleted user's message text is still in the database files")
		}
		for _, table := range []string{"users", "conversations", "sessions", "outbox"} {
			if n := storagetest.Count(t, db, table, ""); n != 1 {
				t.Fatalf("%s: %d rows left, want 1 (the other user's)", table, n)
			}
		}
		if n := storagetest.Count(t, db, "messages", "text LIKE ?", "%"+admOld+"%"); n != 0 {
			t.Fatalf("%d messages of the deleted user left", n)
		}
		if n := storagetest.Count(t, db, "inbox_events", "chat_id = ?", admOld); n != 0 {
			t.Fatalf("%d inbox events of the deleted user left", n)
		}
		a := admAudit(t, db)
		if len(a) != 1 || a[0].Actor != "staff:bob" || a[0].Action != storage.AuditUserDelete || a[0].SubjectID != admOld ||
			a[0].At.IsZero() || strings.Contains(a[0].Detail, "secret-content") {
			t.Fatalf("audit = %+v", a)
		}

		// Nothing left: exit 3, said clearly, and still audited.
		code, out, _ = admRun(t, "admin", "user", "delete", "--database-url", url, admOld)
		if code != exitNotFound || !strings.Contains(out, "nothing was stored about "+admOld) {
			t.Fatalf("second delete: exit %d, %q; want %d", code, out, exitNotFound)
		}
		if a := admAudit(t, db); len(a) != 2 || !strings.HasPrefix(a[1].Actor, "cli:") {
			t.Fatalf("audit after the second delete = %+v", a)
		}
		if n := storagetest.Count(t, db, "users", "id = ?", admNew); n != 1 {
			t.Fatal("the other user was deleted")
		}
	})
}

func TestUserDeleteCommandRejectsBadInput(t *testing.T) {
	url := storagetest.SQLiteURL(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user"}, "usage: todoku user delete"},
		{[]string{"user", "remove", admOld}, "usage: todoku user delete"},
		{[]string{"user", "delete"}, "give exactly one LINE user id"},
		{[]string{"user", "delete", admOld, admNew}, "give exactly one LINE user id"},
		{[]string{"user", "delete", ""}, "the user id is empty"},
		{[]string{"user", "delete", "U123 456"}, "spaces"},
		{[]string{"user", "delete", "U123\x00"}, "control characters"},
		{[]string{"user", "delete", strings.Repeat("U", 101)}, "too long"},
		{[]string{"user", "delete", "--actor", "", admOld}, "--actor must not be empty"},
	} {
		code, out, errs := admRun(t, append(tc.args, "--database-url", url)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("todoku %q: exit %d, stderr %q; want exit %d and %q (stdout %q)", tc.args, code, errs, exitUsage, tc.want, out)
		}
	}
	// An id not shaped like LINE's is deleted with a note.
	code, _, errs := admRun(t, "user", "delete", "legacy-id", "--database-url", url)
	if code != exitNotFound || !strings.Contains(errs, "not shaped like a LINE user id") {
		t.Fatalf("odd id: exit %d, %q", code, errs)
	}
	// A database that cannot be opened is an error, not "not found".
	code, _, errs = admRun(t, "user", "delete", admOld, "--database-url", "mysql://nope")
	if code != exitError || !strings.Contains(errs, "unsupported DATABASE_URL") {
		t.Fatalf("bad database: exit %d, %q", code, errs)
	}
}

func TestLineUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"U4af4980629b0e5e3e7e5e2d5e5a5c5e5": true,
		"Ca56f94637cc4347f90a25382909b24b9": true,
		"R0123456789abcdef0123456789abcdef": true,
		"U4AF4980629B0E5E3E7E5E2D5E5A5C5E5": false,
		"U4af4980629b0e5e3e7e5e2d5e5a5c5e":  false,
		"X4af4980629b0e5e3e7e5e2d5e5a5c5e5": false,
		"":                                  false,
	} {
		if got := lineUserID(id); got != want {
			t.Errorf("lineUserID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestHealthCommand(t *testing.T) {
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := strings.Cut(addr, ":")

	for _, tc := range []struct {
		name   string
		status int
		args   []string
		want   int
	}{
		{"healthy", http.StatusOK, []string{"--addr", addr}, exitOK},
		{"wildcard host", http.StatusOK, []string{"--addr", ":" + port}, exitOK},
		{"unhealthy", http.StatusServiceUnavailable, []string{"--addr", addr}, exitError},
		{"bad addr", http.StatusOK, []string{"--addr", "nonsense"}, exitUsage},
	} {
		status.Store(int64(tc.status))
		if code, out, errs := admRun(t, append([]string{"health"}, tc.args...)...); code != tc.want {
			t.Errorf("%s: exit %d, want %d (%s%s)", tc.name, code, tc.want, out, errs)
		}
	}
	srv.Close()
	if code, _, errs := admRun(t, "health", "--addr", addr, "--timeout", "2s"); code != exitError || !strings.Contains(errs, "unhealthy") {
		t.Errorf("server down: exit %d (%s), want %d", code, errs, exitError)
	}
	// ADDR from the environment, as the container's HEALTHCHECK uses it.
	t.Setenv("ADDR", "127.0.0.1:1")
	if code, _, _ := admRun(t, "health", "--timeout", "2s"); code != exitError {
		t.Errorf("ADDR=127.0.0.1:1: exit %d, want %d", code, exitError)
	}
}

func TestHealthURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:9000", "http://127.0.0.1:9000/healthz"},
		{"127.0.0.1:8081", "http://127.0.0.1:8081/healthz"},
		{"[::1]:8081", "http://[::1]:8081/healthz"},
		{"localhost:80", "http://localhost:80/healthz"},
		{"8080", ""},
		{":http", ""},
		{":0", ""},
	} {
		got, err := healthURL(tc.addr)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("healthURL(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
}
