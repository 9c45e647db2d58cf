package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/todoku/todoku/bot"
)

// keyedMutex is a set of mutexes by key, created on demand and dropped when
// no one holds or waits for them.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds one token when unlocked
	refs int
}

// lock waits for key, or for ctx to end.
func (k *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		l.ch <- struct{}{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case <-l.ch:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.ch <- struct{}{}
			release()
		})
	}, nil
}

// tryLock takes key if it is free, without waiting.
func (k *keyedMutex) tryLock(key string) (func(), bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	} else {
		select {
		case <-l.ch:
		default:
			return nil, false
		}
	}
	l.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.ch <- struct{}{}
			k.mu.Lock()
			l.refs--
			if l.refs == 0 {
				delete(k.locks, key)
			}
			k.mu.Unlock()
		})
	}, true
}

// LockChat serialises work on one chat. In-process it is a mutex per chat;
// on Postgres it also takes a session advisory lock on a dedicated
// connection, so replicas sharing the database take turns too. If the
// process dies the connection closes and Postgres releases the lock.
func (db *DB) LockChat(ctx context.Context, chatID string) (func(), error) {
	unlock, _, _, err := db.lockChat(ctx, chatID, 0)
	return unlock, err
}

// LockChatWork is LockChat followed by Undelivered and PendingEvents (up to
// limit events), read once the lock is held. On Postgres the three go to
// the server in one round trip, on the lock's connection: each statement
// of the pipeline takes its snapshot when it starts, i.e. after the lock
// was granted, so it sees everything the previous holder committed.
func (db *DB) LockChatWork(ctx context.Context, chatID string, limit int) (func(), []bot.Outgoing, []bot.InboxItem, error) {
	return db.lockChat(ctx, chatID, limit)
}

// lockChat locks the chat and, when limit > 0, reads its work.
func (db *DB) lockChat(ctx context.Context, chatID string, limit int) (func(), []bot.Outgoing, []bot.InboxItem, error) {
	unlockLocal, err := db.locks.lock(ctx, chatID)
	if err != nil {
		return nil, nil, nil, err
	}
	if db.dialect != Postgres {
		if limit <= 0 {
			return unlockLocal, nil, nil, nil
		}
		outs, err := db.Undelivered(ctx, chatID)
		if err != nil {
			unlockLocal()
			return nil, nil, nil, err
		}
		items, err := db.PendingEvents(ctx, chatID, limit)
		if err != nil {
			unlockLocal()
			return nil, nil, nil, err
		}
		return unlockLocal, outs, items, nil
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		unlockLocal()
		return nil, nil, nil, fmt.Errorf("storage: lock chat: %w", err)
	}
	var outs []bot.Outgoing
	var items []bot.InboxItem
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected Postgres driver connection %T", dc)
		}
		b := &pgx.Batch{}
		b.Queue("SELECT pg_advisory_lock($1, hashtext($2))", lockClassChat, chatID)
		if limit > 0 {
			b.Queue(db.rebind(undeliveredSQL), chatID)
			b.Queue(db.rebind(pendingEventsSQL), chatID, limit)
		}
		br := sc.Conn().SendBatch(ctx, b)
		err := func() error {
			if _, err := br.Exec(); err != nil {
				return err
			}
			if limit <= 0 {
				return nil
			}
			rows, err := br.Query()
			if err != nil {
				return err
			}
			outs, err = scanOutgoing(rows)
			rows.Close()
			if err != nil {
				return err
			}
			if rows, err = br.Query(); err != nil {
				return err
			}
			items, err = scanInboxItems(rows)
			rows.Close()
			return err
		}()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		// The connection may have been left waiting or holding the lock:
		// do not reuse it (closing it releases the lock).
		discard(conn)
		unlockLocal()
		return nil, nil, nil, fmt.Errorf("storage: lock chat: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			var ok bool
			err := conn.QueryRowContext(context.Background(), "SELECT pg_advisory_unlock($1, hashtext($2))", lockClassChat, chatID).Scan(&ok)
			if err != nil || !ok {
				// Never hand a connection that may still hold the lock back to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
			unlockLocal()
		})
	}, outs, items, nil
}
