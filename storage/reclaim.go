package storage

import (
	"context"
	"fmt"
)

// reclaimTables are the tables a deletion (a person, a purge) removes rows
// from.
var reclaimTables = []string{"messages", "conversations", "conversation_notes", "conversation_tags", "sessions", "inbox_events", "outbox", "users"}

// Reclaim makes deleted rows unreadable where the database can, after a
// deletion job: someone who asked to be forgotten must not stay in the
// database files.
//
// SQLite overwrites deleted content with zeros as it deletes (secure_delete,
// set on every connection); Reclaim merges the search index's segments, so
// that no deleted text stays in an old one, and checkpoints and truncates
// the write-ahead log, which holds older copies of the pages. Another
// process reading the file at that moment (serve, during `todoku user
// delete`) can keep the log from being truncated; its next checkpoint
// copies the zeroed pages back.
//
// PostgreSQL only marks deleted rows dead; Reclaim runs VACUUM on the
// tables deletions touch, so that their space is reused and the rows are
// gone from every index. The bytes stay in the table files until reused
// (VACUUM FULL rewrites a table, but locks it while it does), and in the
// write-ahead log and backups until they age out.
func (db *DB) Reclaim(ctx context.Context) error {
	if db.dialect == Postgres {
		// VACUUM cannot run in a transaction: a plain statement on the pool.
		stmt := "VACUUM (ANALYZE) "
		for i, t := range reclaimTables {
			if i > 0 {
				stmt += ", "
			}
			stmt += t
		}
		if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("storage: reclaim: %w", err)
		}
		return nil
	}
	if _, err := db.sql.ExecContext(ctx, "INSERT INTO messages_fts(messages_fts) VALUES('optimize')"); err != nil {
		return fmt.Errorf("storage: reclaim: search index: %w", err)
	}
	var busy, frames, copied int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("storage: reclaim: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("storage: reclaim: another process is reading the database, so the write-ahead log keeps older copies of %d pages until its next checkpoint", frames-copied)
	}
	return nil
}
