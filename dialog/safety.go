package dialog

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Markers the caller's redaction leaves in place of secrets.
var secretMarkers = []string{"[code]", "[password]", "[recovery_code]"}

// recoveryCode matches a Microsoft recovery code: 25 letters and digits,
// usually in five groups of five.
var recoveryCode = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])([a-z0-9]{5}(?:[- ]?[a-z0-9]{5}){4})(?:$|[^a-z0-9])`)

// looksSecret reports whether text holds (or held, before redaction) a
// verification code, a recovery code or a password. The caller redacts
// first; the digit and recovery-code checks catch what it did not.
func looksSecret(text string) bool {
	lower := strings.ToLower(text)
	for _, m := range secretMarkers {
		if strings.Contains(lower, m) {
			return true
		}
	}
	s := width.Fold.String(text)
	return hasCodeDigits(s) || hasRecoveryCode(s)
}

// hasCodeDigits reports a run of 6 to 8 digits, not glued to Latin letters
// (a one-time code, not "KB5034441" or a phone number).
func hasCodeDigits(s string) bool {
	run, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if run == 0 {
				start = i
			}
			run++
			continue
		}
		if run >= 6 && run <= 8 && !latinBefore(s, start) && !(i < len(s) && isLatin(s[i])) {
			return true
		}
		run = 0
	}
	return false
}

func latinBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r < utf8.RuneSelf && isLatin(byte(r))
}

func isLatin(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func hasRecoveryCode(s string) bool {
	for _, m := range recoveryCode.FindAllStringSubmatch(s, -1) {
		code := m[1]
		if strings.ContainsAny(code, "0123456789") && strings.IndexFunc(code, func(r rune) bool {
			return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		}) >= 0 {
			return true
		}
	}
	return false
}
