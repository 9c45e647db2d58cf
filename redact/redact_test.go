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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Fatalf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := Text(Text(tt.in)); got != tt.want {
				t.Fatalf("Text(Text(%q)) = %q, want %q (not idempotent)", tt.in, got, tt.want)
			}
		})
	}
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
	var b strings.Builder
	for _, r := range s {
		if isDigit(r) {
			b.WriteByte(asciiDigit(r))
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
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		checkPrefilter(t, s, out)
		if again := Text(out); again != out {
			t.Fatalf("not idempotent: Text(%q) = %q, Text of that = %q", s, out, again)
		}
		norm := strings.ToValidUTF8(s, "\uFFFD")
		outDigits := digitsOf(out)
		for _, sp := range detect(norm) {
			if sp.kind != KindCode && sp.kind != KindRecoveryCode && sp.kind != KindPassword {
				continue
			}
			d := digitsOf(norm[sp.start:sp.end])
			if len(d) < 4 {
				continue
			}
			// The secret's digits may only survive if they occur elsewhere in the input.
			rest := digitsOf(norm[:sp.start]) + " " + digitsOf(norm[sp.end:])
			if !strings.Contains(rest, d) && strings.Contains(outDigits, d) && !strings.Contains(digitsOf(norm[:sp.start])+digitsOf(norm[sp.end:]), d) {
				t.Fatalf("Text(%q) = %q still contains the %s digits %s", s, out, sp.kind, d)
			}
		}
	})
}

// TestPrefilterChangesNothing: the cheap checks that skip a regular
// expression never change what is masked, on the test cases and on texts
// built around each expression's edges.
func TestPrefilterChangesNothing(t *testing.T) {
	texts := []string{
		"Outlookのコードが届きません。迷惑メールも見ましたがありません",
		"PaSsWoRd: hunter2", "my PW is abc123!", "パスワードは「Abc-123」です", "ぱすわーど→xyz789", "暗証番号=4321",
		"paſſword: secret1", "pwd=qwerty9", "passcode 1234",
		"ABCDE-FGHIJ-KLMNO-PQRST-UVWX1", "ab1de fghij klmno pqrst uvwxy", "A1B2C3D4E5F6G7H8J9K0L1M2N",
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
