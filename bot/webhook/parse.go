package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	sdk "github.com/line/line-bot-sdk-go/v8/linebot/webhook"

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
	Fallback int // the SDK could not parse them; read as generic JSON
	Skipped  int // not a JSON object: dropped
	Standby  int // mode "standby": another channel has the chat; dropped
	Repeated int // same webhookEventId twice in one body: dropped
}

// Parse converts a webhook body (already signature-checked) to inbox events.
// Each event goes through the SDK (webhook.UnmarshalEvent, as
// webhook.CallbackRequest does) but one at a time, so one event the SDK
// cannot read (no "type", a field of the wrong JSON type) never rejects the
// others: it is read as generic JSON instead. Only a body that is not a JSON
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

// common holds the properties every event shares, read leniently: a field of
// the wrong JSON type is left empty instead of failing the event.
type common struct {
	Type, ID, ReplyToken, Mode string
	Timestamp                  int64
	Redelivery                 bool
	Source                     source
}

type source struct {
	Type, UserID, GroupID, RoomID string
}

func convert(raw json.RawMessage, now time.Time) (ev bot.Event, mode string, fallback, ok bool) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return bot.Event{}, "", false, false
	}
	c := readCommon(f)
	ev = bot.Event{
		ID:         c.ID,
		Type:       c.Type,
		SourceType: c.Source.Type,
		UserID:     c.Source.UserID,
		ReplyToken: c.ReplyToken,
		Redelivery: c.Redelivery,
	}
	switch c.Source.Type {
	case "group":
		ev.ChatID = c.Source.GroupID
	case "room":
		ev.ChatID = c.Source.RoomID
	default:
		ev.ChatID = c.Source.UserID
	}
	if ev.Type == "" {
		ev.Type = "unknown"
	}
	if ev.ID == "" || len(ev.ID) > maxIDLen || strings.ContainsRune(ev.ID, 0) {
		// No usable id: derive a stable one so a byte-identical redelivery
		// is still recognised.
		sum := sha256.Sum256(raw)
		ev.ID = "noid-" + hex.EncodeToString(sum[:16])
	}
	if c.Timestamp > 0 {
		ev.Timestamp = time.UnixMilli(c.Timestamp)
	} else {
		ev.Timestamp = now
	}

	typed, err := sdk.UnmarshalEvent(raw)
	if err != nil {
		fallback = true
		readContentGeneric(f, &ev)
	} else {
		readContent(typed, f, &ev)
	}
	clean(&ev)
	ev.Text = redact.Text(ev.Text)
	return ev, c.Mode, fallback, true
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

func readCommon(f map[string]json.RawMessage) common {
	var c common
	str(f["type"], &c.Type)
	str(f["webhookEventId"], &c.ID)
	str(f["replyToken"], &c.ReplyToken)
	str(f["mode"], &c.Mode)
	_ = json.Unmarshal(f["timestamp"], &c.Timestamp)
	var dc map[string]json.RawMessage
	if json.Unmarshal(f["deliveryContext"], &dc) == nil {
		_ = json.Unmarshal(dc["isRedelivery"], &c.Redelivery)
	}
	var s map[string]json.RawMessage
	if json.Unmarshal(f["source"], &s) == nil && s != nil {
		str(s["type"], &c.Source.Type)
		str(s["userId"], &c.Source.UserID)
		str(s["groupId"], &c.Source.GroupID)
		str(s["roomId"], &c.Source.RoomID)
	}
	return c
}

// str decodes a JSON string into dst, leaving dst alone for anything else.
func str(raw json.RawMessage, dst *string) {
	var s string
	if len(raw) > 0 && json.Unmarshal(raw, &s) == nil {
		*dst = s
	}
}

// readContent fills the type-specific fields from the SDK's typed event.
func readContent(typed sdk.EventInterface, f map[string]json.RawMessage, ev *bot.Event) {
	switch e := typed.(type) {
	case sdk.MessageEvent:
		switch m := e.Message.(type) {
		case sdk.TextMessageContent:
			ev.MessageType, ev.MessageID, ev.Text = "text", m.Id, m.Text
		case sdk.StickerMessageContent:
			ev.MessageType, ev.MessageID = "sticker", m.Id
		case sdk.ImageMessageContent:
			ev.MessageType, ev.MessageID = "image", m.Id
		case sdk.VideoMessageContent:
			ev.MessageType, ev.MessageID = "video", m.Id
		case sdk.AudioMessageContent:
			ev.MessageType, ev.MessageID = "audio", m.Id
		case sdk.FileMessageContent:
			ev.MessageType, ev.MessageID = "file", m.Id
		case sdk.LocationMessageContent:
			ev.MessageType, ev.MessageID = "location", m.Id
		case sdk.UnknownMessageContent:
			ev.MessageType = m.Type
			str(m.Raw["id"], &ev.MessageID)
		default:
			readContentGeneric(f, ev)
		}
	case sdk.PostbackEvent:
		if e.Postback != nil {
			ev.Data = e.Postback.Data
		}
	case sdk.UnsendEvent:
		if e.Unsend != nil {
			ev.MessageID = e.Unsend.MessageId
		}
	case sdk.UnknownEvent:
		// Not in this SDK version (e.g. messageEdited): the common fields
		// were read from the raw JSON; keep the content out.
	}
}

// readContentGeneric reads the type-specific fields the service uses from the
// raw JSON, for events the SDK could not parse.
func readContentGeneric(f map[string]json.RawMessage, ev *bot.Event) {
	switch ev.Type {
	case "message":
		var m map[string]json.RawMessage
		if json.Unmarshal(f["message"], &m) == nil && m != nil {
			str(m["type"], &ev.MessageType)
			str(m["id"], &ev.MessageID)
			if ev.MessageType == "text" {
				str(m["text"], &ev.Text)
			}
		}
	case "postback":
		var p map[string]json.RawMessage
		if json.Unmarshal(f["postback"], &p) == nil && p != nil {
			str(p["data"], &ev.Data)
		}
	case "unsend":
		var u map[string]json.RawMessage
		if json.Unmarshal(f["unsend"], &u) == nil && u != nil {
			str(u["messageId"], &ev.MessageID)
		}
	}
}
