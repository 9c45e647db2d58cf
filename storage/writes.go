package storage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/todoku/todoku/bot"
)

// turn is one event's turn: its plan and what the writes need of it.
type turn struct {
	item    bot.InboxItem
	plan    bot.TurnPlan
	planErr error
}

func newTurn(it bot.InboxItem, r *turnRead, now time.Time, plan bot.PlanFunc) (*turn, error) {
	tc := bot.TurnContext{Item: it, Conversation: r.conv, Now: now}
	if r.state != "" {
		if err := json.Unmarshal([]byte(r.state), &tc.State); err != nil {
			return nil, fmt.Errorf("session of chat %s: %w", it.Event.ChatID, err)
		}
	}
	t := &turn{item: it}
	t.plan, t.planErr = plan(tc)
	return t, nil
}

// The turns' writes: one statement per kind of row for the whole batch,
// each with its rows as JSON, in the order the plan's commands apply.
// Every row names its chat, and a chat's open conversation (at most one, a
// unique index) is found by it, so no statement needs an id another made.
type (
	userRow struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Follow   bool   `json:"follow"`
		Unfollow bool   `json:"unfollow"`
		At       jtime  `json:"at"`
	}
	endRow struct {
		Chat    string `json:"chat"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
		At      jtime  `json:"at"`
	}
	openRow struct {
		Chat    string  `json:"chat"`
		Owner   string  `json:"owner"`
		Staff   *string `json:"staff"`
		Pack    string  `json:"pack"`
		Version string  `json:"version"`
		At      jtime   `json:"at"`
	}
	inRow struct {
		Chat    string `json:"chat"`
		Type    string `json:"type"`
		Text    string `json:"text"`
		LineID  string `json:"line_id"`
		EventID string `json:"event_id"`
		traceCols
		Intent  string  `json:"intent"`
		Score   float64 `json:"score"`
		At      jtime   `json:"at"`
		Created jtime   `json:"created"`
	}
	sessionRow struct {
		Chat  string `json:"chat"`
		State string `json:"state"`
		At    jtime  `json:"at"`
	}
	outboxRow struct {
		Chat      string `json:"chat"`
		Seq       int64  `json:"seq"`
		Token     string `json:"token"`
		Key       string `json:"key"`
		Messages  string `json:"messages"`
		Log       string `json:"log"`
		Attempted bool   `json:"attempted"`
		EventAt   jtime  `json:"event_at"`
		At        jtime  `json:"at"`
	}
	touchRow struct {
		Chat     string  `json:"chat"`
		At       jtime   `json:"at"`
		Node     *string `json:"node"`
		Topic    *string `json:"topic"`
		N        int     `json:"n"` // messages logged
		Verdict  *string `json:"verdict"`
		Resolved *jtime  `json:"resolved"`
		Subject  *string `json:"subject"`
		Asked    *jtime  `json:"asked"`
		Helped   *bool   `json:"helped"`
		Rating   *int    `json:"rating"`
	}
	ownerRow struct {
		Chat    string  `json:"chat"`
		Owner   string  `json:"owner"`
		Staff   *string `json:"staff"`
		Handoff *jtime  `json:"handoff"`
		Path    string  `json:"path"`
	}
	unsendRow struct {
		Chat   string `json:"chat"`
		LineID string `json:"line_id"`
		At     jtime  `json:"at"`
	}
	doneRow struct {
		Seq     int64  `json:"seq"`
		Payload string `json:"payload"`
		At      jtime  `json:"at"`
	}
	// traceCols are a message's trace columns.
	traceCols struct {
		NodeBefore  string `json:"nb"`
		NodeAfter   string `json:"na"`
		TopicBefore string `json:"tb"`
		TopicAfter  string `json:"ta"`
		Reason      string `json:"reason"`
		Pack        string `json:"pack"`
		Version     string `json:"version"`
	}
)

const traceSpec = "nb text, na text, tb text, ta text, reason text, pack text, version text"

func toTraceCols(t bot.LogTrace) traceCols {
	return traceCols{t.NodeBefore, t.NodeAfter, t.TopicBefore, t.TopicAfter, t.Reason, t.PackID, t.PackVersion}
}

// turnWrites are the statements that carry out turns' plans and mark their
// events done. gotOut gets each reply as the outbox stored it.
func (db *DB) turnWrites(turns []*turn, now time.Time, gotOut func(chat string, out bot.Outgoing)) ([]stmt, error) {
	var (
		users            []userRow
		closes, finishes []endRow
		opens            []openRow
		ins              []inRow
		sessions         []sessionRow
		outbox           []outboxRow
		touches          []touchRow
		owners           []ownerRow
		unsends          []unsendRow
		dones            []doneRow
		replies          = map[string]*bot.Outgoing{}
	)
	for _, t := range turns {
		ev, p := t.item.Event, &t.plan
		chat, at := ev.ChatID, jtime(ev.Timestamp) // the conversation's activity: when the user (or staff member) acted
		if chat != "" {
			if p.Open != nil || p.Follow || p.Unfollow {
				// A conversation's user row exists (foreign key): only a new
				// conversation, a follow or an unfollow needs it.
				kind := ev.SourceType
				if kind == "" {
					kind = "user"
				}
				users = append(users, userRow{chat, kind, p.Follow, p.Unfollow, jtime(now)})
			}
			if e := p.Close; e != nil {
				closes = append(closes, endRow{chat, e.Outcome, e.Reason, jtime(now)})
			}
			if o := p.Open; o != nil {
				opens = append(opens, openRow{chat, o.Owner, nullString(o.StaffID), o.PackID, o.PackVersion, at})
			}
			if in := p.In; in != nil {
				ins = append(ins, inRow{Chat: chat, Type: in.Type, Text: in.Text, LineID: ev.MessageID, EventID: ev.ID,
					traceCols: toTraceCols(in.Trace), Intent: in.Trace.Intent, Score: in.Trace.Score, At: jtime(ev.Timestamp), Created: jtime(now)})
			}
			if p.State != nil {
				b, err := json.Marshal(p.State)
				if err != nil {
					return nil, err
				}
				sessions = append(sessions, sessionRow{chat, string(b), jtime(now)})
			}
			if r := p.Reply; r != nil && len(r.Messages) > 0 {
				row, out, err := outboxFor(t.item, r, now)
				if err != nil {
					return nil, err
				}
				outbox, replies[chat] = append(outbox, row), out
			}
			if p.In != nil || p.Reply != nil {
				tr := touchRow{Chat: chat, At: at}
				if pos := p.Position; pos != nil {
					tr.Node, tr.Topic = &pos.Node, &pos.Topic
				}
				if p.In != nil {
					tr.N++
				}
				if p.Reply != nil {
					tr.N += len(p.Reply.Messages)
				}
				if g := p.Progress; g != nil {
					tr.Verdict, tr.Subject, tr.Helped = nullString(g.Verdict), nullString(g.Subject), g.Helped
					if g.Resolved {
						tr.Resolved = &at
					}
					if g.Asked {
						tr.Asked = &at
					}
					if g.Rating > 0 {
						tr.Rating = &g.Rating
					}
				}
				touches = append(touches, tr)
			}
			if o := p.Owner; o != nil {
				r := ownerRow{Chat: chat, Owner: o.Owner, Staff: nullString(o.StaffID), Path: strings.Join(o.Path, PathSep)}
				if o.HandoffAt != nil {
					h := jtime(*o.HandoffAt)
					r.Handoff = &h
				}
				owners = append(owners, r)
			}
			if e := p.Finish; e != nil {
				finishes = append(finishes, endRow{chat, e.Outcome, e.Reason, jtime(now)})
			}
			if p.UnsendMessageID != "" {
				unsends = append(unsends, unsendRow{chat, p.UnsendMessageID, jtime(now)})
			}
		}
		// Done: the payload keeps the event's metadata but no longer its
		// text or reply token (the log and the outbox have what they need).
		ev.Text, ev.ReplyToken = "", ""
		payload, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		dones = append(dones, doneRow{t.item.Seq, string(payload), jtime(now)})
	}

	q := db.q
	var stmts []stmt
	add := func(query string, n int, rows any) {
		if n > 0 {
			stmts = append(stmts, stmt{q: query, args: []any{jsonArg(rows)}})
		}
	}
	add(q.users, len(users), users)
	add(q.end, len(closes), closes)
	add(q.open, len(opens), opens)
	add(q.inbound, len(ins), ins)
	add(q.session, len(sessions), sessions)
	if len(outbox) > 0 {
		stmts = append(stmts, stmt{q: q.outbox, args: []any{jsonArg(outbox)}, scan: func(rows rowScanner) error {
			for rows.Next() {
				var id, conv int64
				var chat string
				if err := rows.Scan(&id, &chat, &conv); err != nil {
					return err
				}
				out := *replies[chat]
				out.ID, out.Log.ConversationID = id, conv
				gotOut(chat, out)
			}
			return nil
		}})
	}
	add(q.touch, len(touches), touches)
	add(q.owner, len(owners), owners)
	add(q.end, len(finishes), finishes)
	add(q.unsend, len(unsends), unsends)
	add(q.done, len(dones), dones)
	return stmts, nil
}

// outboxFor is the outbox row of a turn's reply and the Outgoing to send.
// Its log entries are written once the delivery has ended, with its
// outcome (Finish): the outbox row keeps what they need meanwhile.
func outboxFor(it bot.InboxItem, r *bot.Reply, now time.Time) (outboxRow, *bot.Outgoing, error) {
	ev := it.Event
	msgs, err := json.Marshal(r.Messages)
	if err != nil {
		return outboxRow{}, nil, err
	}
	l := &bot.OutgoingLog{WebhookEventID: ev.ID, Author: r.Author, StaffID: r.StaffID, Trace: r.Trace, Bubbles: r.Bubbles, At: now}
	logJSON, err := json.Marshal(toOutboxLog(l))
	if err != nil {
		return outboxRow{}, nil, err
	}
	out := &bot.Outgoing{ChatID: ev.ChatID, ReplyToken: ev.ReplyToken, RetryKey: uuid.NewString(), Messages: r.Messages,
		EventTime: ev.Timestamp.UTC(), Log: l}
	// A row with a reply token is stored as attempted: once this commits,
	// the reply may go out at any moment, and a row found pending later may
	// have been sent (the Outgoing returned for the first send says not).
	row := outboxRow{Chat: ev.ChatID, Seq: it.Seq, Token: ev.ReplyToken, Key: out.RetryKey, Messages: string(msgs), Log: string(logJSON),
		Attempted: ev.ReplyToken != "", EventAt: jtime(ev.Timestamp), At: jtime(now)}
	return row, out, nil
}

// outboxLog is bot.OutgoingLog as the outbox row's log column keeps it
// (the conversation has its own column). Rows made before schema version 3
// have no author (the bot) and no bubbles (linemsg reads them from the
// messages).
type outboxLog struct {
	WebhookEventID string       `json:"webhook_event_id"`
	Author         string       `json:"author,omitempty"`
	StaffID        string       `json:"staff_id,omitempty"`
	NodeBefore     string       `json:"node_before,omitempty"`
	NodeAfter      string       `json:"node_after,omitempty"`
	TopicBefore    string       `json:"topic_before,omitempty"`
	TopicAfter     string       `json:"topic_after,omitempty"`
	Reason         string       `json:"reason,omitempty"`
	PackID         string       `json:"pack_id,omitempty"`
	PackVersion    string       `json:"pack_version,omitempty"`
	Bubbles        []bot.Bubble `json:"bubbles,omitempty"`
	At             time.Time    `json:"at"`
}

func toOutboxLog(l *bot.OutgoingLog) outboxLog {
	t := l.Trace
	return outboxLog{WebhookEventID: l.WebhookEventID, Author: l.Author, StaffID: l.StaffID,
		NodeBefore: t.NodeBefore, NodeAfter: t.NodeAfter, TopicBefore: t.TopicBefore, TopicAfter: t.TopicAfter,
		Reason: t.Reason, PackID: t.PackID, PackVersion: t.PackVersion, Bubbles: l.Bubbles, At: l.At}
}

func (l outboxLog) outgoing(convID int64) *bot.OutgoingLog {
	author := l.Author
	if author == "" {
		author = bot.AuthorBot
	}
	return &bot.OutgoingLog{ConversationID: convID, WebhookEventID: l.WebhookEventID, Author: author, StaffID: l.StaffID,
		Trace: bot.LogTrace{NodeBefore: l.NodeBefore, NodeAfter: l.NodeAfter, TopicBefore: l.TopicBefore, TopicAfter: l.TopicAfter,
			Reason: l.Reason, PackID: l.PackID, PackVersion: l.PackVersion},
		Bubbles: l.Bubbles, At: l.At.UTC()}
}

// The delivery records: the outbox rows' outcome, and the replies' messages
// in the log, written once with it.
type (
	sentRow struct {
		ID     int64   `json:"id"`
		Status string  `json:"status"`
		Via    *string `json:"via"`
		Req    *string `json:"req"`
		SentAt *jtime  `json:"sent_at"`
		Error  string  `json:"error"`
	}
	outRow struct {
		N       int     `json:"n"`
		Conv    int64   `json:"conv"`
		Author  string  `json:"author"`
		Staff   *string `json:"staff"`
		Type    string  `json:"type"`
		Text    string  `json:"text"`
		EventID string  `json:"event_id"`
		traceCols
		Outbox int64  `json:"outbox"`
		Key    string `json:"key"`
		sentRow
		At      jtime `json:"at"`
		Created jtime `json:"created"`
	}
)

// deliveryWrites are the statements recording how deliveries ended.
func (db *DB) deliveryWrites(done []bot.DeliveryOutcome, now time.Time) []stmt {
	var sent, legacy []sentRow
	var logged []outRow
	for _, d := range done {
		r := sentRow{ID: d.Out.ID, Status: StatusSent, Error: d.Failure}
		if d.Failure == "" {
			t := jtime(now)
			r.Via, r.Req, r.SentAt = &d.Delivery.Via, &d.Delivery.RequestID, &t
		} else {
			r.Status = StatusFailed
		}
		sent = append(sent, r)
		l := d.Out.Log
		if l == nil {
			legacy = append(legacy, r) // logged when it was made (schema version 1): update those rows
			continue
		}
		for _, b := range l.Bubbles {
			logged = append(logged, outRow{N: len(logged), Conv: l.ConversationID, Author: l.Author, Staff: nullString(l.StaffID),
				Type: b.Type, Text: b.Text, EventID: l.WebhookEventID, traceCols: toTraceCols(l.Trace),
				Outbox: d.Out.ID, Key: d.Out.RetryKey, sentRow: r, At: jtime(l.At), Created: jtime(now)})
		}
	}
	q := db.q
	stmts := []stmt{{q: q.sent, args: []any{jsonArg(sent)}}}
	if len(logged) > 0 {
		stmts = append(stmts, stmt{q: q.logOut, args: []any{jsonArg(logged)}})
	}
	if len(legacy) > 0 {
		stmts = append(stmts, stmt{q: q.legacy, args: []any{jsonArg(legacy)}})
	}
	return stmts
}
