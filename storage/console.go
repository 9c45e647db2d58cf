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

// SetOwner hands a conversation to staff (owner "staff", with the staff
// member's id) or back to the bot (owner "bot"), and records who did it.
func (db *DB) SetOwner(ctx context.Context, conversationID int64, owner, staffID, actor string) error {
	if owner != bot.OwnerBot && owner != bot.OwnerStaff {
		return fmt.Errorf("storage: unknown owner %q", owner)
	}
	var assigned *string
	if owner == bot.OwnerStaff && staffID != "" {
		assigned = &staffID
	}
	now := db.now()
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Conversation{}).Where("id = ?", conversationID).
			Updates(map[string]any{"owner": owner, "assigned_staff_id": assigned})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Create(&AuditLog{Actor: actor, Action: "conversation.owner." + owner, SubjectID: fmt.Sprint(conversationID), At: now}).Error
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: set owner: %w", err)
	}
	return err
}
