package redact

import (
	"strings"
	"unicode/utf8"
)

// numberRun is a run of digit groups separated by single separators, e.g.
// "090-1234-5678", "123 456", "5 8 2 0 1 3", "+81 90 1234 5678".
type numberRun struct {
	start, end int      // byte offsets, including a leading plus
	plus       bool     // starts with +
	groups     []string // the digits of each group
}

func (r numberRun) digits() string { return strings.Join(r.groups, "") }

func isSeparator(r rune) bool { return r == ' ' || r == '-' || r == 'ー' }

// runs splits folded text s into numberRuns.
func runs(s string) []numberRun {
	var out []numberRun
	for i := 0; i < len(s); {
		if !isASCIIDigit(s[i]) {
			i++
			continue
		}
		run := numberRun{start: i}
		if i > 0 && s[i-1] == '+' {
			run.plus, run.start = true, i-1
		}
		g := i
		j := i
		sepClass := 0 // 0 none yet, 1 spaces, 2 dashes: a run keeps to one kind (after "+81 ", once)
		// Digits glued to a '*' are the tail of a phone mask ("090-****-**78"):
		// the run ends with them, as it did before masking.
		tail := i > 0 && s[i-1] == '*'
		for j < len(s) {
			if isASCIIDigit(s[j]) {
				j++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if isSeparator(r) && !tail && j+size < len(s) && isASCIIDigit(s[j+size]) {
				class := 2
				if r == ' ' {
					class = 1
				}
				// A separator continues the run only when a digit follows.
				if sepClass == 0 || sepClass == class || run.plus && len(run.groups) == 1 {
					sepClass = class
					run.groups = append(run.groups, s[g:j])
					j += size
					g = j
					continue
				}
			}
			break
		}
		run.groups = append(run.groups, s[g:j])
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

// tailWords just before a short number make it the part of a phone number
// that Microsoft shows ("下2桁は78", "末尾は5678"), not a code.
var tailWords = []string{"桁", "末尾", "下", "最後"}

// maskBlanks blanks our own masks out, keeping byte offsets: "[code]" is not
// a code word, which keeps Text idempotent.
var maskBlanks = strings.NewReplacer(
	MaskCode, strings.Repeat(" ", len(MaskCode)),
	MaskRecoveryCode, strings.Repeat(" ", len(MaskRecoveryCode)),
	MaskPassword, strings.Repeat(" ", len(MaskPassword)),
)

// partOfDecimal reports whether the run is glued to a decimal point or a
// thousands separator ("3.14159265", "1,234567"): a number, not a code.
func partOfDecimal(s string, start, end int) bool {
	if start >= 2 && (s[start-1] == '.' || s[start-1] == ',') && isASCIIDigit(s[start-2]) {
		return true
	}
	return end+1 < len(s) && (s[end] == '.' || s[end] == ',') && isASCIIDigit(s[end+1])
}

func precededByCurrency(s string, start int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:start])
	return r == '¥' || r == '$' || r == '€' || r == '￥'
}

// hex reports whether the run at start follows "0x": an error code such as
// 0x80070005, which staff need to read.
func hex(s string, start int) bool {
	return start >= 2 && s[start-2] == '0' && s[start-1]|0x20 == 'x'
}

// isDate reports year-month-day groups ("2026-11-25", "26 11 25").
func isDate(groups []string) bool {
	if len(groups) != 3 || len(groups[0]) != 4 && len(groups[0]) != 2 || len(groups[1]) > 2 || len(groups[2]) > 2 {
		return false
	}
	m, d := atoi(groups[1]), atoi(groups[2])
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func numbers(s string) []span {
	var out []span
	var blanked string
	for _, run := range runs(s) {
		d := run.digits()
		n := len(d)
		if isPhone(run) {
			out = append(out, span{start: run.start, end: run.end, kind: KindPhone, keep: phoneKeep(run)})
			continue
		}
		if run.plus {
			// "+1" or "+30": not a phone we recognise and not a code.
			continue
		}
		if partOfDecimal(s, run.start, run.end) || precededByCurrency(s, run.start) || followedByUnit(s[run.end:]) || hex(s, run.start) {
			continue
		}
		grouped := len(run.groups) > 1
		near := func() bool {
			if blanked == "" {
				blanked = maskBlanks.Replace(s)
			}
			return contextHas(blanked, run.start, run.end, 16, 10, codeWords) && !contextHas(blanked, run.start, run.start, 5, 0, tailWords)
		}
		switch {
		case n >= 6 && n <= 8 && !grouped:
			// "123456"
		case n >= 6 && n <= 8 && groupsWithin(run.groups, 1, 1):
			// "5 8 2 0 1 3", "5-8-2-0-1-3": one digit at a time
		case n >= 6 && n <= 8 && groupsWithin(run.groups, 2, 4) && !isDate(run.groups):
			// "123 456", "1234-5678", "12 34 56", "4829 13" (but not "2026-11-25")
		case (n == 4 || n == 5) && groupsWithin(run.groups, 1, 5) && near():
			// "コードは4821です", "コード 12 34", "確認コード 4 8 2 1"
		case n >= 9 && n <= 15:
			// A long number that is not a known phone format: mask it like one.
			out = append(out, span{start: run.start, end: run.end, kind: KindPhone, keep: phoneKeep(run)})
			continue
		default:
			continue
		}
		out = append(out, span{start: run.start, end: run.end, kind: KindCode})
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
		// Mobile, IP and toll numbers: 090, 080, 070, 050, 0800 (0120-xxx-xxx is 10).
		return d[2] == '0' && strings.ContainsRune("56789", rune(d[1])) || strings.HasPrefix(d, "0800")
	}
	// Ten digits: landlines (03-1234-5678), 0120-123-456.
	return true
}

// phoneKeep is how many leading digits of a phone number stay readable: the
// area or carrier prefix.
func phoneKeep(run numberRun) int {
	switch {
	case run.plus && len(run.groups) > 1 && len(run.groups[0]) <= 3:
		return len(run.groups[0])
	case run.plus:
		return 2
	case len(run.groups) > 1 && len(run.groups[0]) <= 4:
		return len(run.groups[0])
	}
	return 3
}

// maskDigits keeps the first keep digits of v and its last two, and writes
// '*' for the others: "090-1234-5678" → "090-****-**78", "+81 90 1234 5678" →
// "+81 ** **** **78". Digits may be full width; separators are kept as written.
func maskDigits(v string, keep int) string {
	total := 0
	for _, r := range v {
		if isDigit(r) {
			total++
		}
	}
	var b strings.Builder
	idx := 0
	for _, r := range v {
		if !isDigit(r) || idx < keep || idx >= total-2 {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		if isDigit(r) {
			idx++
		}
	}
	return b.String()
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }
