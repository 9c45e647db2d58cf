package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DeleteUser removes everything stored about one LINE user (or group/room):
// the user row, conversations, messages, session, inbox events and outbox
// rows. It takes the chat's lock first, so no turn of that chat is half-way
// through. It leaves one audit record (actor, action, user id, time; no
// content) and reports whether anything was found.
func (db *DB) DeleteUser(ctx context.Context, userID, actor string) (bool, error) {
	unlock, err := db.LockChat(ctx, userID)
	if err != nil {
		return false, err
	}
	defer unlock()
	found, err := db.deleteUser(ctx, userID, actor, false)
	if err != nil {
		return false, fmt.Errorf("storage: delete user: %w", err)
	}
	return found, nil
}

// deleteUser deletes every row about userID in one transaction and records
// the audit entry. keepPending keeps the user's inbox events still pending
// (see ForgetUser).
func (db *DB) deleteUser(ctx context.Context, userID, actor string, keepPending bool) (bool, error) {
	inbox := "DELETE FROM inbox_events WHERE chat_id = ? OR user_id = ?"
	inboxArgs := []any{userID, userID}
	if keepPending {
		inbox = "DELETE FROM inbox_events WHERE (chat_id = ? OR user_id = ?) AND status <> ?"
		inboxArgs = append(inboxArgs, StatusPending)
	}
	steps := []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE user_id = ?)", []any{userID}},
		{"DELETE FROM conversations WHERE user_id = ?", []any{userID}},
		{"DELETE FROM sessions WHERE user_id = ?", []any{userID}},
		{inbox, inboxArgs},
		{"DELETE FROM outbox WHERE chat_id = ?", []any{userID}},
		{"DELETE FROM users WHERE id = ?", []any{userID}},
	}
	found := false
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, s := range steps {
			res := tx.Exec(s.sql, s.args...)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected > 0 {
				found = true
			}
		}
		return tx.Create(&AuditLog{Actor: actor, Action: AuditUserDelete, SubjectID: userID, At: db.now()}).Error
	})
	return found, err
}

// PurgeReport counts what Purge deleted.
type PurgeReport struct {
	Conversations int64
	Messages      int64
	InboxEvents   int64
	OutboxRows    int64
	Sessions      int64
	Users         int64
}

// Purge deletes conversations (with their messages) whose last activity is
// before the cutoff, processed inbox events and finished outbox rows older
// than it, sessions not used since, and users left with nothing. It leaves
// one audit record with the cutoff and the counts.
func (db *DB) Purge(ctx context.Context, before time.Time, actor string) (PurgeReport, error) {
	before = before.UTC()
	var r PurgeReport
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		steps := []struct {
			n    *int64
			sql  string
			args []any
		}{
			{&r.Messages, "DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE last_activity_at < ?)", []any{before}},
			{&r.Conversations, "DELETE FROM conversations WHERE last_activity_at < ?", []any{before}},
			{&r.InboxEvents, "DELETE FROM inbox_events WHERE status <> ? AND accepted_at < ?", []any{StatusPending, before}},
			{&r.OutboxRows, "DELETE FROM outbox WHERE status <> ? AND created_at < ?", []any{StatusPending, before}},
			{&r.Sessions, "DELETE FROM sessions WHERE updated_at < ?", []any{before}},
			{&r.Users, `DELETE FROM users WHERE updated_at < ?
				AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.user_id = users.id)
				AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = users.id)
				AND NOT EXISTS (SELECT 1 FROM inbox_events i WHERE i.chat_id = users.id AND i.status = ?)`, []any{before, StatusPending}},
		}
		for _, s := range steps {
			res := tx.Exec(s.sql, s.args...)
			if res.Error != nil {
				return res.Error
			}
			*s.n = res.RowsAffected
		}
		return tx.Create(&AuditLog{
			Actor: actor, Action: "purge", At: db.now(),
			Detail: fmt.Sprintf("before=%s conversations=%d messages=%d users=%d", before.Format(time.RFC3339), r.Conversations, r.Messages, r.Users),
		}).Error
	})
	if err != nil {
		return PurgeReport{}, fmt.Errorf("storage: purge: %w", err)
	}
	return r, nil
}
