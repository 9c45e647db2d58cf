// Package redact masks secrets and personal data in what users write before
// anything is stored or logged: verification and recovery codes, passwords,
// email addresses and phone numbers.
//
// The masks keep enough to be useful to staff reading a conversation log
// ("t***@example.com", "090-****-**78") and nothing that would let anyone use
// the secret. Detection errs on the side of masking: a quantity, a date or a
// price stays readable ("2026年", "30日", "2026-11-25", "1,980円"), but a lone
// 6-8 digit number is treated as a code.
//
// People write secrets the way they write anything else on a phone: in full
// width (１２３４５６), spaced (5 8 2 0 1 3), hyphenated, in lower case, and in
// the middle of a sentence (パスワードは、hanako1955でございます). Detection
// runs on a copy of the text with full-width ASCII folded to ASCII, so every
// form is found the same way; the masks replace the original characters.
package redact

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Kinds of data found by Contains.
const (
	KindCode         = "code"
	KindRecoveryCode = "recovery_code"
	KindPassword     = "password"
	KindEmail        = "email"
	KindPhone        = "phone"
)

// Masks that replace a secret entirely.
const (
	MaskCode         = "[code]"
	MaskRecoveryCode = "[recovery_code]"
	MaskPassword     = "[password]"
)

// span is one detected piece of text[start:end].
type span struct {
	start, end int
	kind       string
	keep       int // phone numbers: leading digits left readable
}

// mask returns what replaces sp in s, the original text.
func (sp span) mask(s string) string {
	switch sp.kind {
	case KindCode:
		return MaskCode
	case KindRecoveryCode:
		return MaskRecoveryCode
	case KindPassword:
		return MaskPassword
	case KindEmail:
		v := s[sp.start:sp.end]
		at := strings.IndexAny(v, "@＠")
		_, first := utf8.DecodeRuneInString(v)
		_, atSize := utf8.DecodeRuneInString(v[at:])
		return v[:first] + "***@" + v[at+atSize:]
	default: // KindPhone
		return maskDigits(s[sp.start:sp.end], sp.keep)
	}
}

// Text returns s with codes, recovery codes, passwords, email addresses and
// phone numbers masked. It is idempotent: Text(Text(s)) == Text(s).
func Text(s string) string {
	return redact(s, nil)
}

// Contains reports the kinds of sensitive data found in s (KindCode, ...),
// each once, sorted. It returns nil when s looks clean.
func Contains(s string) []string {
	seen := map[string]bool{}
	redact(s, seen)
	if len(seen) == 0 {
		return nil
	}
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// maxPasses bounds how often redact looks again at its own output.
const maxPasses = 4

// redact masks s, recording the kinds it finds in seen (if not nil). A mask
// can uncover a secret that overlapped what it replaced ("pw:0 00000000": the
// password "0", then the code "00000000"), so it looks again at its own
// output until nothing changes; that is what makes Text idempotent. Text
// without secrets takes one pass, text with them usually two.
func redact(s string, seen map[string]bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for range maxPasses {
		spans := detect(s)
		if len(spans) == 0 {
			break
		}
		var b strings.Builder
		b.Grow(len(s))
		last := 0
		for _, sp := range spans {
			if seen != nil {
				seen[sp.kind] = true
			}
			b.WriteString(s[last:sp.start])
			b.WriteString(sp.mask(s))
			last = sp.end
		}
		b.WriteString(s[last:])
		if b.String() == s {
			break
		}
		s = b.String()
	}
	return s
}

// detect finds non-overlapping spans of s, sorted by position. Detectors run
// on the folded text from the most specific to the least, and a later one
// never overlaps an earlier one's span. s must be valid UTF-8.
func detect(s string) []span {
	f, back := fold(s)
	var spans []span
	add := func(found []span) {
	next:
		for _, sp := range found {
			for _, o := range spans {
				if sp.start < o.end && o.start < sp.end {
					continue next
				}
			}
			spans = append(spans, sp)
		}
	}
	// The scanners cost most of the time on Japanese text: each runs only
	// when f has what its match needs. Most messages have none of it.
	if !prefilter || strings.IndexByte(f, '@') >= 0 {
		add(emails(f))
	}
	if !prefilter || mayHavePassword(f) {
		add(passwords(f))
	}
	if !prefilter || asciiAlnumCount(f) >= minRecoveryAlnum {
		add(recoveryCodes(f))
	}
	add(lonePassword(f))
	add(numbers(f))
	if back != nil {
		for i := range spans {
			spans[i].start, spans[i].end = back[spans[i].start], back[spans[i].end]
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	return spans
}

// prefilter turns the cheap checks before the scanners on (off only in
// tests, to compare).
var prefilter = true

// asciiAlnumCount counts ASCII letters and digits.
func asciiAlnumCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isASCIIAlnum(s[i]) {
			n++
		}
	}
	return n
}

// --- width folding ---

// fold returns s with full-width ASCII (Ａ, １, ＠, －), the ideographic
// space and the dash look-alikes (‐ ‑ – — −) written as ASCII, and for each
// byte of the result, plus one past the end, the offset in s of the character
// it came from. back is nil when s has nothing to fold.
func fold(s string) (f string, back []int) {
	if !needsFold(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	back = make([]int, 0, len(s)+1)
	for i, r := range s {
		if a := foldRune(r); a != 0 {
			b.WriteByte(a)
			back = append(back, i)
			continue
		}
		n := utf8.RuneLen(r)
		b.WriteString(s[i : i+n])
		for k := range n {
			back = append(back, i+k)
		}
	}
	return b.String(), append(back, len(s))
}

// foldRune returns the ASCII form of r, or 0 if r stays as it is.
func foldRune(r rune) byte {
	switch {
	case r >= '！' && r <= '～':
		return byte(r - '！' + '!')
	case r == '　':
		return ' '
	case r >= '‐' && r <= '—' || r == '−':
		return '-'
	}
	return 0
}

// needsFold reports whether s has a character foldRune changes: U+FF01-FF5E
// (EF BC 81 - EF BD 9E), U+3000, U+2010-2014 (E2 80 90-94), U+2212 (E2 88 92).
// It runs on every message, so it looks for the rare lead bytes EF and E2
// (most Japanese text is E3-E9) and the ideographic space.
func needsFold(s string) bool {
	for _, lead := range []byte{0xEF, 0xE2} {
		for i := strings.IndexByte(s, lead); i >= 0 && i+2 < len(s); {
			c, d := s[i+1], s[i+2]
			if lead == 0xEF && (c == 0xBC || c == 0xBD) || lead == 0xE2 && (c == 0x80 && d >= 0x90 && d <= 0x94 || c == 0x88 && d == 0x92) {
				return true
			}
			j := strings.IndexByte(s[i+1:], lead)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return strings.Contains(s, "　")
}

// --- helpers on folded text ---

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// glued reports whether c, next to a candidate, makes it part of something
// longer: more letters or digits, or one of our masks ("*", "[code]"), so
// that masking never creates a boundary that was not there before.
func glued(c byte) bool { return isASCIIAlnum(c) || c == '*' || c == '[' || c == ']' }

// contextHas reports whether one of words (lower case) occurs within the
// before runes preceding s[start:end] or the after runes following it, case
// folded.
func contextHas(s string, start, end, before, after int, words []string) bool {
	ctx := strings.ToLower(lastRunes(s[:start], before) + " " + firstRunes(s[end:], after))
	for _, w := range words {
		if strings.Contains(ctx, w) {
			return true
		}
	}
	return false
}

func lastRunes(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

func firstRunes(s string, n int) string {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// --- email addresses ---

// emailRe also matches its own mask ("t***@example.com"), so masking twice
// changes nothing.
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-][A-Za-z0-9._%+\-*]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)

func emails(s string) []span {
	var out []span
	for _, m := range emailRe.FindAllStringIndex(s, -1) {
		out = append(out, span{start: m[0], end: m[1], kind: KindEmail})
	}
	return out
}
