// Package bot is the LINE adapter: the webhook that accepts events into a
// durable inbox, the workers that run them through the dialog engine, and the
// Messaging API client that delivers the replies.
package bot

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Event is one webhook event as accepted into the inbox. Text is already
// redacted: the raw text of a user's message is never stored or logged.
type Event struct {
	ID          string    // webhookEventId (unique; redeliveries carry the same id)
	Type        string    // message, postback, follow, unfollow, unsend, join, ... or the unknown type's name
	SourceType  string    // user, group, room ("" when absent)
	UserID      string    // LINE user id of the sender ("" when absent)
	ChatID      string    // where replies go: the user id, or the group/room id
	MessageType string    // for message events: text, sticker, image, ...
	MessageID   string    // for message events; for unsend, the unsent message's id
	Text        string    // redacted text of a text message
	Data        string    // postback data
	ReplyToken  string    // "" when the event carries none
	Timestamp   time.Time // when the event occurred (not when it was delivered)
	Redelivery  bool
	StaffID     string // staff events: who acted
	// SenderName and SenderIcon, on a staff message, are what LINE shows as
	// speaking instead of the account (the staff member's display name and
	// icon; linemsg.Sender). Empty: the account speaks.
	SenderName string `json:",omitempty"`
	SenderIcon string `json:",omitempty"`
	// MentionsBot marks a group or room message that mentions the bot (LINE's
	// isSelf): the one message there the bot answers, besides joining.
	MentionsBot bool `json:",omitempty"`
}

// Staff events: what staff do to a conversation goes through the inbox and
// the pipeline like the user's events, in order with them.
const (
	EventStaffMessage = "staff_message" // Text goes to the chat by push
	EventHandBack     = "handback"      // the bot takes the conversation back; Data is the outcome ("" handed_over)
)

// EventIdle ends a conversation the bot owns when nobody wrote for the idle
// time-out (Data is the conversation's id); a sweep submits it, so that it
// runs in order with the chat's other events.
const EventIdle = "idle"

// Idle is the event that ends a chat's conversation after its last
// activity at last, should nothing have happened since. Its id names both,
// so that replicas sweeping at once submit it once.
func Idle(chatID string, conversationID int64, last, now time.Time) Event {
	id := strconv.FormatInt(conversationID, 10)
	return Event{ID: "idle-" + id + "-" + strconv.FormatInt(last.UnixMicro(), 10), Type: EventIdle, ChatID: chatID, Data: id, Timestamp: now}
}

// StaffMessage is a staff member's message to a chat, as an event.
func StaffMessage(chatID, staffID, text string, now time.Time) Event {
	return Event{ID: "staff-" + uuid.NewString(), Type: EventStaffMessage, ChatID: chatID, StaffID: staffID, Text: text, Timestamp: now}
}

// HandBack is a staff member handing a chat's conversation back to the bot,
// with the outcome they chose ("" for OutcomeHandedOver), as an event.
func HandBack(chatID, staffID, outcome string, now time.Time) Event {
	return Event{ID: "staff-" + uuid.NewString(), Type: EventHandBack, ChatID: chatID, StaffID: staffID, Data: outcome, Timestamp: now}
}

// Inbox durably accepts events. Accept returns only after the events are
// committed; an event whose ID was accepted before is acknowledged and skipped.
// It reports how many events were new.
type Inbox interface {
	Accept(ctx context.Context, events []Event) (fresh int, err error)
}

// Outgoing is one turn's messages to one chat, as stored in the outbox before
// sending. Messages are LINE message objects exactly as they are sent.
type Outgoing struct {
	ID         int64             // outbox row id
	ChatID     string            // user/group/room id for push
	ReplyToken string            // "" when the event had none: push only
	RetryKey   string            // UUID for X-Line-Retry-Key, fixed when the row is created
	Messages   []json.RawMessage // 1 to 5 LINE message objects
	EventTime  time.Time         // when the triggering event occurred (reply tokens expire)
	Attempted  bool              // a reply was attempted before (e.g. before a crash)
	// Log is where the messages go in the conversation log, which records
	// them once with how their delivery ended (MarkSent, MarkFailed). The
	// store fills it in; nil for a row logged when it was made (before
	// schema version 2), whose log entries are updated instead.
	Log *OutgoingLog
}

// OutgoingLog is what the conversation log keeps about an Outgoing besides
// its messages: the conversation, the event and the turn that made it, and
// who wrote it.
type OutgoingLog struct {
	ConversationID int64
	WebhookEventID string
	Author         string // AuthorBot or AuthorStaff
	StaffID        string
	Trace          LogTrace
	Bubbles        []Bubble  // the messages as the log shows them, one per message
	At             time.Time // when the turn made the reply
}

// Bubble is one message as the log shows it.
type Bubble struct {
	Type string `json:"type"` // text, template
	Text string `json:"text"` // what the user reads
}

// Delivery says how an Outgoing was delivered.
type Delivery struct {
	Via       string // "reply" or "push"
	RequestID string // x-line-request-id (or x-line-accepted-request-id on a 409)
}

// Sender delivers messages through the Messaging API: reply with the token
// when it is still good, otherwise push with the retry key. Errors returned
// are final (retries with backoff are the Sender's job).
type Sender interface {
	Send(ctx context.Context, out Outgoing) (Delivery, error)
	// ShowLoading starts LINE's loading animation in a one-to-one chat.
	ShowLoading(ctx context.Context, userID string, seconds int) error
}
