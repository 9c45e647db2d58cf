package redact

import (
	"strings"
	"unicode/utf8"
)

// Passwords are found from a password word (パスワード, パス, ぱすわーど, pw,
// pass, 暗証番号, ...) and the ASCII word that is its value: right after it
// (パスワード: abc, pw hunter2), after は or a colon (パスワードは、hanako1955で
// ございます), further on in the same sentence (パスワードはたしか sakura0401
// だったと), or just before it (hanako1955がパスワードです). The further the
// value is from the word, the more it must look like a password.

// pwWords are the password words, longest first so that パスワード wins over
// パス. ASCII words match in any case.
var pwWords = []string{"password", "passwd", "パスワード", "ぱすわーど", "ﾊﾟｽﾜｰﾄﾞ", "暗証番号", "pass", "pwd", "pw", "パス", "ぱす", "ﾊﾟｽ", "暗証"}

// mayHavePassword reports whether s (folded) contains a password word. It
// runs on every message, so it looks for the rare bytes first.
func mayHavePassword(s string) bool {
	return strings.Contains(s, "パス") || strings.Contains(s, "ぱす") || strings.Contains(s, "ﾊﾟｽ") || strings.Contains(s, "暗証") ||
		hasASCIIPasswordWord(s, 'p') || hasASCIIPasswordWord(s, 'P')
}

// hasASCIIPasswordWord reports whether s has "pw" or "pass", in any case,
// starting with the byte p.
func hasASCIIPasswordWord(s string, p byte) bool {
	for i := strings.IndexByte(s, p); i >= 0; {
		if rest := s[i:]; hasPrefixFoldASCII(rest, "pw") || hasPrefixFoldASCII(rest, "pass") {
			return true
		}
		j := strings.IndexByte(s[i+1:], p)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// pwWordAt returns the length of the password word at s[i:], or 0.
func pwWordAt(s string, i int) int {
	for _, w := range pwWords {
		if w[0] < utf8.RuneSelf {
			if !hasPrefixFoldASCII(s[i:], w) || i > 0 && isASCIILetter(s[i-1]) || i+len(w) < len(s) && isASCIILetter(s[i+len(w)]) {
				continue
			}
			return len(w)
		}
		if !strings.HasPrefix(s[i:], w) {
			continue
		}
		next, _ := utf8.DecodeRuneInString(s[i+len(w):])
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		switch w {
		case "パス", "ﾊﾟｽ":
			// Not パスポート, パスキー, パスコード, バイパス, キャンパス.
			if isKatakana(next) || isKatakana(prev) {
				continue
			}
		case "ぱす":
			// Not ぱすた; ぱすは, ぱすが are fine.
			if isHiragana(next) && !strings.ContainsRune("はがもっをの", next) {
				continue
			}
		}
		return len(w)
	}
	return 0
}

func hasPrefixFoldASCII(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if s[i]|0x20 != prefix[i] {
			return false
		}
	}
	return true
}

func isKatakana(r rune) bool {
	return r >= 'ァ' && r <= 'ヺ' || r == 'ー' || r >= 'ｦ' && r <= 'ﾟ'
}

func isHiragana(r rune) bool { return r >= 'ぁ' && r <= 'ゖ' }

// How far a value may be from its password word, in runes.
const (
	maxGapAfter  = 20
	maxGapBefore = 4
)

// gap kinds between a password word and its value, from the strongest hint
// that what follows is the password to the weakest.
const (
	gapStated   = iota // パスワードは abc, PW: abc, password is abc, パスワード「abc」
	gapAdjacent        // pw hunter2, パスワード hanako1955
	gapSentence        // パスワードはたしか sakura0401 だった
)

func passwords(s string) []span {
	var out []span
	for i := 0; i < len(s); {
		c := s[i]
		if c != 'p' && c != 'P' && c != 0xE3 && c != 0xE6 && c != 0xEF {
			i++
			continue
		}
		n := pwWordAt(s, i)
		if n == 0 {
			i++
			continue
		}
		if sp, ok := valueAfter(s, i+n); ok {
			out = append(out, sp)
		}
		if sp, ok := valueBefore(s, i); ok {
			out = append(out, sp)
		}
		i += n
	}
	return out
}

// lonePassword finds a message that is nothing but a password-like word,
// perhaps with a polite ending ("hanako1955 でございます", "abc123です"): lower-case
// letters with digits, as people make up passwords (model numbers are upper
// case: A201SH, SC-52C).
func lonePassword(s string) []span {
	vs := 0
	for vs < len(s) && (s[vs] == ' ' || s[vs] == '\n') {
		vs++
	}
	ve := tokenEnd(s, vs)
	if ve-vs < 6 || ve-vs > 64 {
		return nil
	}
	rest := strings.TrimLeft(s[ve:], " \n")
	if len(rest) > 30 || strings.IndexFunc(rest, func(r rune) bool { return r < utf8.RuneSelf && r > ' ' && !strings.ContainsRune(".!?", r) }) >= 0 ||
		rest != "" && !startsWithAny(rest, "で", "だ", "か", "。", "！", "？", ".", "!", "?") {
		return nil
	}
	lower, digit := false, false
	for i := vs; i < ve; i++ {
		lower = lower || s[i] >= 'a' && s[i] <= 'z'
		digit = digit || isASCIIDigit(s[i])
	}
	if !lower || !digit {
		return nil
	}
	if sp, ok := passwordSpan(s, vs, ve-vs, gapSentence); ok {
		return []span{sp}
	}
	return nil
}

// valueAfter finds the password that follows a password word ending at k.
func valueAfter(s string, k int) (span, bool) {
	kind := gapAdjacent
	j, runes := k, 0 // runes: how many besides white space
	for j < len(s) && runes <= maxGapAfter {
		r, size := utf8.DecodeRuneInString(s[j:])
		switch {
		case r == ' ' || r == '\n' || r == '\r':
			// A line break ends a sentence, not a stated value:
			// "パスワード:\nabc123".
			if r == '\n' && kind == gapSentence {
				return span{}, false
			}
			j += size
			continue
		case strings.ContainsRune(`:=->「『"'“(（、,→`, r) || r == 'は' && runes == 0:
			if kind == gapAdjacent {
				kind = gapStated
			}
		case strings.ContainsRune("。！？!?\t", r):
			return span{}, false
		case r < utf8.RuneSelf:
			// An ASCII word: "is" states the value, anything else is it.
			w := s[j:tokenEnd(s, j)]
			if strings.EqualFold(w, "is") {
				if kind == gapAdjacent {
					kind = gapStated
				}
				j += len(w)
				runes += len(w)
				continue
			}
			if strings.HasPrefix(w, "[") {
				return span{}, false // a mask or a bracket: nothing to find
			}
			return passwordSpan(s, j, len(w), kind)
		default:
			if startsWithAny(s[j:], "コード", "番号", "パスワード", "ぱすわーど") {
				return span{}, false // another subject
			}
			kind = gapSentence
		}
		j += size
		runes++
	}
	return span{}, false
}

// valueBefore finds the password right before a password word at k
// ("hanako1955がパスワードです", "sakura0401 というパス").
func valueBefore(s string, k int) (span, bool) {
	j := k
	for runes := 0; j > 0 && runes <= maxGapBefore; runes++ {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		if r < utf8.RuneSelf && r != ' ' && r != ':' {
			break
		}
		if r != ' ' && r != ':' && !strings.ContainsRune("がはってという", r) {
			return span{}, false
		}
		j -= size
	}
	if j == 0 || s[j-1] >= utf8.RuneSelf || s[j-1] == ' ' {
		return span{}, false
	}
	start := j
	for start > 0 && s[start-1] > ' ' && s[start-1] < utf8.RuneSelf {
		start--
	}
	return passwordSpan(s, start, j-start, gapSentence)
}

// tokenEnd returns the end of the run of printable ASCII starting at i.
func tokenEnd(s string, i int) int {
	for i < len(s) && s[i] > ' ' && s[i] < utf8.RuneSelf {
		i++
	}
	return i
}

func startsWithAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// passwordSpan decides whether the ASCII word s[vs:vs+n], found after a gap
// of the given kind, is a password.
func passwordSpan(s string, vs, n, kind int) (span, bool) {
	ve := vs + n
	// Trim sentence punctuation and closing quotes after the value.
	for ve > vs && strings.IndexByte(`.,;:)]}"'`, s[ve-1]) >= 0 {
		ve--
	}
	v := s[vs:ve]
	if v == "" || v[0] == '[' || !asciiBoundary(s, vs, ve) || followedByUnit(s[ve:]) || notAPassword(v) {
		return span{}, false
	}
	letter, other := false, false
	for i := 0; i < len(v); i++ {
		if isASCIILetter(v[i]) {
			letter = true
		} else {
			other = true
		}
	}
	switch kind {
	case gapAdjacent:
		// "password reset", "PW 12": a word or too short to be the value.
		if !other || len(v) < 3 {
			return span{}, false
		}
	case gapSentence:
		// Only what looks like a password on its own: letters with digits
		// or symbols.
		if !letter || !other || len(v) < 4 {
			return span{}, false
		}
	}
	return span{start: vs, end: ve, kind: KindPassword}, true
}

// asciiBoundary reports whether s[start:end] is not glued to more ASCII
// letters or digits on either side, nor to one of our masks.
func asciiBoundary(s string, start, end int) bool {
	return (start == 0 || !glued(s[start-1])) && (end == len(s) || !glued(s[end]))
}

// notAPassword reports ASCII words that come up next to a password word
// without being one: the products and services people sign in to or from
// (Outlook, iPhone15, Windows11), an e-mail address, a URL or a domain, an
// error code (0x80070005).
func notAPassword(v string) bool {
	l := strings.ToLower(v)
	if strings.Contains(l, "@") || strings.Contains(l, "://") || strings.HasPrefix(l, "www.") || strings.HasPrefix(l, "0x") {
		return true
	}
	if dot := strings.LastIndexByte(l, '.'); dot > 0 && len(l)-dot-1 >= 2 && strings.Trim(l[dot+1:], "abcdefghijklmnopqrstuvwxyz") == "" {
		return true // a domain: outlook.com, live.jp
	}
	word := strings.TrimRight(l, "0123456789")
	for _, w := range notPasswords {
		if word == w {
			return true
		}
	}
	return false
}

var notPasswords = []string{
	"id", "ok", "ng", "sms", "pc", "url", "app", "microsoft", "outlook", "hotmail", "live", "msn", "office", "windows", "win",
	"xbox", "skype", "teams", "onedrive", "google", "gmail", "apple", "icloud", "yahoo", "line", "amazon",
	"iphone", "ipad", "ios", "android", "pixel", "galaxy", "xperia", "aquos", "arrows", "mac", "macos", "surface",
}
