package storage

import (
	"context"
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

// LockChat serialises work on one chat with the pipeline (Claim) and other
// LockChat callers: on Postgres with the chat's session advisory lock on a
// connection of its own, so replicas sharing the database take turns too
// (if the process dies the connection closes and Postgres releases the
// lock); on SQLite with an in-process mutex. unlock must be called once.
func (db *DB) LockChat(ctx context.Context, chatID string) (func(), error) {
	if db.dialect != Postgres {
		return db.locks.lock(ctx, chatID)
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: lock chat: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext(current_schema() || '/' || $2))", lockClassChat, chatID); err != nil {
		// The connection may have been left waiting or holding the lock:
		// do not reuse it (closing it releases the lock).
		discard(conn)
		return nil, fmt.Errorf("storage: lock chat: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			var ok bool
			err := conn.QueryRowContext(context.Background(), "SELECT pg_advisory_unlock($1, hashtext(current_schema() || '/' || $2))", lockClassChat, chatID).Scan(&ok)
			if err != nil || !ok {
				discard(conn) // never hand back a connection that may still hold the lock
				return
			}
			conn.Close()
		})
	}, nil
}
