package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/todoku/todoku/bot"
)

// The batch path (bot's batchStore): under load a worker takes several
// chats at once and runs the next event of each together. Per batch it
// costs what one event costs alone: a round trip to lock and read, a
// transaction for the turns, one for the deliveries, a round trip to
// unlock. PostgreSQL's CPU per event is what limits throughput on a small
// machine, and it is mostly per statement round trip and per commit.

// pendingNextSQL reads each chat's first two pending events (the second
// only tells that there are more), through the partial index of pending
// events per chat (the status is a literal for that: see undeliveredSQL).
const pendingNextSQL = `SELECT e.id, e.payload, e.accepted_at, e.attempts
	FROM unnest($1::text[]) AS c(chat_id)
	CROSS JOIN LATERAL (SELECT id, payload, accepted_at, attempts, event_at FROM inbox_events
		WHERE chat_id = c.chat_id AND status = '` + StatusPending + `' ORDER BY event_at, id LIMIT 2) e
	ORDER BY c.chat_id, e.event_at, e.id`

// undeliveredChatsSQL tells which chats have outbox rows to deliver.
const undeliveredChatsSQL = `SELECT DISTINCT chat_id FROM outbox WHERE chat_id = ANY($1) AND status = '` + StatusPending + `'`

// LockChatsNext implements bot's batchStore. In process it takes the
// chats' mutexes that are free; on Postgres it then tries their advisory
// locks and, in the same round trip on the lock's connection, reads which
// of them have undelivered outbox rows and their first pending events.
// Those statements take their snapshots after the locks were granted, as
// in LockChatWork.
func (db *DB) LockChatsNext(ctx context.Context, chatIDs []string) (func(), map[string]bot.ChatNext, error) {
	var held []string
	var localUnlocks []func()
	seen := make(map[string]bool, len(chatIDs))
	for _, id := range chatIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if u, ok := db.locks.tryLock(id); ok {
			held = append(held, id)
			localUnlocks = append(localUnlocks, u)
		}
	}
	unlockLocal := func(keep map[string]bool) {
		for i, u := range localUnlocks {
			if keep == nil || !keep[held[i]] {
				u()
			}
		}
	}
	if len(held) == 0 {
		return func() {}, map[string]bot.ChatNext{}, nil
	}
	if db.dialect != Postgres {
		next, err := db.chatsNextSQLite(ctx, held)
		if err != nil {
			unlockLocal(nil)
			return nil, nil, err
		}
		var once sync.Once
		return func() { once.Do(func() { unlockLocal(nil) }) }, next, nil
	}

	conn, err := db.sql.Conn(ctx)
	if err != nil {
		unlockLocal(nil)
		return nil, nil, fmt.Errorf("storage: lock chats: %w", err)
	}
	got := map[string]bool{}
	next := map[string]bot.ChatNext{}
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected Postgres driver connection %T", dc)
		}
		b := &pgx.Batch{}
		b.Queue(`SELECT t.chat_id, pg_try_advisory_lock($1, hashtext(t.chat_id))
			FROM unnest($2::text[]) WITH ORDINALITY AS t(chat_id, n) ORDER BY t.n`, lockClassChat, held)
		b.Queue(undeliveredChatsSQL, held)
		b.Queue(pendingNextSQL, held)
		br := sc.Conn().SendBatch(ctx, b)
		err := func() error {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var ok bool
				if err := rows.Scan(&id, &ok); err != nil {
					rows.Close()
					return err
				}
				if ok {
					got[id] = true
					next[id] = bot.ChatNext{}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if rows, err = br.Query(); err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				if n, ok := next[id]; ok {
					n.Undelivered = true
					next[id] = n
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if rows, err = br.Query(); err != nil {
				return err
			}
			items, err := scanInboxItems(rows)
			rows.Close()
			if err != nil {
				return err
			}
			addNext(next, items)
			return nil
		}()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		// The connection may hold some of the locks: never reuse it
		// (closing it releases them).
		discard(conn)
		unlockLocal(nil)
		return nil, nil, fmt.Errorf("storage: lock chats: %w", err)
	}
	// Chats another process holds are not ours to work on.
	unlockLocal(got)
	var mine []string
	var mineUnlocks []func()
	for i, id := range held {
		if got[id] {
			mine = append(mine, id)
			mineUnlocks = append(mineUnlocks, localUnlocks[i])
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if len(mine) > 0 {
				var ok bool
				err := conn.QueryRowContext(context.Background(),
					`SELECT bool_and(pg_advisory_unlock($1, hashtext(chat_id))) FROM unnest($2::text[]) AS t(chat_id)`,
					lockClassChat, mine).Scan(&ok)
				if err != nil || !ok {
					// Never hand a connection that may still hold a lock back to the pool.
					_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				}
			}
			conn.Close()
			for _, u := range mineUnlocks {
				u()
			}
		})
	}, next, nil
}

// addNext records items (in processing order per chat) in next: the first
// of a chat is its Event, a second sets More. Chats not in next (not
// locked) are skipped.
func addNext(next map[string]bot.ChatNext, items []bot.InboxItem) {
	for _, it := range items {
		n, ok := next[it.Event.ChatID]
		if !ok {
			continue
		}
		if n.Event == nil {
			it := it
			n.Event = &it
		} else {
			n.More = true
		}
		next[it.Event.ChatID] = n
	}
}

// chatsNextSQLite reads the work of locked chats on SQLite, chat by chat
// (in process, no round trips to save).
func (db *DB) chatsNextSQLite(ctx context.Context, chats []string) (map[string]bot.ChatNext, error) {
	next := make(map[string]bot.ChatNext, len(chats))
	for _, id := range chats {
		var n int
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND status = ?`, id, StatusPending).Scan(&n); err != nil {
			return nil, fmt.Errorf("storage: lock chats: %w", err)
		}
		items, err := db.PendingEvents(ctx, id, 2)
		if err != nil {
			return nil, err
		}
		next[id] = bot.ChatNext{Undelivered: n > 0}
		addNext(next, items)
	}
	return next, nil
}

// RunTurns implements bot's batchStore: the turns of items (each of a
// different chat, all locked by the caller) in one transaction. On Postgres
// that is two round trips for all of them: BEGIN and every turn's locking
// reads, then every turn's writes and COMMIT.
func (db *DB) RunTurns(ctx context.Context, items []bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) ([]bot.TurnOutcome, error) {
	now = now.UTC()
	var outcomes []bot.TurnOutcome
	var err error
	if db.dialect == Postgres {
		outcomes, err = db.runTurnsPostgres(ctx, items, now, plan)
	} else {
		outcomes, err = db.runTurnsSQLite(ctx, items, now, plan)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: run turns: %w", err)
	}
	return outcomes, nil
}

// planOnce wraps plan to tell its own error apart from the store's:
// applyTurn calls plan before it writes anything, so an event whose plan
// failed left nothing in the transaction.
func planOnce(plan func(bot.TurnContext) (bot.TurnPlan, error), failed *error) func(bot.TurnContext) (bot.TurnPlan, error) {
	return func(tc bot.TurnContext) (bot.TurnPlan, error) {
		p, err := plan(tc)
		*failed = err
		return p, err
	}
}

// readTurnsSQL is readTurnSQL for several turns: each inbox row (locked)
// with its chat's open conversation, in the order of the arrays. The ids
// are also named as = ANY($1), so the prepared statement's generic plan
// finds the rows by index.
const readTurnsSQL = `SELECT t.n, i.status, COALESCE(c.id, 0), COALESCE(c.owner, ''), COALESCE(c.assigned_staff_id, ''), c.last_activity_at
	FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS t(seq, chat_id, n)
	JOIN inbox_events i ON i.id = t.seq
	LEFT JOIN conversations c ON c.user_id = t.chat_id AND c.status = 'open'
	WHERE i.id = ANY($1)
	FOR UPDATE OF i`

const readSessionsSQL = `SELECT user_id, state, version FROM sessions WHERE user_id = ANY($1) FOR UPDATE`

func (db *DB) runTurnsPostgres(ctx context.Context, items []bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) ([]bot.TurnOutcome, error) {
	outcomes := make([]bot.TurnOutcome, len(items))
	err := db.withPgx(ctx, func(c *pgx.Conn) error {
		seqs := make([]int64, len(items))
		chats := make([]string, len(items))
		for i, it := range items {
			seqs[i], chats[i] = it.Seq, it.Event.ChatID
		}
		reads := make([]turnRead, len(items))
		found := make([]bool, len(items))
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(readTurnsSQL, seqs, chats)
		b.Queue(readSessionsSQL, chats)
		br := c.SendBatch(ctx, b)
		err := func() error {
			if _, err := br.Exec(); err != nil {
				return err
			}
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var n int
				var rd turnRead
				var c convCols
				if err := rows.Scan(append([]any{&n, &rd.status}, c.dest()...)...); err != nil {
					rows.Close()
					return err
				}
				rd.conv = c.ref()
				reads[n-1], found[n-1] = rd, true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if rows, err = br.Query(); err != nil {
				return err
			}
			sessions := map[string]turnRead{}
			for rows.Next() {
				var chat string
				var rd turnRead
				if err := rows.Scan(&chat, &rd.sessState, &rd.sessVersion); err != nil {
					rows.Close()
					return err
				}
				sessions[chat] = rd
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i, chat := range chats {
				if s, ok := sessions[chat]; ok && chat != "" {
					reads[i].sessState, reads[i].sessVersion, reads[i].hasSession = s.sessState, s.sessVersion, true
				}
			}
			return nil
		}()
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return err
		}

		pipe := &pgPipe{b: &pgx.Batch{}}
		later := &pgDeferred{}
		writers := make([]*pgWriter, len(items))
		for i, it := range items {
			if !found[i] || reads[i].status != StatusPending {
				outcomes[i].Err = bot.ErrNotPending
				continue
			}
			var planErr error
			w := &pgWriter{db: db, pipe: pipe, later: later}
			o, err := db.applyTurn(w, it, reads[i], now, planOnce(plan, &planErr))
			if planErr != nil {
				outcomes[i].Err = planErr
				continue
			}
			if err != nil {
				return err
			}
			writers[i], outcomes[i].Out = w, o
		}
		later.queue(db, pipe, now)
		if err := pipe.flush(ctx, c); err != nil {
			return err
		}
		for i, w := range writers {
			if w != nil {
				fillOutgoing(outcomes[i].Out, w.outboxID, w.convID)
			}
		}
		return nil
	})
	return outcomes, err
}

// pgDeferred gathers writes of a batch's turns that run as one multi-row
// statement each, after every turn's own statements: the inbound log rows
// of chats whose conversation existed, session updates, the common
// conversation update, and the inbox rows marked done. No statement of the
// batch reads what they write, and each row belongs to one turn's chat.
// Each statement costs PostgreSQL about as much as the row work it does,
// so one per batch instead of one per turn is most of a turn's cost saved.
type pgDeferred struct {
	inArgs []any
	inRows int

	sessChats    []string
	sessStates   []string
	sessVersions []int64

	convIDs    []int64
	convNodes  []string
	convTopics []string
	convAts    []time.Time

	doneIDs      []int64
	donePayloads []string
}

// inRowArgs is how many arguments one inbound log row has (see applyTurn).
const inRowArgs = 17

func (d *pgDeferred) logIn(args []any) {
	d.inArgs = append(d.inArgs, args...)
	d.inRows++
}

func (d *pgDeferred) updateSession(chat, state string, oldVersion int64) {
	d.sessChats = append(d.sessChats, chat)
	d.sessStates = append(d.sessStates, state)
	d.sessVersions = append(d.sessVersions, oldVersion)
}

func (d *pgDeferred) touchConversation(id int64, at time.Time, node, topic string) {
	d.convAts = append(d.convAts, at)
	d.convIDs = append(d.convIDs, id)
	d.convNodes = append(d.convNodes, node)
	d.convTopics = append(d.convTopics, topic)
}

func (d *pgDeferred) markDone(seq int64, payload string) {
	d.doneIDs = append(d.doneIDs, seq)
	d.donePayloads = append(d.donePayloads, payload)
}

// queue adds the gathered writes to pipe. Arrays are joined to the rows
// with = ANY as well, so the generic plans use the primary keys.
func (d *pgDeferred) queue(db *DB, pipe *pgPipe, now time.Time) {
	add := func(q string, args ...any) {
		pipe.b.Queue(q, args...)
		pipe.ids = append(pipe.ids, nil)
	}
	if d.inRows > 0 {
		var q strings.Builder
		q.WriteString(`INSERT INTO messages
			(conversation_id, direction, type, text, line_message_id, webhook_event_id,
			 node_before, node_after, topic_before, topic_after, intent, score, reason, pack_id, pack_version,
			 at, created_at, author) VALUES `)
		for i := range d.inRows {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?" + strings.Repeat(", ?", inRowArgs-1) + ", '" + bot.AuthorUser + "')")
		}
		add(db.rebind(q.String()), d.inArgs...)
	}
	if len(d.sessChats) > 0 {
		add(`UPDATE sessions SET state = t.state, version = t.version + 1, updated_at = $1
			FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(user_id, state, version)
			WHERE sessions.user_id = ANY($2) AND sessions.user_id = t.user_id AND sessions.version = t.version`,
			now, d.sessChats, d.sessStates, d.sessVersions)
	}
	if len(d.convIDs) > 0 {
		add(`UPDATE conversations SET last_activity_at = t.at, node = t.node, topic = t.topic
			FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[]) AS t(id, at, node, topic)
			WHERE conversations.id = ANY($1) AND conversations.id = t.id`,
			d.convIDs, d.convAts, d.convNodes, d.convTopics)
	}
	if len(d.doneIDs) > 0 {
		add(`UPDATE inbox_events SET status = '`+StatusDone+`', processed_at = $1, payload = t.payload, error = ''
			FROM unnest($2::bigint[], $3::text[]) AS t(id, payload)
			WHERE inbox_events.id = ANY($2) AND inbox_events.id = t.id`,
			now, d.doneIDs, d.donePayloads)
	}
}

func (db *DB) runTurnsSQLite(ctx context.Context, items []bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) ([]bot.TurnOutcome, error) {
	outcomes := make([]bot.TurnOutcome, len(items))
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for i, it := range items {
		rd, found, err := readTurnTx(ctx, tx, it)
		if err != nil {
			return nil, err
		}
		if !found || rd.status != StatusPending {
			outcomes[i].Err = bot.ErrNotPending
			continue
		}
		var planErr error
		w := &sqliteWriter{ctx: ctx, tx: tx}
		o, err := db.applyTurn(w, it, rd, now, planOnce(plan, &planErr))
		if planErr != nil {
			outcomes[i].Err = planErr
			continue
		}
		if err == nil {
			err = w.err
		}
		if err != nil {
			return nil, err
		}
		fillOutgoing(o, w.outboxID, w.convID)
		outcomes[i].Out = o
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return outcomes, nil
}
