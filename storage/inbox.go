package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/todoku/todoku/bot"
)

var _ bot.Store = (*DB)(nil)

// inboxRow is one event for the accept query.
type inboxRow struct {
	N       int    `json:"n"`
	ID      string `json:"id"`
	Chat    string `json:"chat"`
	UserID  string `json:"user_id"`
	Type    string `json:"type"`
	Payload string `json:"payload"`
	EventAt jtime  `json:"event_at"`
	At      jtime  `json:"at"`
}

// Accept stores events in the inbox with one statement (atomic on its own)
// and returns after the commit. An event whose webhook event id is already
// there (a redelivery, or the same event arriving twice at once) is
// skipped. The events come redacted (the webhook redacts at the edge).
func (db *DB) Accept(ctx context.Context, events []bot.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	now := jtime(db.now())
	rows := make([]inboxRow, len(events))
	for i, ev := range events {
		if ev.ID == "" {
			ev.ID = "local-" + uuid.NewString()
		}
		ev.Timestamp = ev.Timestamp.UTC()
		if ev.Timestamp.IsZero() {
			ev.Timestamp = time.Time(now)
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			return 0, fmt.Errorf("storage: accept events: %w", err)
		}
		rows[i] = inboxRow{i, ev.ID, ev.ChatID, ev.UserID, ev.Type, string(payload), jtime(ev.Timestamp), now}
	}
	fresh := 0
	err := db.inTx(ctx, stmt{q: db.q.accept, args: []any{jsonArg(rows)}, scan: func(rows rowScanner) error {
		for rows.Next() {
			fresh++
		}
		return nil
	}})
	if err != nil {
		return 0, fmt.Errorf("storage: accept events: %w", err)
	}
	return fresh, nil
}

// PendingChats implements bot.Store.
func (db *DB) PendingChats(ctx context.Context, before time.Time, limit int) ([]string, error) {
	var chats []string
	err := db.gorm.WithContext(ctx).Raw(`
		SELECT chat_id FROM inbox_events WHERE status = ? AND accepted_at < ?
		UNION
		SELECT chat_id FROM outbox WHERE status = ? AND created_at < ?
		LIMIT ?`, StatusPending, before.UTC(), StatusPending, before.UTC(), limit).Scan(&chats).Error
	if err != nil {
		return nil, fmt.Errorf("storage: pending chats: %w", err)
	}
	return chats, nil
}

// FailEvent implements bot.Store.
func (db *DB) FailEvent(ctx context.Context, seq int64, reason string, maxAttempts int, now time.Time) (bool, error) {
	failed := false
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row InboxEvent
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&row, seq).Error; err != nil {
			return err
		}
		if row.Status != StatusPending {
			return nil
		}
		updates := map[string]any{"attempts": row.Attempts + 1, "error": reason}
		if row.Attempts+1 >= maxAttempts {
			failed = true
			updates["status"] = StatusFailed
			updates["processed_at"] = now.UTC()
		}
		return tx.Model(&InboxEvent{}).Where("id = ?", seq).Updates(updates).Error
	})
	if err != nil {
		return false, fmt.Errorf("storage: fail event: %w", err)
	}
	return failed, nil
}

// Backlog implements bot.Store.
func (db *DB) Backlog(ctx context.Context) (int, error) {
	var n int64
	if err := db.gorm.WithContext(ctx).Model(&InboxEvent{}).Where("status = ?", StatusPending).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("storage: backlog: %w", err)
	}
	return int(n), nil
}

// SetDisplayName implements bot.Store.
func (db *DB) SetDisplayName(ctx context.Context, userID, name string, at time.Time) error {
	err := db.gorm.WithContext(ctx).Model(&User{}).Where("id = ?", userID).
		Updates(map[string]any{"display_name": name, "profile_at": at.UTC()}).Error
	if err != nil {
		return fmt.Errorf("storage: set display name: %w", err)
	}
	return nil
}
