package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/redact"
)

// errSessionConflict means the session changed under the turn (optimistic
// locking). With LockChat held it cannot happen; RunTurn retries once anyway.
var errSessionConflict = errors.New("storage: session was changed concurrently")

// RunTurn implements bot.Store: in one transaction it loads the chat's open
// conversation and session, calls plan, and applies the plan: user and
// conversation rows, the inbound and outbound messages, the session, the
// outbox row, and the inbox event marked done.
func (db *DB) RunTurn(ctx context.Context, item bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	now = now.UTC()
	var out *bot.Outgoing
	var err error
	for range 2 {
		out, err = db.runTurn(ctx, item, now, plan)
		if !errors.Is(err, errSessionConflict) {
			break
		}
	}
	if err != nil && !errors.Is(err, bot.ErrNotPending) {
		return nil, fmt.Errorf("storage: run turn: %w", err)
	}
	return out, err
}

func (db *DB) runTurn(ctx context.Context, item bot.InboxItem, now time.Time, plan func(bot.TurnContext) (bot.TurnPlan, error)) (*bot.Outgoing, error) {
	var out *bot.Outgoing
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var inbox InboxEvent
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&inbox, item.Seq).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return bot.ErrNotPending
			}
			return err
		}
		if inbox.Status != StatusPending {
			return bot.ErrNotPending
		}
		ev := item.Event
		chat := ev.ChatID

		tc := bot.TurnContext{Item: item}
		var conv *Conversation
		var sess *Session
		if chat != "" {
			var c Conversation
			err := tx.Where("user_id = ? AND status = ?", chat, ConversationOpen).Order("id DESC").Limit(1).Find(&c).Error
			if err != nil {
				return err
			}
			if c.ID != 0 {
				conv = &c
				tc.Conversation = &bot.ConversationRef{ID: c.ID, Owner: c.Owner}
			}
			var s Session
			if err := tx.Where("user_id = ?", chat).Limit(1).Find(&s).Error; err != nil {
				return err
			}
			if s.UserID != "" {
				sess = &s
				if err := json.Unmarshal([]byte(s.State), &tc.State); err != nil {
					return fmt.Errorf("session of chat: %w", err)
				}
			}
		}

		p, err := plan(tc)
		if err != nil {
			return err
		}

		if chat != "" && (p.Log || p.Follow || p.Unfollow || p.Result != nil || len(p.Messages) > 0) {
			if err := upsertUser(tx, ev, now, p); err != nil {
				return err
			}
			needConv := p.Log || len(p.Messages) > 0
			if conv == nil && needConv && !p.Unfollow {
				conv = &Conversation{
					UserID:         chat,
					Status:         ConversationOpen,
					Owner:          bot.OwnerBot,
					PackID:         p.PackID,
					PackVersion:    p.PackVersion,
					StartedAt:      now,
					LastActivityAt: now,
				}
				if err := tx.Create(conv).Error; err != nil {
					return err
				}
			}
		}

		var trace dialog.Trace
		if p.Result != nil {
			trace = p.Result.Trace
		}
		reason := p.Reason
		if reason == "" {
			reason = trace.Reason
		}
		if conv != nil && p.Log {
			in := Message{
				ConversationID: conv.ID,
				Direction:      DirectionIn,
				Type:           p.InType,
				Text:           redact.Text(p.InText),
				LineMessageID:  ev.MessageID,
				WebhookEventID: ev.ID,
				NodeBefore:     tc.State.Node,
				NodeAfter:      tc.State.Node,
				Reason:         reason,
				PackID:         p.PackID,
				PackVersion:    p.PackVersion,
				At:             ev.Timestamp.UTC(),
				CreatedAt:      now,
			}
			if p.Result != nil {
				in.NodeBefore, in.NodeAfter = trace.FromNode, trace.ToNode
				in.TopicBefore, in.TopicAfter = trace.FromTopic, trace.ToTopic
				in.Intent, in.Score = trace.Intent, trace.Score
			}
			if err := tx.Create(&in).Error; err != nil {
				return err
			}
		}

		if p.Result != nil && chat != "" {
			if err := saveSession(tx, chat, sess, p.Result.State, now); err != nil {
				return err
			}
		}

		if len(p.Messages) > 0 && conv != nil {
			o, err := insertOutbox(tx, inbox.ID, ev, conv.ID, p, trace, now)
			if err != nil {
				return err
			}
			out = o
		}

		if conv != nil {
			updates := map[string]any{"last_activity_at": now}
			if p.Result != nil {
				updates["node"], updates["topic"] = trace.ToNode, trace.ToTopic
				if trace.Handoff && conv.HandoffAt == nil {
					updates["handoff_at"] = now
				}
			}
			if p.Unfollow {
				updates["status"], updates["closed_at"] = ConversationClosed, now
			}
			if err := tx.Model(&Conversation{}).Where("id = ?", conv.ID).Updates(updates).Error; err != nil {
				return err
			}
		}

		if p.UnsendMessageID != "" {
			if err := tx.Model(&Message{}).
				Where("line_message_id = ? AND conversation_id IN (SELECT id FROM conversations WHERE user_id = ?)", p.UnsendMessageID, chat).
				Updates(map[string]any{"unsent": true, "unsent_at": now, "text": ""}).Error; err != nil {
				return err
			}
		}

		// Done: the payload keeps the event's metadata but no longer its
		// text or reply token (the log and the outbox have what they need).
		ev.Text, ev.ReplyToken = "", ""
		payload, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		return tx.Model(&InboxEvent{}).Where("id = ?", inbox.ID).Updates(map[string]any{
			"status": StatusDone, "processed_at": now, "payload": string(payload), "error": "",
		}).Error
	})
	return out, err
}

func upsertUser(tx *gorm.DB, ev bot.Event, now time.Time, p bot.TurnPlan) error {
	kind := ev.SourceType
	if kind == "" {
		kind = "user"
	}
	u := User{ID: ev.ChatID, Kind: kind, CreatedAt: now, UpdatedAt: now}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&u).Error; err != nil {
		return err
	}
	switch {
	case p.Follow:
		return tx.Model(&User{}).Where("id = ?", ev.ChatID).
			Updates(map[string]any{"followed_at": now, "unfollowed_at": nil, "updated_at": now}).Error
	case p.Unfollow:
		return tx.Model(&User{}).Where("id = ?", ev.ChatID).
			Updates(map[string]any{"unfollowed_at": now, "updated_at": now}).Error
	}
	return nil
}

func saveSession(tx *gorm.DB, chat string, old *Session, st dialog.State, now time.Time) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if old == nil {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&Session{UserID: chat, State: string(b), Version: 1, UpdatedAt: now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errSessionConflict
		}
		return nil
	}
	res := tx.Model(&Session{}).Where("user_id = ? AND version = ?", chat, old.Version).
		Updates(map[string]any{"state": string(b), "version": old.Version + 1, "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return errSessionConflict
	}
	return nil
}

func insertOutbox(tx *gorm.DB, inboxID int64, ev bot.Event, convID int64, p bot.TurnPlan, trace dialog.Trace, now time.Time) (*bot.Outgoing, error) {
	msgs, err := json.Marshal(p.Messages)
	if err != nil {
		return nil, err
	}
	row := OutboxRow{
		ChatID:       ev.ChatID,
		InboxEventID: &inboxID,
		ReplyToken:   ev.ReplyToken,
		RetryKey:     uuid.NewString(),
		Messages:     string(msgs),
		Status:       StatusPending,
		EventAt:      ev.Timestamp.UTC(),
		CreatedAt:    now,
	}
	if err := tx.Create(&row).Error; err != nil {
		return nil, err
	}
	for _, raw := range p.Messages {
		typ, text := messageText(raw)
		m := Message{
			ConversationID: convID,
			Direction:      DirectionOut,
			Type:           typ,
			Text:           text,
			WebhookEventID: ev.ID,
			NodeBefore:     trace.FromNode,
			NodeAfter:      trace.ToNode,
			TopicBefore:    trace.FromTopic,
			TopicAfter:     trace.ToTopic,
			Reason:         trace.Reason,
			PackID:         p.PackID,
			PackVersion:    p.PackVersion,
			OutboxID:       &row.ID,
			DeliveryStatus: StatusPending,
			RetryKey:       row.RetryKey,
			At:             now,
			CreatedAt:      now,
		}
		if err := tx.Create(&m).Error; err != nil {
			return nil, err
		}
	}
	return &bot.Outgoing{
		ID:         row.ID,
		ChatID:     row.ChatID,
		ReplyToken: row.ReplyToken,
		RetryKey:   row.RetryKey,
		Messages:   p.Messages,
		EventTime:  row.EventAt,
	}, nil
}

// messageText extracts the type and the human-readable text of a LINE
// message object for the log: the text of a text message, the body (or alt
// text) of a template.
func messageText(raw json.RawMessage) (typ, text string) {
	var m struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		AltText  string `json:"altText"`
		Template struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "unknown", ""
	}
	switch {
	case m.Text != "":
		return m.Type, m.Text
	case m.Template.Text != "":
		if m.Template.Title != "" {
			return m.Type, m.Template.Title + "\n" + m.Template.Text
		}
		return m.Type, m.Template.Text
	}
	return m.Type, m.AltText
}
