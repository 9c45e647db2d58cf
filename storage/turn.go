package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/redact"
)

// errSessionConflict means the session changed under the turn (optimistic
// locking). With LockChat held it cannot happen; RunTurn retries once anyway.
var errSessionConflict = errors.New("storage: session was changed concurrently")

// RunTurn implements bot.Store: in one transaction it loads the chat's open
// conversation and session, calls plan, and applies the plan: user and
// conversation rows, the inbound and outbound messages, the session, the
// outbox row, and the inbox event marked done.
func (db *DB) RunTurn(ctx context.Context, item bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	now = now.UTC()
	var out *bot.Outgoing
	var err error
	for range 2 {
		out, err = db.runTurn(ctx, item, now, plan)
		if !errors.Is(err, errSessionConflict) {
			break
		}
	}
	if err != nil && !errors.Is(err, bot.ErrNotPending) {
		return nil, fmt.Errorf("storage: run turn: %w", err)
	}
	return out, err
}

// turnRead is what a turn reads before plan: the inbox row's status, the
// chat's open conversation and its session.
type turnRead struct {
	status      string
	conv        *bot.ConversationRef
	sessState   string
	sessVersion int64
	hasSession  bool
}

// convCols are the open conversation's columns a turn reads (scanConv).
type convCols struct {
	id       int64
	owner    string
	staff    string
	activity sql.NullTime
}

func (c *convCols) dest() []any { return []any{&c.id, &c.owner, &c.staff, &c.activity} }

func (c *convCols) ref() *bot.ConversationRef {
	if c.id == 0 {
		return nil
	}
	return &bot.ConversationRef{ID: c.id, Owner: c.owner, StaffID: c.staff, LastActivityAt: c.activity.Time.UTC()}
}

// readTurnSQL locks the inbox row (FOR UPDATE on Postgres; SQLite has one
// writer and the transaction is IMMEDIATE) and reads the chat's open
// conversation (at most one: a unique index) in the same statement.
const readTurnSQL = `SELECT i.status, COALESCE(c.id, 0), COALESCE(c.owner, ''), COALESCE(c.assigned_staff_id, ''), c.last_activity_at
	FROM inbox_events i
	LEFT JOIN conversations c ON c.user_id = ? AND c.status = 'open'
	WHERE i.id = ?`

const readSessionSQL = `SELECT state, version FROM sessions WHERE user_id = ?`

// turnWriter applies a turn's writes. On Postgres they are queued and sent
// in one round trip together with COMMIT; on SQLite (in process) each runs
// at once inside the transaction.
type turnWriter interface {
	// exec runs a statement.
	exec(q string, args ...any)
	// insertID runs an INSERT ... RETURNING id and stores the id in *id
	// (on Postgres only once flushed).
	insertID(id *int64, q string, args ...any)
	// idExpr is the SQL for a row id an earlier insertID of this turn
	// produced (*id) or that was known before (non-zero *id), with its args.
	idExpr(id *int64, seq string) (string, []any)
}

// runTurn is one attempt at a turn.
func (db *DB) runTurn(ctx context.Context, item bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	if db.dialect == Postgres {
		return db.runTurnPostgres(ctx, item, now, plan)
	}
	return db.runTurnSQLite(ctx, item, now, plan)
}

// runTurnPostgres makes the turn two round trips: BEGIN and the locking
// reads in one pipeline, then the writes and COMMIT in another.
func (db *DB) runTurnPostgres(ctx context.Context, item bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	var out *bot.Outgoing
	err := db.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		db.queueTurnRead(b, item)
		br := c.SendBatch(ctx, b)
		_, err := br.Exec()
		var rd turnRead
		found := false
		if err == nil {
			rd, found, err = scanTurnRead(br, item)
		}
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if !found {
			return bot.ErrNotPending
		}
		if rd.status != StatusPending {
			return bot.ErrNotPending
		}
		w := newPgWriter(db)
		o, err := db.applyTurn(w, item, rd, now, plan)
		if err != nil {
			return err
		}
		if err := w.pipe.flush(ctx, c); err != nil {
			if isUniqueViolation(err) {
				// A session row appeared for a chat that had none: another
				// process ran a turn of this chat at the same time.
				return errSessionConflict
			}
			return err
		}
		fillOutgoing(o, w.outboxID, w.convID)
		out = o
		return nil
	})
	return out, err
}

// queueTurnRead queues a turn's locking reads: the inbox row (FOR UPDATE)
// with the chat's open conversation, and the chat's session (FOR UPDATE).
func (db *DB) queueTurnRead(b *pgx.Batch, item bot.InboxItem) {
	chat := item.Event.ChatID
	b.Queue(db.rebind(readTurnSQL+" FOR UPDATE OF i"), chat, item.Seq)
	if chat != "" {
		b.Queue(db.rebind(readSessionSQL+" FOR UPDATE"), chat)
	}
}

// scanTurnRead reads the results of queueTurnRead, all of them even when
// the inbox row is missing (found false), so a pipeline of several turns'
// reads stays aligned.
func scanTurnRead(br pgx.BatchResults, item bot.InboxItem) (rd turnRead, found bool, err error) {
	var c convCols
	err = br.QueryRow().Scan(append([]any{&rd.status}, c.dest()...)...)
	switch {
	case err == nil:
		found = true
		rd.conv = c.ref()
	case errors.Is(err, pgx.ErrNoRows):
		err = nil
	default:
		return rd, false, err
	}
	if item.Event.ChatID != "" {
		serr := br.QueryRow().Scan(&rd.sessState, &rd.sessVersion)
		switch {
		case serr == nil:
			rd.hasSession = true
		case !errors.Is(serr, pgx.ErrNoRows):
			return rd, false, serr
		}
	}
	return rd, found, nil
}

// pgPipe is one pipeline of writes ending in COMMIT: one turn's, or
// several turns' one after the other (RunTurns).
type pgPipe struct {
	b   *pgx.Batch
	ids []*int64 // per queued statement: where its RETURNING id goes, or nil
}

// pgWriter queues one turn's writes into a pipe. A turn's statements are
// contiguous in the pipe, so currval() in idExpr names this turn's rows.
type pgWriter struct {
	db       *DB
	pipe     *pgPipe
	outboxID int64
	convID   *int64      // the outbox row's conversation
	later    *pgDeferred // RunTurns: writes gathered across the batch's turns
}

// deferrer returns the gatherer of w's batch, or nil when each write runs
// on its own.
func deferrer(w turnWriter) *pgDeferred {
	if pw, ok := w.(*pgWriter); ok {
		return pw.later
	}
	return nil
}

// fill completes what insertOutbox returned with the ids the writes made.
func fillOutgoing(o *bot.Outgoing, outboxID int64, convID *int64) {
	if o == nil {
		return
	}
	o.ID = outboxID
	if o.Log != nil && convID != nil {
		o.Log.ConversationID = *convID
	}
}

func newPgWriter(db *DB) *pgWriter { return &pgWriter{db: db, pipe: &pgPipe{b: &pgx.Batch{}}} }

func (w *pgWriter) exec(q string, args ...any) {
	w.pipe.b.Queue(w.db.rebind(q), args...)
	w.pipe.ids = append(w.pipe.ids, nil)
}

func (w *pgWriter) insertID(id *int64, q string, args ...any) {
	w.pipe.b.Queue(w.db.rebind(q+" RETURNING id"), args...)
	w.pipe.ids = append(w.pipe.ids, id)
}

func (w *pgWriter) idExpr(id *int64, seq string) (string, []any) {
	if *id != 0 {
		return "?", []any{*id}
	}
	// Inserted earlier in this pipeline, on this connection.
	return "currval('" + seq + "')", nil
}

// flush sends the writes and COMMIT in one round trip.
func (w *pgPipe) flush(ctx context.Context, c *pgx.Conn) error {
	w.b.Queue("COMMIT")
	br := c.SendBatch(ctx, w.b)
	err := func() error {
		for _, id := range w.ids {
			if id == nil {
				if _, err := br.Exec(); err != nil {
					return err
				}
				continue
			}
			if err := br.QueryRow().Scan(id); err != nil {
				return err
			}
		}
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if tag.String() != "COMMIT" {
			return errors.New("transaction was rolled back")
		}
		return nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// runTurnSQLite runs the turn in one IMMEDIATE transaction on the single
// connection.
func (db *DB) runTurnSQLite(ctx context.Context, item bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	rd, found, err := readTurnTx(ctx, tx, item)
	if err != nil {
		return nil, err
	}
	if !found || rd.status != StatusPending {
		return nil, bot.ErrNotPending
	}
	w := &sqliteWriter{ctx: ctx, tx: tx}
	out, err := db.applyTurn(w, item, rd, now, plan)
	if err == nil {
		err = w.err
	}
	if err != nil {
		return nil, err
	}
	fillOutgoing(out, w.outboxID, w.convID)
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return out, nil
}

// readTurnTx is a turn's reads on SQLite, inside its IMMEDIATE transaction
// (the only writer, so no row locks are needed). found is false when the
// inbox row is missing.
func readTurnTx(ctx context.Context, tx *sql.Tx, item bot.InboxItem) (rd turnRead, found bool, err error) {
	chat := item.Event.ChatID
	var c convCols
	err = tx.QueryRowContext(ctx, readTurnSQL, chat, item.Seq).Scan(append([]any{&rd.status}, c.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return rd, false, nil
	}
	if err != nil {
		return rd, false, err
	}
	rd.conv = c.ref()
	if chat != "" {
		err := tx.QueryRowContext(ctx, readSessionSQL, chat).Scan(&rd.sessState, &rd.sessVersion)
		switch {
		case err == nil:
			rd.hasSession = true
		case !errors.Is(err, sql.ErrNoRows):
			return rd, false, err
		}
	}
	return rd, true, nil
}

// sqliteWriter runs each write at once; after the first error it does
// nothing more.
type sqliteWriter struct {
	ctx      context.Context
	tx       *sql.Tx
	err      error
	outboxID int64
	convID   *int64
}

func (w *sqliteWriter) exec(q string, args ...any) {
	if w.err != nil {
		return
	}
	_, w.err = w.tx.ExecContext(w.ctx, q, args...)
}

func (w *sqliteWriter) insertID(id *int64, q string, args ...any) {
	if w.err != nil {
		return
	}
	w.err = w.tx.QueryRowContext(w.ctx, q+" RETURNING id", args...).Scan(id)
}

func (w *sqliteWriter) idExpr(id *int64, _ string) (string, []any) { return "?", []any{*id} }

// applyTurn calls plan and hands the plan's commands to w, in the plan's
// order: user row, conversation closed and opened, the inbound message, the
// session, the outbox row, the conversation's update, the unsent message
// hidden, and the inbox event marked done. The returned Outgoing's ID is
// filled in by the caller once the writes ran.
func (db *DB) applyTurn(w turnWriter, item bot.InboxItem, rd turnRead, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	ev := item.Event
	chat := ev.ChatID
	tc := bot.TurnContext{Item: item, Conversation: rd.conv, Now: now}
	if rd.hasSession {
		if err := json.Unmarshal([]byte(rd.sessState), &tc.State); err != nil {
			return nil, fmt.Errorf("session of chat: %w", err)
		}
	}

	p, err := plan(tc)
	if err != nil {
		return nil, err
	}

	at := ev.Timestamp.UTC() // when the user (or staff member) acted: the conversation's activity
	var convID int64         // 0: none, or inserted by this turn (then resolved by idExpr)
	hasConv, known := rd.conv != nil, rd.conv != nil
	if hasConv {
		convID = rd.conv.ID
	}
	if chat != "" && (p.Open != nil || p.Follow || p.Unfollow) {
		// A conversation's user row exists (foreign key): only a new
		// conversation, a follow or an unfollow needs this statement.
		upsertUser(w, ev, now, p)
	}
	if p.Close != nil && hasConv {
		w.exec(`UPDATE conversations SET status = ?, outcome = ?, end_reason = ?, closed_at = ? WHERE id = ?`,
			ConversationClosed, p.Close.Outcome, p.Close.Reason, now, convID)
		convID, hasConv, known = 0, false, false
	}
	if p.Open != nil && chat != "" && !hasConv {
		w.insertID(&convID, `INSERT INTO conversations
			(user_id, status, owner, assigned_staff_id, pack_id, pack_version, node, topic, started_at, last_activity_at)
			VALUES (?, ?, ?, ?, ?, ?, '', '', ?, ?)`,
			chat, ConversationOpen, p.Open.Owner, nullString(p.Open.StaffID), p.Open.PackID, p.Open.PackVersion, at, at)
		hasConv = true
	}

	if hasConv && p.In != nil {
		tr := p.In.Trace
		cx, cargs := w.idExpr(&convID, "conversations_id_seq")
		args := append(cargs, DirectionIn, p.In.Type, redact.Text(p.In.Text), ev.MessageID, ev.ID,
			tr.NodeBefore, tr.NodeAfter, tr.TopicBefore, tr.TopicAfter, tr.Intent, tr.Score, tr.Reason, tr.PackID, tr.PackVersion,
			ev.Timestamp.UTC(), now)
		if d := deferrer(w); d != nil && known {
			d.logIn(args)
		} else {
			w.exec(`INSERT INTO messages
			(conversation_id, direction, type, text, line_message_id, webhook_event_id,
			 node_before, node_after, topic_before, topic_after, intent, score, reason, pack_id, pack_version,
			 at, created_at, author)
			VALUES (`+cx+`, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '`+bot.AuthorUser+`')`, args...)
		}
	}

	if p.State != nil && chat != "" {
		if err := saveSession(w, chat, rd, *p.State, now); err != nil {
			return nil, err
		}
	}

	var out *bot.Outgoing
	if p.Reply != nil && len(p.Reply.Messages) > 0 && hasConv {
		o, err := insertOutbox(w, item.Seq, ev, &convID, p.Reply, now)
		if err != nil {
			return nil, err
		}
		out = o
	}

	if hasConv {
		var set []string
		var args []any
		if p.In != nil || p.Reply != nil {
			set, args = append(set, "last_activity_at = ?"), append(args, at)
		}
		if p.Position != nil {
			set, args = append(set, "node = ?", "topic = ?"), append(args, p.Position.Node, p.Position.Topic)
		}
		simple := len(set) == 3 && p.Owner == nil && p.Finish == nil
		if o := p.Owner; o != nil {
			set = append(set, "owner = ?", "assigned_staff_id = ?", "handoff_at = ?")
			args = append(args, o.Owner, nullString(o.StaffID), o.HandoffAt)
		}
		if f := p.Finish; f != nil {
			set = append(set, "status = ?", "outcome = ?", "end_reason = ?", "closed_at = ?")
			args = append(args, ConversationClosed, f.Outcome, f.Reason, now)
		}
		if d := deferrer(w); d != nil && known && simple {
			d.touchConversation(convID, at, p.Position.Node, p.Position.Topic)
		} else if len(set) > 0 {
			cx, cargs := w.idExpr(&convID, "conversations_id_seq")
			w.exec(`UPDATE conversations SET `+strings.Join(set, ", ")+` WHERE id = `+cx, append(args, cargs...)...)
		}
	}

	if p.UnsendMessageID != "" {
		w.exec(`UPDATE messages SET unsent = ?, unsent_at = ?, text = ''
			WHERE line_message_id = ? AND conversation_id IN (SELECT id FROM conversations WHERE user_id = ?)`,
			true, now, p.UnsendMessageID, chat)
	}

	// Done: the payload keeps the event's metadata but no longer its
	// text or reply token (the log and the outbox have what they need).
	ev.Text, ev.ReplyToken = "", ""
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if d := deferrer(w); d != nil {
		d.markDone(item.Seq, string(payload))
	} else {
		w.exec(`UPDATE inbox_events SET status = ?, processed_at = ?, payload = ?, error = '' WHERE id = ?`,
			StatusDone, now, string(payload), item.Seq)
	}
	return out, nil
}

// nullString is s, or NULL when it is empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func upsertUser(w turnWriter, ev bot.Event, now time.Time, p bot.TurnPlan) {
	kind := ev.SourceType
	if kind == "" {
		kind = "user"
	}
	const insert = `INSERT INTO users (id, kind, display_name, followed_at, unfollowed_at, created_at, updated_at)
		VALUES (?, ?, '', ?, ?, ?, ?) ON CONFLICT (id) `
	switch {
	case p.Follow:
		w.exec(insert+`DO UPDATE SET followed_at = excluded.followed_at, unfollowed_at = NULL, updated_at = excluded.updated_at`,
			ev.ChatID, kind, now, nil, now, now)
	case p.Unfollow:
		w.exec(insert+`DO UPDATE SET unfollowed_at = excluded.unfollowed_at, updated_at = excluded.updated_at`,
			ev.ChatID, kind, nil, now, now, now)
	default:
		w.exec(insert+`DO NOTHING`, ev.ChatID, kind, nil, nil, now, now)
	}
}

// saveSession writes the session. On Postgres the row was read FOR UPDATE,
// so its version cannot change before the commit; a row inserted meanwhile
// for a chat that had none fails the insert (a unique violation, reported
// as errSessionConflict). On SQLite the IMMEDIATE transaction holds the
// only writer lock.
func saveSession(w turnWriter, chat string, rd turnRead, st dialog.State, now time.Time) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if !rd.hasSession {
		w.exec(`INSERT INTO sessions (user_id, state, version, updated_at) VALUES (?, ?, ?, ?)`, chat, string(b), 1, now)
		return nil
	}
	if d := deferrer(w); d != nil {
		d.updateSession(chat, string(b), rd.sessVersion)
		return nil
	}
	w.exec(`UPDATE sessions SET state = ?, version = ?, updated_at = ? WHERE user_id = ? AND version = ?`,
		string(b), rd.sessVersion+1, now, chat, rd.sessVersion)
	return nil
}

// TurnMarksAttempted reports that RunTurn stores an outbox row that has a
// reply token as attempted already, in the turn's own transaction, so the
// pipeline need not call MarkAttempted before its first send. The Outgoing
// RunTurn returns still has Attempted false: it is the first attempt.
//
// This is MarkAttempted moved one commit earlier. Either way a crash
// between the commit that sets it and the send leaves a row marked
// attempted that was not sent, which the Sender handles (it retries the
// reply with the same token); the window only grows by the round trip
// MarkAttempted took.
func (db *DB) TurnMarksAttempted() bool { return true }

// outboxLog is bot.OutgoingLog as the outbox row's log column keeps it
// (the conversation has its own column).
type outboxLog struct {
	WebhookEventID string    `json:"webhook_event_id"`
	Author         string    `json:"author,omitempty"` // "" in rows made before schema version 3: the bot
	StaffID        string    `json:"staff_id,omitempty"`
	NodeBefore     string    `json:"node_before,omitempty"`
	NodeAfter      string    `json:"node_after,omitempty"`
	TopicBefore    string    `json:"topic_before,omitempty"`
	TopicAfter     string    `json:"topic_after,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	PackID         string    `json:"pack_id,omitempty"`
	PackVersion    string    `json:"pack_version,omitempty"`
	At             time.Time `json:"at"`
}

func toOutboxLog(l *bot.OutgoingLog) outboxLog {
	t := l.Trace
	return outboxLog{WebhookEventID: l.WebhookEventID, Author: l.Author, StaffID: l.StaffID,
		NodeBefore: t.NodeBefore, NodeAfter: t.NodeAfter, TopicBefore: t.TopicBefore, TopicAfter: t.TopicAfter,
		Reason: t.Reason, PackID: t.PackID, PackVersion: t.PackVersion, At: l.At}
}

func (l outboxLog) outgoing(convID int64) *bot.OutgoingLog {
	author := l.Author
	if author == "" {
		author = bot.AuthorBot
	}
	return &bot.OutgoingLog{ConversationID: convID, WebhookEventID: l.WebhookEventID, Author: author, StaffID: l.StaffID,
		Trace: bot.LogTrace{NodeBefore: l.NodeBefore, NodeAfter: l.NodeAfter, TopicBefore: l.TopicBefore, TopicAfter: l.TopicAfter,
			Reason: l.Reason, PackID: l.PackID, PackVersion: l.PackVersion},
		At: l.At.UTC()}
}

// insertOutbox stores the turn's reply in the outbox. Its log entries are
// written once the delivery has ended (recordDelivery), with its outcome:
// written here and updated then, each bubble's row was written twice, the
// costliest part of a turn on Postgres.
func insertOutbox(w turnWriter, inboxID int64, ev bot.Event, convID *int64, r *bot.Reply, now time.Time) (*bot.Outgoing, error) {
	msgs, err := json.Marshal(r.Messages)
	if err != nil {
		return nil, err
	}
	l := &bot.OutgoingLog{WebhookEventID: ev.ID, Author: r.Author, StaffID: r.StaffID, Trace: r.Trace, At: now}
	logJSON, err := json.Marshal(toOutboxLog(l))
	if err != nil {
		return nil, err
	}
	retryKey := uuid.NewString()
	eventAt := ev.Timestamp.UTC()
	// A row with a reply token is stored as attempted (TurnMarksAttempted):
	// once this commits, the pipeline may send it at any moment.
	attempted := ev.ReplyToken != ""
	cx, cargs := w.idExpr(convID, "conversations_id_seq")
	args := []any{ev.ChatID, inboxID}
	args = append(args, cargs...)
	args = append(args, ev.ReplyToken, retryKey, string(msgs), string(logJSON), StatusPending, attempted, eventAt, now)
	q := `INSERT INTO outbox (chat_id, inbox_event_id, conversation_id, reply_token, retry_key, messages, log, status, attempted, event_at, created_at)
		VALUES (?, ?, ` + cx + `, ?, ?, ?, ?, ?, ?, ?, ?)`
	out := &bot.Outgoing{
		ChatID:     ev.ChatID,
		ReplyToken: ev.ReplyToken,
		RetryKey:   retryKey,
		Messages:   r.Messages,
		EventTime:  eventAt,
		Log:        l,
	}
	switch w := w.(type) {
	case *pgWriter:
		w.insertID(&w.outboxID, q, args...)
		w.convID = convID // known once the writes ran (fill)
	case *sqliteWriter:
		w.insertID(&w.outboxID, q, args...)
		w.convID = convID
	}
	return out, nil
}

// logTexts caches messageText by the message object's JSON: replies come
// from the knowledge pack, so the same few hundred recur, and decoding
// each again was a noticeable part of recording a delivery. Bounded: once
// full, further messages are decoded each time.
var logTexts = struct {
	sync.RWMutex
	m map[string][2]string
}{m: map[string][2]string{}}

const maxLogTexts = 4096

// messageText extracts the type and the human-readable text of a LINE
// message object for the log: the text of a text message, the body (or alt
// text) of a template.
func messageText(raw json.RawMessage) (typ, text string) {
	logTexts.RLock()
	v, ok := logTexts.m[string(raw)]
	logTexts.RUnlock()
	if ok {
		return v[0], v[1]
	}
	typ, text = decodeMessageText(raw)
	logTexts.Lock()
	if len(logTexts.m) < maxLogTexts {
		logTexts.m[string(raw)] = [2]string{typ, text}
	}
	logTexts.Unlock()
	return typ, text
}

func decodeMessageText(raw json.RawMessage) (typ, text string) {
	var m struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		AltText  string `json:"altText"`
		Template struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "unknown", ""
	}
	switch {
	case m.Text != "":
		return m.Type, m.Text
	case m.Template.Text != "":
		if m.Template.Title != "" {
			return m.Type, m.Template.Title + "\n" + m.Template.Text
		}
		return m.Type, m.Template.Text
	}
	return m.Type, m.AltText
}
