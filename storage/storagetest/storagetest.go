// Package storagetest opens fresh, migrated databases for tests: a SQLite
// file in a temporary directory, and, when TODOKU_TEST_POSTGRES is set, a
// fresh schema in that Postgres database (dropped when the test ends).
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
)

// EnvPostgres names the variable holding a Postgres URL for tests.
const EnvPostgres = "TODOKU_TEST_POSTGRES"

// Each runs f as a subtest on a fresh migrated SQLite database and, when
// TODOKU_TEST_POSTGRES is set, on a fresh migrated Postgres schema.
func Each(t *testing.T, f func(t *testing.T, db *storage.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(EnvPostgres) == "" {
			t.Skip(EnvPostgres + " is not set")
		}
		f(t, Postgres(t))
	})
}

// EachB is Each for benchmarks: b runs once on SQLite and, when
// TODOKU_TEST_POSTGRES is set, once on Postgres.
func EachB(b *testing.B, f func(b *testing.B, db *storage.DB)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { f(b, SQLite(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(EnvPostgres) == "" {
			b.Skip(EnvPostgres + " is not set")
		}
		f(b, Postgres(b))
	})
}

// SQLite opens a migrated SQLite database in t.TempDir().
func SQLite(t testing.TB) *storage.DB {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "todoku.db"))
}

// SQLiteURL returns a SQLite URL in t.TempDir() (for reopening the same file).
func SQLiteURL(t testing.TB) string {
	return filepath.Join(t.TempDir(), "todoku.db")
}

// Postgres opens a migrated database on a fresh schema of the
// TODOKU_TEST_POSTGRES database. It fails (not skips) when the variable is
// set and the server is unreachable.
func Postgres(t testing.TB) *storage.DB {
	t.Helper()
	return open(t, PostgresURL(t))
}

// PostgresURL creates a fresh schema and returns a URL whose search_path is
// that schema; the schema is dropped when the test ends. It skips the test
// when TODOKU_TEST_POSTGRES is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set")
	}
	ctx := context.Background()
	admin, err := storage.Open(ctx, base)
	if err != nil {
		t.Fatalf("postgres from %s: %v", EnvPostgres, err)
	}
	// pg_trgm is one per database: make sure it lives in public, not in
	// the first test schema to migrate (dropping that would drop it).
	if err := admin.Gorm().Exec("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public").Error; err != nil && !strings.Contains(err.Error(), "already exists") && !strings.Contains(err.Error(), "duplicate key") {
		admin.Close()
		t.Fatalf("create extension pg_trgm: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if err := admin.Gorm().Exec("CREATE SCHEMA " + schema).Error; err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := admin.Gorm().Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates the database at u, closing it when the test ends.
func Open(t testing.TB, u string) *storage.DB {
	t.Helper()
	return open(t, u)
}

func open(t testing.TB, u string) *storage.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, u)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// EachURL is Each by URL: f gets the URL of a fresh migrated database, to
// open it itself (several pools, like several replicas) or to hand to a
// process.
func EachURL(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		u := SQLiteURL(t)
		open(t, u)
		f(t, u)
	})
	t.Run("postgres", func(t *testing.T) {
		u := PostgresURL(t)
		open(t, u)
		f(t, u)
	})
}

// Seed stores one user with a conversation of two messages (whose text is
// "secret-content-" and the user id), a session, a processed inbox event
// and a delivered outbox row, all last touched at.
func Seed(t testing.TB, db *storage.DB, user string, at time.Time) {
	t.Helper()
	g := db.Gorm()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.Create(&storage.User{ID: user, Kind: "user", CreatedAt: at, UpdatedAt: at}).Error)
	conv := storage.Conversation{UserID: user, Status: storage.ConversationOpen, Owner: "bot", StartedAt: at, LastActivityAt: at}
	must(g.Create(&conv).Error)
	for _, dir := range []string{storage.DirectionIn, storage.DirectionOut} {
		must(g.Create(&storage.Message{ConversationID: conv.ID, Direction: dir, Type: "text", Text: "secret-content-" + user, At: at, CreatedAt: at}).Error)
	}
	must(g.Create(&storage.Session{UserID: user, State: "{}", Version: 1, UpdatedAt: at}).Error)
	ev := storage.InboxEvent{WebhookEventID: "ev-" + user, ChatID: user, UserID: user, Type: "message", Payload: "{}", Status: storage.StatusDone, EventAt: at, AcceptedAt: at, ProcessedAt: &at}
	must(g.Create(&ev).Error)
	must(g.Create(&storage.OutboxRow{ChatID: user, InboxEventID: &ev.ID, Messages: "[]", Status: storage.StatusSent, EventAt: at, CreatedAt: at, SentAt: &at}).Error)
}

// Count counts the rows of table that match where (all rows when where is
// empty).
func Count(t testing.TB, db *storage.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := db.Gorm().Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Dump returns every column of every row of every table of db as text, one
// "table.column=value" a line: for tests that check something is stored
// nowhere.
func Dump(t testing.TB, db *storage.DB) string {
	t.Helper()
	tables, err := db.Gorm().Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Gorm().Raw("SELECT * FROM " + table).Rows()
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, v := range vals {
				fmt.Fprintf(&b, "%s.%s=%s\n", table, cols[i], v)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// SQLiteFilesHold reports whether the SQLite database file at path, or its
// write-ahead log, holds s anywhere in its bytes: in a live row, a deleted
// one or a free page.
func SQLiteFilesHold(t testing.TB, path, s string) bool {
	t.Helper()
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// Pending returns a chat's pending inbox events in processing order.
func Pending(t testing.TB, db *storage.DB, chatID string) []bot.InboxItem {
	t.Helper()
	var rows []storage.InboxEvent
	if err := db.Gorm().Where("chat_id = ? AND status = ?", chatID, storage.StatusPending).Order("event_at, id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	items := make([]bot.InboxItem, len(rows))
	for i, r := range rows {
		items[i] = bot.InboxItem{Seq: r.ID, AcceptedAt: r.AcceptedAt, Attempts: r.Attempts}
		if err := json.Unmarshal([]byte(r.Payload), &items[i].Event); err != nil {
			t.Fatal(err)
		}
	}
	return items
}
