package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoku/todoku/bot"
)

// undeliveredSQL names the status as a literal, not a parameter: with a
// parameter, a prepared statement's generic plan cannot use the partial
// index on pending rows and scans every row of that status instead.
const undeliveredSQL = `SELECT id, chat_id, reply_token, retry_key, messages, event_at, attempted, COALESCE(conversation_id, 0), log
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
		var msgs, logJSON string
		var convID int64
		if err := rows.Scan(&o.ID, &o.ChatID, &o.ReplyToken, &o.RetryKey, &msgs, &o.EventTime, &o.Attempted, &convID, &logJSON); err != nil {
			return nil, fmt.Errorf("storage: undelivered: %w", err)
		}
		if err := json.Unmarshal([]byte(msgs), &o.Messages); err != nil {
			return nil, fmt.Errorf("storage: outbox row %d: %w", o.ID, err)
		}
		if logJSON != "" { // "": logged when it was made (schema version 1)
			var l outboxLog
			if err := json.Unmarshal([]byte(logJSON), &l); err != nil {
				return nil, fmt.Errorf("storage: outbox row %d: %w", o.ID, err)
			}
			o.Log = l.outgoing(convID)
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
func (db *DB) MarkSent(ctx context.Context, out bot.Outgoing, d bot.Delivery, now time.Time) error {
	return db.recordDeliveries(ctx, []bot.DeliveryOutcome{{Out: out, Delivery: d}}, now)
}

// MarkFailed implements bot.Store. reason must not contain message content.
func (db *DB) MarkFailed(ctx context.Context, out bot.Outgoing, reason string, now time.Time) error {
	return db.recordDeliveries(ctx, []bot.DeliveryOutcome{{Out: out, Failure: reason}}, now)
}

// FinishDeliveries implements bot's batchStore.
func (db *DB) FinishDeliveries(ctx context.Context, done []bot.DeliveryOutcome, now time.Time) error {
	return db.recordDeliveries(ctx, done, now)
}

// recordDeliveries records how deliveries ended, atomically: each outbox
// row's status (the reply token is cleared: single use, short-lived; a
// failure keeps via, request_id and sent_at as they were), and the
// messages in the conversation log with the same outcome. On Postgres it is
// one round trip.
func (db *DB) recordDeliveries(ctx context.Context, done []bot.DeliveryOutcome, now time.Time) error {
	if len(done) == 0 {
		return nil
	}
	now = now.UTC()
	var stmts []stmt
	var logged strings.Builder
	var logArgs []any
	for _, d := range done {
		id := d.Out.ID
		if d.Failure == "" {
			stmts = append(stmts, stmt{`UPDATE outbox SET status = ?, via = ?, request_id = ?, sent_at = ?, error = '', reply_token = '' WHERE id = ?`,
				[]any{StatusSent, d.Delivery.Via, d.Delivery.RequestID, now, id}})
		} else {
			stmts = append(stmts, stmt{`UPDATE outbox SET status = ?, error = ?, reply_token = '' WHERE id = ?`,
				[]any{StatusFailed, d.Failure, id}})
		}
		if d.Out.Log == nil {
			// Logged when it was made (schema version 1): update those rows.
			if d.Failure == "" {
				stmts = append(stmts, stmt{`UPDATE messages SET delivery_status = ?, via = ?, request_id = ?, sent_at = ?, error = '' WHERE outbox_id = ?`,
					[]any{StatusSent, d.Delivery.Via, d.Delivery.RequestID, now, id}})
			} else {
				stmts = append(stmts, stmt{`UPDATE messages SET delivery_status = ?, error = ? WHERE outbox_id = ?`,
					[]any{StatusFailed, d.Failure, id}})
			}
			continue
		}
		l := d.Out.Log
		t := l.Trace
		status, via, reqID, sentAt := StatusSent, d.Delivery.Via, d.Delivery.RequestID, any(now)
		if d.Failure != "" {
			status, via, reqID, sentAt = StatusFailed, "", "", nil
		}
		for _, raw := range d.Out.Messages {
			typ, text := messageText(raw)
			if len(logArgs) > 0 {
				logged.WriteString(", ")
			}
			logged.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			logArgs = append(logArgs, l.ConversationID, DirectionOut, l.Author, nullString(l.StaffID), typ, text, l.WebhookEventID,
				t.NodeBefore, t.NodeAfter, t.TopicBefore, t.TopicAfter, t.Reason, t.PackID, t.PackVersion,
				id, status, via, d.Out.RetryKey, reqID, d.Failure, l.At, now, sentAt)
		}
	}
	if len(logArgs) > 0 {
		stmts = append(stmts, stmt{`INSERT INTO messages
			(conversation_id, direction, author, staff_id, type, text, webhook_event_id, node_before, node_after, topic_before, topic_after,
			 reason, pack_id, pack_version, outbox_id, delivery_status, via, retry_key, request_id, error, at, created_at, sent_at)
			VALUES ` + logged.String(), logArgs})
	}
	if err := db.execAtomically(ctx, stmts); err != nil {
		return fmt.Errorf("storage: record delivery: %w", err)
	}
	return nil
}

// stmt is one SQL statement with ? placeholders and its arguments.
type stmt struct {
	q    string
	args []any
}

// execAtomically runs stmts in one transaction: on Postgres in one round
// trip (a pipeline with BEGIN and COMMIT), on SQLite in process.
func (db *DB) execAtomically(ctx context.Context, stmts []stmt) error {
	if db.dialect != Postgres {
		return db.inTx(ctx, func(tx *sql.Tx) error {
			for _, s := range stmts {
				if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return db.withPgx(ctx, func(c *pgx.Conn) error {
		pipe := &pgPipe{b: &pgx.Batch{}}
		pipe.b.Queue("BEGIN")
		pipe.ids = append(pipe.ids, nil)
		for _, s := range stmts {
			pipe.b.Queue(db.rebind(s.q), s.args...)
			pipe.ids = append(pipe.ids, nil)
		}
		return pipe.flush(ctx, c)
	})
}
