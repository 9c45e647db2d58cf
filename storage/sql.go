package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The hot path (inbox, turns, delivery records) is plain SQL, written once
// for both databases: a batch's rows go to each statement as one JSON
// array (json_to_recordset on Postgres, json_each on SQLite), so a batch of
// any size is one statement per table. On Postgres a transaction's
// statements are pipelined: one round trip for its reads, one for its
// writes and COMMIT. Queries are written with ? placeholders; rebind turns
// them into $1, $2, ... for Postgres.

// stmt is one SQL statement, its arguments, and what reads its rows (nil
// when it returns none).
type stmt struct {
	q    string
	args []any
	scan func(rowScanner) error
}

// rowScanner is what database/sql's and pgx's result sets have in common.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// session is one connection of the pool, held by its user.
type session struct {
	db *DB
	c  *sql.Conn
}

func (db *DB) session(ctx context.Context) (*session, error) {
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &session{db: db, c: c}, nil
}

// release hands the connection back to the pool, rolling back a
// transaction left open by an error; a connection in doubt (it may still
// hold a lock or a transaction) is closed instead.
func (s *session) release(discard bool) {
	if s.db.dialect == Postgres {
		_ = s.c.Raw(func(dc any) error {
			c := dc.(*stdlib.Conn).Conn()
			if discard || c.IsClosed() {
				return driver.ErrBadConn
			}
			if c.PgConn().TxStatus() != 'I' {
				if _, err := c.Exec(context.Background(), "ROLLBACK"); err != nil || c.PgConn().TxStatus() != 'I' {
					return driver.ErrBadConn
				}
			}
			return nil
		})
	} else if discard {
		// SQLite: roll back whatever is open; without a transaction this fails harmlessly.
		_, _ = s.c.ExecContext(context.Background(), "ROLLBACK")
	}
	s.c.Close()
}

// run executes stmts in order, stopping at the first error: on Postgres in
// one round trip (a pipeline), on SQLite one after the other.
func (s *session) run(ctx context.Context, stmts ...stmt) error {
	if s.db.dialect != Postgres {
		for _, st := range stmts {
			if err := runOne(ctx, s.c, st); err != nil {
				return err
			}
		}
		return nil
	}
	return s.c.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		for _, st := range stmts {
			b.Queue(st.q, st.args...)
		}
		br := c.SendBatch(ctx, b)
		var err error
		for _, st := range stmts {
			if st.scan == nil {
				_, err = br.Exec()
			} else {
				var rows pgx.Rows
				if rows, err = br.Query(); err == nil {
					err = st.scan(rows)
					rows.Close()
					if err == nil {
						err = rows.Err()
					}
				}
			}
			if err != nil {
				break
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

func runOne(ctx context.Context, c *sql.Conn, st stmt) error {
	if st.scan == nil {
		_, err := c.ExecContext(ctx, st.q, st.args...)
		return err
	}
	rows, err := c.QueryContext(ctx, st.q, st.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := st.scan(rows); err != nil {
		return err
	}
	return rows.Err()
}

// tx runs one transaction in two steps: pre (outside the transaction),
// BEGIN and the reads; then the statements writes returns (it may look at
// what the reads found), COMMIT, and post. On Postgres each step is one
// round trip. After an error nothing of the transaction is kept.
func (s *session) tx(ctx context.Context, pre, reads []stmt, writes func() ([]stmt, error), post []stmt) error {
	begin := "BEGIN"
	if s.db.dialect == SQLite {
		begin = "BEGIN IMMEDIATE" // take the write lock now: no upgrade later
	}
	first := append(append(append(make([]stmt, 0, len(pre)+len(reads)+1), pre...), stmt{q: begin}), reads...)
	if len(reads) > 0 {
		if err := s.run(ctx, first...); err != nil {
			return err
		}
		first = nil
	}
	w, err := writes()
	if err != nil {
		return err
	}
	return s.run(ctx, append(append(append(first, w...), stmt{q: "COMMIT"}), post...)...)
}

// inTx runs stmts in one transaction on a connection of the pool.
func (db *DB) inTx(ctx context.Context, stmts ...stmt) error {
	s, err := db.session(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, nil, nil, func() ([]stmt, error) { return stmts, nil }, nil)
	s.release(err != nil)
	return err
}

// rebind rewrites ? placeholders for the dialect. The hot-path SQL has no
// string literal containing a question mark.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	var b strings.Builder
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

// rowsOf is the SQL for a table of JSON rows passed as one parameter, named
// t, with the columns in spec ("name type, ..."; the types are Postgres').
func (db *DB) rowsOf(spec string) string {
	if db.dialect == Postgres {
		return "json_to_recordset(?::json) AS t(" + spec + ")"
	}
	var cols []string
	for _, c := range strings.Split(spec, ",") {
		name := strings.Fields(c)[0]
		cols = append(cols, "value->>'"+name+"' AS "+name)
	}
	return "(SELECT " + strings.Join(cols, ", ") + " FROM json_each(?)) AS t"
}

// in is the SQL for "col is one of the list passed as one parameter"
// (listArg).
func (db *DB) in(col string) string {
	if db.dialect == Postgres {
		return col + " = ANY(?)"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// listArg is a list as the parameter of in: an array on Postgres, a JSON
// array on SQLite.
func (db *DB) listArg(list []string) any {
	if db.dialect == Postgres {
		return list
	}
	return jsonArg(list)
}

// jsonArg is v as a JSON parameter (rows for rowsOf, lists for in).
func jsonArg(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("storage: rows do not encode: %v", err)) // plain structs of strings, numbers and times
	}
	return string(b)
}

// jtime is a time in JSON rows, written as the SQLite driver writes times
// (Postgres reads it too), so stored times compare as text on SQLite.
type jtime time.Time

const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

func (t jtime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(sqliteTime) + `"`), nil
}

// nullString is s, or NULL when it is empty.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// isUniqueViolation reports whether err is a unique constraint violation
// on Postgres.
func isUniqueViolation(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}

// discard closes a connection and keeps it out of the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}
