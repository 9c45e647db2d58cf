// Package linemsg turns the dialog engine's replies into LINE message objects
// exactly as they are sent to the Messaging API (and as `todoku chat --json`
// prints them).
package linemsg

import (
	"encoding/json"
	"fmt"

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
					Text:    r.Text,
					Actions: actions,
				},
			})
			continue
		}
		out = append(out, &messaging_api.TextMessage{Text: r.Text, QuickReply: qr})
	}
	return out, nil
}

// Render converts replies to JSON message objects, ready to store in the outbox.
func Render(replies []dialog.Reply) ([]json.RawMessage, error) {
	msgs, err := Messages(replies)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(msgs))
	for i, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("linemsg: encode message %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
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
		return &messaging_api.UriAction{Label: a.Label, Uri: a.URI}
	}
	return &messaging_api.PostbackAction{Label: a.Label, Data: a.Data, DisplayText: a.DisplayText}
}
