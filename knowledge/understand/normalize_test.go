package understand

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"full-width ascii", "ＳＭＳが届かない", "sms が届かない"},
		{"latin word into kana", "sms届かない", "sms 届かない"},
		{"kana into latin word", "認証アプリauthenticator", "認証アプリ authenticator"},
		{"digits stay with kanji", "30日間", "30日間"},
		{"digits stay with latin", "2FAが", "2fa が"},
		{"half-width kana", "ｺｰﾄﾞが来ない", "コードが来ない"},
		{"upper case", "Outlook Authenticator", "outlook authenticator"},
		{"punctuation", "確認コードが、届きません。", "確認コードが 届きません"},
		{"question marks", "30日も待つの？？", "30日も待つの"},
		{"emoji", "認証コードが全然こない😢", "認証コードが全然こない"},
		{"emoji with modifiers", "だめ👍🏻です🙇‍♀️", "だめ です"},
		{"japanese brackets", "「これ以上使いません」を選ぶ", "これ以上使いません を選ぶ"},
		{"wave dash as long mark", "メ〜ルが来ない", "メールが来ない"},
		{"full-width tilde as long mark", "メ～ル", "メール"},
		{"minus as long mark", "コ−ド", "コード"},
		{"kansai negation of 来る", "メール来ーへん", "メール来へん"},
		{"kansai negation in kana", "コードけーへん", "コード来へん"},
		{"repeated long marks", "メーーール", "メール"},
		{"emphasis after hiragana dropped", "こないーー", "こない"},
		{"wave after hiragana dropped", "こない〜", "こない"},
		{"long mark inside hiragana kept", "こーどがこない", "こーどがこない"},
		{"long marks inside hiragana collapse", "めーーるが", "めーるが"},
		{"dash between digits", "090-1234", "090 1234"},
		{"spaces collapse", "  コード　が   来ない  ", "コード が 来ない"},
		{"redaction marker kept", "コードは[code]です", "コードは [code] です"},
		{"password marker kept", "[password]", "[password]"},
		{"masked email", "t***@example.comに届かない", "[email] に届かない"},
		{"plain brackets dropped", "[あ]", "あ"},
		{"circled digit", "①番", "1番"},
		{"half-width space and plus", "+81 でいい?", "81 でいい"},
		{"newlines", "コード\nこない", "コード こない"},
		{"invalid utf8", "コード\xffこない", "コード こない"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFoldKana(t *testing.T) {
	tests := []struct{ in, want string }{
		{"メール", "めーる"},
		{"めーる", "めーる"},
		{"SMSコード", "SMSこーど"},
		{"ヴァ", "ゔぁ"},
		{"届く", "届く"},
	}
	for _, tt := range tests {
		if got := FoldKana(tt.in); got != tt.want {
			t.Fatalf("FoldKana(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLoanwords: for a Japanese pack, English loanwords typed in Latin
// letters are respelt in katakana (plural -s, two-word phrases included);
// markers, addresses, URLs and other Latin words are left alone.
func TestLoanwords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mailでcodeが来ない", "メールでコードが来ない"},
		{"ＭＡＩＬで届く", "メールで届く"},
		{"E-mailのcodes", "メールのコード"},
		{"junk folderにもない", "ジャンクフォルダにもない"},
		{"verification codeが届かない", "確認コードが届かない"},
		{"accountにlog inできない、app開いても", "アカウントにログインできない アプリ開いても"},
		{"authenticator appの通知", "authenticator アプリの通知"},
		{"[code]です", "[code] です"},
		{"account.live.com/acsr", "account live com acsr"},
		{"t***@mail.example.comに届かない", "[email] に届かない"},
		{"codeless 2fa", "codeless 2fa"},
		{"SMSです", "sms です"},
	}
	for _, tt := range tests {
		if got := normalize(tt.in, true); got != tt.want {
			t.Errorf("normalize(%q, loan) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Normalize itself (and so an English pack) reads them as English.
	if got := Normalize("mailでcodeが来ない"); got != "mail で code が来ない" {
		t.Errorf("Normalize respelt loanwords: %q", got)
	}
}
