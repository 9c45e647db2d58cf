package storage

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/todoku/todoku/bot"
)

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("storage: not found")

// User returns one user (or group/room) by LINE id.
func (db *DB) User(ctx context.Context, id string) (*User, error) {
	var u User
	if err := db.gorm.WithContext(ctx).First(&u, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("storage: user: %w", err)
	}
	return &u, nil
}

// Conversations returns a user's conversations, newest first.
func (db *DB) Conversations(ctx context.Context, userID string) ([]Conversation, error) {
	var cs []Conversation
	if err := db.gorm.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("storage: conversations: %w", err)
	}
	return cs, nil
}

// Messages returns a conversation's messages in the order they were logged.
func (db *DB) Messages(ctx context.Context, conversationID int64) ([]Message, error) {
	var ms []Message
	if err := db.gorm.WithContext(ctx).Where("conversation_id = ?", conversationID).Order("id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("storage: messages: %w", err)
	}
	return ms, nil
}

// ErrClosed is returned for a conversation that has ended.
var ErrClosed = errors.New("storage: conversation is closed")

// TakenError says that another staff member owns the conversation.
type TakenError struct{ StaffID string }

func (e *TakenError) Error() string {
	return "storage: conversation is owned by staff member " + e.StaffID
}

// Audit actions of staff on conversations.
const (
	AuditTakeOver = "conversation.takeover"
	AuditOutcome  = "conversation.outcome"
)

// TakeOver makes staffID the owner of an open conversation (from bot or
// waiting; again for its owner is a no-op). It is one conditional UPDATE,
// so of two staff members taking over at once one wins and the other gets
// a *TakenError naming the winner. It returns the conversation as it is
// afterwards, and records who took it over.
func (db *DB) TakeOver(ctx context.Context, conversationID int64, staffID string) (Conversation, error) {
	if staffID == "" {
		return Conversation{}, errors.New("storage: take over: empty staff id")
	}
	var c Conversation
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Conversation{}).
			Where("id = ? AND status = ? AND (owner <> ? OR assigned_staff_id = ?)", conversationID, ConversationOpen, bot.OwnerStaff, staffID).
			Updates(map[string]any{"owner": bot.OwnerStaff, "assigned_staff_id": staffID, "taken_at": gorm.Expr("COALESCE(taken_at, ?)", db.now())})
		if res.Error != nil {
			return res.Error
		}
		if err := tx.First(&c, conversationID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if res.RowsAffected == 0 {
			if c.Status != ConversationOpen {
				return ErrClosed
			}
			holder := ""
			if c.AssignedStaffID != nil {
				holder = *c.AssignedStaffID
			}
			return &TakenError{StaffID: holder}
		}
		return tx.Create(&AuditLog{Actor: staffID, Action: AuditTakeOver, SubjectID: fmt.Sprint(conversationID), At: db.now()}).Error
	})
	var taken *TakenError
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrClosed) && !errors.As(err, &taken) {
		return Conversation{}, fmt.Errorf("storage: take over: %w", err)
	}
	return c, err
}

// SetOutcome records staff's verdict on a conversation, open or closed
// (bot.Outcome*), and who gave it.
func (db *DB) SetOutcome(ctx context.Context, conversationID int64, outcome, actor string) error {
	switch outcome {
	case bot.OutcomeResolved, bot.OutcomeHandedOver, bot.OutcomeAbandoned, bot.OutcomeNotResolved:
	default:
		return fmt.Errorf("storage: unknown outcome %q", outcome)
	}
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Conversation{}).Where("id = ?", conversationID).Update("outcome", outcome)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Create(&AuditLog{Actor: actor, Action: AuditOutcome, SubjectID: fmt.Sprint(conversationID), Detail: outcome, At: db.now()}).Error
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: set outcome: %w", err)
	}
	return err
}
