package knowledge

import "fmt"

// RichMenu is the menu LINE shows under the chat's input field: a grid of
// areas, each a label drawn on the menu's image and what a tap does (go to a
// node, a command, or open a web page). A tap on a node or a command reaches
// the dialog exactly as a button does, with the label as the user's message.
type RichMenu struct {
	// Size is SizeFull (2500×1686, up to three rows) or SizeCompact
	// (2500×843, one or two rows).
	Size string `yaml:"size"`
	// ChatBar is the text of the bar that opens and closes the menu.
	ChatBar string `yaml:"chat_bar"`
	// Columns is how many areas a row has; the areas fill the rows in order,
	// and the last row's areas share its width.
	Columns int      `yaml:"columns"`
	Areas   []Choice `yaml:"areas"`
}

// Rich menu sizes (RichMenu.Size) and LINE's limits on a menu.
const (
	SizeFull           = "full"
	SizeCompact        = "compact"
	RichMenuWidth      = 2500
	RichMenuFullHeight = 1686
	RichMenuHalfHeight = 843
	MaxRichMenuAreas   = 20
	MaxChatBarText     = 14
	MaxRichMenuColumns = 4
)

// Height is the menu image's height in pixels.
func (m *RichMenu) Height() int {
	if m.Size == SizeFull {
		return RichMenuFullHeight
	}
	return RichMenuHalfHeight
}

// Rows is how many rows the areas take.
func (m *RichMenu) Rows() int {
	if m.Columns <= 0 {
		return 0
	}
	return (len(m.Areas) + m.Columns - 1) / m.Columns
}

// maxRows is the most rows a size holds with labels that stay legible.
func maxRows(size string) int {
	if size == SizeFull {
		return 3
	}
	return 2
}

func (v *validator) richMenu() {
	m := v.p.RichMenu
	if m == nil {
		return
	}
	const path = "rich_menu"
	if m.Size != SizeFull && m.Size != SizeCompact {
		v.addf(path+".size", "rich menu size %q: want %s (2500×1686) or %s (2500×843)", m.Size, SizeFull, SizeCompact)
	}
	if m.ChatBar == "" {
		v.addf(path+".chat_bar", "rich menu has no chat_bar text")
	} else if n := Graphemes(m.ChatBar); n > MaxChatBarText {
		v.addf(path+".chat_bar", "rich menu chat_bar %q is %d characters; LINE allows %d", m.ChatBar, n, MaxChatBarText)
	}
	if m.Columns < 1 || m.Columns > MaxRichMenuColumns {
		v.addf(path+".columns", "rich menu columns is %d; want 1 to %d", m.Columns, MaxRichMenuColumns)
	}
	switch n := len(m.Areas); {
	case n == 0:
		v.addf(path+".areas", "rich menu has no areas")
	case n > MaxRichMenuAreas:
		v.addf(path+".areas", "rich menu has %d areas; LINE allows %d", n, MaxRichMenuAreas)
	}
	if m.Columns >= 1 && m.Rows() > maxRows(m.Size) {
		v.addf(path+".areas", "rich menu has %d rows of %d areas; a %s menu holds %d", m.Rows(), m.Columns, m.Size, maxRows(m.Size))
	}
	for i, a := range m.Areas {
		v.choice(fmt.Sprintf("%s.areas[%d]", path, i), fmt.Sprintf("rich menu area %d", i+1), a)
	}
}
