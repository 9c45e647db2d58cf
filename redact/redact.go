// Package redact masks secrets and personal data in what users write before
// anything is stored or logged: verification and recovery codes, passwords,
// email addresses and phone numbers.
//
// The masks keep enough to be useful to staff reading a conversation log
// ("t***@example.com", "090-****-**78") and nothing that would let anyone use
// the secret. Detection errs on the side of masking: a bank-style amount or a
// year stays readable ("2026年", "30日"), but a lone 6-8 digit number is
// treated as a code.
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

// span is one detected piece of s[start:end] and what replaces it.
type span struct {
	start, end int
	kind       string
	repl       string
}

// Text returns s with codes, recovery codes, passwords, email addresses and
// phone numbers masked. It is idempotent: Text(Text(s)) == Text(s).
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	spans := detect(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(sp.repl)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Contains reports the kinds of sensitive data found in s (KindCode, ...),
// each once, sorted. It returns nil when s looks clean.
func Contains(s string) []string {
	spans := detect(strings.ToValidUTF8(s, "\uFFFD"))
	if len(spans) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var kinds []string
	for _, sp := range spans {
		if !seen[sp.kind] {
			seen[sp.kind] = true
			kinds = append(kinds, sp.kind)
		}
	}
	sort.Strings(kinds)
	return kinds
}

// detect finds non-overlapping spans, sorted by position. Detectors run from
// the most specific to the least, and a later one never overlaps an earlier
// one's span.
// s must be valid UTF-8.
func detect(s string) []span {
	var spans []span
	add := func(sp span) {
		for _, o := range spans {
			if sp.start < o.end && o.start < sp.end {
				return
			}
		}
		spans = append(spans, sp)
	}
	// The regular expressions cost most of the time on Japanese text
	// (backtracking over every position): each runs only when s has what
	// its match needs. Most messages have none of it.
	if !prefilter || mayHavePassword(s) {
		for _, sp := range passwords(s) {
			add(sp)
		}
	}
	if !prefilter || asciiAlnumCount(s) >= 25 {
		for _, sp := range recoveryCodes(s) {
			add(sp)
		}
	}
	if !prefilter || strings.ContainsAny(s, "@＠") {
		for _, sp := range emails(s) {
			add(sp)
		}
	}
	for _, sp := range numbers(s) {
		add(sp)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	return spans
}

// prefilter turns the cheap checks before the regular expressions on (off
// only in tests, to compare).
var prefilter = true

// mayHavePassword reports whether s contains something passwordRe's
// keyword group can match: the Japanese keywords, or "pw"/"pass" in any
// case ('ſ' folds to 's' in (?i), so it lets the expression run too).
func mayHavePassword(s string) bool {
	return strings.Contains(s, "パスワード") || strings.Contains(s, "ぱすわーど") || strings.Contains(s, "暗証番号") ||
		containsFoldASCII(s, "pw") || containsFoldASCII(s, "pass") || strings.ContainsRune(s, 'ſ')
}

// containsFoldASCII reports whether s contains sub (lower-case ASCII
// letters) in any ASCII case.
func containsFoldASCII(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && s[i+j]|0x20 == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// asciiAlnumCount counts ASCII letters and digits: a grouped recovery code
// has 25 of them.
func asciiAlnumCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			n++
		}
	}
	return n
}

// --- passwords ---

// passwordRe matches a password keyword, a separator and an ASCII (or
// full-width ASCII) value. Group 1 is the keyword, group 2 the separator,
// group 3 the value.
var passwordRe = regexp.MustCompile(`(?i)(パスワード|ぱすわーど|暗証番号|\bpassword\b|\bpasswd\b|\bpwd\b|\bpw\b|\bpass\b)` +
	`(\s*(?:は|:|：|=|＝|->|→|\bis\b)?\s*[「『"'“]?)` +
	`([!-~！-～]+)`)

func passwords(s string) []span {
	var out []span
	for _, m := range passwordRe.FindAllStringSubmatchIndex(s, -1) {
		sep := strings.TrimSpace(s[m[4]:m[5]])
		vs, ve := m[6], m[7]
		// Trim closing quotes and sentence punctuation after the value.
		for ve > vs {
			r, size := utf8.DecodeLastRuneInString(s[vs:ve])
			if !strings.ContainsRune(`.,;:)]}"'”」』。、．，`, r) {
				break
			}
			ve -= size
		}
		if ve <= vs {
			continue
		}
		if rest := s[vs:]; strings.HasPrefix(rest, MaskPassword) || strings.HasPrefix(rest, MaskCode) || strings.HasPrefix(rest, MaskRecoveryCode) {
			continue // already masked
		}
		val := s[vs:ve]
		explicit := strings.ContainsAny(sep, "は:：=＝>→「『\"'“")
		if !explicit && !hasDigitOrSymbol(val) {
			// "password reset", "password is wrong": no separator and a plain word.
			continue
		}
		if !explicit && utf8.RuneCountInString(val) < 3 || followedByUnit(s[ve:]) {
			// "パスワードは8文字以上": a rule, not a password.
			continue
		}
		out = append(out, span{start: vs, end: ve, kind: KindPassword, repl: MaskPassword})
	}
	return out
}

func hasDigitOrSymbol(v string) bool {
	for _, r := range v {
		if isDigit(r) || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 'ａ' && r <= 'ｚ' || r >= 'Ａ' && r <= 'Ｚ') {
			return true
		}
	}
	return false
}

// --- recovery codes ---

var recoveryGroupedRe = regexp.MustCompile(`[A-Za-z0-9]{5}(?:[- ][A-Za-z0-9]{5}){4}`)

func recoveryCodes(s string) []span {
	var out []span
	// Grouped: XXXXX-XXXXX-XXXXX-XXXXX-XXXXX. A match glued to more letters
	// is retried one byte later, so no candidate is skipped.
	for pos := 0; pos < len(s); {
		m := recoveryGroupedRe.FindStringIndex(s[pos:])
		if m == nil {
			break
		}
		start, end := pos+m[0], pos+m[1]
		v := s[start:end]
		// Five plain words separated by spaces are a sentence, not a code.
		if !asciiBoundary(s, start, end) || !strings.Contains(v, "-") && !strings.ContainsAny(v, "0123456789") {
			pos = start + 1
			continue
		}
		out = append(out, span{start: start, end: end, kind: KindRecoveryCode, repl: MaskRecoveryCode})
		pos = end
	}
	// Plain: exactly 25 letters and digits, with at least one of each.
	for i := 0; i < len(s); {
		if !isASCIIAlnum(s[i]) || s[i] == '*' {
			i++
			continue
		}
		j := i
		for j < len(s) && isASCIIAlnum(s[j]) && s[j] != '*' {
			j++
		}
		v := s[i:j]
		if j-i == 25 && asciiBoundary(s, i, j) && strings.ContainsAny(v, "0123456789") && strings.Trim(v, "0123456789") != "" {
			out = append(out, span{start: i, end: j, kind: KindRecoveryCode, repl: MaskRecoveryCode})
		}
		i = j
	}
	return out
}

// asciiBoundary reports whether s[start:end] is not glued to more ASCII
// letters or digits on either side, nor to one of our masks ("*", "[code]"):
// masking must not create a boundary that was not there before.
func asciiBoundary(s string, start, end int) bool {
	glue := func(c byte) bool { return isASCIIAlnum(c) || c == '[' || c == ']' }
	if start > 0 && glue(s[start-1]) {
		return false
	}
	if end < len(s) && glue(s[end]) {
		return false
	}
	return true
}

// isASCIIAlnum reports ASCII letters and digits, and the '*' of a phone mask.
func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*'
}

// --- email addresses ---

// emailRe also matches its own mask ("t***@example.com"), so masking twice
// changes nothing.
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-][A-Za-z0-9._%+\-*]*[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)

func emails(s string) []span {
	var out []span
	for _, m := range emailRe.FindAllStringIndex(s, -1) {
		v := s[m[0]:m[1]]
		at := strings.IndexAny(v, "@＠")
		local, domain := v[:at], v[at:]
		_, atSize := utf8.DecodeRuneInString(domain)
		domain = domain[atSize:]
		out = append(out, span{start: m[0], end: m[1], kind: KindEmail, repl: local[:1] + "***@" + domain})
	}
	return out
}

// --- phone numbers and numeric codes ---

// numberRun is a run of digit groups separated by single separators, e.g.
// "090-1234-5678", "123 456", "+81 90 1234 5678".
type numberRun struct {
	start, end int      // byte offsets in s, including a leading plus
	plus       bool     // starts with + or ＋
	spaced     bool     // groups separated by spaces (not dashes)
	groups     []string // ASCII digits of each group
}

func (r numberRun) digits() string { return strings.Join(r.groups, "") }

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

func asciiDigit(r rune) byte {
	if r >= '０' && r <= '９' {
		return byte('0' + (r - '０'))
	}
	return byte(r)
}

func isSeparator(r rune) bool {
	switch r {
	case ' ', '-', '‐', '‑', '–', '—', '−', '－', 'ー', '　':
		return true
	}
	return false
}

// runs splits s into numberRuns.
func runs(s string) []numberRun {
	var out []numberRun
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isDigit(r) {
			i += size
			continue
		}
		run := numberRun{start: i}
		if p, psize := utf8.DecodeLastRuneInString(s[:i]); i > 0 && (p == '+' || p == '＋') {
			run.plus = true
			run.start = i - psize
		}
		var g []byte
		j := i
		sepClass := 0 // 0 none yet, 1 spaces, 2 dashes: a run keeps to one kind (after "+81 ", once)
		// Digits glued to a '*' are the tail of a phone mask ("090-****-**78"):
		// the run ends with them, as it did before masking.
		glued := i > 0 && s[i-1] == '*'
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if isDigit(r) {
				g = append(g, asciiDigit(r))
				j += size
				continue
			}
			if isSeparator(r) && !glued {
				class := 2
				if r == ' ' || r == '　' {
					class = 1
				}
				// A separator continues the run only when a digit follows.
				if n, _ := utf8.DecodeRuneInString(s[j+size:]); isDigit(n) && (sepClass == 0 || sepClass == class || run.plus && len(run.groups) == 1) {
					sepClass = class
					run.spaced = class == 1
					run.groups = append(run.groups, string(g))
					g = nil
					j += size
					continue
				}
			}
			break
		}
		run.groups = append(run.groups, string(g))
		run.end = j
		out = append(out, run)
		i = j
	}
	return out
}

// units are characters that, written right after a number, make it a
// quantity rather than a code: "30日", "2026年", "100000円".
const units = "年月日時分秒円件人個回歳万億千百倍枚台本名位点桁文字％%ヶか週"

func followedByUnit(rest string) bool {
	rest = strings.TrimLeft(rest, " ")
	r, _ := utf8.DecodeRuneInString(rest)
	return r != utf8.RuneError && strings.ContainsRune(units, r)
}

// codeWords near a 4-5 digit number make it a code.
var codeWords = []string{"コード", "こーど", "番号", "認証", "確認", "ワンタイム", "セキュリティ", "パスコード", "暗証", "code", "pin", "otp"}

// maskBlanks blanks our own masks out, keeping byte offsets: "[code]" is not
// a code word, which keeps Text idempotent.
var maskBlanks = strings.NewReplacer(
	MaskCode, strings.Repeat(" ", len(MaskCode)),
	MaskRecoveryCode, strings.Repeat(" ", len(MaskRecoveryCode)),
	MaskPassword, strings.Repeat(" ", len(MaskPassword)),
)

func nearCodeWord(s string, start, end int) bool {
	before := lastRunes(s[:start], 16)
	after := firstRunes(s[end:], 10)
	ctx := strings.ToLower(before + " " + after)
	for _, w := range codeWords {
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

// partOfDecimal reports whether the run is glued to a decimal point or a
// thousands separator ("3.14159265", "1,234567"): a number, not a code.
func partOfDecimal(s string, start, end int) bool {
	if start >= 2 && (s[start-1] == '.' || s[start-1] == ',') && s[start-2] >= '0' && s[start-2] <= '9' {
		return true
	}
	if end+1 < len(s) && (s[end] == '.' || s[end] == ',') && s[end+1] >= '0' && s[end+1] <= '9' {
		return true
	}
	return false
}

func precededByCurrency(s string, start int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:start])
	return r == '¥' || r == '￥' || r == '$' || r == '＄' || r == '€'
}

func numbers(s string) []span {
	var out []span
	blanked := maskBlanks.Replace(s)
	for _, run := range runs(s) {
		d := run.digits()
		n := len(d)
		if isPhone(run) {
			out = append(out, span{start: run.start, end: run.end, kind: KindPhone, repl: maskPhone(s, run)})
			continue
		}
		if run.plus {
			// "+1" or "+30": not a phone we recognise and not a code.
			continue
		}
		if partOfDecimal(s, run.start, run.end) || precededByCurrency(s, run.start) || followedByUnit(s[run.end:]) {
			continue
		}
		grouped := len(run.groups) > 1
		switch {
		case grouped && n >= 6 && n <= 8 && groupsWithin(run.groups, 3, 4):
			// "123 456", "1234-5678"
		case grouped && run.spaced && n >= 6 && n <= 8 && groupsWithin(run.groups, 2, 4):
			// "12 34 56", "4829 13" (but not the date "2026-11-25")
		case !grouped && n >= 6 && n <= 8:
			// "123456"
		case !grouped && (n == 4 || n == 5) && nearCodeWord(blanked, run.start, run.end):
			// "コードは4821です"
		case grouped && (n == 4 || n == 5) && groupsWithin(run.groups, 2, 3) && nearCodeWord(blanked, run.start, run.end):
			// "コード 12 34"
		case n >= 9 && n <= 15:
			// A long number that is not a known phone format: mask it like one.
			out = append(out, span{start: run.start, end: run.end, kind: KindPhone, repl: maskPhone(s, run)})
			continue
		default:
			continue
		}
		out = append(out, span{start: run.start, end: run.end, kind: KindCode, repl: MaskCode})
	}
	return out
}

func groupsWithin(groups []string, lo, hi int) bool {
	for _, g := range groups {
		if len(g) < lo || len(g) > hi {
			return false
		}
	}
	return true
}

// isPhone recognises Japanese numbers (090-1234-5678, 03-1234-5678,
// 0120-123-456, written with or without separators) and international ones
// (+81 90 1234 5678).
func isPhone(run numberRun) bool {
	d := run.digits()
	n := len(d)
	if run.plus {
		return n >= 8 && n <= 15
	}
	if n < 10 || n > 11 || d[0] != '0' {
		return false
	}
	if n == 11 {
		// Mobile, IP and toll numbers: 090, 080, 070, 050, 0120 (11 with 0120-xxx-xxx is 10).
		return d[2] == '0' && strings.ContainsRune("56789", rune(d[1])) || strings.HasPrefix(d, "0800")
	}
	// Ten digits: landlines (03-1234-5678), 0120-123-456.
	return true
}

// maskPhone keeps the area or carrier prefix and the last two digits:
// "090-1234-5678" → "090-****-**78", "+81 90 1234 5678" → "+81 ** **** **78".
func maskPhone(s string, run numberRun) string {
	keepPrefix := 0 // digits kept at the start
	switch {
	case run.plus && len(run.groups) > 1 && len(run.groups[0]) <= 3:
		keepPrefix = len(run.groups[0])
	case run.plus:
		keepPrefix = 2
	case len(run.groups) > 1 && len(run.groups[0]) <= 4:
		keepPrefix = len(run.groups[0])
	default:
		keepPrefix = 3
	}
	total := len(run.digits())
	var b strings.Builder
	idx := 0 // digit index
	for _, r := range s[run.start:run.end] {
		if !isDigit(r) {
			b.WriteRune(r)
			continue
		}
		if idx < keepPrefix || idx >= total-2 {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		idx++
	}
	return b.String()
}
