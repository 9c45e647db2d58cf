package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
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

// LockChat serialises work on one chat. In-process it is a mutex per chat;
// on Postgres it also takes a session advisory lock on a dedicated
// connection, so replicas sharing the database take turns too. If the
// process dies the connection closes and Postgres releases the lock.
func (db *DB) LockChat(ctx context.Context, chatID string) (func(), error) {
	unlockLocal, err := db.locks.lock(ctx, chatID)
	if err != nil {
		return nil, err
	}
	if db.dialect != Postgres {
		return unlockLocal, nil
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		unlockLocal()
		return nil, fmt.Errorf("storage: lock chat: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", lockClassChat, chatID); err != nil {
		// The connection may have been left waiting: do not reuse it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		unlockLocal()
		return nil, fmt.Errorf("storage: lock chat: %w", err)
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
	}, nil
}
