// Package understand reads Japanese free text: it normalises it (Normalize),
// tokenises it with kagome into content words (base forms, negation kept),
// expands the pack's synonyms and scores it against every intent's example
// phrases (Matcher.Understand), blended with a classifier trained at New
// from the same examples and the pack's question answers (see model.go). Latin words are read as English, so the same
// matcher serves an English pack; for a Japanese pack, English loanwords typed
// in Latin letters (mail, code, app) are first respelt in katakana.
//
// Use:
//
//	m := understand.New(pack) // once per pack: tokenises every example, trains the model (~0.5 s)
//	ms := m.Understand("迷惑メールにもないです", expects) // expects: answer ids the node accepts
//	if len(ms) > 0 && ms[0].Score >= understand.DefaultThreshold { ... }
//
// The matcher is read-only after New, so one Matcher serves every
// conversation concurrently. The kagome tokenizer is shared by the whole
// process (Tokenizer): about 0.6 s and 90 MB of heap, built on first use.
package understand

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// markerRe finds redaction markers such as [code] or [password] that the
// caller's redactor put in place of secrets. They survive normalisation.
var markerRe = regexp.MustCompile(`\[[a-z_]{2,20}\]`)

// emailRe finds (masked) e-mail addresses (t***@example.com); they become the
// marker [email] so that punctuation stripping does not scatter them.
var emailRe = regexp.MustCompile(`[a-z0-9._%+*\-]*@[a-z0-9*\-]+(\.[a-z0-9*\-]+)+`)

// contractions spells out English negations before punctuation goes, so that
// "doesn't" keeps its "not".
var contractions = strings.NewReplacer(
	"can't", "can not", "can’t", "can not", "won't", "will not", "won’t", "will not",
	"cannot", "can not", "n't", " not", "n’t", " not",
)

// kansaiKuru spells the Kansai negations of 来る (来ーへん, けーへん,
// こーへん, きーひん) as 来へん, which kagome reads as 来る + negation; a
// long mark after a kanji would otherwise split them.
var kansaiKuru = strings.NewReplacer(
	"来ーへん", "来へん", "来えへん", "来へん", "来ーひん", "来へん", "来いひん", "来へん",
	"けーへん", "来へん", "こーへん", "来へん", "きーひん", "来へん", "こおへん", "来へん", "けえへん", "来へん",
)

// howToDo spells asking what to do one way: どうしたら (and the Kansai
// どないしたら, どないすれば) as どうすれば, and the Kansai ええ (good) after a
// conditional as いい, so that the する and たら of どうしたら are not read as
// the verbs of an example (再送したら) and ええ is not read as yes; both
// (どっちも, どちらも) is 両方, whose どっち would otherwise be which.
var howToDo = strings.NewReplacer(
	"どないしたらええ", "どうすればいい", "どないすればええ", "どうすればいい", "どうしたらええ", "どうすればいい",
	"どないしたら", "どうすれば", "どないすれば", "どうすれば", "どうしたら", "どうすれば",
	"すればええ", "すればいい", "たらええ", "たらいい",
	"どっちも", "両方", "どちらも", "両方",
)

// Normalize returns s in the form the matcher works on: NFKC (full-width
// ASCII and half-width kana folded), lower case, long-vowel marks and wave
// dashes unified, emoji, symbols and punctuation removed, runs of spaces
// collapsed. Redaction markers ([code], [password], [email], ...) are kept with
// their brackets; e-mail addresses become [email].
func Normalize(s string) string { return normalize(s, false) }

// normalize is Normalize; with loan, English loanwords typed in Latin
// letters are respelt in katakana first (see respellLoanwords).
func normalize(s string, loan bool) string {
	if s == "" {
		return ""
	}
	s = norm.NFKC.String(s)
	s = strings.ToLower(s)
	if loan {
		s = respellLoanwords(s)
	}
	if strings.Contains(s, "へん") || strings.Contains(s, "ひん") {
		s = kansaiKuru.Replace(s)
	}
	if strings.Contains(s, "どう") || strings.Contains(s, "どない") || strings.Contains(s, "ええ") || strings.Contains(s, "どっち") || strings.Contains(s, "どちら") {
		s = howToDo.Replace(s)
	}
	if strings.Contains(s, "n't") || strings.Contains(s, "n’t") || strings.Contains(s, "cannot") {
		s = contractions.Replace(s)
	}
	if strings.Contains(s, "@") {
		s = emailRe.ReplaceAllString(s, " [email] ")
	}
	var markers [][]int
	if strings.Contains(s, "[") {
		markers = markerRe.FindAllStringIndex(s, -1)
	}

	var b strings.Builder
	b.Grow(len(s))
	space := true // whether the output ends in a space (or is empty)
	prev := rune(0)
	writeSpace := func() {
		if !space {
			b.WriteByte(' ')
			space = true
		}
		prev = ' '
	}
	for i := 0; i < len(s); {
		if len(markers) > 0 && i == markers[0][0] {
			writeSpace()
			b.WriteString(s[markers[0][0]:markers[0][1]])
			space = false
			i = markers[0][1]
			markers = markers[1:]
			writeSpace()
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			writeSpace()
		case isLongMark(r):
			// A dash or wave after kana lengthens the vowel: after katakana it
			// is the long-vowel mark (メール, メ～ル), after hiragana see below.
			// Elsewhere it separates words.
			switch {
			case isKatakana(prev) || prev == 'ー':
				if prev != 'ー' {
					b.WriteRune('ー')
					space = false
				}
				prev = 'ー'
			case isHiragana(prev):
				// Before more hiragana it is a loanword spelt in hiragana
				// (こーど, めーる): keep it. At the end of a word it is
				// emphasis (こないー): drop it, keeping prev so that ーーー
				// collapses too.
				if r := nextAfterMarks(s[i:]); isHiragana(r) {
					b.WriteRune('ー')
					space = false
					prev = 'ー'
				}
			default:
				writeSpace()
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			// A Latin word runs straight into Japanese in chat ("sms届かない");
			// a space between them keeps kagome from misreading the kana.
			if !space && isLatin(prev) != isLatin(r) && (isLatinLetter(prev) || isLatinLetter(r)) {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
			prev = r
		case unicode.IsSpace(r), unicode.IsPunct(r), unicode.IsSymbol(r):
			writeSpace()
		default:
			// Marks (variation selectors, combining keycaps), format
			// characters (ZWJ) and other invisible runes vanish in place.
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// isLongMark reports whether r is a long-vowel mark or one of the dashes and
// wave dashes people type in its place.
func isLongMark(r rune) bool {
	switch r {
	case 'ー', 'ｰ', '-', '‐', '‑', '‒', '–', '—', '―', '−', '─', '━', '~', '～', '〜', '〰':
		return true
	}
	return false
}

func isHiragana(r rune) bool { return r >= 'ぁ' && r <= 'ゖ' }

func isKatakana(r rune) bool { return r >= 'ァ' && r <= 'ヺ' }

// FoldKana maps katakana to hiragana (メール → めーる) so that a word
// written in either script compares equal. Other runes are unchanged.
func FoldKana(s string) string {
	for _, r := range s {
		if isKatakana(r) && r <= 'ヶ' {
			return strings.Map(foldRune, s)
		}
	}
	return s
}

func foldRune(r rune) rune {
	if r >= 'ァ' && r <= 'ヶ' {
		switch r {
		case 'ヵ':
			return 'か'
		case 'ヶ':
			return 'け'
		case 'ヴ':
			return 'ゔ'
		}
		return r - 'ァ' + 'ぁ'
	}
	return r
}

// isKanaOnly reports whether s is non-empty and written in kana (and the
// long-vowel mark) only.
func isKanaOnly(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isHiragana(r) && !isKatakana(r) && r != 'ー' {
			return false
		}
	}
	return true
}

// isHiraganaOnly reports whether s is written in hiragana only.
func isHiraganaOnly(s string) bool {
	for _, r := range s {
		if !isHiragana(r) && r != 'ー' {
			return false
		}
	}
	return true
}

func isLatin(r rune) bool { return r < 0x80 }

func isLatinLetter(r rune) bool { return r >= 'a' && r <= 'z' }

// nextAfterMarks returns the first rune of s that is not a long-vowel mark, or
// 0 at the end.
func nextAfterMarks(s string) rune {
	for _, r := range s {
		if !isLongMark(r) {
			return r
		}
	}
	return 0
}
