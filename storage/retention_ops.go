package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// lockClassJob is the advisory lock class of cluster-wide jobs (TryLockJob).
const lockClassJob = 7103

// Audit actions written by this package.
const (
	AuditUserDelete = "user.delete"
	AuditPurge      = "purge"
)

// jobLocks are the job locks on SQLite, where one process owns the database
// file: one per file and job (tests run on several files at once).
var jobLocks sync.Map // file + "\x00" + name -> *sync.Mutex

// TryLockJob takes the lock of a cluster-wide job without waiting: ok is
// false when another process (replica) or goroutine holds it. On Postgres it
// is a session advisory lock on a connection kept for the job, keyed by the
// current schema and name, so replicas sharing a schema exclude each other
// and a replica that dies releases it with its connection. On SQLite it is a
// mutex of this process per database file. Call unlock when the job is done.
func (db *DB) TryLockJob(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if db.dialect != Postgres {
		m, _ := jobLocks.LoadOrStore(db.file+"\x00"+name, &sync.Mutex{})
		mu := m.(*sync.Mutex)
		if !mu.TryLock() {
			return nil, false, nil
		}
		var once sync.Once
		return func() { once.Do(mu.Unlock) }, true, nil
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("storage: job lock: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || '/' || $2))", lockClassJob, name).Scan(&ok); err != nil {
		discard(conn)
		return nil, false, fmt.Errorf("storage: job lock: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			var released bool
			err := conn.QueryRowContext(context.Background(), "SELECT pg_advisory_unlock($1, hashtext(current_schema() || '/' || $2))", lockClassJob, name).Scan(&released)
			if err != nil || !released {
				// Never hand back a connection that may still hold the lock.
				discard(conn)
				return
			}
			conn.Close()
		})
	}, true, nil
}

// LastPurge returns when the last purge by actor was recorded in the audit
// log (ok false if never).
func (db *DB) LastPurge(ctx context.Context, actor string) (at time.Time, ok bool, err error) {
	var row AuditLog
	err = db.gorm.WithContext(ctx).Where("action = ? AND actor = ?", AuditPurge, actor).Order("at DESC").Limit(1).Find(&row).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("storage: last purge: %w", err)
	}
	if row.ID == 0 {
		return time.Time{}, false, nil
	}
	return row.At.UTC(), true, nil
}

// PurgeCounts counts what Purge(before) would delete now, without deleting
// anything (for a dry run). The conditions are Purge's.
func (db *DB) PurgeCounts(ctx context.Context, before time.Time) (PurgeReport, error) {
	before = before.UTC()
	var r PurgeReport
	steps := []struct {
		n    *int64
		sql  string
		args []any
	}{
		{&r.Messages, "SELECT COUNT(*) FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE last_activity_at < ?)", []any{before}},
		{&r.Conversations, "SELECT COUNT(*) FROM conversations WHERE last_activity_at < ?", []any{before}},
		{&r.InboxEvents, "SELECT COUNT(*) FROM inbox_events WHERE status <> ? AND accepted_at < ?", []any{StatusPending, before}},
		{&r.OutboxRows, "SELECT COUNT(*) FROM outbox WHERE status <> ? AND created_at < ?", []any{StatusPending, before}},
		{&r.Sessions, "SELECT COUNT(*) FROM sessions WHERE updated_at < ?", []any{before}},
		// Users left with nothing once the rows above are gone.
		{&r.Users, `SELECT COUNT(*) FROM users WHERE updated_at < ?
			AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.user_id = users.id AND c.last_activity_at >= ?)
			AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = users.id AND s.updated_at >= ?)
			AND NOT EXISTS (SELECT 1 FROM inbox_events i WHERE i.chat_id = users.id AND i.status = ?)`, []any{before, before, before, StatusPending}},
	}
	for _, s := range steps {
		if err := db.gorm.WithContext(ctx).Raw(s.sql, s.args...).Scan(s.n).Error; err != nil {
			return PurgeReport{}, fmt.Errorf("storage: purge counts: %w", err)
		}
	}
	return r, nil
}

// ForgetUser is DeleteUser for a caller that already holds the chat's lock
// (LockChat) and is processing its inbox in order: the unfollow hook. It
// deletes everything stored about the user except inbox events still
// pending, which came after the current one and are processed next (a
// follow right after the unfollow starts afresh). It leaves the same audit
// record as DeleteUser.
func (db *DB) ForgetUser(ctx context.Context, userID, actor string) (bool, error) {
	if userID == "" {
		return false, errors.New("storage: forget user: empty user id")
	}
	found, err := db.deleteUser(ctx, userID, actor, true)
	if err != nil {
		return false, fmt.Errorf("storage: forget user: %w", err)
	}
	return found, nil
}
