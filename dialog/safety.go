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
	if strings.IndexByte(text, '[') >= 0 {
		lower := strings.ToLower(text)
		for _, m := range secretMarkers {
			if strings.Contains(lower, m) {
				return true
			}
		}
	}
	return hasCodeDigits(text) || hasRecoveryCode(text)
}

// digitOf returns the value of an ASCII or full-width digit, or -1.
func digitOf(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= '０' && r <= '９':
		return int(r - '０')
	}
	return -1
}

// isLatin reports an ASCII or full-width Latin letter.
func isLatin(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 'ａ' && r <= 'ｚ' || r >= 'Ａ' && r <= 'Ｚ'
}

// hasCodeDigits reports a run of 6 to 8 digits, not glued to Latin letters
// (a one-time code, not "KB5034441" or a phone number).
func hasCodeDigits(s string) bool {
	run := 0
	var before rune // the rune before the current run
	var prev rune
	for i := 0; i <= len(s); {
		r, size := utf8.RuneError, 1
		if i < len(s) {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if i < len(s) && digitOf(r) >= 0 {
			if run == 0 {
				before = prev
			}
			run++
		} else {
			if run >= 6 && run <= 8 && !isLatin(before) && !(i < len(s) && isLatin(r)) {
				return true
			}
			run = 0
		}
		prev = r
		i += size
	}
	return false
}

// hasRecoveryCode reports a 25-character recovery code with both letters and
// digits (so that five five-letter words are not one).
func hasRecoveryCode(s string) bool {
	alnum := 0
	for _, r := range s {
		if digitOf(r) >= 0 || isLatin(r) {
			alnum++
		}
	}
	if alnum < 25 {
		return false
	}
	for _, m := range recoveryCode.FindAllStringSubmatch(width.Fold.String(s), -1) {
		code := m[1]
		if strings.ContainsAny(code, "0123456789") && strings.IndexFunc(code, func(r rune) bool { return isLatin(r) }) >= 0 {
			return true
		}
	}
	return false
}
