package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Insight: how conversations go, for the console's analytics and the flow
// picture. Figures are read from one row per conversation (what the turns
// recorded as they went: its subject, when it was resolved, how long the
// user waited for a person, the answer to "did it help?", how many
// messages it had); only the flow's transitions read the message log.

// migrateInsight adds what analytics reads per conversation:
//   - resolved_at: when the flow first reached a resolution;
//   - helped, rating, feedback_at: the answer to "did it help?" (はい/いいえ,
//     1–5), and when it was asked;
//   - waited_at, taken_at: when it first waited for a person and when staff
//     first took it over (handoff_at is cleared on hand back);
//   - subject: the first topic after the start; handoff_path: the last
//     nodes before the handover (" > " between them);
//   - message_count: messages logged in it (user, bot bubbles, staff);
//   - an index by start time (never updated, so the turn's row update
//     stays heap-only on PostgreSQL as far as this index goes);
//   - the inbox of messages the bot did not understand reads user messages
//     by time through a partial index of those only;
//   - insight_dismissed: the not-understood groups staff dismissed or added
//     as examples (their normalised texts).
func migrateInsight(tx *gorm.DB, dialect string) error {
	return execAll(tx, dialect,
		`ALTER TABLE conversations ADD COLUMN resolved_at {TS}`,
		`ALTER TABLE conversations ADD COLUMN helped BOOLEAN`,
		`ALTER TABLE conversations ADD COLUMN rating INTEGER`,
		`ALTER TABLE conversations ADD COLUMN feedback_at {TS}`,
		`ALTER TABLE conversations ADD COLUMN waited_at {TS}`,
		`ALTER TABLE conversations ADD COLUMN taken_at {TS}`,
		`ALTER TABLE conversations ADD COLUMN subject TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE conversations ADD COLUMN handoff_path TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE conversations ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0`,
		`UPDATE conversations SET resolved_at = closed_at WHERE end_reason = 'resolved'`,
		`UPDATE conversations SET waited_at = handoff_at WHERE handoff_at IS NOT NULL`,
		`UPDATE conversations SET subject = topic WHERE topic NOT IN ('', 'welcome')`,
		`UPDATE conversations SET message_count = (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = conversations.id)`,
		`CREATE INDEX conversations_started ON conversations (started_at)`,
		`CREATE INDEX messages_not_understood ON messages (at) WHERE direction = 'in' AND `+notUnderstood,
		`CREATE TABLE insight_dismissed (
			pack_id  TEXT NOT NULL,
			key      TEXT NOT NULL,
			action   TEXT NOT NULL,
			intent   TEXT NOT NULL DEFAULT '',
			actor    TEXT NOT NULL,
			at       {TS} NOT NULL,
			PRIMARY KEY (pack_id, key)
		)`,
	)
}

// notUnderstood is the condition on a user message the bot did not
// understand: it asked again (reprompt, or offered a person after asking
// twice), fell back to the out-of-scope node, or read it with a low score.
// The partial index messages_not_understood has exactly this condition.
const notUnderstood = `(reason IN ('reprompt', 'offer') OR node_after = 'out_of_scope' OR (score > 0 AND score < 0.5))`

// Period is a range of time [From, To); analytics counts the
// conversations that started in it.
type Period struct{ From, To time.Time }

// AnalyticsQuery selects the conversations analytics counts.
type AnalyticsQuery struct {
	Period
	Pack string // the pack the conversation started with; "" for all
	// Days cuts the period into days starting at midnight in this zone
	// (nil: Asia/Tokyo).
	Days *time.Location
}

// Figures are analytics for a period.
type Figures struct {
	Conversations int
	Users         int // distinct
	// Outcomes of the conversations that ended; InProgress are still open.
	Resolved, HandedOver, Abandoned, NotResolved, InProgress int
	// Answers to "did it help?": Answered of which Helped said はい;
	// Ratings[i] counts the rating i+1.
	Answered, Helped int
	Ratings          [5]int
	Messages         int // in all of them
	// ResolveSeconds is the median time from the start to the first
	// resolution; WaitSeconds the median wait for a person (from asking to
	// a staff member taking it over); nil when there is none.
	ResolveSeconds, WaitSeconds *float64
	Waited, Taken               int // conversations that waited for a person; of them taken over
	ByTopic                     map[string]int
	DropOff                     map[string]int // abandoned conversations by the node they were on
	Paths                       []Path         // the most frequent ways to a handover, most first
	Days                        []Day          // every day of the period, in order
}

// Day is one day's conversations by outcome.
type Day struct {
	Day                                          time.Time // its midnight
	Conversations                                int
	Resolved, HandedOver, Abandoned, NotResolved int
	InProgress                                   int
}

// Path is a way to a handover: the nodes before it, oldest first.
type Path struct {
	Nodes         []string
	Conversations int
}

// PathSep separates the nodes of conversations.handoff_path.
const PathSep = " > "

// TopPaths is how many ways to a handover Analytics returns.
const TopPaths = 5

// Analytics computes the figures of the conversations that started in the
// query's period.
func (db *DB) Analytics(ctx context.Context, q AnalyticsQuery) (*Figures, error) {
	loc := q.Days
	if loc == nil {
		loc = japan
	}
	f := &Figures{ByTopic: map[string]int{}, DropOff: map[string]int{}}
	where := "c.started_at >= ? AND c.started_at < ?"
	args := []any{q.From.UTC(), q.To.UTC()}
	if q.Pack != "" {
		where += " AND c.pack_id = ?"
		args = append(args, q.Pack)
	}
	g := db.gorm.WithContext(ctx)
	rows := func(query string, scan func(*sql.Rows) error, extra ...any) error {
		r, err := g.Raw(query, append(slices.Clone(args), extra...)...).Rows()
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			if err := scan(r); err != nil {
				return err
			}
		}
		return r.Err()
	}

	// Per day: the start times are bucketed by the zone's offset at each
	// instant (Asia/Tokyo has had one offset since 1951).
	_, offset := q.From.In(loc).Zone()
	day := db.dayExpr("c.started_at", offset)
	byDay := map[string]*Day{}
	err := rows(`SELECT `+day+` AS d, COUNT(*),
			SUM(CASE WHEN c.status = 'closed' AND c.outcome = 'resolved' THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.status = 'closed' AND c.outcome = 'handed_over' THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.status = 'closed' AND c.outcome = 'abandoned' THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.status = 'closed' AND c.outcome = 'not_resolved' THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.helped IS NOT NULL THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.helped THEN 1 ELSE 0 END),
			SUM(c.message_count),
			SUM(CASE WHEN c.waited_at IS NOT NULL THEN 1 ELSE 0 END),
			SUM(CASE WHEN c.waited_at IS NOT NULL AND c.taken_at IS NOT NULL THEN 1 ELSE 0 END)
		FROM conversations c WHERE `+where+` GROUP BY d`, func(r *sql.Rows) error {
		var d Day
		var key string
		var answered, helped, msgs, waited, taken int
		if err := r.Scan(&key, &d.Conversations, &d.Resolved, &d.HandedOver, &d.Abandoned, &d.NotResolved, &d.InProgress,
			&answered, &helped, &msgs, &waited, &taken); err != nil {
			return err
		}
		byDay[key] = &d
		f.Conversations += d.Conversations
		f.Resolved += d.Resolved
		f.HandedOver += d.HandedOver
		f.Abandoned += d.Abandoned
		f.NotResolved += d.NotResolved
		f.InProgress += d.InProgress
		f.Answered += answered
		f.Helped += helped
		f.Messages += msgs
		f.Waited += waited
		f.Taken += taken
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: analytics by day: %w", err)
	}
	for d := startOfDay(q.From.In(loc)); d.Before(q.To); d = d.AddDate(0, 0, 1) {
		e := Day{Day: d}
		if got := byDay[d.Format(time.DateOnly)]; got != nil {
			e = *got
			e.Day = d
		}
		f.Days = append(f.Days, e)
	}
	if f.Conversations == 0 {
		return f, nil
	}

	if err := g.Raw(`SELECT COUNT(DISTINCT c.user_id) FROM conversations c WHERE `+where, args...).Scan(&f.Users).Error; err != nil {
		return nil, fmt.Errorf("storage: analytics users: %w", err)
	}
	err = rows(`SELECT c.rating, COUNT(*) FROM conversations c WHERE `+where+` AND c.rating BETWEEN 1 AND 5 GROUP BY c.rating`,
		func(r *sql.Rows) error {
			var rating, n int
			if err := r.Scan(&rating, &n); err != nil {
				return err
			}
			f.Ratings[rating-1] = n
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("storage: analytics ratings: %w", err)
	}
	counts := func(query string, into map[string]int) error {
		return rows(query, func(r *sql.Rows) error {
			var k string
			var n int
			if err := r.Scan(&k, &n); err != nil {
				return err
			}
			into[k] = n
			return nil
		})
	}
	if err := counts(`SELECT CASE WHEN c.subject = '' THEN c.topic ELSE c.subject END AS s, COUNT(*)
		FROM conversations c WHERE `+where+` GROUP BY s`, f.ByTopic); err != nil {
		return nil, fmt.Errorf("storage: analytics topics: %w", err)
	}
	if err := counts(`SELECT c.node, COUNT(*) FROM conversations c WHERE `+where+`
		AND c.status = 'closed' AND c.outcome = 'abandoned' GROUP BY c.node`, f.DropOff); err != nil {
		return nil, fmt.Errorf("storage: analytics drop-off: %w", err)
	}
	err = rows(`SELECT c.handoff_path, COUNT(*) AS n FROM conversations c WHERE `+where+`
		AND c.waited_at IS NOT NULL AND c.handoff_path <> '' GROUP BY c.handoff_path ORDER BY n DESC, c.handoff_path LIMIT ?`,
		func(r *sql.Rows) error {
			var p string
			var n int
			if err := r.Scan(&p, &n); err != nil {
				return err
			}
			f.Paths = append(f.Paths, Path{Nodes: strings.Split(p, PathSep), Conversations: n})
			return nil
		}, TopPaths)
	if err != nil {
		return nil, fmt.Errorf("storage: analytics paths: %w", err)
	}
	if f.ResolveSeconds, err = db.median(ctx, "c.resolved_at", "c.started_at", where, args); err != nil {
		return nil, fmt.Errorf("storage: analytics time to resolution: %w", err)
	}
	if f.WaitSeconds, err = db.median(ctx, "c.taken_at", "c.waited_at", where, args); err != nil {
		return nil, fmt.Errorf("storage: analytics wait: %w", err)
	}
	return f, nil
}

// japan is Asia/Tokyo (a fixed +9 hours when the zone database is missing).
var japan = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}()

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// dayExpr is the SQL for the date (YYYY-MM-DD) of col at a UTC offset.
func (db *DB) dayExpr(col string, offset int) string {
	if db.dialect == Postgres {
		return fmt.Sprintf("to_char(%s + interval '%d seconds', 'YYYY-MM-DD')", col, offset)
	}
	return fmt.Sprintf("strftime('%%Y-%%m-%%d', %s, '%+d seconds')", col, offset)
}

// median is the median of end - start in seconds over the rows where both
// are set, nil when there are none.
func (db *DB) median(ctx context.Context, end, start, where string, args []any) (*float64, error) {
	cond := where + " AND " + end + " IS NOT NULL AND " + start + " IS NOT NULL"
	g := db.gorm.WithContext(ctx)
	if db.dialect == Postgres {
		var m sql.NullFloat64
		err := g.Raw(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM `+end+` - `+start+`))
			FROM conversations c WHERE `+cond, args...).Row().Scan(&m)
		if err != nil || !m.Valid {
			return nil, err
		}
		return &m.Float64, nil
	}
	var n int
	if err := g.Raw(`SELECT COUNT(*) FROM conversations c WHERE `+cond, args...).Row().Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	var vs []float64 // julianday is a double of days: to the millisecond
	err := g.Raw(`SELECT ROUND((julianday(`+end+`) - julianday(`+start+`)) * 86400, 3) AS s FROM conversations c WHERE `+cond+
		` ORDER BY s LIMIT ? OFFSET ?`, append(slices.Clone(args), 2-n%2, (n-1)/2)...).Scan(&vs).Error
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	m := vs[0]
	if len(vs) == 2 {
		m = (vs[0] + vs[1]) / 2
	}
	return &m, nil
}

// IdleConversation is an open conversation the bot owns, last active at
// LastActivityAt.
type IdleConversation struct {
	ID             int64
	ChatID         string
	LastActivityAt time.Time
}

// IdleConversations lists up to limit open conversations the bot owns with
// no activity since before, the longest idle first (for the sweep that ends
// them: bot.Idle).
func (db *DB) IdleConversations(ctx context.Context, before time.Time, limit int) ([]IdleConversation, error) {
	var out []IdleConversation
	err := db.gorm.WithContext(ctx).Raw(`SELECT id, user_id AS chat_id, last_activity_at FROM conversations
		WHERE status = 'open' AND owner = 'bot' AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?`,
		before.UTC(), limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("storage: idle conversations: %w", err)
	}
	for i := range out {
		out[i].LastActivityAt = out[i].LastActivityAt.UTC()
	}
	return out, nil
}
