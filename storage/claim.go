package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/todoku/todoku/bot"
)

// Claim implements bot.Store. Per batch of chats it costs three round trips
// on Postgres, all on one connection that holds the chats' advisory locks:
// the locks with the batch's reads, the turns' writes with COMMIT, and (from
// Finish) the delivery records with COMMIT and the unlock. Reading after
// the lock statement, in the same pipeline, sees everything the previous
// holder committed; turns run on the lock's own connection, so if that
// connection dies the locks and the transaction go together. On SQLite the
// locks are in-process and each transaction takes the one connection.
func (db *DB) Claim(ctx context.Context, chatIDs []string, wait bool, now time.Time, plan bot.PlanFunc) (*bot.Claim, error) {
	if wait && len(chatIDs) != 1 {
		return nil, errors.New("storage: claim: wait for one chat at a time")
	}
	now = now.UTC()
	c := &claim{db: db}
	var err error
	if db.dialect == Postgres {
		err = c.runPostgres(ctx, dedupe(chatIDs), wait, now, plan)
	} else {
		err = c.runSQLite(ctx, dedupe(chatIDs), wait, now, plan)
	}
	if err != nil {
		c.release(true)
		return nil, fmt.Errorf("storage: claim: %w", err)
	}
	return &bot.Claim{Chats: c.chats, Finish: c.finish}, nil
}

// claim is one Claim's state.
type claim struct {
	db     *DB
	chats  map[string]*bot.ChatTurn
	locked []string
	s      *session // Postgres: the connection holding the locks
	unlock []func() // SQLite: the in-process locks
	once   sync.Once
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (c *claim) runPostgres(ctx context.Context, ids []string, wait bool, now time.Time, plan bot.PlanFunc) error {
	db := c.db
	s, err := db.session(ctx)
	if err != nil {
		return err
	}
	c.s = s
	var lock stmt
	if wait {
		lock = stmt{q: `SELECT pg_advisory_lock($1, hashtext(current_schema() || '/' || $2))`, args: []any{lockClassChat, ids[0]}}
		c.locked = ids
	} else {
		lock = stmt{q: `SELECT t.chat, pg_try_advisory_lock($1, hashtext(current_schema() || '/' || t.chat)) FROM unnest($2::text[]) AS t(chat)`,
			args: []any{lockClassChat, ids},
			scan: func(rows rowScanner) error {
				for rows.Next() {
					var id string
					var ok bool
					if err := rows.Scan(&id, &ok); err != nil {
						return err
					}
					if ok {
						c.locked = append(c.locked, id)
					}
				}
				return nil
			}}
	}
	return c.turns(ctx, s, []stmt{lock}, ids, now, plan)
}

func (c *claim) runSQLite(ctx context.Context, ids []string, wait bool, now time.Time, plan bot.PlanFunc) error {
	db := c.db
	for _, id := range ids {
		if wait {
			u, err := db.locks.lock(ctx, id)
			if err != nil {
				return err
			}
			c.unlock, c.locked = append(c.unlock, u), append(c.locked, id)
		} else if u, ok := db.locks.tryLock(id); ok {
			c.unlock, c.locked = append(c.unlock, u), append(c.locked, id)
		}
	}
	if len(c.locked) == 0 {
		c.chats = map[string]*bot.ChatTurn{}
		return nil
	}
	s, err := db.session(ctx)
	if err != nil {
		return err
	}
	err = c.turns(ctx, s, nil, c.locked, now, plan)
	s.release(err != nil)
	return err
}

// turnRead is what a chat's turn reads before plan.
type turnRead struct {
	conv  *bot.ConversationRef
	state string // the session as JSON; "" when the chat has none
}

// turns reads the work of chats (after pre, the locks on Postgres) and runs
// the turns of the locked ones in one transaction on s.
func (c *claim) turns(ctx context.Context, s *session, pre []stmt, ids []string, now time.Time, plan bot.PlanFunc) error {
	db := c.db
	q := db.q
	list := db.listArg(ids)
	undelivered := map[string][]bot.Outgoing{}
	var pending []bot.InboxItem
	reads := map[string]*turnRead{}
	read := func(chat string) *turnRead {
		r := reads[chat]
		if r == nil {
			r = &turnRead{}
			reads[chat] = r
		}
		return r
	}
	readStmts := []stmt{
		{q: q.undelivered, args: []any{list}, scan: func(rows rowScanner) error {
			outs, err := scanOutgoing(rows)
			for _, o := range outs {
				undelivered[o.ChatID] = append(undelivered[o.ChatID], o)
			}
			return err
		}},
		{q: q.pending, args: []any{list}, scan: func(rows rowScanner) (err error) {
			pending, err = scanInboxItems(rows)
			return err
		}},
		{q: q.conversations, args: []any{list}, scan: func(rows rowScanner) error {
			for rows.Next() {
				var chat string
				var ref bot.ConversationRef
				if err := rows.Scan(&chat, &ref.ID, &ref.Owner, &ref.StaffID, &ref.LastActivityAt, &ref.Verdict, &ref.Asked); err != nil {
					return err
				}
				ref.LastActivityAt = ref.LastActivityAt.UTC()
				read(chat).conv = &ref
			}
			return nil
		}},
		{q: q.sessions, args: []any{list}, scan: func(rows rowScanner) error {
			for rows.Next() {
				var chat, state string
				if err := rows.Scan(&chat, &state); err != nil {
					return err
				}
				read(chat).state = state
			}
			return nil
		}},
	}
	var turns []*turn
	return s.tx(ctx, pre, readStmts, func() ([]stmt, error) {
		c.chats = make(map[string]*bot.ChatTurn, len(c.locked))
		for _, id := range c.locked {
			c.chats[id] = &bot.ChatTurn{Undelivered: undelivered[id]}
		}
		for _, it := range pending {
			ct := c.chats[it.Event.ChatID]
			switch {
			case ct == nil || len(ct.Undelivered) > 0:
			case ct.Item != nil:
				ct.More = true
			default:
				it := it
				ct.Item = &it
				t, err := newTurn(it, read(it.Event.ChatID), now, plan)
				if err != nil {
					return nil, err
				}
				ct.Plan, ct.Err = t.plan, t.planErr
				if t.planErr == nil {
					turns = append(turns, t)
				}
			}
		}
		return db.turnWrites(turns, now, func(chat string, out bot.Outgoing) { c.chats[chat].Out = &out })
	}, nil)
}

// scanOutgoing reads the rows of the undelivered query.
func scanOutgoing(rows rowScanner) ([]bot.Outgoing, error) {
	var out []bot.Outgoing
	for rows.Next() {
		var o bot.Outgoing
		var msgs, logJSON string
		var convID int64
		if err := rows.Scan(&o.ID, &o.ChatID, &o.ReplyToken, &o.RetryKey, &msgs, &o.EventTime, &o.Attempted, &convID, &logJSON); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(msgs), &o.Messages); err != nil {
			return nil, fmt.Errorf("outbox row %d: %w", o.ID, err)
		}
		if logJSON != "" { // "": logged when it was made (schema version 1)
			var l outboxLog
			if err := json.Unmarshal([]byte(logJSON), &l); err != nil {
				return nil, fmt.Errorf("outbox row %d: %w", o.ID, err)
			}
			o.Log = l.outgoing(convID)
		}
		o.EventTime = o.EventTime.UTC()
		out = append(out, o)
	}
	return out, nil
}

// scanInboxItems reads the rows of the pending query.
func scanInboxItems(rows rowScanner) ([]bot.InboxItem, error) {
	var items []bot.InboxItem
	for rows.Next() {
		var it bot.InboxItem
		var payload string
		if err := rows.Scan(&it.Seq, &payload, &it.AcceptedAt, &it.Attempts); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(payload), &it.Event); err != nil {
			return nil, fmt.Errorf("inbox event %d: %w", it.Seq, err)
		}
		it.AcceptedAt = it.AcceptedAt.UTC()
		items = append(items, it)
	}
	return items, nil
}

// finish implements bot.Claim.Finish: the delivery records in one
// transaction, then the locks released (on Postgres in the same round
// trip). Should the database refuse the batch's records, they are written
// one by one, so that one bad row does not leave the others pending (a row
// left pending is delivered again later, by push if need be).
func (c *claim) finish(ctx context.Context, done []bot.DeliveryOutcome, now time.Time) (err error) {
	now = now.UTC()
	db := c.db
	if len(done) == 0 {
		c.release(false)
		return nil
	}
	if db.dialect == Postgres {
		err = c.s.tx(ctx, nil, nil, func() ([]stmt, error) { return db.deliveryWrites(done, now), nil }, []stmt{c.unlockStmt()})
		if err == nil {
			c.once.Do(func() { c.s.release(false) }) // unlocked already
			return nil
		}
	} else if err = db.inTx(ctx, db.deliveryWrites(done, now)...); err == nil {
		c.release(false)
		return nil
	}
	var firstErr error
	if len(done) > 1 {
		for _, d := range done {
			if err := db.inTx(ctx, db.deliveryWrites([]bot.DeliveryOutcome{d}, now)...); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	} else {
		firstErr = err
	}
	c.release(false)
	if firstErr != nil {
		return fmt.Errorf("storage: record deliveries: %w", firstErr)
	}
	return nil
}

// unlockStmt releases the chats' advisory locks; a lock not released
// (false) leaves the connection in doubt, and it is closed.
func (c *claim) unlockStmt() stmt {
	return stmt{q: `SELECT bool_and(pg_advisory_unlock($1, hashtext(current_schema() || '/' || t.chat))) FROM unnest($2::text[]) AS t(chat)`,
		args: []any{lockClassChat, c.locked},
		scan: func(rows rowScanner) error {
			var ok *bool
			for rows.Next() {
				if err := rows.Scan(&ok); err != nil {
					return err
				}
			}
			if ok != nil && !*ok {
				return errors.New("advisory lock was not held")
			}
			return nil
		}}
}

// release gives up the chats (once).
func (c *claim) release(discard bool) {
	c.once.Do(func() {
		if c.s != nil {
			if !discard && len(c.locked) > 0 {
				discard = c.s.run(context.Background(), c.unlockStmt()) != nil
			}
			c.s.release(discard)
		}
		for _, u := range c.unlock {
			u()
		}
	})
}
