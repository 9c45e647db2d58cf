package knowledge

import (
	"fmt"
	"unicode/utf8"
)

// Card shows a message as a card (a LINE Flex message) instead of a plain
// bubble: a title, rows that each pair a short mark with a text (the steps
// of a form: 1, 2, 3; a timeline: 今日, 期間中, 30日後), and up to 4 buttons.
// The message's Text is what LINE shows where it cannot draw the card
// (notifications, the chat list, old versions) and what transcripts show,
// so it must say the same thing in words.
type Card struct {
	Title   string    `yaml:"title"`
	Rows    []CardRow `yaml:"rows"`
	Actions []Choice  `yaml:"actions,omitempty"`
}

// CardRow is one line of a card.
type CardRow struct {
	Mark string `yaml:"mark,omitempty"` // a step number or a time; optional
	Text string `yaml:"text"`
}

// Limits of a card. LINE's are the alternative text (1,500 characters) and
// the bubble's JSON (30 KB); the others keep a card readable on a phone, and
// together they keep every card well under 30 KB (linemsg's tests render the
// largest card they allow). Title and row lengths count code points, so no
// run of combined emoji can pass for a short text.
const (
	MaxCardTitle   = 40
	MaxCardRows    = 8
	MaxCardRowText = 200
	MaxCardMark    = 6
	MaxCardActions = 4
	// MaxFlexBubbleBytes is LINE's limit on one bubble's JSON.
	MaxFlexBubbleBytes = 30 * 1024
)

// Actions are the buttons a message carries: its buttons template's or its
// card's.
func (m Message) Actions() []Choice {
	var out []Choice
	if m.Buttons != nil {
		out = append(out, m.Buttons.Actions...)
	}
	if m.Card != nil {
		out = append(out, m.Card.Actions...)
	}
	return out
}

func (v *validator) card(path, name string, m Message) {
	c := m.Card
	if c == nil {
		return
	}
	cp := path + ".card"
	if m.Buttons != nil {
		v.addf(cp, "%s has both buttons and a card; choose one", name)
	}
	if n := Graphemes(m.Text); n > MaxAltText {
		v.addf(path+".text", "%s: the text of a card is its alternative text, %d characters; LINE allows %d", name, n, MaxAltText)
	}
	if c.Title == "" {
		v.addf(cp+".title", "%s: card has no title", name)
	} else if n := utf8.RuneCountInString(c.Title); n > MaxCardTitle {
		v.addf(cp+".title", "%s: card title is %d characters; at most %d", name, n, MaxCardTitle)
	}
	switch n := len(c.Rows); {
	case n == 0:
		v.addf(cp+".rows", "%s: card has no rows", name)
	case n > MaxCardRows:
		v.addf(fmt.Sprintf("%s.rows[%d]", cp, MaxCardRows), "%s: card has %d rows; at most %d", name, n, MaxCardRows)
	}
	for i, r := range c.Rows {
		rp := fmt.Sprintf("%s.rows[%d]", cp, i)
		if r.Text == "" {
			v.addf(rp+".text", "%s: card row %d has no text", name, i+1)
		} else if n := utf8.RuneCountInString(r.Text); n > MaxCardRowText {
			v.addf(rp+".text", "%s: card row %d is %d characters; at most %d", name, i+1, n, MaxCardRowText)
		}
		if n := Graphemes(r.Mark); n > MaxCardMark {
			v.addf(rp+".mark", "%s: card row %d mark %q is %d characters; at most %d", name, i+1, r.Mark, n, MaxCardMark)
		}
	}
	if n := len(c.Actions); n > MaxCardActions {
		v.addf(fmt.Sprintf("%s.actions[%d]", cp, MaxCardActions), "%s: card has %d buttons; at most %d", name, n, MaxCardActions)
	}
	for k, a := range c.Actions {
		v.choice(fmt.Sprintf("%s.actions[%d]", cp, k), fmt.Sprintf("%s: card button %d", name, k+1), a)
	}
}
