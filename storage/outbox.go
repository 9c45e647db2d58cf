package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/todoku/todoku/bot"
)

// Undelivered implements bot.Store.
func (db *DB) Undelivered(ctx context.Context, chatID string) ([]bot.Outgoing, error) {
	var rows []OutboxRow
	if err := db.gorm.WithContext(ctx).Where("chat_id = ? AND status = ?", chatID, StatusPending).
		Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: undelivered: %w", err)
	}
	out := make([]bot.Outgoing, 0, len(rows))
	for _, r := range rows {
		var msgs []json.RawMessage
		if err := json.Unmarshal([]byte(r.Messages), &msgs); err != nil {
			return nil, fmt.Errorf("storage: outbox row %d: %w", r.ID, err)
		}
		out = append(out, bot.Outgoing{
			ID:         r.ID,
			ChatID:     r.ChatID,
			ReplyToken: r.ReplyToken,
			RetryKey:   r.RetryKey,
			Messages:   msgs,
			EventTime:  r.EventAt.UTC(),
			Attempted:  r.Attempted,
		})
	}
	return out, nil
}

// MarkAttempted implements bot.Store.
func (db *DB) MarkAttempted(ctx context.Context, id int64) error {
	if err := db.gorm.WithContext(ctx).Model(&OutboxRow{}).Where("id = ?", id).Update("attempted", true).Error; err != nil {
		return fmt.Errorf("storage: mark attempted: %w", err)
	}
	return nil
}

// MarkSent implements bot.Store.
func (db *DB) MarkSent(ctx context.Context, id int64, d bot.Delivery, now time.Time) error {
	now = now.UTC()
	return db.finishDelivery(ctx, id, map[string]any{
		"status": StatusSent, "via": d.Via, "request_id": d.RequestID, "sent_at": now, "error": "",
	}, map[string]any{
		"delivery_status": StatusSent, "via": d.Via, "request_id": d.RequestID, "sent_at": now, "error": "",
	})
}

// MarkFailed implements bot.Store. reason must not contain message content.
func (db *DB) MarkFailed(ctx context.Context, id int64, reason string, now time.Time) error {
	return db.finishDelivery(ctx, id, map[string]any{
		"status": StatusFailed, "error": reason,
	}, map[string]any{
		"delivery_status": StatusFailed, "error": reason,
	})
}

func (db *DB) finishDelivery(ctx context.Context, id int64, outbox, messages map[string]any) error {
	outbox["reply_token"] = "" // single use and short-lived: nothing to keep
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&OutboxRow{}).Where("id = ?", id).Updates(outbox).Error; err != nil {
			return err
		}
		return tx.Model(&Message{}).Where("outbox_id = ?", id).Updates(messages).Error
	})
	if err != nil {
		return fmt.Errorf("storage: record delivery: %w", err)
	}
	return nil
}
