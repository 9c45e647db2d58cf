package linemsg

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"golang.org/x/text/width"
)

// Sender is who LINE shows as speaking a message instead of the account: a
// staff member's display name and, optionally, an icon. When the bot speaks
// again, its messages carry no sender and LINE shows the account.
type Sender struct {
	Name    string // at most 20 characters; LINE refuses "LINE" in it
	IconURL string // optional: https, at most 2,000 characters (LINE wants a square PNG of up to 1 MB)
}

// MaxSenderName is LINE's limit on a sender's name, in characters.
const MaxSenderName = 20

// CheckSender reports why LINE would refuse s, or nil.
func CheckSender(s Sender) error {
	switch n := utf8.RuneCountInString(s.Name); {
	case strings.TrimSpace(s.Name) == "":
		return errors.New("linemsg: a sender needs a name")
	case n > MaxSenderName:
		return fmt.Errorf("linemsg: sender name is %d characters; LINE allows %d", n, MaxSenderName)
	case hasWordLINE(s.Name):
		return errors.New(`linemsg: LINE refuses a sender name with "LINE" in it`)
	}
	if s.IconURL != "" {
		u, err := url.Parse(s.IconURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || utf8.RuneCountInString(s.IconURL) > 2000 {
			return errors.New("linemsg: a sender icon must be an https URL of at most 2,000 characters")
		}
	}
	return nil
}

// hasWordLINE reports "LINE" as a word of its own, in any case or width
// ("LINE担当", "ｌｉｎｅ"), but not inside another word ("Caroline").
func hasWordLINE(name string) bool {
	s := strings.ToLower(width.Fold.String(name))
	for i := strings.Index(s, "line"); i >= 0; {
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+4:])
		if i == 0 || !isLatin(before) {
			if i+4 == len(s) || !isLatin(after) {
				return true
			}
		}
		j := strings.Index(s[i+1:], "line")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func isLatin(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

// Staff renders a staff member's text as LINE message objects that carry the
// sender, so the user sees that a person is answering.
func Staff(text string, s Sender) ([]json.RawMessage, error) {
	if err := CheckSender(s); err != nil {
		return nil, err
	}
	m := &messaging_api.TextMessage{Text: externalText(text), Sender: &messaging_api.Sender{Name: s.Name, IconUrl: s.IconURL}}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return []json.RawMessage{b}, nil
}
