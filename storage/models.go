package storage

import "time"

// Statuses and directions stored in the tables.
const (
	StatusPending = "pending" // inbox: not processed yet; outbox/messages: not delivered yet
	StatusDone    = "done"    // inbox: processed
	StatusFailed  = "failed"  // inbox: given up; outbox/messages: delivery failed
	StatusSent    = "sent"    // outbox/messages: delivered

	ConversationOpen   = "open"
	ConversationClosed = "closed"

	DirectionIn  = "in"
	DirectionOut = "out"
)

// User is a LINE user, or a group or room the bot was added to.
type User struct {
	ID           string     `gorm:"primaryKey"` // LINE user id (or group/room id)
	Kind         string     // user, group, room
	DisplayName  string     // from the LINE profile, best effort
	ProfileAt    *time.Time // when DisplayName was last fetched
	FollowedAt   *time.Time
	UnfollowedAt *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Conversation is one user's conversation from its first logged event
// until it ends (resolved, idle time-out, hand back, unfollow); the next
// event opens a new one. A user has at most one open. While Owner is
// "staff" the bot stays silent.
type Conversation struct {
	ID              int64 `gorm:"primaryKey"`
	UserID          string
	Status          string  // open, closed
	Owner           string  // bot, waiting (for a person), staff (bot.Owner*)
	AssignedStaffID *string // the staff member who owns it
	Outcome         *string // resolved, handed_over, abandoned, not_resolved (bot.Outcome*); nil while open
	EndReason       string  // why it ended: resolved, idle, handback, unfollow (bot.End*); "" while open
	PackID          string  // the pack that started the conversation
	PackVersion     string
	Node            string // current node and topic, for the console's lists
	Topic           string
	HandoffAt       *time.Time // when it started waiting for a person; cleared on hand back
	StartedAt       time.Time
	LastActivityAt  time.Time
	ClosedAt        *time.Time
	// What analytics reads (see migrateInsight).
	ResolvedAt   *time.Time // when the flow first reached a resolution
	Helped       *bool      // the answer to "did it help?"
	Rating       *int       // 1–5
	FeedbackAt   *time.Time // when "did it help?" was asked
	WaitedAt     *time.Time // when it first waited for a person
	TakenAt      *time.Time // when staff first took it over
	Subject      string     // the first topic after the start
	HandoffPath  string     // the nodes before the handover, PathSep between them
	MessageCount int
}

// Message is one logged message: a user's event (in) or one bot bubble (out).
// Text is redacted; for an unsent message it is empty and Unsent is set.
type Message struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64
	Direction      string  // in, out
	Author         string  // user, bot, staff (bot.Author*)
	StaffID        *string // the staff member who wrote it (author staff)
	Type           string  // text, postback, sticker, follow, ... (in); text, template (out)
	Text           string
	Unsent         bool
	UnsentAt       *time.Time
	LineMessageID  string
	WebhookEventID string
	NodeBefore     string
	NodeAfter      string
	TopicBefore    string
	TopicAfter     string
	Intent         string
	Score          float64
	Reason         string
	PackID         string
	PackVersion    string
	OutboxID       *int64
	DeliveryStatus string // out: sent or failed (written once delivery has ended; pending only in rows made before schema version 2)
	Via            string // reply, push
	RetryKey       string
	RequestID      string // x-line-request-id
	Error          string
	At             time.Time // when the user acted (in) or the reply was made (out)
	CreatedAt      time.Time
	SentAt         *time.Time
}

// InboxEvent is a webhook event accepted into the durable inbox. Payload is
// the redacted bot.Event as JSON; once processed, its text is removed (the
// message log keeps the redacted text).
type InboxEvent struct {
	ID             int64 `gorm:"primaryKey"`
	WebhookEventID string
	ChatID         string
	UserID         string
	Type           string
	Payload        string
	Status         string // pending, done, failed
	Attempts       int
	Error          string
	EventAt        time.Time
	AcceptedAt     time.Time
	ProcessedAt    *time.Time
}

// OutboxRow is one turn's messages to deliver (bot.Outgoing).
type OutboxRow struct {
	ID             int64 `gorm:"primaryKey"`
	ChatID         string
	InboxEventID   *int64
	ConversationID *int64 // where its messages are logged (NULL before schema version 2)
	ReplyToken     string // cleared once delivered
	RetryKey       string
	Messages       string // JSON array of LINE message objects
	Log            string // the turn's trace for the log entries written once delivery ends (JSON; "" before schema version 2)
	Status         string // pending, sent, failed
	Attempted      bool
	Via            string
	RequestID      string
	Error          string
	EventAt        time.Time
	CreatedAt      time.Time
	SentAt         *time.Time
}

// TableName is the outbox table.
func (OutboxRow) TableName() string { return "outbox" }

// Session is the dialog state of one chat. Version increases with every
// save (optimistic locking).
type Session struct {
	UserID    string `gorm:"primaryKey"`
	State     string // dialog.State as JSON
	Version   int64
	UpdatedAt time.Time
}

// AuditLog records administrative actions (deletions, handovers): who, what,
// on which subject, when. Never message content.
type AuditLog struct {
	ID        int64 `gorm:"primaryKey"`
	Actor     string
	Action    string
	SubjectID string
	Detail    string
	At        time.Time
}

// TableName is the audit table.
func (AuditLog) TableName() string { return "audit_log" }
