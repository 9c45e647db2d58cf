package redact

import (
	"reflect"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain japanese", "確認コードが届きません", "確認コードが届きません"},
		{"days", "30日待たないといけないんですか", "30日待たないといけないんですか"},
		{"two step", "2段階認証のコードが来ない", "2段階認証のコードが来ない"},
		{"hours", "24時間たっても届かない", "24時間たっても届かない"},
		{"year", "2026年から使っていません", "2026年から使っていません"},
		{"year near code word", "コードは2026年から届きません", "コードは2026年から届きません"},
		{"lone four digits", "4821", "4821"},
		{"amount", "100000円払いました", "100000円払いました"},
		{"yen sign", "¥1234567", "¥1234567"},
		{"decimal", "3.14159265", "3.14159265"},
		{"six digits", "コードは123456です", "コードは[code]です"},
		{"six digits alone", "123456", "[code]"},
		{"seven digits", "1234567", "[code]"},
		{"eight digits", "届いたのは12345678でした", "届いたのは[code]でした"},
		{"full width digits", "コード１２３４５６", "コード[code]"},
		{"spaced code", "123 456 と入れました", "[code] と入れました"},
		{"hyphen code", "1234-5678", "[code]"},
		{"pairs code", "12 34 56", "[code]"},
		{"odd spacing", "確認コード 4829 13", "確認コード [code]"},
		{"four digits near code word", "確認コード 4821 です", "確認コード [code] です"},
		{"five digits near code", "code 48213", "code [code]"},
		{"four digits after", "4821というコード", "[code]というコード"},
		{"pin", "PIN 1234", "PIN [code]"},
		{"recovery code", "回復コードはABCDE-12345-FGHIJ-67890-KLMNOです", "回復コードは[recovery_code]です"},
		{"recovery code spaces", "ab1de fghij klmno pqrst uvwxy", "[recovery_code]"},
		{"recovery code plain", "ABCDE12345FGHIJ67890KLMNO", "[recovery_code]"},
		{"five words", "hello there these words rocks", "hello there these words rocks"},
		{"password ja", "パスワードはabc123です", "パスワードは[password]です"},
		{"password colon", "password: x", "password: [password]"},
		{"password upper", "PW:hunter2!", "PW:[password]"},
		{"password full-width colon", "パスワード：Secret99", "パスワード：[password]"},
		{"password quoted", "パスワードは「abc123」です", "パスワードは「[password]」です"},
		{"password sentence end", "my password is abc123.", "my password is [password]."},
		{"password forgot", "パスワードを忘れました", "パスワードを忘れました"},
		{"password unknown", "パスワードはわかりません", "パスワードはわかりません"},
		{"password reset", "password reset please", "password reset please"},
		{"password rule", "パスワードは8文字以上ですか", "パスワードは8文字以上ですか"},
		{"pin number", "暗証番号は4821", "暗証番号は[password]"},
		{"email", "taro.yamada@example.com に届きません", "t***@example.com に届きません"},
		{"email in japanese", "メールはhanako@outlook.jpです", "メールはh***@outlook.jpです"},
		{"full width at", "taro＠example.com", "t***@example.com"},
		{"mobile", "090-1234-5678", "090-****-**78"},
		{"mobile no hyphen", "電話は09012345678です", "電話は090******78です"},
		{"mobile spaces", "080 1234 5678", "080 **** **78"},
		{"landline", "03-1234-5678", "03-****-**78"},
		{"toll free", "0120-123-456", "0120-***-*56"},
		{"intl", "+81 90-1234-5678", "+81 **-****-**78"},
		{"intl plain", "+819012345678", "+81********78"},
		{"full width phone", "０９０－１２３４－５６７８", "０９０－****－**７８"},
		{"long number", "123456789012", "123*******12"},
		{"date", "2026-11-25に変更しました", "2026-11-25に変更しました"},
		{"time", "10:30に届いた", "10:30に届いた"},
		{"mixed", "コード123456とtaro@example.comと090-1234-5678", "コード[code]とt***@example.comと090-****-**78"},
		{"already masked", "コードは[code]です t***@example.com 090-****-**78", "コードは[code]です t***@example.com 090-****-**78"},
		{"url", "https://account.live.com/acsr", "https://account.live.com/acsr"},
	}
	tests = append(tests, asWritten...)
	tests = append(tests, meaningKept...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Fatalf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := Text(Text(tt.in)); got != tt.want {
				t.Fatalf("Text(Text(%q)) = %q, want %q (not idempotent)", tt.in, got, tt.want)
			}
			checkPrefilter(t, tt.in, tt.want)
		})
	}
}

// asWritten are secrets as people write them on a phone (issue 9): every one
// is masked.
var asWritten = []struct{ name, in, want string }{
	// Codes: spaced, hyphenated, full width, mixed, in a sentence.
	{"spaced digits", "5 8 2 0 1 3", "[code]"},
	{"spaced digits in a sentence", "コードは 5 8 2 0 1 3 です", "コードは [code] です"},
	{"hyphenated digits", "5-8-2-0-1-3", "[code]"},
	{"hyphenated pairs", "58-20-13", "[code]"},
	{"hyphenated halves", "582-013が届きました", "[code]が届きました"},
	{"full width spaced", "５　８　２　０　１　３", "[code]"},
	{"full width hyphen", "５８２－０１３", "[code]"},
	{"long vowel as hyphen", "582ー013", "[code]"},
	{"mixed widths", "58２０13って出ました", "[code]って出ました"},
	{"glued to kana", "届いたコードは582013なんですけど入れてもだめ", "届いたコードは[code]なんですけど入れてもだめ"},
	{"four spaced near code word", "確認コード 4 8 2 1", "確認コード [code]"},
	{"google style", "G-582013 というSMSが来た", "G-[code] というSMSが来た"},
	// Passwords after (or before) a password word, in a sentence.
	{"password keigo", "パスワードは、hanako1955でございます", "パスワードは、[password]でございます"},
	{"password keigo spaced", "パスワードは hanako1955 でございます", "パスワードは [password] でございます"},
	{"pasu", "パスは sakura0401", "パスは [password]"},
	{"pasu colon", "ID: taro パス: sakura0401", "ID: taro パス: [password]"},
	{"password desu", "パスワードはsakura0401です", "パスワードは[password]です"},
	{"password desuga", "パスワードですがhanako1955です", "パスワードですが[password]です"},
	{"password tashika", "パスワードはたしか hanako1955 だったと思います", "パスワードはたしか [password] だったと思います"},
	{"password newline", "パスワード\nhanako1955", "パスワード\n[password]"},
	{"password stated newline", "パスワードは\nsakura", "パスワードは\n[password]"},
	{"password before the word", "hanako1955がパスワードです", "[password]がパスワードです"},
	{"password before toiu", "sakura0401 というパスワードで入れません", "[password] というパスワードで入れません"},
	{"password full width", "パスワードはｈａｎａｋｏ１９５５です", "パスワードは[password]です"},
	{"password quoted full width", "パスワード『Ｓａｋｕｒａ！』", "パスワード『[password]』"},
	{"pw lower", "pw sakura0401", "pw [password]"},
	{"pw full width", "ＰＷ：sakura0401", "ＰＷ：[password]"},
	{"pass colon", "pass: sakura0401", "pass: [password]"},
	{"password hiragana", "ぱすわーどは sakura0401", "ぱすわーどは [password]"},
	{"pasu hiragana", "ぱすは sakura0401 です", "ぱすは [password] です"},
	{"password half width kana", "ﾊﾟｽﾜｰﾄﾞ hanako1955", "ﾊﾟｽﾜｰﾄﾞ [password]"},
	{"one time password word", "ワンタイムパスワードは 1234", "ワンタイムパスワードは [password]"},
	{"password english", "my password is Hanako1955!", "my password is [password]"},
	{"pin word", "暗証番号は、4821です", "暗証番号は、[password]です"},
	{"password alone keigo", "hanako1955 でございます", "[password] でございます"},
	{"password alone", "sakura0401", "[password]"},
	{"password alone desu", "abc123です。", "[password]です。"},
	// Recovery codes: lower case, spaced, on several lines, full width, a
	// character too few.
	{"recovery lower hyphens", "ab1de-fghij-klmno-pqrst-uvwx1", "[recovery_code]"},
	{"recovery upper spaces", "AB1DE FGHIJ KLMNO PQRST UVWX1", "[recovery_code]"},
	{"recovery upper letters only", "ABCDE FGHIJ KLMNO PQRST UVWXY", "[recovery_code]"},
	{"recovery lower letters near word", "回復コードは abcde fghij klmno pqrst uvwxy です", "回復コードは [recovery_code] です"},
	{"recovery lines", "回復コード\nAB1DE-FGHIJ\nKLMNO-PQRST\nUVWX1", "回復コード\n[recovery_code]"},
	{"recovery full width", "ＡＢ１ＤＥ－ＦＧＨＩＪ－ＫＬＭＮＯ－ＰＱＲＳＴ－ＵＶＷＸ１", "[recovery_code]"},
	{"recovery odd groups", "回復コードは abcd1 efgh ijkl mnop qrst uvwx y です", "回復コードは [recovery_code] です"},
	{"recovery one short", "リカバリーコード AB1DE FGHIJ KLMNO PQRST UVWX", "リカバリーコード [recovery_code]"},
	// Addresses in full width.
	{"email full width", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍに届かない", "ｔ***@ｅｘａｍｐｌｅ．ｃｏｍに届かない"},
}

// meaningKept are numbers and words that look a little like secrets and are
// not: masking them would lose what the person said.
var meaningKept = []struct{ name, in, want string }{
	{"phone tail question", "下2桁は78です", "下2桁は78です"},
	{"phone tail four", "電話番号の下4桁は5678です", "電話番号の下4桁は5678です"},
	{"phone tail end", "番号の末尾は5678になってます", "番号の末尾は5678になってます"},
	{"days", "30日も待てません", "30日も待てません"},
	{"date slashes", "2026/11/25に申請しました", "2026/11/25に申請しました"},
	{"date spaced", "2026 11 25 に申請", "2026 11 25 に申請"},
	{"date short", "26-11-25に届いた", "26-11-25に届いた"},
	{"date japanese", "12月3日の10時30分", "12月3日の10時30分"},
	{"time", "10:30ごろ", "10:30ごろ"},
	{"count", "3回やりました", "3回やりました"},
	{"count spaced", "5 6 回やり直した", "5 6 回やり直した"},
	{"price", "1,980円", "1,980円"},
	{"price spaced", "100000 円", "100000 円"},
	{"price yen sign", "￥3000", "￥3000"},
	{"model number", "iPhone 15 Pro", "iPhone 15 Pro"},
	{"model glued", "パスワードを変えたらiPhone15で入れない", "パスワードを変えたらiPhone15で入れない"},
	{"os version", "Windows 11 の Outlook", "Windows 11 の Outlook"},
	{"password about a service", "パスワードはOutlookで変えました", "パスワードはOutlookで変えました"},
	{"password and domain", "パスワード忘れた outlook.com のです", "パスワード忘れた outlook.com のです"},
	{"password and error code", "パスワードを入れると 0x80070005 と出ます", "パスワードを入れると 0x80070005 と出ます"},
	{"password forgot new line", "パスワード忘れた\nOutlook365です", "パスワード忘れた\nOutlook365です"},
	{"password not the subject", "パスワードは覚えてますがコード123ABCが", "パスワードは覚えてますがコード123ABCが"},
	{"passport", "パスポート ABC12345", "パスポート ABC12345"},
	{"model number alone", "A201SHです", "A201SHです"},
	{"model name alone", "iPhone15です", "iPhone15です"},
	{"word and number alone", "outlook2019 です", "outlook2019 です"},
	{"word alone", "microsoft", "microsoft"},
	{"word with digits in a sentence", "abc123 を使ってます", "abc123 を使ってます"},
	{"pasta", "ぱすた abc123", "ぱすた abc123"},
	{"compass", "compass 2026", "compass 2026"},
	{"bypass", "バイパス abc123", "バイパス abc123"},
	{"two step", "2段階認証がオンです", "2段階認証がオンです"},
	{"five words", "please help me right now", "please help me right now"},
	{"english near code word", "recovery code doesnt work anymore please help", "recovery code doesnt work anymore please help"},
	{"five lower words", "hello there these words rocks", "hello there these words rocks"},
	{"full width words", "ｗｗｗ まじで", "ｗｗｗ まじで"},
}

func TestContains(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"確認コードが届きません", nil},
		{"30日", nil},
		{"123456", []string{KindCode}},
		{"パスワードはabc123です", []string{KindPassword}},
		{"a@b.jp 090-1234-5678 123456", []string{KindCode, KindEmail, KindPhone}},
		{"ABCDE-12345-FGHIJ-67890-KLMNO", []string{KindRecoveryCode}},
	}
	for _, tt := range tests {
		if got := Contains(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("Contains(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// digitsOf returns the ASCII digits in s, full-width digits converted.
func digitsOf(s string) string {
	f, _ := fold(s)
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if isASCIIDigit(f[i]) {
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"コードは123456です", "123 456", "パスワードはabc123です", "PW:x", "taro@example.com",
		"090-1234-5678", "+81 90 1234 5678", "ABCDE-12345-FGHIJ-67890-KLMNO", "2026年", "30日",
		"確認コード 4821", "１２３４５６７", "\xff\xfe123456",
	} {
		f.Add(s)
	}
	for _, tt := range asWritten {
		f.Add(tt.in)
	}
	for _, tt := range meaningKept {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		checkPrefilter(t, s, out)
		if again := Text(out); again != out {
			t.Fatalf("not idempotent: Text(%q) = %q, Text of that = %q", s, out, again)
		}
		// Width never changes what is found: the same text in full width
		// has the same kinds of secrets.
		if wide := widen(s); !reflect.DeepEqual(Contains(wide), Contains(s)) {
			t.Fatalf("Contains(%q) = %v, but Contains(%q) = %v", s, Contains(s), wide, Contains(wide))
		}
		norm := strings.ToValidUTF8(s, "\uFFFD")
		outDigits := digitsOf(out)
		folded, _ := fold(out)
		for _, sp := range detect(norm) {
			if sp.kind != KindCode && sp.kind != KindRecoveryCode && sp.kind != KindPassword {
				continue
			}
			before, after := norm[:sp.start], norm[sp.end:]
			// The secret's digits may only survive if they occur elsewhere in the input.
			if d := digitsOf(norm[sp.start:sp.end]); len(d) >= 4 && strings.Contains(outDigits, d) && !strings.Contains(digitsOf(before)+digitsOf(after), d) {
				t.Fatalf("Text(%q) = %q still contains the %s digits %s", s, out, sp.kind, d)
			}
			// Nor may the secret itself, in any width.
			v, _ := fold(norm[sp.start:sp.end])
			fb, _ := fold(before)
			fa, _ := fold(after)
			if len(v) >= 4 && strings.Contains(folded, v) && !strings.Contains(fb, v) && !strings.Contains(fa, v) && !strings.Contains(MaskCode+MaskRecoveryCode+MaskPassword, v) {
				t.Fatalf("Text(%q) = %q still contains the %s %q", s, out, sp.kind, v)
			}
		}
	})
}

// widen writes the printable ASCII of s in full width, and spaces as
// ideographic spaces.
func widen(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ':
			return '　'
		case r > ' ' && r < 0x7F:
			return r - '!' + '！'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// TestPrefilterChangesNothing: the cheap checks that skip a regular
// expression never change what is masked, on the test cases and on texts
// built around each expression's edges.
func TestPrefilterChangesNothing(t *testing.T) {
	texts := []string{
		"Outlookのコードが届きません。迷惑メールも見ましたがありません",
		"PaSsWoRd: hunter2", "my PW is abc123!", "パスワードは「Abc-123」です", "ぱすわーど→xyz789", "暗証番号=4321",
		"paſſword: secret1", "pwd=qwerty9", "passcode 1234", "ＰＡＳＳ：ａｂｃ１２３", "パスは sakura0401", "ぱすは sakura0401",
		"ﾊﾟｽ hanako1955", "hanako1955がパスワード", "暗証は 4821",
		"ABCDE-FGHIJ-KLMNO-PQRST-UVWX1", "ab1de fghij klmno pqrst uvwxy", "A1B2C3D4E5F6G7H8J9K0L1M2N",
		"回復コード abcd1 efgh ijkl mnop", "ＡＢ１ＤＥ ＦＧＨＩＪ ＫＬＭＮＯ ＰＱＲＳＴ ＵＶＷＸ１",
		"taro@example.com", "ｔａｒｏ＠example.com", "t***@example.com", "mail: a.b-c@d-e.co.jp です",
		"090-1234-5678", "コードは123456", "+81 90 1234 5678",
	}
	for _, in := range texts {
		checkPrefilter(t, in, Text(in))
	}
}

// checkPrefilter fails t when Text(s) without the prefilter is not out,
// what it gave with it.
func checkPrefilter(t *testing.T, s, out string) {
	t.Helper()
	prefilter = false
	defer func() { prefilter = true }()
	if slow := Text(s); slow != out {
		t.Fatalf("Text(%q) = %q with the prefilter, %q without", s, out, slow)
	}
}
