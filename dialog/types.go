// Package dialog is the conversation state machine. It is pure: given a
// session state, one input and a knowledge pack, it returns the new state,
// the replies and a trace. No LINE, HTTP, SQL or clock in here; the caller
// passes the time in with the input.
package dialog

import "time"

// InputKind says what the user did.
type InputKind string

const (
	InputText     InputKind = "text"     // typed a message
	InputPostback InputKind = "postback" // tapped a button (Data set)
	InputFollow   InputKind = "follow"   // added the account as a friend or unblocked it
	InputNonText  InputKind = "non_text" // sticker, image, video, audio, file, location
	InputGroup    InputKind = "group"    // wrote in a group or room chat
)

// Input is one thing the user did, already redacted by the caller (codes,
// passwords, emails and phone numbers appear as [code], [password], masks).
type Input struct {
	Kind InputKind
	Text string    // InputText
	Data string    // InputPostback: the button's postback data
	Type string    // InputNonText: "sticker", "image", ...
	Time time.Time // when the user acted (the LINE event timestamp)
	// Staff is when a person will answer, as the caller knows it (the
	// console's staff hours); the zero value means unknown.
	Staff Staff
}

// Staff says when staff answer. The engine only words it (in the pack's
// time zone); it reads no clock or schedule itself.
type Staff struct {
	OnDuty bool      // staff are working now
	Next   time.Time // when staff next come on duty; zero when on duty or unknown
}

// State is everything the engine remembers about one conversation. It
// serialises to JSON and is stored per user.
type State struct {
	Node    string            `json:"node,omitempty"`    // current node; "" for a new conversation
	History []string          `json:"history,omitempty"` // previous nodes, newest last, bounded (for 戻る)
	Slots   map[string]string `json:"slots,omitempty"`   // method, has_access, ...
	Misses  int               `json:"misses,omitempty"`  // consecutive turns not understood
	Paused  bool              `json:"paused,omitempty"`  // asked "continue or start over?" after idling
	// Waiting: the user asked for a person; follow-ups get a short
	// acknowledgement, not the handoff message again. The caller clears it
	// when staff hand the conversation back (see HandBack).
	Waiting bool `json:"waiting,omitempty"`
	// Pending is the node a confirmation question asked about
	// (「〜のことでしょうか？」), waiting for はい or いいえ.
	Pending  string    `json:"pending,omitempty"`
	LastSeen time.Time `json:"last_seen"` // time of the last input
	// PackID and PackVersion name the pack that produced this state.
	PackID      string `json:"pack_id,omitempty"`
	PackVersion string `json:"pack_version,omitempty"`
}

// Reply is one bubble to send, independent of LINE's wire format.
type Reply struct {
	Text         string       `json:"text"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"` // only on the last reply of a turn
	Buttons      *Buttons     `json:"buttons,omitempty"`       // send as a buttons template instead of plain text
	Card         *Card        `json:"card,omitempty"`          // send as a card (Flex message); Text is its alternative text
}

// QuickReply is a button under the last bubble. Exactly one of Data (a
// postback) or URI (a link) is set; DisplayText is what the chat shows as the
// user's message when tapped.
type QuickReply struct {
	Label       string `json:"label"`
	Data        string `json:"data,omitempty"`
	DisplayText string `json:"display_text,omitempty"`
	URI         string `json:"uri,omitempty"`
}

// Buttons is a template bubble with a title and up to 4 actions.
type Buttons struct {
	Title   string       `json:"title,omitempty"`
	AltText string       `json:"alt_text"`
	Actions []QuickReply `json:"actions"`
}

// Card is a bubble drawn as a card: a title, rows of a mark and a text (steps,
// a timeline), and up to 4 buttons.
type Card struct {
	Title   string       `json:"title"`
	Rows    []CardRow    `json:"rows"`
	Actions []QuickReply `json:"actions,omitempty"`
}

// CardRow is one line of a card.
type CardRow struct {
	Mark string `json:"mark,omitempty"`
	Text string `json:"text"`
}

// Trace explains a turn for the log and for analytics.
type Trace struct {
	Reason    string   `json:"reason"` // see the Reason* constants
	Intent    string   `json:"intent,omitempty"`
	Score     float64  `json:"score,omitempty"`
	FromNode  string   `json:"from_node,omitempty"`
	ToNode    string   `json:"to_node"`
	FromTopic string   `json:"from_topic,omitempty"`
	ToTopic   string   `json:"to_topic"`
	Facts     []string `json:"facts,omitempty"`    // facts learned this turn, as name=value
	Skipped   []string `json:"skipped,omitempty"`  // questions skipped because their answer was known
	Handoff   bool     `json:"handoff,omitempty"`  // the turn handed the conversation to a person
	Resolved  bool     `json:"resolved,omitempty"` // the turn reached a resolved node
}

// Reasons for a transition.
const (
	ReasonStart    = "start"    // new conversation or follow
	ReasonChoice   = "choice"   // a button was tapped
	ReasonAnswer   = "answer"   // free text answered the current question
	ReasonIntent   = "intent"   // free text matched a topic intent
	ReasonCommand  = "command"  // restart, back, handoff, resume
	ReasonReprompt = "reprompt" // not understood: asked again
	ReasonOffer    = "offer"    // not understood twice: offered a person
	ReasonIdle     = "idle"     // back after idling: asked continue or start over
	ReasonSafety   = "safety"   // looked like a code or password: warned
	ReasonNonText  = "non_text" // sticker etc.: asked for text
	ReasonGroup    = "group"    // group/room: one-to-one only
	ReasonStale    = "stale"    // a button from an older pack version
	ReasonConfirm  = "confirm"  // a partial reading of a weighty node: asked 「〜のことでしょうか？」
	ReasonDeny     = "deny"     // いいえ to a confirmation
	ReasonWaiting  = "waiting"  // a follow-up while waiting for a person: acknowledged
	ReasonSame     = "same"     // the same step again: its question only, or on to its next step
	ReasonThanks   = "thanks"   // plain thanks mid-step: thanked back, the question stays open
)

// HandBack returns st for a conversation that staff hand back to the bot:
// the user no longer waits for a person.
func HandBack(st State) State {
	st.Waiting = false
	return st
}

// Result is the outcome of one step.
type Result struct {
	State   State   `json:"state"`
	Replies []Reply `json:"replies"`
	Trace   Trace   `json:"trace"`
}
