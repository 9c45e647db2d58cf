package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/redact"
)

// ErrMalformed is returned by Parse for a body that is not a JSON object with
// an "events" array.
var ErrMalformed = errors.New("webhook: malformed request body")

// Stats counts what Parse did with a body's events, for logs (never contents).
type Stats struct {
	Events   int // event objects in the body
	Accepted int // converted to bot.Event
	Fallback int // a field had the wrong JSON type: read without it
	Skipped  int // not a JSON object: dropped
	Standby  int // mode "standby": another channel has the chat; dropped
	Repeated int // same webhookEventId twice in one body: dropped
	// TabSwitch counts rich menu tab switches (a postback with
	// params.newRichMenuAliasId): LINE has already switched the menu, and
	// the conversation has nothing to answer; dropped.
	TabSwitch int
	// NoSource counts events without a source (bot suspended or resumed,
	// module and delivery events): no chat to answer or keep; dropped, so
	// nothing waits in the inbox for the sweep.
	NoSource int
}

// Parse converts a webhook body (already signature-checked) to inbox events.
// Each event is read once, on its own and leniently (see wireEvent), so one
// event the SDK's strict types could not read (no "type", a field of the
// wrong JSON type) never rejects the others. Only a body that is not a JSON
// object with an "events" array is an error. Text is redacted here: the raw
// text never leaves this function.
func Parse(body []byte) ([]bot.Event, Stats, error) {
	var envelope struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return nil, Stats{}, ErrMalformed
	}
	st := Stats{Events: len(envelope.Events)}
	if len(envelope.Events) == 0 {
		return nil, st, nil
	}
	now := time.Now()
	out := make([]bot.Event, 0, len(envelope.Events))
	seen := make(map[string]bool, len(envelope.Events))
	for _, raw := range envelope.Events {
		ev, mode, fallback, ok := convert(raw, now)
		switch {
		case !ok:
			st.Skipped++
			continue
		case mode == "standby":
			st.Standby++
			continue
		case tabSwitch(raw):
			st.TabSwitch++
			continue
		case ev.ChatID == "" && ev.SourceType == "":
			st.NoSource++
			continue
		case seen[ev.ID]:
			st.Repeated++
			continue
		}
		if fallback {
			st.Fallback++
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	st.Accepted = len(out)
	return out, st, nil
}

// wireEvent is what the service reads from one webhook event, with the field
// names of LINE's webhook schema (the SDK's webhook types).
//
// It is decoded in one pass with encoding/json, which is lenient where the
// service needs it to be: a field of the wrong JSON type is skipped (left
// empty) while the rest of the event is still read, unknown fields are
// ignored, and an event without a "type" or of a type this code does not know
// keeps its common properties. Decoding the event first into the SDK's types
// and then again generically (as this package once did) read every event two
// to three times for the same fields.
type wireEvent struct {
	Type            string `json:"type"`
	WebhookEventID  string `json:"webhookEventId"`
	ReplyToken      string `json:"replyToken"`
	Mode            string `json:"mode"`
	Timestamp       int64  `json:"timestamp"`
	DeliveryContext struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Source struct {
		Type    string `json:"type"`
		UserID  string `json:"userId"`
		GroupID string `json:"groupId"`
		RoomID  string `json:"roomId"`
	} `json:"source"`
	Message struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Text    string `json:"text"`
		Mention struct {
			Mentionees []struct {
				IsSelf bool `json:"isSelf"`
			} `json:"mentionees"`
		} `json:"mention"`
	} `json:"message"`
	Postback struct {
		Data string `json:"data"`
	} `json:"postback"`
	Unsend struct {
		MessageID string `json:"messageId"`
	} `json:"unsend"`
}

// tabSwitch reports a rich menu tab switch: a postback event whose params
// name the menu LINE switched to.
func tabSwitch(raw json.RawMessage) bool {
	if !bytes.Contains(raw, []byte("newRichMenuAliasId")) {
		return false
	}
	var w struct {
		Type     string `json:"type"`
		Postback struct {
			Params struct {
				NewRichMenuAliasID string `json:"newRichMenuAliasId"`
			} `json:"params"`
		} `json:"postback"`
	}
	return json.Unmarshal(raw, &w) == nil && w.Type == "postback" && w.Postback.Params.NewRichMenuAliasID != ""
}

func convert(raw json.RawMessage, now time.Time) (ev bot.Event, mode string, fallback, ok bool) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '{' {
		return bot.Event{}, "", false, false // null, a number, a string, an array
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return bot.Event{}, "", false, false
		}
		fallback = true // a field of the wrong JSON type was left empty
	}
	ev = bot.Event{
		ID:         w.WebhookEventID,
		Type:       w.Type,
		SourceType: w.Source.Type,
		UserID:     w.Source.UserID,
		ReplyToken: w.ReplyToken,
		Redelivery: w.DeliveryContext.IsRedelivery,
	}
	switch w.Source.Type {
	case "group":
		ev.ChatID = w.Source.GroupID
	case "room":
		ev.ChatID = w.Source.RoomID
	default:
		ev.ChatID = w.Source.UserID
	}
	if ev.Type == "" {
		ev.Type = "unknown"
	}
	if ev.ID == "" || len(ev.ID) > maxIDLen || strings.ContainsRune(ev.ID, 0) {
		ev.ID = fallbackID(raw)
	}
	if w.Timestamp > 0 {
		ev.Timestamp = time.UnixMilli(w.Timestamp)
	} else {
		ev.Timestamp = now
	}
	// Content only for the event types the service handles; other types
	// (e.g. messageEdited) keep their content out.
	switch ev.Type {
	case "message":
		ev.MessageType, ev.MessageID = w.Message.Type, w.Message.ID
		if ev.MessageType == "text" {
			ev.Text = w.Message.Text
		}
		for _, m := range w.Message.Mention.Mentionees {
			ev.MentionsBot = ev.MentionsBot || m.IsSelf
		}
	case "postback":
		ev.Data = w.Postback.Data
	case "unsend":
		ev.MessageID = w.Unsend.MessageID
	}
	clean(&ev)
	ev.Text = redact.Text(ev.Text)
	return ev, w.Mode, fallback, true
}

// fallbackID is the id of an event without a usable webhookEventId: a hash
// of what a redelivery repeats unchanged, so that it is still recognised.
// That is the whole event but deliveryContext (isRedelivery becomes true)
// and the reply token, in a canonical form (keys sorted at every level,
// numbers as written), so that spacing and key order do not count either.
func fallbackID(raw json.RawMessage) string {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	canonical := raw
	if d.Decode(&m) == nil {
		delete(m, "deliveryContext")
		delete(m, "replyToken")
		if b, err := json.Marshal(m); err == nil {
			canonical = b
		}
	}
	sum := sha256.Sum256(canonical)
	return "noid-" + hex.EncodeToString(sum[:16])
}

// clean makes every field safe to store: no NUL characters (PostgreSQL
// refuses them in text) and identifiers of bounded length.
func clean(ev *bot.Event) {
	for _, p := range []*string{&ev.ID, &ev.Type, &ev.SourceType, &ev.UserID, &ev.ChatID, &ev.MessageType, &ev.MessageID, &ev.ReplyToken} {
		*p = truncate(strings.ReplaceAll(*p, "\x00", ""), maxIDLen)
	}
	ev.Text = strings.ReplaceAll(ev.Text, "\x00", "")
	ev.Data = truncate(strings.ReplaceAll(ev.Data, "\x00", ""), maxDataLen)
}

const (
	maxIDLen   = 128
	maxDataLen = 1000 // LINE allows 300 characters of postback data
)

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
