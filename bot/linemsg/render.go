// Package linemsg turns the dialog engine's replies into LINE message objects
// exactly as they are sent to the Messaging API (and as `todoku chat --json`
// prints them). Every web link, in a button or in a text, opens in the
// phone's browser (External).
package linemsg

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/todoku/todoku/dialog"
)

// MaxMessages is LINE's limit of message objects in one reply or push.
const MaxMessages = 5

// Messages converts replies to SDK message values. Quick replies are attached
// where the engine put them (LINE shows only the last message's).
func Messages(replies []dialog.Reply) ([]messaging_api.MessageInterface, error) {
	if len(replies) == 0 {
		return nil, fmt.Errorf("linemsg: no replies to send")
	}
	if len(replies) > MaxMessages {
		return nil, fmt.Errorf("linemsg: %d replies in one turn, LINE allows %d", len(replies), MaxMessages)
	}
	out := make([]messaging_api.MessageInterface, 0, len(replies))
	for _, r := range replies {
		qr := quickReply(r.QuickReplies)
		if r.Card != nil {
			out = append(out, card(r.Card, r.Text, qr))
			continue
		}
		if r.Buttons != nil {
			actions := make([]messaging_api.ActionInterface, 0, len(r.Buttons.Actions))
			for _, a := range r.Buttons.Actions {
				actions = append(actions, action(a))
			}
			out = append(out, &messaging_api.TemplateMessage{
				AltText:    r.Buttons.AltText,
				QuickReply: qr,
				Template: &messaging_api.ButtonsTemplate{
					Title:   r.Buttons.Title,
					Text:    externalText(r.Text),
					Actions: actions,
				},
			})
			continue
		}
		out = append(out, &messaging_api.TextMessage{Text: externalText(r.Text), QuickReply: qr})
	}
	return out, nil
}

// Renderer converts replies to JSON message objects, ready to store in the
// outbox, keeping each reply's JSON: replies come from the knowledge pack,
// so the same few hundred recur, and the SDK's encoders were about a tenth
// of a turn's CPU under load. The cache is bounded: once full, further
// replies are encoded each time. The zero Renderer is ready to use; it is
// safe for concurrent use.
type Renderer struct {
	mu    sync.RWMutex
	cache map[string]json.RawMessage
}

const maxCached = 4096

// Render converts replies to JSON message objects. The returned bytes may
// be shared with other calls: read only.
func (c *Renderer) Render(replies []dialog.Reply) ([]json.RawMessage, error) {
	msgs, err := Messages(replies)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(msgs))
	for i, m := range msgs {
		key := cacheKey(replies[i])
		c.mu.RLock()
		b, ok := c.cache[key]
		c.mu.RUnlock()
		if !ok {
			if b, err = json.Marshal(m); err != nil {
				return nil, fmt.Errorf("linemsg: encode message %d: %w", i, err)
			}
			c.mu.Lock()
			if c.cache == nil {
				c.cache = map[string]json.RawMessage{}
			}
			if len(c.cache) < maxCached {
				c.cache[key] = b
			}
			c.mu.Unlock()
		}
		out[i] = b
	}
	return out, nil
}

// Render is Renderer.Render without a cache.
func Render(replies []dialog.Reply) ([]json.RawMessage, error) {
	return new(Renderer).Render(replies)
}

// LogText is how the conversation log shows the message a reply becomes:
// its type, and what the user reads (a template's title and text).
func LogText(r dialog.Reply) (typ, text string) {
	if r.Card != nil {
		return "flex", r.Text // the card's alternative text says it in words
	}
	if r.Buttons == nil {
		return "text", r.Text
	}
	if r.Buttons.Title != "" && r.Text != "" {
		return "template", r.Buttons.Title + "\n" + r.Text
	}
	if r.Text != "" {
		return "template", r.Text
	}
	return "template", r.Buttons.AltText
}

// LogTextOf is LogText for a stored message object (of an outbox row made
// before the log text was stored with it).
func LogTextOf(raw json.RawMessage) (typ, text string) {
	var m struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		AltText  string `json:"altText"`
		Template struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "unknown", ""
	}
	switch {
	case m.Text != "":
		return m.Type, m.Text
	case m.Template.Text != "" && m.Template.Title != "":
		return m.Type, m.Template.Title + "\n" + m.Template.Text
	case m.Template.Text != "":
		return m.Type, m.Template.Text
	}
	return m.Type, m.AltText
}

// cacheKey names everything of r that shapes its message object; fields are
// length-prefixed, so no text can pass for another field.
func cacheKey(r dialog.Reply) string {
	var b strings.Builder
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	actions := func(kind string, as []dialog.QuickReply) {
		field(kind)
		field(strconv.Itoa(len(as)))
		for _, a := range as {
			field(a.Label)
			field(a.Data)
			field(a.DisplayText)
			field(a.URI)
		}
	}
	field(r.Text)
	actions("quick", r.QuickReplies)
	if r.Buttons != nil {
		field(r.Buttons.Title)
		field(r.Buttons.AltText)
		actions("buttons", r.Buttons.Actions)
	}
	if r.Card != nil {
		field("card")
		field(r.Card.Title)
		field(strconv.Itoa(len(r.Card.Rows)))
		for _, row := range r.Card.Rows {
			field(row.Mark)
			field(row.Text)
		}
		actions("card", r.Card.Actions)
	}
	return b.String()
}

// Decode turns stored JSON message objects back into SDK values for sending.
func Decode(raw []json.RawMessage) ([]messaging_api.MessageInterface, error) {
	out := make([]messaging_api.MessageInterface, len(raw))
	for i, r := range raw {
		m, err := messaging_api.UnmarshalMessage(r)
		if err != nil {
			return nil, fmt.Errorf("linemsg: decode message %d: %w", i, err)
		}
		out[i] = m
	}
	return out, nil
}

func quickReply(items []dialog.QuickReply) *messaging_api.QuickReply {
	if len(items) == 0 {
		return nil
	}
	qr := &messaging_api.QuickReply{Items: make([]messaging_api.QuickReplyItem, 0, len(items))}
	for _, it := range items {
		qr.Items = append(qr.Items, messaging_api.QuickReplyItem{Type: "action", Action: action(it)})
	}
	return qr
}

func action(a dialog.QuickReply) messaging_api.ActionInterface {
	if a.URI != "" {
		return &messaging_api.UriAction{Label: a.Label, Uri: External(a.URI)}
	}
	return &messaging_api.PostbackAction{Label: a.Label, Data: a.Data, DisplayText: a.DisplayText}
}
