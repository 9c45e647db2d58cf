package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The hot path (inbox, turn, delivery bookkeeping) uses plain SQL through
// database/sql, or through pgx directly on Postgres to send several
// statements in one round trip, instead of gorm's reflection. The queries
// are written with ? placeholders; rebind turns them into $1, $2, ... for
// Postgres.

// rebind rewrites ? placeholders for the dialect. The hot-path SQL has no
// string literal containing a question mark.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 2*n)
	i := 0
	for _, r := range q {
		if r == '?' {
			i++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// withPgx runs f on a pool connection's *pgx.Conn. f must leave the
// connection outside any transaction; if it does not (an error between
// BEGIN and COMMIT), withPgx rolls back, and a connection it cannot roll
// back is dropped from the pool.
func (db *DB) withPgx(ctx context.Context, f func(c *pgx.Conn) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var ferr error
	rerr := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("storage: unexpected Postgres driver connection %T", dc)
		}
		c := sc.Conn()
		ferr = f(c)
		if c.IsClosed() {
			return driver.ErrBadConn
		}
		if c.PgConn().TxStatus() != 'I' {
			if _, err := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil || c.PgConn().TxStatus() != 'I' {
				return driver.ErrBadConn
			}
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	return rerr
}

// isUniqueViolation reports whether err is a unique constraint violation
// on Postgres.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// inTx runs f in a database/sql transaction and commits it.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
