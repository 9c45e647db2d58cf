package dialog

import (
	"strings"

	"golang.org/x/text/width"

	"github.com/todoku/todoku/knowledge"
)

// nodeReplies renders node n: system texts first, then its messages, its
// choices as quick replies on the last bubble. At most MaxReplies bubbles (the
// middle ones dropped) and MaxQuickReplies buttons, whatever the pack says.
func (e *Engine) nodeReplies(n *knowledge.Node, system ...string) []Reply {
	out := make([]Reply, 0, len(system)+len(n.Messages))
	for _, s := range system {
		if s != "" {
			out = append(out, Reply{Text: s})
		}
	}
	for _, m := range n.Messages {
		r := Reply{Text: m.Text}
		if m.Buttons != nil {
			r.Buttons = &Buttons{
				Title:   m.Buttons.Title,
				AltText: m.Buttons.AltText,
				Actions: choiceQuickReplies(m.Buttons.Actions),
			}
		}
		out = append(out, r)
	}
	if len(out) > MaxReplies {
		// Keep the last bubble: it usually asks the question the buttons answer.
		out = append(out[:MaxReplies-1], out[len(out)-1])
	}
	if len(out) > 0 {
		if qrs := choiceQuickReplies(n.Choices); len(qrs) > 0 {
			out[len(out)-1].QuickReplies = capQuickReplies(qrs)
		}
	}
	return out
}

// choiceQuickReplies turns choices into buttons: postbacks showing their
// label as the user's message, or links.
func choiceQuickReplies(cs []knowledge.Choice) []QuickReply {
	if len(cs) == 0 {
		return nil
	}
	out := make([]QuickReply, 0, len(cs))
	for _, c := range cs {
		if c.URI != "" {
			out = append(out, QuickReply{Label: c.Label, URI: c.URI})
			continue
		}
		out = append(out, QuickReply{Label: c.Label, Data: c.PostbackData(), DisplayText: c.Label})
	}
	return out
}

func (e *Engine) commandQuickReply(cmd, labelKey string) QuickReply {
	l := e.label(labelKey)
	return QuickReply{Label: l, Data: knowledge.PostbackCommandPrefix + cmd, DisplayText: l}
}

// appendUnique appends the buttons whose action is not already in qrs.
func appendUnique(qrs []QuickReply, more ...QuickReply) []QuickReply {
next:
	for _, m := range more {
		for _, q := range qrs {
			if q.Data == m.Data && q.URI == m.URI {
				continue next
			}
		}
		qrs = append(qrs, m)
	}
	return qrs
}

func capQuickReplies(qrs []QuickReply) []QuickReply {
	if len(qrs) > MaxQuickReplies {
		return qrs[:MaxQuickReplies]
	}
	return qrs
}

// labelKey normalises a typed text or a button label for comparison: width
// folded, lower case, without surrounding spaces and sentence punctuation.
func labelKey(s string) string {
	s = strings.ToLower(width.Fold.String(s))
	return strings.Trim(s, " \t\r\n\u3000。、.,!?！？")
}
