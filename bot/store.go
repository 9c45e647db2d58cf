package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/todoku/todoku/dialog"
)

// Conversation owners: while staff own a conversation the bot stays silent.
const (
	OwnerBot   = "bot"
	OwnerStaff = "staff"
)

// ErrNotPending is returned by Store.RunTurn when the inbox event was already
// processed (by another worker or replica) or given up on.
var ErrNotPending = errors.New("bot: inbox event is no longer pending")

// InboxItem is an accepted event waiting in the inbox.
type InboxItem struct {
	Seq        int64 // inbox row id
	Event      Event
	AcceptedAt time.Time
	Attempts   int // failed processing attempts so far
}

// ConversationRef is the open conversation a turn belongs to.
type ConversationRef struct {
	ID    int64
	Owner string // OwnerBot or OwnerStaff
}

// TurnContext is what the pipeline sees inside a turn's transaction.
type TurnContext struct {
	Item         InboxItem
	Conversation *ConversationRef // the chat's open conversation; nil when none is open
	State        dialog.State     // the chat's session state (zero for a new chat)
}

// TurnPlan is what the pipeline decided for one event. The store applies it
// atomically together with marking the inbox event done.
type TurnPlan struct {
	// Log writes the event to the conversation log as an inbound message,
	// opening a conversation when none is open.
	Log    bool
	InType string // text, postback, sticker, follow, unfollow, ...
	InText string // redacted text, or the postback data
	Reason string // for the log when the engine was not called ("staff", "ignored", ...)

	// Result is the engine's step; nil when the engine was not called. Its
	// State is saved as the chat's session and its Trace goes into the log.
	Result      *dialog.Result
	PackID      string
	PackVersion string

	// Messages are the rendered replies (LINE message objects); empty means
	// nothing is sent. They go into the outbox in the same transaction.
	Messages []json.RawMessage

	Follow          bool   // the user (re)added the account
	Unfollow        bool   // the user blocked the account: close the conversation
	UnsendMessageID string // the user unsent this message: hide its text
}

// Store is what the pipeline needs from the database (storage.DB implements
// it for SQLite and Postgres).
type Store interface {
	Inbox

	// LockChat serialises processing of one chat: across goroutines, and on
	// Postgres across processes. unlock must be called exactly once.
	LockChat(ctx context.Context, chatID string) (unlock func(), err error)
	// PendingChats lists chats with inbox events accepted, or outbox rows
	// created, before the given time that are still pending.
	PendingChats(ctx context.Context, before time.Time, limit int) ([]string, error)
	// PendingEvents returns a chat's pending inbox events in the order they
	// must be processed (event time, then acceptance order).
	PendingEvents(ctx context.Context, chatID string, limit int) ([]InboxItem, error)
	// RunTurn runs plan in one transaction with the chat's session and open
	// conversation loaded, applies the returned plan, marks the inbox event
	// done, and returns the outbox row to deliver (nil when nothing is sent).
	// It returns ErrNotPending when the event was no longer pending.
	RunTurn(ctx context.Context, item InboxItem, now time.Time, plan func(TurnContext) (TurnPlan, error)) (*Outgoing, error)
	// FailEvent records a failed attempt; after maxAttempts the event is
	// marked failed and skipped from then on. It reports whether it was.
	FailEvent(ctx context.Context, seq int64, reason string, maxAttempts int, now time.Time) (failed bool, err error)

	// Undelivered returns a chat's outbox rows not yet sent or failed, oldest first.
	Undelivered(ctx context.Context, chatID string) ([]Outgoing, error)
	// MarkAttempted records that delivery of an outbox row is about to start.
	MarkAttempted(ctx context.Context, id int64) error
	// MarkSent and MarkFailed record the outcome of a delivery on the outbox
	// row, and log its messages with it.
	MarkSent(ctx context.Context, out Outgoing, d Delivery, now time.Time) error
	MarkFailed(ctx context.Context, out Outgoing, reason string, now time.Time) error

	// Backlog counts pending inbox events.
	Backlog(ctx context.Context) (int, error)
}

// ChatNext is what LockChatsNext found for one chat it locked.
type ChatNext struct {
	Event       *InboxItem // the chat's first pending event; nil when none is pending
	More        bool       // more events are pending after it
	Undelivered bool       // outbox rows wait for delivery (left by a crash or a failed bookkeeping write)
}

// TurnOutcome is one event's result in RunTurns.
type TurnOutcome struct {
	Out *Outgoing // the outbox row to deliver; nil when nothing is sent
	// Err is ErrNotPending, or the error plan returned for this event
	// (nothing of the event was written; it stays pending).
	Err error
}

// DeliveryOutcome is how sending one outbox row ended, for FinishDeliveries.
type DeliveryOutcome struct {
	Out      Outgoing
	Delivery Delivery
	Failure  string // non-empty: the send failed for good (no message content in it)
}

// batchStore is a Store that runs the next event of several chats
// together (storage.DB): one round trip locks the chats and reads their
// work, one transaction holds all their turns, and one records all their
// deliveries, instead of one of each per event.
type batchStore interface {
	// LockChatsNext locks those of chatIDs it can without waiting (a chat
	// another process holds is left out) and reports, for each chat it
	// locked, its first pending event. unlock releases them all.
	LockChatsNext(ctx context.Context, chatIDs []string) (unlock func(), next map[string]ChatNext, err error)
	// RunTurns is RunTurn for several events of different chats, in one
	// transaction: outcomes[i] belongs to items[i]. An event whose plan
	// fails is left out (it stays pending); any other error rolls back all
	// of them. Outbox rows with a reply token are stored as attempted
	// (TurnMarksAttempted).
	RunTurns(ctx context.Context, items []InboxItem, now time.Time, plan func(TurnContext) (TurnPlan, error)) ([]TurnOutcome, error)
	// FinishDeliveries is MarkSent or MarkFailed for several rows, atomically.
	FinishDeliveries(ctx context.Context, done []DeliveryOutcome, now time.Time) error
}
