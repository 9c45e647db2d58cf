package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/todoku/todoku/bot"
)

// undeliveredSQL names the status as a literal, not a parameter: with a
// parameter, a prepared statement's generic plan cannot use the partial
// index on pending rows and scans every row of that status instead.
const undeliveredSQL = `SELECT id, chat_id, reply_token, retry_key, messages, event_at, attempted
	FROM outbox WHERE chat_id = ? AND status = '` + StatusPending + `' ORDER BY id`

// Undelivered implements bot.Store.
func (db *DB) Undelivered(ctx context.Context, chatID string) ([]bot.Outgoing, error) {
	rows, err := db.sql.QueryContext(ctx, db.rebind(undeliveredSQL), chatID)
	if err != nil {
		return nil, fmt.Errorf("storage: undelivered: %w", err)
	}
	defer rows.Close()
	return scanOutgoing(rows)
}

// rowScanner is what database/sql's and pgx's result sets have in common.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanOutgoing reads the rows of undeliveredSQL.
func scanOutgoing(rows rowScanner) ([]bot.Outgoing, error) {
	var out []bot.Outgoing
	for rows.Next() {
		var o bot.Outgoing
		var msgs string
		if err := rows.Scan(&o.ID, &o.ChatID, &o.ReplyToken, &o.RetryKey, &msgs, &o.EventTime, &o.Attempted); err != nil {
			return nil, fmt.Errorf("storage: undelivered: %w", err)
		}
		if err := json.Unmarshal([]byte(msgs), &o.Messages); err != nil {
			return nil, fmt.Errorf("storage: outbox row %d: %w", o.ID, err)
		}
		o.EventTime = o.EventTime.UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: undelivered: %w", err)
	}
	return out, nil
}

// MarkAttempted implements bot.Store.
func (db *DB) MarkAttempted(ctx context.Context, id int64) error {
	if _, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE outbox SET attempted = ? WHERE id = ?`), true, id); err != nil {
		return fmt.Errorf("storage: mark attempted: %w", err)
	}
	return nil
}

// MarkSent implements bot.Store.
func (db *DB) MarkSent(ctx context.Context, id int64, d bot.Delivery, now time.Time) error {
	return db.finishDelivery(ctx, id, StatusSent, d.Via, d.RequestID, now.UTC(), "")
}

// MarkFailed implements bot.Store. reason must not contain message content.
func (db *DB) MarkFailed(ctx context.Context, id int64, reason string, now time.Time) error {
	return db.finishDelivery(ctx, id, StatusFailed, "", "", time.Time{}, reason)
}

// The outcome of a delivery on Postgres: one statement updates the outbox
// row and its logged messages. The reply token is cleared (single use,
// short-lived). A failure keeps via, request_id and sent_at as they were.
const (
	finishSentPostgres = `WITH o AS (
		UPDATE outbox SET status = $1, via = $2, request_id = $3, sent_at = $4, error = '', reply_token = ''
		WHERE id = $5 RETURNING id)
		UPDATE messages SET delivery_status = $1, via = $2, request_id = $3, sent_at = $4, error = ''
		WHERE outbox_id IN (SELECT id FROM o)`
	finishFailedPostgres = `WITH o AS (
		UPDATE outbox SET status = $1, error = $2, reply_token = '' WHERE id = $3 RETURNING id)
		UPDATE messages SET delivery_status = $1, error = $2
		WHERE outbox_id IN (SELECT id FROM o)`
)

// finishDelivery records the outcome on the outbox row and its logged
// messages, atomically: one statement on Postgres, one transaction on
// SQLite.
func (db *DB) finishDelivery(ctx context.Context, id int64, status, via, requestID string, sentAt time.Time, reason string) error {
	var err error
	if db.dialect == Postgres {
		if status == StatusSent {
			_, err = db.sql.ExecContext(ctx, finishSentPostgres, status, via, requestID, sentAt, id)
		} else {
			_, err = db.sql.ExecContext(ctx, finishFailedPostgres, status, reason, id)
		}
	} else {
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			return finishDeliveryTx(ctx, tx, id, status, via, requestID, sentAt, reason)
		})
	}
	if err != nil {
		return fmt.Errorf("storage: record delivery: %w", err)
	}
	return nil
}

// finishDeliveryTx is finishDelivery's SQLite statements, in tx.
func finishDeliveryTx(ctx context.Context, tx *sql.Tx, id int64, status, via, requestID string, sentAt time.Time, reason string) error {
	sent := status == StatusSent
	var err error
	if sent {
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET status = ?, via = ?, request_id = ?, sent_at = ?, error = '', reply_token = '' WHERE id = ?`,
			status, via, requestID, sentAt, id)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET status = ?, error = ?, reply_token = '' WHERE id = ?`, status, reason, id)
	}
	if err != nil {
		return err
	}
	if sent {
		_, err = tx.ExecContext(ctx, `UPDATE messages SET delivery_status = ?, via = ?, request_id = ?, sent_at = ?, error = '' WHERE outbox_id = ?`,
			status, via, requestID, sentAt, id)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE messages SET delivery_status = ?, error = ? WHERE outbox_id = ?`, status, reason, id)
	}
	return err
}
