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
	"github.com/todoku/todoku/bot/metrics"
	"github.com/todoku/todoku/redact"
)

var _ bot.Store = (*DB)(nil)

// Accept stores events in the inbox in one transaction and returns after the
// commit. An event whose webhook event id is already there (a redelivery, or
// the same event arriving twice at once) is skipped. Text is redacted again
// here, so nothing raw is stored even if a caller forgot. It counts events by
// type (and "duplicate") in metrics.Events.
func (db *DB) Accept(ctx context.Context, events []bot.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	now := db.now()
	var freshTypes []string
	dups := 0
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		freshTypes, dups = freshTypes[:0], 0
		for _, ev := range events {
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
				return err
			}
			row := InboxEvent{
				WebhookEventID: ev.ID,
				ChatID:         ev.ChatID,
				UserID:         ev.UserID,
				Type:           ev.Type,
				Payload:        string(payload),
				Status:         StatusPending,
				EventAt:        ev.Timestamp,
				AcceptedAt:     now,
			}
			res := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "webhook_event_id"}},
				DoNothing: true,
			}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				freshTypes = append(freshTypes, eventType(ev))
			} else {
				dups++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: accept events: %w", err)
	}
	for _, t := range freshTypes {
		metrics.Events.WithLabelValues(t).Inc()
	}
	if dups > 0 {
		metrics.Events.WithLabelValues("duplicate").Add(float64(dups))
	}
	return len(freshTypes), nil
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

// PendingEvents implements bot.Store.
func (db *DB) PendingEvents(ctx context.Context, chatID string, limit int) ([]bot.InboxItem, error) {
	var rows []InboxEvent
	err := db.gorm.WithContext(ctx).
		Where("chat_id = ? AND status = ?", chatID, StatusPending).
		Order("event_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: pending events: %w", err)
	}
	items := make([]bot.InboxItem, 0, len(rows))
	for _, r := range rows {
		var ev bot.Event
		if err := json.Unmarshal([]byte(r.Payload), &ev); err != nil {
			return nil, fmt.Errorf("storage: inbox event %d: %w", r.ID, err)
		}
		items = append(items, bot.InboxItem{Seq: r.ID, Event: ev, AcceptedAt: r.AcceptedAt.UTC(), Attempts: r.Attempts})
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
