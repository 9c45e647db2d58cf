package storage

import (
	"fmt"

	"gorm.io/gorm"
)

// migrateSearch indexes the text people wrote (users and staff; bot
// bubbles are pack texts, found by node and topic instead) for substring
// search in Japanese, which has no spaces between words:
//   - PostgreSQL: a pg_trgm GIN index for ILIKE '%...%'. pg_trgm is a
//     trusted extension (PostgreSQL 13+): a database owner may create it.
//     Where it cannot be created the migration goes on without the index,
//     and search still works, by scanning;
//   - SQLite: an FTS5 table with the trigram tokenizer over the same
//     messages, kept in step by triggers.
func migrateSearch(tx *gorm.DB, dialect string) error {
	if dialect == SQLite {
		return execAll(tx, dialect,
			`CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram')`,
			`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.author <> 'bot' BEGIN
				INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
			END`,
			`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.author <> 'bot' BEGIN
				INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
			END`,
			`CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages WHEN old.author <> 'bot' BEGIN
				INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
				INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
			END`,
			`INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE author <> 'bot'`,
		)
	}
	schema, err := trgmSchema(tx)
	if err != nil {
		return err
	}
	if schema == "" {
		if err := tx.SavePoint("trgm").Error; err != nil {
			return err
		}
		if err := tx.Exec("CREATE EXTENSION IF NOT EXISTS pg_trgm").Error; err != nil {
			// No privilege: search works without the index, only slower.
			return tx.RollbackTo("trgm").Error
		}
		if schema, err = trgmSchema(tx); err != nil || schema == "" {
			return fmt.Errorf("pg_trgm: created but not found: %v", err)
		}
	}
	// The operator class is named with the extension's schema: the
	// database's search_path need not include it.
	return execAll(tx, dialect, fmt.Sprintf(
		`CREATE INDEX messages_text_trgm ON messages USING gin (text %s.gin_trgm_ops) WHERE author <> 'bot'`, quoteIdent(schema)))
}

// migrateActivity indexes conversations by last activity, newest first:
// the console lists them in that order, and without the index every page
// and every search sorted the whole table (0.14-0.28 s at p95 with 100,000
// conversations on a busy machine; bench console). Migration 2 dropped an
// index on the column so that a turn's update of the conversation could
// stay HOT; measured side by side (BenchmarkTurnSearchIndex, PostgreSQL) a
// turn cost the same with and without this one, within the noise of the
// commit's own latency.
func migrateActivity(tx *gorm.DB, dialect string) error {
	return execAll(tx, dialect, `CREATE INDEX conversations_activity ON conversations (last_activity_at DESC, id DESC)`)
}

func trgmSchema(tx *gorm.DB) (string, error) {
	var schema []string
	err := tx.Raw(`SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`).Scan(&schema).Error
	if err != nil || len(schema) == 0 {
		return "", err
	}
	return schema[0], nil
}

func quoteIdent(s string) string {
	out := `"`
	for _, r := range s {
		if r == '"' {
			out += `""`
		} else {
			out += string(r)
		}
	}
	return out + `"`
}
