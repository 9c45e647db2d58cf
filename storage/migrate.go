package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one schema step. Steps are never edited once released: add a
// new one at the end of the list instead.
type migration struct {
	name string
	up   func(tx *gorm.DB, dialect string) error
}

// migrations in order; the schema version is the number applied.
var migrations = []migration{
	{"initial schema", migrateInitial},
	{"cheaper writes on the hot path", migrateHotUpdates},
	{"conversations for people", migratePeople},
	{"staff accounts, console sessions, API tokens, notes and tags", migrateStaff},
	{"text search over what people wrote", migrateSearch},
	{"conversations by last activity", migrateActivity},
	{"how conversations go: outcomes, feedback, waits, subjects", migrateInsight},
}

// SchemaVersion is the version this binary expects.
var SchemaVersion = len(migrations)

// Advisory lock classes (the first key of pg_advisory_lock(int4, int4)).
const (
	lockClassChat    = 7101
	lockClassMigrate = 7102
)

// sqlFor rewrites the portable type names used in migration SQL for the
// dialect: {PK} an auto-increment primary key, {TS} a timestamp with time
// zone, {FLOAT} a double.
func sqlFor(dialect, stmt string) string {
	r := strings.NewReplacer(
		"{PK}", map[string]string{Postgres: "BIGSERIAL PRIMARY KEY", SQLite: "INTEGER PRIMARY KEY AUTOINCREMENT"}[dialect],
		"{TS}", map[string]string{Postgres: "TIMESTAMPTZ", SQLite: "DATETIME"}[dialect],
		"{FLOAT}", map[string]string{Postgres: "DOUBLE PRECISION", SQLite: "REAL"}[dialect],
	)
	return r.Replace(stmt)
}

func execAll(tx *gorm.DB, dialect string, stmts ...string) error {
	for _, s := range stmts {
		if err := tx.Exec(sqlFor(dialect, s)).Error; err != nil {
			return fmt.Errorf("%w\n%s", err, strings.TrimSpace(s))
		}
	}
	return nil
}

func migrateInitial(tx *gorm.DB, dialect string) error {
	return execAll(tx, dialect,
		`CREATE TABLE users (
			id             TEXT PRIMARY KEY,
			kind           TEXT NOT NULL DEFAULT 'user',
			display_name   TEXT NOT NULL DEFAULT '',
			followed_at    {TS},
			unfollowed_at  {TS},
			created_at     {TS} NOT NULL,
			updated_at     {TS} NOT NULL
		)`,
		`CREATE TABLE conversations (
			id                {PK},
			user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			status            TEXT NOT NULL DEFAULT 'open',
			owner             TEXT NOT NULL DEFAULT 'bot',
			assigned_staff_id TEXT,
			pack_id           TEXT NOT NULL DEFAULT '',
			pack_version      TEXT NOT NULL DEFAULT '',
			node              TEXT NOT NULL DEFAULT '',
			topic             TEXT NOT NULL DEFAULT '',
			handoff_at        {TS},
			started_at        {TS} NOT NULL,
			last_activity_at  {TS} NOT NULL,
			closed_at         {TS}
		)`,
		`CREATE INDEX conversations_user_status ON conversations (user_id, status)`,
		`CREATE INDEX conversations_last_activity ON conversations (last_activity_at)`,
		`CREATE INDEX conversations_status_owner_activity ON conversations (status, owner, last_activity_at)`,
		`CREATE TABLE messages (
			id                {PK},
			conversation_id   BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
			direction         TEXT NOT NULL,
			type              TEXT NOT NULL,
			text              TEXT NOT NULL DEFAULT '',
			unsent            BOOLEAN NOT NULL DEFAULT FALSE,
			unsent_at         {TS},
			line_message_id   TEXT NOT NULL DEFAULT '',
			webhook_event_id  TEXT NOT NULL DEFAULT '',
			node_before       TEXT NOT NULL DEFAULT '',
			node_after        TEXT NOT NULL DEFAULT '',
			topic_before      TEXT NOT NULL DEFAULT '',
			topic_after       TEXT NOT NULL DEFAULT '',
			intent            TEXT NOT NULL DEFAULT '',
			score             {FLOAT} NOT NULL DEFAULT 0,
			reason            TEXT NOT NULL DEFAULT '',
			pack_id           TEXT NOT NULL DEFAULT '',
			pack_version      TEXT NOT NULL DEFAULT '',
			outbox_id         BIGINT,
			delivery_status   TEXT NOT NULL DEFAULT '',
			via               TEXT NOT NULL DEFAULT '',
			retry_key         TEXT NOT NULL DEFAULT '',
			request_id        TEXT NOT NULL DEFAULT '',
			error             TEXT NOT NULL DEFAULT '',
			at                {TS} NOT NULL,
			created_at        {TS} NOT NULL,
			sent_at           {TS}
		)`,
		`CREATE INDEX messages_conversation ON messages (conversation_id, id)`,
		`CREATE INDEX messages_line_message_id ON messages (line_message_id) WHERE line_message_id <> ''`,
		`CREATE INDEX messages_outbox ON messages (outbox_id) WHERE outbox_id IS NOT NULL`,
		`CREATE INDEX messages_delivery_failed ON messages (created_at) WHERE delivery_status = 'failed'`,
		`CREATE TABLE inbox_events (
			id                {PK},
			webhook_event_id  TEXT NOT NULL,
			chat_id           TEXT NOT NULL DEFAULT '',
			user_id           TEXT NOT NULL DEFAULT '',
			type              TEXT NOT NULL,
			payload           TEXT NOT NULL,
			status            TEXT NOT NULL DEFAULT 'pending',
			attempts          INTEGER NOT NULL DEFAULT 0,
			error             TEXT NOT NULL DEFAULT '',
			event_at          {TS} NOT NULL,
			accepted_at       {TS} NOT NULL,
			processed_at      {TS}
		)`,
		`CREATE UNIQUE INDEX inbox_events_webhook_event_id ON inbox_events (webhook_event_id)`,
		`CREATE INDEX inbox_events_pending ON inbox_events (chat_id, event_at, id) WHERE status = 'pending'`,
		`CREATE INDEX inbox_events_status_accepted ON inbox_events (status, accepted_at)`,
		`CREATE TABLE outbox (
			id              {PK},
			chat_id         TEXT NOT NULL,
			inbox_event_id  BIGINT,
			reply_token     TEXT NOT NULL DEFAULT '',
			retry_key       TEXT NOT NULL,
			messages        TEXT NOT NULL,
			status          TEXT NOT NULL DEFAULT 'pending',
			attempted       BOOLEAN NOT NULL DEFAULT FALSE,
			via             TEXT NOT NULL DEFAULT '',
			request_id      TEXT NOT NULL DEFAULT '',
			error           TEXT NOT NULL DEFAULT '',
			event_at        {TS} NOT NULL,
			created_at      {TS} NOT NULL,
			sent_at         {TS}
		)`,
		`CREATE INDEX outbox_pending ON outbox (chat_id, id) WHERE status = 'pending'`,
		`CREATE INDEX outbox_status_created ON outbox (status, created_at)`,
		`CREATE TABLE sessions (
			user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
			state       TEXT NOT NULL,
			version     BIGINT NOT NULL DEFAULT 1,
			updated_at  {TS} NOT NULL
		)`,
		`CREATE TABLE audit_log (
			id          {PK},
			actor       TEXT NOT NULL,
			action      TEXT NOT NULL,
			subject_id  TEXT NOT NULL DEFAULT '',
			detail      TEXT NOT NULL DEFAULT '',
			at          {TS} NOT NULL
		)`,
		`CREATE INDEX audit_log_subject ON audit_log (subject_id, at)`,
		`CREATE INDEX audit_log_at ON audit_log (at)`,
	)
}

// migrateHotUpdates makes the writes of every turn cheaper on Postgres:
//   - a conversation's last_activity_at changes every turn, and two indexes
//     had it, so no update of the row could be HOT (heap-only, without new
//     index entries): each turn added entries to all of the table's indexes
//     and finding a chat's open conversation slowed down as they piled up.
//     Only the daily retention job reads by last_activity_at (a sequential
//     scan once a day); listing conversations by status and owner keeps an
//     index. Free space left in the pages of the two tables updated every
//     turn (conversations, sessions) gives the new row version room beside
//     the old one;
//   - the replies' log entries are written once, when the delivery has
//     ended, instead of at the turn and again when it ended: the outbox row
//     keeps what the log needs meanwhile (its conversation, and the turn's
//     trace as JSON in log; "" for rows made before this version, whose
//     entries were written at the turn).
func migrateHotUpdates(tx *gorm.DB, dialect string) error {
	stmts := []string{
		`DROP INDEX IF EXISTS conversations_last_activity`,
		`DROP INDEX IF EXISTS conversations_status_owner_activity`,
		`CREATE INDEX conversations_status_owner ON conversations (status, owner)`,
		`ALTER TABLE outbox ADD COLUMN conversation_id BIGINT`,
		`ALTER TABLE outbox ADD COLUMN log TEXT NOT NULL DEFAULT ''`,
	}
	if dialect == Postgres {
		stmts = append(stmts,
			`ALTER TABLE conversations SET (fillfactor = 50)`,
			`ALTER TABLE sessions SET (fillfactor = 50)`)
	}
	return execAll(tx, dialect, stmts...)
}

// migratePeople is the data model staff work on:
//   - a conversation's owner is bot, waiting (for a person) or staff; open
//     conversations already handed off are waiting;
//   - a conversation that ended keeps its outcome and why it ended; the rows
//     closed so far were closed by unfollow;
//   - one open conversation per user, enforced by a unique partial index;
//     should a user have several open, the newest stays open;
//   - every message names its author (user, bot, or a staff member);
//   - users keep when their profile was last fetched;
//   - pending outbox rows with a reply token count as attempted, as every
//     row made from now on does from its turn's commit.
func migratePeople(tx *gorm.DB, dialect string) error {
	return execAll(tx, dialect,
		`ALTER TABLE conversations ADD COLUMN outcome TEXT`,
		`ALTER TABLE conversations ADD COLUMN end_reason TEXT NOT NULL DEFAULT ''`,
		`UPDATE conversations SET owner = 'waiting' WHERE status = 'open' AND owner = 'bot' AND handoff_at IS NOT NULL`,
		`UPDATE conversations SET outcome = 'abandoned', end_reason = 'unfollow' WHERE status = 'closed'`,
		`UPDATE conversations SET status = 'closed', outcome = 'abandoned', end_reason = 'idle', closed_at = last_activity_at
			WHERE status = 'open' AND id NOT IN (SELECT MAX(id) FROM conversations WHERE status = 'open' GROUP BY user_id)`,
		`CREATE UNIQUE INDEX conversations_open_user ON conversations (user_id) WHERE status = 'open'`,
		`ALTER TABLE messages ADD COLUMN author TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE messages ADD COLUMN staff_id TEXT`,
		`UPDATE messages SET author = CASE direction WHEN 'in' THEN 'user' ELSE 'bot' END`,
		`ALTER TABLE users ADD COLUMN profile_at {TS}`,
		`UPDATE outbox SET attempted = TRUE WHERE status = 'pending' AND reply_token <> ''`,
	)
}

const createSchemaVersion = `CREATE TABLE IF NOT EXISTS schema_version (
	version     INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	applied_at  {TS} NOT NULL
)`

// Migrate applies pending migrations, each in its own transaction. On
// Postgres concurrent callers (several replicas starting at once, a
// migrate Job) serialise on an advisory lock, and each step re-checks the
// version after taking it.
func (db *DB) Migrate(ctx context.Context) error { return db.migrateTo(ctx, len(migrations)) }

// migrateTo applies the migrations up to version n.
func (db *DB) migrateTo(ctx context.Context, n int) error {
	for i, m := range migrations[:n] {
		version := i + 1
		err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if db.dialect == Postgres {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(?, 0)", lockClassMigrate).Error; err != nil {
					return err
				}
			}
			if err := tx.Exec(sqlFor(db.dialect, createSchemaVersion)).Error; err != nil {
				return err
			}
			current, err := currentVersion(tx)
			if err != nil {
				return err
			}
			if current >= version {
				return nil
			}
			if current != version-1 {
				return fmt.Errorf("schema version %d, expected %d", current, version-1)
			}
			if err := m.up(tx, db.dialect); err != nil {
				return err
			}
			return tx.Exec("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
				version, m.name, time.Now().UTC()).Error
		})
		if err != nil {
			return fmt.Errorf("storage: migration %d (%s): %w", version, m.name, err)
		}
	}
	return nil
}

func currentVersion(tx *gorm.DB) (int, error) {
	var v *int
	if err := tx.Raw("SELECT MAX(version) FROM schema_version").Scan(&v).Error; err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Version returns the applied schema version (0 for an empty database).
func (db *DB) Version(ctx context.Context) (int, error) {
	tx := db.gorm.WithContext(ctx)
	if !tx.Migrator().HasTable("schema_version") {
		return 0, nil
	}
	v, err := currentVersion(tx)
	if err != nil {
		return 0, fmt.Errorf("storage: schema version: %w", err)
	}
	return v, nil
}

// SchemaUpToDate reports whether every migration of this binary is applied.
func (db *DB) SchemaUpToDate(ctx context.Context) (bool, error) {
	v, err := db.Version(ctx)
	if err != nil {
		return false, err
	}
	if v > SchemaVersion {
		return false, fmt.Errorf("storage: database schema version %d is newer than this binary's %d", v, SchemaVersion)
	}
	return v == SchemaVersion, nil
}
