package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The console's reads: lists with filters and keyset pagination, text
// search, the waiting queue, transcripts with their buttons, notes and
// tags, and streaming for export. They decide nothing about the dialog.

// ConversationFilter narrows a conversation list. Zero fields do not filter.
type ConversationFilter struct {
	From, To   time.Time // last activity in [From, To)
	Topic      string
	Owner      string // bot, waiting, staff
	Status     string // open, closed
	Outcome    string // resolved, handed_over, abandoned, not_resolved; "none" for no outcome yet
	UserID     string
	AssignedTo string
	Tag        string
	Query      string // text that users or staff wrote (not bot bubbles)
}

// Empty reports whether f filters nothing.
func (f ConversationFilter) Empty() bool { return f == ConversationFilter{} }

// Cursor is a position in the list (newest activity first).
type Cursor struct {
	At time.Time
	ID int64
}

// ConversationRow is a conversation as the console shows it.
type ConversationRow struct {
	ID             int64
	UserID         string
	DisplayName    string
	Status         string
	Owner          string
	AssignedTo     string
	Outcome        string
	EndReason      string
	PackID         string
	PackVersion    string
	Node           string
	Topic          string
	HandoffAt      *time.Time // waiting since
	StartedAt      time.Time
	LastActivityAt time.Time
	ClosedAt       *time.Time
	Preview        string // the user's last text (redacted); in the queue, their first: what they need
}

const rowColumns = `c.id, c.user_id, COALESCE(u.display_name, ''), c.status, c.owner, COALESCE(c.assigned_staff_id, ''),
	COALESCE(c.outcome, ''), c.end_reason, c.pack_id, c.pack_version, c.node, c.topic, c.handoff_at, c.started_at,
	c.last_activity_at, c.closed_at`

const previewColumn = `, COALESCE((SELECT m.text FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
	AND m.type = 'text' ORDER BY m.id DESC LIMIT 1), '')`

const firstTextColumn = `, COALESCE((SELECT m.text FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
	AND m.type = 'text' ORDER BY m.id LIMIT 1), '')`

func scanRow(rows *sql.Rows, preview bool) (ConversationRow, error) {
	var r ConversationRow
	var handoff, closed sql.NullTime
	dest := []any{&r.ID, &r.UserID, &r.DisplayName, &r.Status, &r.Owner, &r.AssignedTo, &r.Outcome, &r.EndReason,
		&r.PackID, &r.PackVersion, &r.Node, &r.Topic, &handoff, &r.StartedAt, &r.LastActivityAt, &closed}
	if preview {
		dest = append(dest, &r.Preview)
	}
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	if handoff.Valid {
		t := handoff.Time.UTC()
		r.HandoffAt = &t
	}
	if closed.Valid {
		t := closed.Time.UTC()
		r.ClosedAt = &t
	}
	r.StartedAt, r.LastActivityAt = r.StartedAt.UTC(), r.LastActivityAt.UTC()
	return r, nil
}

// likePattern makes a LIKE pattern matching s anywhere, with \ escaping.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// where builds the filter's conditions.
func (db *DB) where(f ConversationFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if !f.From.IsZero() {
		add("c.last_activity_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("c.last_activity_at < ?", f.To.UTC())
	}
	if f.Topic != "" {
		add("c.topic = ?", f.Topic)
	}
	if f.Owner != "" {
		add("c.owner = ?", f.Owner)
	}
	if f.Status != "" {
		add("c.status = ?", f.Status)
	}
	if f.Outcome == "none" {
		add("c.outcome IS NULL")
	} else if f.Outcome != "" {
		add("c.outcome = ?", f.Outcome)
	}
	if f.UserID != "" {
		add("c.user_id = ?", f.UserID)
	}
	if f.AssignedTo != "" {
		add("c.assigned_staff_id = ?", f.AssignedTo)
	}
	if f.Tag != "" {
		add("EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = ?)", f.Tag)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		c, a := db.searchCondition(q)
		add(c, a...)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// searchCondition matches conversations with a message written by the user
// or staff containing q. Postgres: ILIKE, served by the pg_trgm index on
// those messages; SQLite: the FTS5 trigram table for three characters or
// more (trigrams need three), LIKE below that.
func (db *DB) searchCondition(q string) (string, []any) {
	if db.dialect == SQLite && len([]rune(q)) >= 3 {
		return `c.id IN (SELECT m.conversation_id FROM messages m WHERE m.id IN
			(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))`, []any{`"` + strings.ReplaceAll(q, `"`, `""`) + `"`}
	}
	op := "LIKE"
	if db.dialect == Postgres {
		op = "ILIKE"
	}
	return `c.id IN (SELECT m.conversation_id FROM messages m WHERE m.author <> 'bot' AND m.text ` + op + ` ? ESCAPE '\')`,
		[]any{likePattern(q)}
}

// searchWindow is how many of the newest conversations (after the cursor,
// with the other filters) a text search checks one by one before it asks
// the text index instead.
const searchWindow = 2000

// ListConversations returns up to limit conversations matching f, newest
// activity first, after the cursor (nil: from the top). The page's ids are
// chosen from the conversations table alone, then joined with what the
// page shows.
//
// A text search first checks the newest searchWindow conversations, each
// through its own messages: a common word fills the page from these. Only
// when it does not (a rarer word) does the text index (pg_trgm, FTS5) find
// the matching messages everywhere, which is quick because they are few.
// The planner cannot tell the two apart from the pattern alone.
func (db *DB) ListConversations(ctx context.Context, f ConversationFilter, after *Cursor, limit int) ([]ConversationRow, error) {
	if q := strings.TrimSpace(f.Query); q != "" {
		rest := f
		rest.Query = ""
		w, args := db.where(rest)
		w, args = withCursor(w, args, after)
		op := "LIKE"
		if db.dialect == Postgres {
			op = "ILIKE"
		}
		query := "SELECT " + rowColumns + previewColumn + ` FROM (SELECT c.id, c.last_activity_at FROM conversations c` + w +
			` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?) k JOIN conversations c ON c.id = k.id
			LEFT JOIN users u ON u.id = c.user_id
			WHERE EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = k.id AND m.author <> 'bot' AND m.text ` + op + ` ? ESCAPE '\')
			ORDER BY k.last_activity_at DESC, k.id DESC LIMIT ?`
		rows, err := db.queryRows(ctx, query, append(args, searchWindow, likePattern(q), limit), true)
		if err != nil || len(rows) >= limit {
			return rows, err
		}
	}
	w, args := db.where(f)
	w, args = withCursor(w, args, after)
	q := "SELECT " + rowColumns + previewColumn + ` FROM (SELECT c.id, c.last_activity_at FROM conversations c` + w +
		` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?) k JOIN conversations c ON c.id = k.id
		LEFT JOIN users u ON u.id = c.user_id ORDER BY k.last_activity_at DESC, k.id DESC`
	return db.queryRows(ctx, q, append(args, limit), true)
}

// withCursor adds the keyset condition: after the cursor in the order
// newest activity first.
func withCursor(w string, args []any, after *Cursor) (string, []any) {
	if after == nil {
		return w, args
	}
	cond := "(c.last_activity_at < ? OR (c.last_activity_at = ? AND c.id < ?))"
	if w == "" {
		w = " WHERE " + cond
	} else {
		w += " AND " + cond
	}
	return w, append(args, after.At.UTC(), after.At.UTC(), after.ID)
}

func (db *DB) queryRows(ctx context.Context, q string, args []any, preview bool) ([]ConversationRow, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("storage: list conversations: %w", err)
	}
	defer rows.Close()
	var out []ConversationRow
	for rows.Next() {
		r, err := scanRow(rows, preview)
		if err != nil {
			return nil, fmt.Errorf("storage: list conversations: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list conversations: %w", err)
	}
	return out, nil
}

// Queue returns the open conversations waiting for a person, longest
// waiting first, and those staff own, newest activity first.
func (db *DB) Queue(ctx context.Context) (waiting, owned []ConversationRow, err error) {
	base := "SELECT " + rowColumns + firstTextColumn + " FROM conversations c LEFT JOIN users u ON u.id = c.user_id WHERE c.status = 'open' AND c.owner = ?"
	if waiting, err = db.queryRows(ctx, base+" ORDER BY COALESCE(c.handoff_at, c.last_activity_at), c.id LIMIT 200", []any{"waiting"}, true); err != nil {
		return nil, nil, err
	}
	if owned, err = db.queryRows(ctx, base+" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT 200", []any{"staff"}, true); err != nil {
		return nil, nil, err
	}
	return waiting, owned, nil
}

// WaitingCount counts the open conversations waiting for a person.
func (db *DB) WaitingCount(ctx context.Context) (int, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&Conversation{}).Where("status = ? AND owner = ?", ConversationOpen, "waiting").Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("storage: waiting count: %w", err)
	}
	return int(n), nil
}

// ConversationByID returns one conversation as the console shows it.
func (db *DB) ConversationByID(ctx context.Context, id int64) (*ConversationRow, error) {
	rows, err := db.queryRows(ctx, "SELECT "+rowColumns+" FROM conversations c LEFT JOIN users u ON u.id = c.user_id WHERE c.id = ?", []any{id}, false)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// Button is a button a bot message showed (a quick reply or a template action).
type Button struct {
	Label string
	Link  bool // opens a URL
}

// TranscriptMessage is one logged message with what the console shows of it.
type TranscriptMessage struct {
	Message
	Buttons []Button
}

// Transcript returns a conversation's messages in order, each bot message
// with the buttons it showed (read from the outbox row it was sent from).
func (db *DB) Transcript(ctx context.Context, conversationID int64) ([]TranscriptMessage, error) {
	ms, err := db.Messages(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, m := range ms {
		if m.OutboxID != nil && !seen[*m.OutboxID] {
			seen[*m.OutboxID] = true
			ids = append(ids, *m.OutboxID)
		}
	}
	objects := map[int64][]json.RawMessage{}
	if len(ids) > 0 {
		var rows []struct {
			ID       int64
			Messages string
		}
		if err := db.gorm.WithContext(ctx).Table("outbox").Select("id, messages").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("storage: transcript buttons: %w", err)
		}
		for _, r := range rows {
			var objs []json.RawMessage
			if json.Unmarshal([]byte(r.Messages), &objs) == nil {
				objects[r.ID] = objs
			}
		}
	}
	out := make([]TranscriptMessage, len(ms))
	index := map[int64]int{} // position of the next message of each outbox row
	for i, m := range ms {
		out[i].Message = m
		if m.OutboxID == nil {
			continue
		}
		k := index[*m.OutboxID]
		index[*m.OutboxID] = k + 1
		if objs := objects[*m.OutboxID]; k < len(objs) {
			out[i].Buttons = buttonsOf(objs[k])
		}
	}
	return out, nil
}

// buttonsOf reads the buttons of a LINE message object: its quick replies
// and a template's actions.
func buttonsOf(raw json.RawMessage) []Button {
	type action struct {
		Type  string `json:"type"`
		Label string `json:"label"`
	}
	var m struct {
		QuickReply struct {
			Items []struct {
				Action action `json:"action"`
			} `json:"items"`
		} `json:"quickReply"`
		Template struct {
			Actions []action `json:"actions"`
		} `json:"template"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var bs []Button
	for _, a := range m.Template.Actions {
		bs = append(bs, Button{Label: a.Label, Link: a.Type == "uri"})
	}
	for _, it := range m.QuickReply.Items {
		bs = append(bs, Button{Label: it.Action.Label, Link: it.Action.Type == "uri"})
	}
	return bs
}

// Note is a staff note on a conversation.
type Note struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64
	Author         string
	Text           string
	CreatedAt      time.Time
}

// TableName is the notes table.
func (Note) TableName() string { return "conversation_notes" }

// Notes returns a conversation's notes, oldest first.
func (db *DB) Notes(ctx context.Context, conversationID int64) ([]Note, error) {
	var ns []Note
	if err := db.gorm.WithContext(ctx).Where("conversation_id = ?", conversationID).Order("id").Find(&ns).Error; err != nil {
		return nil, fmt.Errorf("storage: notes: %w", err)
	}
	return ns, nil
}

// AddNote adds a note and audits it (without its text).
func (db *DB) AddNote(ctx context.Context, conversationID int64, author, text string) (*Note, error) {
	n := &Note{ConversationID: conversationID, Author: author, Text: text, CreatedAt: db.now()}
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.mustExist(tx, conversationID); err != nil {
			return err
		}
		if err := tx.Create(n).Error; err != nil {
			return err
		}
		return tx.Create(&AuditLog{Actor: author, Action: "conversation.note", SubjectID: fmt.Sprint(conversationID), At: n.CreatedAt}).Error
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("storage: add note: %w", err)
	}
	return n, nil
}

func (db *DB) mustExist(tx *gorm.DB, conversationID int64) error {
	var n int64
	if err := tx.Model(&Conversation{}).Where("id = ?", conversationID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Tags returns a conversation's tags in order.
func (db *DB) Tags(ctx context.Context, conversationID int64) ([]string, error) {
	var ts []string
	if err := db.gorm.WithContext(ctx).Table("conversation_tags").Where("conversation_id = ?", conversationID).Order("tag").Pluck("tag", &ts).Error; err != nil {
		return nil, fmt.Errorf("storage: tags: %w", err)
	}
	return ts, nil
}

// SetTag adds (on) or removes a tag and audits the change.
func (db *DB) SetTag(ctx context.Context, conversationID int64, tag string, on bool, actor string) error {
	now := db.now()
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.mustExist(tx, conversationID); err != nil {
			return err
		}
		var res *gorm.DB
		if on {
			res = tx.Exec(`INSERT INTO conversation_tags (conversation_id, tag, added_by, added_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (conversation_id, tag) DO NOTHING`, conversationID, tag, actor, now)
		} else {
			res = tx.Exec("DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?", conversationID, tag)
		}
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		verb := "add"
		if !on {
			verb = "remove"
		}
		return tx.Create(&AuditLog{Actor: actor, Action: "conversation.tag", SubjectID: fmt.Sprint(conversationID), Detail: verb + " " + tag, At: now}).Error
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: tag: %w", err)
	}
	return err
}

// AllTags lists the tags in use, for the filter.
func (db *DB) AllTags(ctx context.Context) ([]string, error) {
	var ts []string
	if err := db.gorm.WithContext(ctx).Table("conversation_tags").Distinct("tag").Order("tag").Limit(200).Pluck("tag", &ts).Error; err != nil {
		return nil, fmt.Errorf("storage: all tags: %w", err)
	}
	return ts, nil
}

// Topics lists the topics conversations are at, for the filter.
func (db *DB) Topics(ctx context.Context) ([]string, error) {
	var ts []string
	err := db.gorm.WithContext(ctx).Table("conversations").Where("topic <> ''").Distinct("topic").Order("topic").Limit(200).Pluck("topic", &ts).Error
	if err != nil {
		return nil, fmt.Errorf("storage: topics: %w", err)
	}
	return ts, nil
}

// ConversationVersion changes whenever what the transcript page shows of a
// conversation changes (a message, its delivery, the owner, notes, tags,
// the outcome), so a browser polling it fetches the page only then.
func (db *DB) ConversationVersion(ctx context.Context, id int64) (string, error) {
	var v struct {
		Owner, Status, Assigned, Outcome  string
		Msgs, MaxMsg, Failed, Notes, Tags int64
		Activity                          time.Time
	}
	err := db.gorm.WithContext(ctx).Raw(`SELECT c.owner, c.status, COALESCE(c.assigned_staff_id, '') AS assigned, COALESCE(c.outcome, '') AS outcome,
		c.last_activity_at AS activity,
		(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS msgs,
		(SELECT COALESCE(MAX(m.id), 0) FROM messages m WHERE m.conversation_id = c.id) AS max_msg,
		(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.delivery_status = 'failed') AS failed,
		(SELECT COUNT(*) FROM conversation_notes n WHERE n.conversation_id = c.id) AS notes,
		(SELECT COUNT(*) FROM conversation_tags t WHERE t.conversation_id = c.id) AS tags
		FROM conversations c WHERE c.id = ?`, id).Scan(&v).Error
	if err != nil {
		return "", fmt.Errorf("storage: conversation version: %w", err)
	}
	if v.Owner == "" {
		return "", ErrNotFound
	}
	return fmt.Sprintf("%s.%s.%s.%s.%d.%d.%d.%d.%d.%d", v.Owner, v.Status, v.Assigned, v.Outcome, v.Msgs, v.MaxMsg, v.Failed, v.Notes, v.Tags, v.Activity.UnixMilli()), nil
}

// QueueVersion changes whenever the queue page would.
func (db *DB) QueueVersion(ctx context.Context) (string, error) {
	var v struct{ N, Sum int64 }
	q := db.gorm.WithContext(ctx).Table("conversations").Where("status = 'open' AND owner IN ('waiting', 'staff')")
	if err := q.Select("COUNT(*) AS n, COALESCE(SUM(id), 0) AS sum").Scan(&v).Error; err != nil {
		return "", fmt.Errorf("storage: queue version: %w", err)
	}
	var latest []time.Time
	q = db.gorm.WithContext(ctx).Table("conversations").Where("status = 'open' AND owner IN ('waiting', 'staff')")
	if err := q.Order("last_activity_at DESC").Limit(1).Pluck("last_activity_at", &latest).Error; err != nil {
		return "", fmt.Errorf("storage: queue version: %w", err)
	}
	act := int64(0)
	if len(latest) > 0 {
		act = latest[0].UnixMilli()
	}
	return fmt.Sprintf("%d.%d.%d", v.N, v.Sum, act), nil
}

// ExportConversations calls fn for every conversation matching f, newest
// activity first, reading them in pages so that nothing is held in memory
// whole. With messages, each comes with its transcript.
func (db *DB) ExportConversations(ctx context.Context, f ConversationFilter, messages bool, fn func(ConversationRow, []Message) error) error {
	const page = 500
	var after *Cursor
	for {
		rows, err := db.ListConversations(ctx, f, after, page)
		if err != nil {
			return err
		}
		var byConv map[int64][]Message
		if messages && len(rows) > 0 {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			var ms []Message
			if err := db.gorm.WithContext(ctx).Where("conversation_id IN ?", ids).Order("conversation_id, id").Find(&ms).Error; err != nil {
				return fmt.Errorf("storage: export messages: %w", err)
			}
			byConv = map[int64][]Message{}
			for _, m := range ms {
				byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
			}
		}
		for _, r := range rows {
			if err := fn(r, byConv[r.ID]); err != nil {
				return err
			}
		}
		if len(rows) < page {
			return nil
		}
		last := rows[len(rows)-1]
		after = &Cursor{At: last.LastActivityAt, ID: last.ID}
	}
}
