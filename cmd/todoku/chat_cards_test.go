package main

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestCardsWithinLimits visits every node with a card in each embedded pack
// through `chat --json` and checks each card as LINE receives it: a Flex
// bubble under 30 KB with an alternative text of at most 1,500 characters,
// its links opening in the phone's browser.
func TestCardsWithinLimits(t *testing.T) {
	packs, err := knowledge.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packs {
		t.Run(p.ID, func(t *testing.T) {
			var in strings.Builder
			var nodes []string
			for _, n := range p.Nodes {
				for _, m := range n.Messages {
					if m.Card != nil {
						nodes = append(nodes, n.ID)
						in.WriteString("postback:go=" + n.ID + "\n")
						break
					}
				}
			}
			if len(nodes) == 0 {
				t.Skip("no cards")
			}
			code, out, errs := chatRun(t, storagetest.SQLiteURL(t), in.String(), "--json", "--user", "Ucards", "--pack", p.ID)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for i, l := range parseChatLines(t, out) {
				cards := 0
				for _, raw := range l.Messages {
					var m struct {
						Type     string          `json:"type"`
						AltText  string          `json:"altText"`
						Contents json.RawMessage `json:"contents"`
					}
					if json.Unmarshal(raw, &m) != nil || m.Type != "flex" {
						continue
					}
					cards++
					if n := utf8.RuneCountInString(m.AltText); n == 0 || n > knowledge.MaxAltText {
						t.Errorf("%s: altText of %d characters (1 to %d)", nodes[i], n, knowledge.MaxAltText)
					}
					if n := len(m.Contents); n > knowledge.MaxFlexBubbleBytes {
						t.Errorf("%s: bubble of %d bytes; LINE allows %d", nodes[i], n, knowledge.MaxFlexBubbleBytes)
					}
					if strings.Contains(string(m.Contents), `"uri":"https://`) && !strings.Contains(string(m.Contents), "openExternalBrowser=1") {
						t.Errorf("%s: a link in the card opens inside LINE: %s", nodes[i], m.Contents)
					}
				}
				if cards == 0 {
					t.Errorf("%s (line %d): no card among %d messages", nodes[i], i+1, len(l.Messages))
				}
			}
		})
	}
}
