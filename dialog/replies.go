package dialog

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/width"

	"github.com/todoku/todoku/knowledge"
)

// PostbackDeny is the postback data prefix of いいえ under a confirmation:
// no=<node asked about>.
const PostbackDeny = "no="

// nodeReplies renders node n: system texts first, then its messages, its
// choices as quick replies on the last bubble. At most MaxReplies bubbles (the
// middle ones dropped) and MaxQuickReplies buttons, whatever the pack says.
func (t *turn) nodeReplies(n *knowledge.Node, system ...string) []Reply {
	out := make([]Reply, 0, len(system)+len(n.Messages))
	for _, s := range system {
		if s != "" {
			out = append(out, Reply{Text: t.render(s)})
		}
	}
	for _, m := range n.Messages {
		out = append(out, t.message(m))
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

// message renders one of a node's messages.
func (t *turn) message(m knowledge.Message) Reply {
	r := Reply{Text: t.render(m.Text)}
	if m.Buttons != nil {
		r.Buttons = &Buttons{
			Title:   m.Buttons.Title,
			AltText: m.Buttons.AltText,
			Actions: choiceQuickReplies(m.Buttons.Actions),
		}
	}
	if c := m.Card; c != nil {
		r.Card = &Card{Title: t.render(c.Title), Actions: choiceQuickReplies(c.Actions)}
		for _, row := range c.Rows {
			r.Card.Rows = append(r.Card.Rows, CardRow{Mark: row.Mark, Text: t.render(row.Text)})
		}
	}
	return r
}

// render fills the placeholders of a pack text: the greeting for the time
// of day and when staff answer, in the engine's time zone.
func (t *turn) render(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	p := t.e.pack
	if strings.Contains(s, knowledge.PlaceholderGreeting) {
		s = strings.ReplaceAll(s, knowledge.PlaceholderGreeting, p.Text(greetingKey(t.local(t.now))))
	}
	if strings.Contains(s, knowledge.PlaceholderStaff) {
		var w string
		switch {
		case t.staff.OnDuty:
			w = p.Text(knowledge.TextStaffOnDuty)
		case !t.staff.Next.IsZero():
			w = strings.ReplaceAll(p.Text(knowledge.TextStaffOffDuty), knowledge.PlaceholderNext, whenJa(t.local(t.now), t.local(t.staff.Next)))
		default:
			w = p.Text(knowledge.TextStaffUnknown)
		}
		s = strings.ReplaceAll(s, knowledge.PlaceholderStaff, w)
	}
	return s
}

// local is tm in the engine's time zone.
func (t *turn) local(tm time.Time) time.Time { return tm.In(t.e.opts.Location) }

// greetingKey picks the greeting text for the local time; an unknown time
// (zero) gets the daytime one.
func greetingKey(tm time.Time) string {
	if tm.IsZero() || tm.Year() <= 1 {
		return knowledge.TextGreetingDay
	}
	switch h := tm.Hour(); {
	case h >= 4 && h < 11:
		return knowledge.TextGreetingMorning
	case h >= 11 && h < 18:
		return knowledge.TextGreetingDay
	}
	return knowledge.TextGreetingEvening
}

var weekdaysJa = [...]string{"日", "月", "火", "水", "木", "金", "土"}

// whenJa words a time to come relative to now, as Japanese support staff
// would: 本日の10時, 明日の9時30分, 12月5日（金）の10時.
func whenJa(now, at time.Time) string {
	clock := fmt.Sprintf("%d時", at.Hour())
	if m := at.Minute(); m != 0 {
		clock += fmt.Sprintf("%d分", m)
	}
	y, mo, d := now.Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, now.Location())
	switch day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, at.Location()); {
	case !day.After(today):
		return "本日の" + clock
	case day.Equal(today.AddDate(0, 0, 1)):
		return "明日の" + clock
	default:
		return fmt.Sprintf("%d月%d日（%s）の%s", at.Month(), at.Day(), weekdaysJa[at.Weekday()], clock)
	}
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
