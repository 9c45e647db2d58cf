package redact

import "strings"

// Microsoft recovery codes are 25 letters and digits, shown in five groups
// of five (ABCDE-FGHIJ-KLMNO-PQRST-UVWXY). People copy them in lower case,
// with spaces or line breaks, in other groupings, or with a group too short
// or too long.

// minRecoveryAlnum is the fewest ASCII letters and digits a text needs to
// hold a recovery code as recoveryCodes finds them.
const minRecoveryAlnum = 23

// recoveryWords near a grouped candidate say that it is a recovery code even
// when nothing else does.
var recoveryWords = []string{"回復", "リカバリ", "recovery", "コード", "code"}

// alnumRun is a run of ASCII letters and digits in s.
type alnumRun struct{ start, end int }

func recoveryCodes(s string) []span {
	var words []alnumRun
	for i := 0; i < len(s); {
		if !isASCIIAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isASCIIAlnum(s[j]) {
			j++
		}
		words = append(words, alnumRun{i, j})
		i = j
	}
	var out []span
	for i := 0; i < len(words); i++ {
		total, last := 0, -1 // last: the longest code starting at words[i]
		for j := i; j < len(words); j++ {
			if j > i && !groupSeparator(s[words[j-1].end:words[j].start]) {
				break
			}
			total += words[j].end - words[j].start
			if total > 27 {
				break
			}
			if recoveryCode(s, words[i:j+1], total) {
				last = j
			}
			if words[j].end-words[j].start < 3 {
				break // a short group can only end a code
			}
		}
		if last >= 0 {
			out = append(out, span{start: words[i].start, end: words[last].end, kind: KindRecoveryCode})
			i = last
		}
	}
	return out
}

// groupSeparator reports what may stand between the groups of a code: one
// to three spaces, hyphens or line breaks, or a long-vowel mark used as a
// hyphen.
func groupSeparator(sep string) bool {
	if sep == "ー" {
		return true
	}
	if sep == "" || len(sep) > 3 {
		return false
	}
	for i := 0; i < len(sep); i++ {
		if c := sep[i]; c != ' ' && c != '-' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// recoveryCode reports whether the groups g (total letters and digits) are
// one recovery code.
func recoveryCode(s string, g []alnumRun, total int) bool {
	start, end := g[0].start, g[len(g)-1].end
	if !asciiBoundary(s, start, end) {
		return false
	}
	v := s[start:end]
	var letters, digits, lower int
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case isASCIIDigit(c):
			digits++
		case c >= 'a' && c <= 'z':
			letters++
			lower++
		case isASCIILetter(c):
			letters++
		}
	}
	canonical := len(g) == 5 && total == 25
	for _, w := range g {
		canonical = canonical && w.end-w.start == 5
	}
	near := func() bool { return contextHas(maskBlanks.Replace(s), start, end, 12, 6, recoveryWords) }
	switch {
	case canonical:
		// Five plain lower-case words with spaces are a sentence, unless a
		// recovery code is being talked about.
		return digits > 0 || strings.Contains(v, "-") || lower == 0 || near()
	case len(g) == 1:
		return total == 25 && (letters > 0 && digits > 0 || near())
	default:
		// Other groupings, or a character too few or too many: only where a
		// recovery code is being talked about, and made of code-like groups
		// (not a sentence in English).
		for k, w := range g {
			if n := w.end - w.start; n < 3 && k < len(g)-1 || n > 10 {
				return false // the last group may be the odd one out
			}
		}
		return total >= 23 && letters > 0 && (digits > 0 || lower == 0) && near()
	}
}
