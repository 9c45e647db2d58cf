// Package storagetest opens fresh, migrated databases for tests: a SQLite
// file in a temporary directory, and, when TODOKU_TEST_POSTGRES is set, a
// fresh schema in that Postgres database (dropped when the test ends).
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

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
