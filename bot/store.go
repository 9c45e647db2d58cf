package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/todoku/todoku/dialog"
)

// Conversation owners. The bot answers while it owns a conversation or the
// conversation waits for a person; while staff own it the bot is silent.
const (
	OwnerBot     = "bot"
	OwnerWaiting = "waiting" // the user asked for a person, or the bot gave up
	OwnerStaff   = "staff"   // a staff member (ConversationRef.StaffID) has it
)

// Outcomes of a conversation, stored when it ends (staff may set them too).
const (
	OutcomeResolved    = "resolved"
	OutcomeHandedOver  = "handed_over"
	OutcomeAbandoned   = "abandoned"
	OutcomeNotResolved = "not_resolved"
)

// Why a conversation ended.
const (
	EndResolved = "resolved" // the dialog reached a resolved node
	EndIdle     = "idle"     // the user came back after the idle time-out
	EndHandBack = "handback" // staff handed it back to the bot
	EndUnfollow = "unfollow" // the user blocked the account
)

// Authors of logged messages; a staff member's messages also name them.
const (
	AuthorUser  = "user"
	AuthorBot   = "bot"
	AuthorStaff = "staff"
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

// ConversationRef is the chat's open conversation as a turn reads it.
type ConversationRef struct {
	ID             int64
	Owner          string // OwnerBot, OwnerWaiting or OwnerStaff
	StaffID        string // the staff member who owns it
	LastActivityAt time.Time
}

// TurnContext is what the pipeline sees inside a turn's transaction.
type TurnContext struct {
	Item         InboxItem
	Conversation *ConversationRef // the chat's open conversation; nil when none is open
	State        dialog.State     // the chat's session state (zero for a new chat)
	Now          time.Time        // the turn's time, as stored
}

// TurnPlan is what the pipeline decided for one event, as commands the
// store carries out in one transaction with marking the event done, in
// this order, deciding nothing itself.
type TurnPlan struct {
	// Close ends the chat's open conversation before anything is logged.
	Close *Ending
	// Open starts a conversation (the chat has none open, or Close ended it).
	Open *Opening
	// In logs the event as the user's message in the conversation.
	In *Inbound
	// State is the session to save; nil leaves it as it was.
	State *dialog.State
	// Reply goes into the outbox for delivery; its messages are logged once
	// the delivery has ended, with its outcome.
	Reply *Reply
	// Position is where the dialog is now, for the console's lists.
	Position *Position
	// Owner changes who owns the conversation.
	Owner *OwnerChange
	// Finish ends the conversation after this turn.
	Finish *Ending

	Follow          bool   // the user (re)added the account
	Unfollow        bool   // the user blocked the account
	UnsendMessageID string // the user unsent this message: hide its text
}

// Ending is how a conversation ends.
type Ending struct {
	Outcome string // Outcome*
	Reason  string // End*
}

// Opening is a new conversation.
type Opening struct {
	Owner       string // OwnerBot, or OwnerStaff when staff write first
	StaffID     string
	PackID      string
	PackVersion string
}

// OwnerChange is a conversation's new owner and handoff time.
type OwnerChange struct {
	Owner     string
	StaffID   string     // "" clears the assignment
	HandoffAt *time.Time // nil clears it
}

// Position is the dialog's node and topic.
type Position struct{ Node, Topic string }

// LogTrace is what the log records of the turn with each of its messages.
type LogTrace struct {
	NodeBefore, NodeAfter   string
	TopicBefore, TopicAfter string
	Intent                  string
	Score                   float64
	Reason                  string
	PackID, PackVersion     string
}

// Inbound is the event as the log records it (its ids and time come from
// the event).
type Inbound struct {
	Type  string // text, postback, sticker, follow, unfollow, ...
	Text  string // redacted text, or the postback data
	Trace LogTrace
}

// Reply is a turn's messages to the chat.
type Reply struct {
	Messages []json.RawMessage // LINE message objects, sent as they are
	Author   string            // AuthorBot or AuthorStaff
	StaffID  string
	Trace    LogTrace
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
