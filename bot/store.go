package bot

import (
	"context"
	"encoding/json"
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

// Outcomes of a conversation. A turn records the verdict so far while the
// conversation is open (resolved, or not_resolved when the user said it did
// not help); when it ends, the verdict is its outcome (staff may set one too).
const (
	OutcomeResolved    = "resolved"
	OutcomeHandedOver  = "handed_over"
	OutcomeAbandoned   = "abandoned"
	OutcomeNotResolved = "not_resolved"
)

// Why a conversation ended.
const (
	EndResolved = "resolved" // the dialog reached a resolved node
	EndIdle     = "idle"     // no message for the idle time-out
	EndHandBack = "handback" // staff handed it back to the bot
	EndUnfollow = "unfollow" // the user blocked the account
)

// Authors of logged messages; a staff member's messages also name them.
const (
	AuthorUser  = "user"
	AuthorBot   = "bot"
	AuthorStaff = "staff"
)

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
	Verdict        string // the outcome so far ("" none): what it ends with when it idles
	Asked          bool   // the user was asked whether it helped
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
	// Progress is what the turn learned about how the conversation goes.
	Progress *Progress

	Follow          bool   // the user (re)added the account
	Unfollow        bool   // the user blocked the account
	UnsendMessageID string // the user unsent this message: hide its text
}

// Ending is how a conversation ends.
type Ending struct {
	Outcome string // Outcome*
	Reason  string // End*
}

// Progress is what a turn learned about how its conversation goes, kept
// with the conversation for analytics. Zero fields change nothing.
type Progress struct {
	Verdict  string // the outcome so far (OutcomeResolved, OutcomeNotResolved)
	Resolved bool   // the flow reached a resolution (the first one's time is kept)
	Subject  string // what the conversation is about: kept if it has none yet
	Asked    bool   // the turn asked whether it helped
	Helped   *bool  // the user's answer to that
	Rating   int    // 1–5, the user's rating
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
	// Path is the nodes that led to a handover, oldest first (kept from
	// the conversation's first handover).
	Path []string
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
	Bubbles  []Bubble          // the same as the log shows them
	Author   string            // AuthorBot or AuthorStaff
	StaffID  string
	Trace    LogTrace
}

// PlanFunc decides a turn (Processor.plan): it runs inside the turn's
// transaction and must do no I/O.
type PlanFunc func(TurnContext) (TurnPlan, error)

// Store is what the pipeline needs from the database (storage.DB implements
// it for SQLite and Postgres).
type Store interface {
	Inbox

	// Claim locks chats and runs their next turns. It takes the locks of
	// those of chatIDs it can without waiting (another process may hold
	// some), or with wait the lock of the one chat given, waiting for it.
	// For each chat it locked it reads the outbox rows still to deliver and,
	// when there are none, runs the turn of the chat's first pending event
	// with plan: all the turns in one transaction that also marks the
	// events done. An event whose plan fails is left pending. The caller
	// delivers what the claim holds, then calls its Finish exactly once.
	Claim(ctx context.Context, chatIDs []string, wait bool, now time.Time, plan PlanFunc) (*Claim, error)
	// FailEvent records a failed attempt; after maxAttempts the event is
	// marked failed and skipped from then on. It reports whether it was.
	FailEvent(ctx context.Context, seq int64, reason string, maxAttempts int, now time.Time) (failed bool, err error)
	// PendingChats lists chats with inbox events accepted, or outbox rows
	// created, before the given time that are still pending.
	PendingChats(ctx context.Context, before time.Time, limit int) ([]string, error)
	// Backlog counts pending inbox events.
	Backlog(ctx context.Context) (int, error)
	// SetDisplayName stores a user's display name from their LINE profile.
	SetDisplayName(ctx context.Context, userID, name string, at time.Time) error
}

// Claim is a set of chats Store.Claim locked, with what their turns did.
type Claim struct {
	// Chats holds each locked chat's work.
	Chats map[string]*ChatTurn
	// Finish records how the deliveries ended (the outbox rows, and their
	// messages in the log) in one transaction, and releases the chats.
	Finish func(ctx context.Context, done []DeliveryOutcome, now time.Time) error
}

// ChatTurn is one claimed chat's work.
type ChatTurn struct {
	// Undelivered are outbox rows a crash or a failed record left, oldest
	// first: they go out before the chat's next turn, which did not run.
	Undelivered []Outgoing
	Item        *InboxItem // the event whose turn ran; nil when none did
	Plan        TurnPlan   // what the turn decided
	Out         *Outgoing  // the reply to deliver; nil when nothing is sent
	Err         error      // the plan failed: nothing of the event was written
	More        bool       // more events are pending after Item
}

// DeliveryOutcome is how sending one outbox row ended.
type DeliveryOutcome struct {
	Out      Outgoing
	Delivery Delivery
	Failure  string // non-empty: the send failed for good (no message content in it)
}
