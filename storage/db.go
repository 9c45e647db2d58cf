// Package storage is the conversation log and the durable queues behind the
// bot: users, conversations, messages, the webhook inbox, the outbox and
// session state, on PostgreSQL or SQLite through one gorm code path.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DefaultSQLitePath is where the database lives when DATABASE_URL is unset.
const DefaultSQLitePath = "data/todoku.db"

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// DB is the database. Its methods are safe for concurrent use.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string
	file    string // SQLite: the database file's absolute path (keys its job locks)
	q       *queries
	locks   keyedMutex // chats' locks in process (SQLite)
	// Now is the clock used for timestamps the caller does not pass in.
	Now func() time.Time
}

// Open connects to the database named by url: a postgres:// (or
// postgresql://) URL selects PostgreSQL; "" selects the SQLite file
// DefaultSQLitePath; "sqlite:PATH", "file:PATH" or a path ending in .db
// select a SQLite file (its directory is created). Open does not migrate:
// call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	dialect, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	file := ""
	if dialect == SQLite {
		if file, err = filepath.Abs(strings.SplitN(dsn, "?", 2)[0]); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		if dsn, err = sqliteDSN(dsn); err != nil {
			return nil, err
		}
	}
	cfg := &gorm.Config{
		// Silent: gorm's logger would print SQL with parameters, i.e. message text.
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
	}
	var d gorm.Dialector
	switch dialect {
	case Postgres:
		d = postgres.Open(dsn)
	case SQLite:
		d = sqlite.Open(dsn)
	}
	g, err := gorm.Open(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if dialect == SQLite {
		// One connection: SQLite has one writer anyway, and a single
		// connection rules out SQLITE_BUSY on lock upgrades. The pipeline
		// is short transactions, so this is not the bottleneck.
		sqlDB.SetMaxOpenConns(1)
	} else {
		// Keep as many idle connections as may be open (a caller bounds
		// that with SetMaxOpenConns, which lowers this to match): under a
		// burst of webhooks, a connection closed for being one idle too many
		// is reopened a moment later, and each new connection costs the
		// server a backend start and pgx its statement cache. Idle ones
		// still close after ConnMaxIdleTime.
		sqlDB.SetMaxIdleConns(64)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	db := &DB{gorm: g, sql: sqlDB, dialect: dialect, file: file, Now: func() time.Time { return time.Now().UTC() }}
	db.q = newQueries(db)
	if err := db.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// DialectOf returns the dialect a DATABASE_URL selects (Postgres or SQLite).
func DialectOf(url string) (string, error) {
	d, _, err := parseURL(url)
	return d, err
}

// parseURL returns the dialect and the Postgres URL or the SQLite path.
func parseURL(u string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return Postgres, u, nil
	case u == "":
		return SQLite, DefaultSQLitePath, nil
	case strings.HasPrefix(u, "sqlite://"):
		return SQLite, strings.TrimPrefix(u, "sqlite://"), nil
	case strings.HasPrefix(u, "sqlite:"):
		return SQLite, strings.TrimPrefix(u, "sqlite:"), nil
	case strings.HasPrefix(u, "file:"):
		return SQLite, strings.TrimPrefix(u, "file:"), nil
	case strings.HasSuffix(u, ".db"), strings.HasSuffix(u, ".sqlite"), strings.HasSuffix(u, ".sqlite3"):
		return SQLite, u, nil
	}
	return "", "", fmt.Errorf("storage: unsupported DATABASE_URL (want postgres://... or a SQLite file path)")
}

// sqliteDSN creates the file's directory and returns the driver DSN with
// the pragmas: WAL, a busy timeout, foreign keys, full sync, and
// secure_delete, which overwrites deleted content with zeros (see Reclaim).
//
// synchronous stays FULL although WAL would be crash-safe with NORMAL for a
// killed process: NORMAL does not fsync the WAL at commit, so a power loss
// or an OS crash could drop a transaction that already returned, and an
// inbox commit is what the webhook's 200 promises (LINE does not redeliver
// an acknowledged event). FULL costs one fsync per commit; the pipeline
// keeps commits per event few (accept, turn, delivery outcome) instead.
func sqliteDSN(path string) (string, error) {
	if q := strings.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	if path == "" {
		return "", errors.New("storage: empty SQLite path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return "", fmt.Errorf("storage: create database directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "secure_delete(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode(), nil
}

// Dialect returns Postgres or SQLite.
func (db *DB) Dialect() string { return db.dialect }

// Gorm returns the underlying gorm handle (for the console's queries).
func (db *DB) Gorm() *gorm.DB { return db.gorm }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// Ready reports whether the database answers and its schema is up to date
// (for /readyz).
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	ok, err := db.SchemaUpToDate(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("storage: schema is not up to date (run todoku migrate)")
	}
	return nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

func (db *DB) now() time.Time { return db.Now().UTC() }
