package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/metrics"
	"github.com/todoku/todoku/redact"
)

var _ bot.Store = (*DB)(nil)

// Accept stores events in the inbox with one multi-row INSERT (atomic on
// its own) and returns after the commit. An event whose webhook event id is
// already there (a redelivery, or the same event arriving twice at once) is
// skipped. Text is redacted again here, so nothing raw is stored even if a
// caller forgot. It counts events by type (and "duplicate") in
// metrics.Events.
func (db *DB) Accept(ctx context.Context, events []bot.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	now := db.now()
	types := make(map[string]string, len(events)) // webhook event id -> metrics label
	var q strings.Builder
	q.WriteString(`INSERT INTO inbox_events
		(webhook_event_id, chat_id, user_id, type, payload, status, attempts, error, event_at, accepted_at) VALUES `)
	args := make([]any, 0, 8*len(events))
	for i, ev := range events {
		if ev.ID == "" {
			ev.ID = "local-" + uuid.NewString()
		}
		ev.Text = redact.Text(ev.Text)
		ev.Timestamp = ev.Timestamp.UTC()
		if ev.Timestamp.IsZero() {
			ev.Timestamp = now
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			return 0, fmt.Errorf("storage: accept events: %w", err)
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, 0, '', ?, ?)")
		args = append(args, ev.ID, ev.ChatID, ev.UserID, ev.Type, string(payload), StatusPending, ev.Timestamp, now)
		types[ev.ID] = eventType(ev)
	}
	q.WriteString(" ON CONFLICT (webhook_event_id) DO NOTHING RETURNING webhook_event_id")
	rows, err := db.sql.QueryContext(ctx, db.rebind(q.String()), args...)
	if err != nil {
		return 0, fmt.Errorf("storage: accept events: %w", err)
	}
	defer rows.Close()
	var fresh []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, fmt.Errorf("storage: accept events: %w", err)
		}
		fresh = append(fresh, id)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("storage: accept events: %w", err)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("storage: accept events: %w", err)
	}
	for _, id := range fresh {
		metrics.Events.WithLabelValues(types[id]).Inc()
	}
	if dups := len(events) - len(fresh); dups > 0 {
		metrics.Events.WithLabelValues("duplicate").Add(float64(dups))
	}
	return len(fresh), nil
}

// eventType is the metrics label: the message type for messages.
func eventType(ev bot.Event) string {
	if ev.Type == "message" && ev.MessageType != "" {
		return "message." + ev.MessageType
	}
	if ev.Type == "" {
		return "unknown"
	}
	return ev.Type
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

// pendingEventsSQL names the status as a literal for the partial index (see
// undeliveredSQL).
const pendingEventsSQL = `SELECT id, payload, accepted_at, attempts FROM inbox_events
	WHERE chat_id = ? AND status = '` + StatusPending + `' ORDER BY event_at, id LIMIT ?`

// PendingEvents implements bot.Store.
func (db *DB) PendingEvents(ctx context.Context, chatID string, limit int) ([]bot.InboxItem, error) {
	rows, err := db.sql.QueryContext(ctx, db.rebind(pendingEventsSQL), chatID, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: pending events: %w", err)
	}
	defer rows.Close()
	return scanInboxItems(rows)
}

// scanInboxItems reads the rows of pendingEventsSQL.
func scanInboxItems(rows rowScanner) ([]bot.InboxItem, error) {
	var items []bot.InboxItem
	for rows.Next() {
		var it bot.InboxItem
		var payload string
		if err := rows.Scan(&it.Seq, &payload, &it.AcceptedAt, &it.Attempts); err != nil {
			return nil, fmt.Errorf("storage: pending events: %w", err)
		}
		if err := json.Unmarshal([]byte(payload), &it.Event); err != nil {
			return nil, fmt.Errorf("storage: inbox event %d: %w", it.Seq, err)
		}
		it.AcceptedAt = it.AcceptedAt.UTC()
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: pending events: %w", err)
	}
	return items, nil
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
