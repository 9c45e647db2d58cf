package console

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
)

// Owners and outcomes as staff read them.
var (
	ownerNames   = map[string]string{"bot": "ボット対応中", "waiting": "対応待ち", "staff": "スタッフ対応中"}
	outcomeNames = map[string]string{"resolved": "解決", "not_resolved": "未解決", "handed_over": "引き継ぎ", "abandoned": "離脱", "none": "未設定"}
	outcomes     = []string{"resolved", "not_resolved", "handed_over", "abandoned"}
)

const pageSize = 50

// filterFrom reads the list filters from the query string; dates are days
// in Asia/Tokyo.
func (c *Console) filterFrom(ctx *gin.Context) (storage.ConversationFilter, error) {
	f := storage.ConversationFilter{
		Topic:      strings.TrimSpace(ctx.Query("topic")),
		Owner:      ctx.Query("owner"),
		Status:     ctx.Query("status"),
		Outcome:    ctx.Query("outcome"),
		UserID:     strings.TrimSpace(ctx.Query("user")),
		AssignedTo: strings.TrimSpace(ctx.Query("assigned")),
		Tag:        strings.TrimSpace(ctx.Query("tag")),
		Query:      strings.TrimSpace(ctx.Query("q")),
	}
	if f.Owner != "" && ownerNames[f.Owner] == "" {
		return f, fmt.Errorf("owner must be bot, waiting or staff")
	}
	if f.Status != "" && f.Status != "open" && f.Status != "closed" {
		return f, fmt.Errorf("status must be open or closed")
	}
	if f.Outcome != "" && outcomeNames[f.Outcome] == "" {
		return f, fmt.Errorf("unknown outcome")
	}
	if len([]rune(f.Query)) > 200 {
		return f, fmt.Errorf("q is too long")
	}
	for _, d := range []struct {
		key string
		t   *time.Time
		add int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		if v := ctx.Query(d.key); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, c.tokyo)
			if err != nil {
				return f, fmt.Errorf("%s must be a date like 2026-12-01", d.key)
			}
			*d.t = t.AddDate(0, 0, d.add)
		}
	}
	return f, nil
}

// cursors are opaque to clients: base64 of "unix-nanoseconds.id".
func encodeCursor(r storage.ConversationRow) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", r.LastActivityAt.UnixNano(), r.ID)))
}

func decodeCursor(s string) (*storage.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("bad cursor")
	}
	a, b2, ok := strings.Cut(string(b), ".")
	ns, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b2, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, errors.New("bad cursor")
	}
	return &storage.Cursor{At: time.Unix(0, ns).UTC(), ID: id}, nil
}

// list reads one page of conversations and the next page's cursor.
func (c *Console) list(ctx *gin.Context, f storage.ConversationFilter) ([]storage.ConversationRow, string, error) {
	after, err := decodeCursor(ctx.Query("cursor"))
	if err != nil {
		return nil, "", err
	}
	rows, err := c.db.ListConversations(ctx.Request.Context(), f, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		next = encodeCursor(rows[len(rows)-1])
	}
	return rows, next, nil
}

// auditSearch records that someone searched, with the filters used; the
// text searched for is not recorded (it may be a person's details).
func (c *Console) auditSearch(ctx *gin.Context, p Principal, f storage.ConversationFilter, action string) {
	if f.Empty() && action == "conversation.search" {
		return
	}
	var parts []string
	for _, kv := range [][2]string{{"owner", f.Owner}, {"status", f.Status}, {"topic", f.Topic}, {"outcome", f.Outcome},
		{"user", f.UserID}, {"assigned", f.AssignedTo}, {"tag", f.Tag}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if !f.From.IsZero() {
		parts = append(parts, "from="+f.From.In(c.tokyo).Format("2006-01-02"))
	}
	if !f.To.IsZero() {
		parts = append(parts, "to="+f.To.In(c.tokyo).AddDate(0, 0, -1).Format("2006-01-02"))
	}
	if f.Query != "" {
		parts = append(parts, fmt.Sprintf("text(%d chars)", len([]rune(f.Query))))
	}
	c.audit(ctx.Request.Context(), p, action, "", strings.Join(parts, " "))
}

type listData struct {
	Rows                      []storage.ConversationRow
	Next                      string
	F                         storage.ConversationFilter
	From                      string
	To                        string
	Topics                    []string
	Tags                      []string
	Owners                    []string
	Outs                      []string
	CSVURL, JSONLURL, NextURL template.URL // built here: the filters' query string must not be escaped again
	Elapsed                   string
}

func (c *Console) handleList(ctx *gin.Context) {
	u := current(ctx)
	f, err := c.filterFrom(ctx)
	if err != nil {
		c.renderError(ctx, http.StatusBadRequest, "絞り込みの指定が正しくありません。")
		return
	}
	start := time.Now()
	rows, next, err := c.list(ctx, f)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	elapsed := time.Since(start)
	c.auditSearch(ctx, u.Principal, f, "conversation.search")
	topics, _ := c.db.Topics(ctx.Request.Context())
	tags, _ := c.db.AllTags(ctx.Request.Context())
	q := ctx.Request.URL.Query()
	q.Del("cursor")
	qs := q.Encode()
	d := listData{Rows: rows, Next: next, F: f, From: ctx.Query("from"), To: ctx.Query("to"), Topics: topics, Tags: tags,
		Owners: []string{"waiting", "staff", "bot"}, Outs: append(append([]string{}, outcomes...), "none"),
		CSVURL: template.URL("/conversations/export.csv?" + qs), JSONLURL: template.URL("/conversations/export.jsonl?" + qs),
		Elapsed: fmt.Sprintf("%d ms", elapsed.Milliseconds())}
	if next != "" {
		q.Set("cursor", next)
		d.NextURL = template.URL("/conversations?" + q.Encode())
	}
	c.render(ctx, http.StatusOK, "list", view{Title: "会話一覧", Nav: "conversations", Data: d})
}

type queueData struct {
	Waiting, Owned []storage.ConversationRow
	Version        string
	Hours          string
	Open           bool
	NextOpen       time.Time
}

func (c *Console) queueData(ctx *gin.Context) (queueData, error) {
	w, o, err := c.db.Queue(ctx.Request.Context())
	if err != nil {
		return queueData{}, err
	}
	v, err := c.db.QueueVersion(ctx.Request.Context())
	if err != nil {
		return queueData{}, err
	}
	now := c.now()
	h := c.cfg.StaffHours
	return queueData{Waiting: w, Owned: o, Version: v, Hours: h.String(), Open: h.Open(now), NextOpen: h.NextOpen(now)}, nil
}

func (c *Console) handleQueue(ctx *gin.Context) {
	d, err := c.queueData(ctx)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	c.render(ctx, http.StatusOK, "queue", view{Title: "対応待ち", Nav: "queue", Data: d})
}

// handleQueueLive answers the queue page's poll: 204 while nothing
// changed, else the queue's body.
func (c *Console) handleQueueLive(ctx *gin.Context) {
	v, err := c.db.QueueVersion(ctx.Request.Context())
	if err != nil {
		ctx.Status(http.StatusServiceUnavailable)
		return
	}
	if v == ctx.Query("v") {
		ctx.Status(http.StatusNoContent)
		return
	}
	d, err := c.queueData(ctx)
	if err != nil {
		ctx.Status(http.StatusServiceUnavailable)
		return
	}
	c.renderTemplate(ctx, http.StatusOK, "queue", "queue-body", view{Data: d})
}

type transcriptData struct {
	Conv     *storage.ConversationRow
	Messages []storage.TranscriptMessage
	Notes    []storage.Note
	Tags     []string
	Version  string
	Mine     bool // the viewer owns it: they may reply and hand back
	Outcomes []string
	Days     []string // the day heading before each message ("" when the same day)
}

func (c *Console) transcript(ctx *gin.Context, id int64) (transcriptData, error) {
	conv, err := c.db.ConversationByID(ctx.Request.Context(), id)
	if err != nil {
		return transcriptData{}, err
	}
	v, err := c.db.ConversationVersion(ctx.Request.Context(), id)
	if err != nil {
		return transcriptData{}, err
	}
	ms, err := c.db.Transcript(ctx.Request.Context(), id)
	if err != nil {
		return transcriptData{}, err
	}
	notes, err := c.db.Notes(ctx.Request.Context(), id)
	if err != nil {
		return transcriptData{}, err
	}
	tags, err := c.db.Tags(ctx.Request.Context(), id)
	if err != nil {
		return transcriptData{}, err
	}
	u := current(ctx)
	d := transcriptData{Conv: conv, Messages: ms, Notes: notes, Tags: tags, Version: v, Outcomes: outcomes,
		Mine: conv.Status == "open" && conv.Owner == "staff" && conv.AssignedTo == u.Name}
	last := ""
	for _, m := range ms {
		day := m.At.In(c.tokyo).Format("2006-01-02")
		if day != last {
			d.Days = append(d.Days, day)
			last = day
		} else {
			d.Days = append(d.Days, "")
		}
	}
	return d, nil
}

func (c *Console) conversationID(ctx *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		c.renderError(ctx, http.StatusNotFound, "その会話は見つかりません。")
		return 0, false
	}
	return id, true
}

func (c *Console) handleTranscript(ctx *gin.Context) {
	id, ok := c.conversationID(ctx)
	if !ok {
		return
	}
	d, err := c.transcript(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		c.renderError(ctx, http.StatusNotFound, "その会話は見つかりません。削除されたか、保存期間を過ぎた可能性があります。")
		return
	}
	if err != nil {
		c.fail(ctx, err)
		return
	}
	u := current(ctx)
	if ctx.Query("ok") == "" { // not the page after one's own action: that view is the action's
		c.audit(ctx.Request.Context(), u.Principal, "conversation.view", strconv.FormatInt(id, 10), "")
	}
	errMsg := ""
	if by := ctx.Query("taken"); by != "" {
		errMsg = "この会話はすでに " + by + " さんが担当しています。"
	}
	if ctx.Query("err") == "closed" {
		errMsg = "この会話は終了しています。"
	}
	if ctx.Query("err") == "notmine" {
		errMsg = "この会話を担当していないため、送信できませんでした。先に「担当する」を押してください。"
	}
	c.render(ctx, http.StatusOK, "transcript", view{Title: fmt.Sprintf("会話 #%d", id), Nav: "conversations", Error: errMsg, Data: d})
}

// handleTranscriptLive answers the transcript's poll: 204 while nothing
// changed, else the thread and the status panel (swapped out of band, so
// a reply being typed is left alone).
func (c *Console) handleTranscriptLive(ctx *gin.Context) {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil {
		ctx.Status(http.StatusNotFound)
		return
	}
	v, err := c.db.ConversationVersion(ctx.Request.Context(), id)
	if err != nil {
		ctx.Status(http.StatusNotFound)
		return
	}
	if v == ctx.Query("v") {
		ctx.Status(http.StatusNoContent)
		return
	}
	d, err := c.transcript(ctx, id)
	if err != nil {
		ctx.Status(http.StatusServiceUnavailable)
		return
	}
	c.renderTemplate(ctx, http.StatusOK, "transcript", "live", view{Data: d})
}

// act runs a staff action on a conversation from a form and redirects back.
func (c *Console) act(ctx *gin.Context, f func(conv *storage.ConversationRow, u *signedIn) (string, error)) {
	id, ok := c.conversationID(ctx)
	if !ok {
		return
	}
	conv, err := c.db.ConversationByID(ctx.Request.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		c.renderError(ctx, http.StatusNotFound, "その会話は見つかりません。")
		return
	}
	if err != nil {
		c.fail(ctx, err)
		return
	}
	back := fmt.Sprintf("/conversations/%d", id)
	flash, err := f(conv, current(ctx))
	var taken *storage.TakenError
	switch {
	case errors.As(err, &taken):
		ctx.Redirect(http.StatusSeeOther, back+"?taken="+url.QueryEscape(taken.StaffID))
	case errors.Is(err, storage.ErrClosed):
		ctx.Redirect(http.StatusSeeOther, back+"?err=closed")
	case errors.Is(err, errNotMine):
		ctx.Redirect(http.StatusSeeOther, back+"?err=notmine")
	case errors.Is(err, errInvalid):
		c.renderError(ctx, http.StatusUnprocessableEntity, "入力内容が正しくありません。")
	case err != nil:
		c.fail(ctx, err)
	default:
		ctx.Redirect(http.StatusSeeOther, back+"?ok="+flash+"#end")
	}
}

var (
	errNotMine = errors.New("the conversation is not yours")
	errInvalid = errors.New("invalid input")
)

// maxReply is LINE's limit for a text message.
const maxReply = 5000

func (c *Console) takeOver(ctx context.Context, conv *storage.ConversationRow, p Principal) error {
	_, err := c.db.TakeOver(ctx, conv.ID, p.Name) // audited by storage
	return err
}

func (c *Console) reply(ctx context.Context, conv *storage.ConversationRow, p Principal, text string) error {
	text = strings.TrimSpace(text)
	if text == "" || len([]rune(text)) > maxReply {
		return errInvalid
	}
	if conv.Status != "open" {
		return storage.ErrClosed
	}
	if conv.Owner != "staff" || conv.AssignedTo != p.Name {
		return errNotMine
	}
	ev := bot.StaffMessage(conv.UserID, p.Name, text, c.now())
	if err := c.cfg.Submit(ctx, ev); err != nil {
		return err
	}
	c.audit(ctx, p, "conversation.reply", strconv.FormatInt(conv.ID, 10), ev.ID)
	return nil
}

func (c *Console) handBack(ctx context.Context, conv *storage.ConversationRow, p Principal, outcome string) error {
	if outcome != "" && outcomeNames[outcome] == "" || outcome == "none" {
		return errInvalid
	}
	if conv.Status != "open" {
		return storage.ErrClosed
	}
	if conv.Owner != "staff" || conv.AssignedTo != p.Name {
		return errNotMine
	}
	ev := bot.HandBack(conv.UserID, p.Name, outcome, c.now())
	if err := c.cfg.Submit(ctx, ev); err != nil {
		return err
	}
	c.audit(ctx, p, "conversation.handback", strconv.FormatInt(conv.ID, 10), outcome)
	return nil
}

func (c *Console) setOutcome(ctx context.Context, conv *storage.ConversationRow, p Principal, outcome string) error {
	if outcomeNames[outcome] == "" || outcome == "none" {
		return errInvalid
	}
	return c.db.SetOutcome(ctx, conv.ID, outcome, p.Name) // audited by storage
}

// cleanTag trims a tag; tags are short labels.
func cleanTag(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len([]rune(s)) > 32 || strings.ContainsAny(s, "/?#") {
		return "", errInvalid
	}
	return s, nil
}

func (c *Console) handleTakeover(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		return "takeover", c.takeOver(ctx.Request.Context(), conv, u.Principal)
	})
}

func (c *Console) handleReply(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		return "sent", c.reply(ctx.Request.Context(), conv, u.Principal, ctx.PostForm("text"))
	})
}

func (c *Console) handleHandback(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		return "handback", c.handBack(ctx.Request.Context(), conv, u.Principal, ctx.PostForm("outcome"))
	})
}

func (c *Console) handleNote(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		text := strings.TrimSpace(ctx.PostForm("text"))
		if text == "" || len([]rune(text)) > 2000 {
			return "", errInvalid
		}
		_, err := c.db.AddNote(ctx.Request.Context(), conv.ID, u.Name, text)
		return "note", err
	})
}

func (c *Console) handleTag(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		tag, err := cleanTag(ctx.PostForm("tag"))
		if err != nil {
			return "", err
		}
		return "tag", c.db.SetTag(ctx.Request.Context(), conv.ID, tag, true, u.Name)
	})
}

func (c *Console) handleUntag(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		return "tag", c.db.SetTag(ctx.Request.Context(), conv.ID, ctx.PostForm("tag"), false, u.Name)
	})
}

func (c *Console) handleOutcome(ctx *gin.Context) {
	c.act(ctx, func(conv *storage.ConversationRow, u *signedIn) (string, error) {
		return "outcome", c.setOutcome(ctx.Request.Context(), conv, u.Principal, ctx.PostForm("outcome"))
	})
}
