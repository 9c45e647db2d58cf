package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/storage"
)

// The JSON API under /api/v1, for bearer tokens (README.md documents it).
// Its actions are the console's own (takeOver, reply, handBack, ...).

type apiConversation struct {
	ID             int64      `json:"id"`
	UserID         string     `json:"user_id"`
	Owner          string     `json:"owner"`
	AssignedTo     *string    `json:"assigned_to"`
	Topic          string     `json:"topic"`
	Node           string     `json:"node"`
	StartedAt      time.Time  `json:"started_at"`
	LastActivityAt time.Time  `json:"last_activity_at"`
	Status         string     `json:"status"`
	Outcome        *string    `json:"outcome"`
	WaitingSince   *time.Time `json:"waiting_since"`
}

type apiMessage struct {
	ID             int64     `json:"id"`
	Direction      string    `json:"direction"`
	Author         string    `json:"author"`
	StaffID        *string   `json:"staff_id,omitempty"`
	Type           string    `json:"type"`
	Text           string    `json:"text"`
	At             time.Time `json:"at"`
	DeliveryStatus string    `json:"delivery_status,omitempty"`
	Node           string    `json:"node,omitempty"`
	Topic          string    `json:"topic,omitempty"`
	Intent         string    `json:"intent,omitempty"`
	Score          float64   `json:"score,omitempty"`
}

type apiTranscript struct {
	Conversation apiConversation `json:"conversation"`
	Messages     []apiMessage    `json:"messages"`
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func apiConv(r storage.ConversationRow) apiConversation {
	return apiConversation{ID: r.ID, UserID: r.UserID, Owner: r.Owner, AssignedTo: nonEmpty(r.AssignedTo), Topic: r.Topic,
		Node: r.Node, StartedAt: r.StartedAt, LastActivityAt: r.LastActivityAt, Status: r.Status,
		Outcome: nonEmpty(r.Outcome), WaitingSince: r.HandoffAt}
}

func apiMsg(m storage.Message) apiMessage {
	node, topic := m.NodeAfter, m.TopicAfter
	return apiMessage{ID: m.ID, Direction: m.Direction, Author: m.Author, StaffID: m.StaffID, Type: m.Type, Text: m.Text,
		At: m.At.UTC(), DeliveryStatus: m.DeliveryStatus, Node: node, Topic: topic, Intent: m.Intent, Score: m.Score}
}

func (c *Console) apiList(ctx *gin.Context) {
	f, err := c.filterFrom(ctx)
	if err != nil {
		apiError(ctx, http.StatusBadRequest, err.Error())
		return
	}
	rows, next, err := c.list(ctx, f)
	if err != nil {
		if err.Error() == "bad cursor" {
			apiError(ctx, http.StatusBadRequest, "bad cursor")
			return
		}
		c.apiFail(ctx, err)
		return
	}
	c.auditSearch(ctx, current(ctx).Principal, f, "conversation.search")
	out := make([]apiConversation, len(rows))
	for i, r := range rows {
		out[i] = apiConv(r)
	}
	var nextP *string
	if next != "" {
		nextP = &next
	}
	ctx.JSON(http.StatusOK, gin.H{"conversations": out, "next": nextP})
}

// apiConversationRow reads the :id conversation, answering 404 itself.
func (c *Console) apiConversationRow(ctx *gin.Context) (*storage.ConversationRow, bool) {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		apiError(ctx, http.StatusNotFound, "no such conversation")
		return nil, false
	}
	conv, err := c.db.ConversationByID(ctx.Request.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		apiError(ctx, http.StatusNotFound, "no such conversation")
		return nil, false
	}
	if err != nil {
		c.apiFail(ctx, err)
		return nil, false
	}
	return conv, true
}

func (c *Console) apiConversation(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	ms, err := c.db.Messages(ctx.Request.Context(), conv.ID)
	if err != nil {
		c.apiFail(ctx, err)
		return
	}
	out := apiTranscript{Conversation: apiConv(*conv), Messages: make([]apiMessage, len(ms))}
	for i, m := range ms {
		out.Messages[i] = apiMsg(m)
	}
	c.audit(ctx.Request.Context(), current(ctx).Principal, "conversation.view", itoa(conv.ID), "")
	ctx.JSON(http.StatusOK, out)
}

// apiResult answers an action: the conversation as it is now, or the error.
func (c *Console) apiResult(ctx *gin.Context, conv *storage.ConversationRow, status int, err error) {
	var taken *storage.TakenError
	switch {
	case errors.As(err, &taken):
		ctx.JSON(http.StatusConflict, gin.H{"error": "already taken over by " + taken.StaffID, "assigned_to": taken.StaffID})
	case errors.Is(err, storage.ErrClosed):
		apiError(ctx, http.StatusConflict, "the conversation is closed")
	case errors.Is(err, errNotMine):
		apiError(ctx, http.StatusConflict, "take the conversation over first: it is not assigned to you")
	case errors.Is(err, errInvalid):
		apiError(ctx, http.StatusUnprocessableEntity, "invalid input")
	case errors.Is(err, storage.ErrNotFound):
		apiError(ctx, http.StatusNotFound, "no such conversation")
	case err != nil:
		c.apiFail(ctx, err)
	default:
		now, err := c.db.ConversationByID(ctx.Request.Context(), conv.ID)
		if err != nil {
			c.apiFail(ctx, err)
			return
		}
		ctx.JSON(status, gin.H{"conversation": apiConv(*now)})
	}
}

func (c *Console) apiTakeover(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	c.apiResult(ctx, conv, http.StatusOK, c.takeOver(ctx.Request.Context(), conv, current(ctx).Principal))
}

func (c *Console) apiReply(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	var body struct {
		Text string `json:"text"`
	}
	if err := ctx.ShouldBindJSON(&body); err != nil {
		apiError(ctx, http.StatusBadRequest, `want {"text": "..."}`)
		return
	}
	c.apiResult(ctx, conv, http.StatusAccepted, c.reply(ctx.Request.Context(), conv, current(ctx).Principal, body.Text))
}

func (c *Console) apiHandback(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	var body struct {
		Outcome string `json:"outcome"`
	}
	if ctx.Request.ContentLength != 0 {
		if err := ctx.ShouldBindJSON(&body); err != nil {
			apiError(ctx, http.StatusBadRequest, `want {"outcome": "resolved"} or no body`)
			return
		}
	}
	c.apiResult(ctx, conv, http.StatusOK, c.handBack(ctx.Request.Context(), conv, current(ctx).Principal, body.Outcome))
}

type apiNote struct {
	ID     int64     `json:"id"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

func (c *Console) apiNotes(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	ns, err := c.db.Notes(ctx.Request.Context(), conv.ID)
	if err != nil {
		c.apiFail(ctx, err)
		return
	}
	out := make([]apiNote, len(ns))
	for i, n := range ns {
		out[i] = apiNote{ID: n.ID, Author: n.Author, Text: n.Text, At: n.CreatedAt.UTC()}
	}
	ctx.JSON(http.StatusOK, gin.H{"notes": out})
}

func (c *Console) apiAddNote(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	var body struct {
		Text string `json:"text"`
	}
	if err := ctx.ShouldBindJSON(&body); err != nil || body.Text == "" || len([]rune(body.Text)) > 2000 {
		apiError(ctx, http.StatusBadRequest, `want {"text": "..."} (at most 2,000 characters)`)
		return
	}
	n, err := c.db.AddNote(ctx.Request.Context(), conv.ID, current(ctx).Name, body.Text)
	if err != nil {
		c.apiFail(ctx, err)
		return
	}
	ctx.JSON(http.StatusCreated, gin.H{"note": apiNote{ID: n.ID, Author: n.Author, Text: n.Text, At: n.CreatedAt.UTC()}})
}

func (c *Console) apiTagsOf(ctx *gin.Context, conv *storage.ConversationRow, status int) {
	ts, err := c.db.Tags(ctx.Request.Context(), conv.ID)
	if err != nil {
		c.apiFail(ctx, err)
		return
	}
	if ts == nil {
		ts = []string{}
	}
	ctx.JSON(status, gin.H{"tags": ts})
}

func (c *Console) apiTags(ctx *gin.Context) {
	if conv, ok := c.apiConversationRow(ctx); ok {
		c.apiTagsOf(ctx, conv, http.StatusOK)
	}
}

func (c *Console) apiAddTag(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	var body struct {
		Tag string `json:"tag"`
	}
	_ = ctx.ShouldBindJSON(&body)
	tag, err := cleanTag(body.Tag)
	if err != nil {
		apiError(ctx, http.StatusBadRequest, `want {"tag": "..."} (at most 32 characters, no / ? #)`)
		return
	}
	if err := c.db.SetTag(ctx.Request.Context(), conv.ID, tag, true, current(ctx).Name); err != nil {
		c.apiFail(ctx, err)
		return
	}
	c.apiTagsOf(ctx, conv, http.StatusOK)
}

func (c *Console) apiRemoveTag(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	if err := c.db.SetTag(ctx.Request.Context(), conv.ID, ctx.Param("tag"), false, current(ctx).Name); err != nil {
		c.apiFail(ctx, err)
		return
	}
	c.apiTagsOf(ctx, conv, http.StatusOK)
}

func (c *Console) apiSetOutcome(ctx *gin.Context) {
	conv, ok := c.apiConversationRow(ctx)
	if !ok {
		return
	}
	var body struct {
		Outcome string `json:"outcome"`
	}
	_ = ctx.ShouldBindJSON(&body)
	c.apiResult(ctx, conv, http.StatusOK, c.setOutcome(ctx.Request.Context(), conv, current(ctx).Principal, body.Outcome))
}

// apiAudit lists the audit log, newest first, 100 at a time (?before=ID).
func (c *Console) apiAudit(ctx *gin.Context) {
	before, _ := strconv.ParseInt(ctx.Query("before"), 10, 64)
	es, err := c.db.AuditEntries(ctx.Request.Context(), before, auditPage)
	if err != nil {
		c.apiFail(ctx, err)
		return
	}
	type entry struct {
		ID      int64     `json:"id"`
		Actor   string    `json:"actor"`
		Action  string    `json:"action"`
		Subject string    `json:"subject"`
		Detail  string    `json:"detail"`
		At      time.Time `json:"at"`
	}
	out := make([]entry, len(es))
	for i, e := range es {
		out[i] = entry{ID: e.ID, Actor: e.Actor, Action: e.Action, Subject: e.SubjectID, Detail: e.Detail, At: e.At.UTC()}
	}
	var next *int64
	if len(es) == auditPage {
		next = &es[len(es)-1].ID
	}
	ctx.JSON(http.StatusOK, gin.H{"entries": out, "next_before": next})
}

func (c *Console) apiFail(ctx *gin.Context, err error) {
	c.log.Error("api request failed", "path", ctx.FullPath(), "error", err)
	apiError(ctx, http.StatusInternalServerError, "internal error")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
