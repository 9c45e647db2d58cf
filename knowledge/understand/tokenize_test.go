package understand

import (
	"strings"
	"testing"
)

func TestTokenizerShared(t *testing.T) {
	if a, b := Tokenizer(), Tokenizer(); a != b {
		t.Fatal("Tokenizer() built two tokenizers")
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want string // words joined by spaces
	}{
		{"確認コードが届きません", "確認 コード 届く ない"},
		{"コードが届かない", "コード 届く ない"},
		{"コードが届いた", "コード 届く"},
		{"届かなくて入れない", "届く ない 入れる ない"},
		{"コードが来ない", "コード 来る ない"},
		{"こない", "来る ない"},
		{"メールがないです", "メール ない"},
		{"受け取れないです", "受け取れる ない"},
		{"担当者と話したい", "担当 者 話す たい"},
		{"30日も待つの", "30 日 待つ"},
		{"二段階認証", "2 段階 認証"},
		{"サーバーが重い", "サーバ 重い"},
		{"はい", "はい"},
		{"いいえ", "いいえ"},
		{"コードは [code] です", "コード [code]"},
		{"出来ない", "できる ない"},
		{"ブロックしてるかもしれない", "ブロック"},
		{"届いてないかもしれません", "届く ない"},
		{"送り直しても来ない", "送る 直す 来る ない"},
		// 合う spelt in kana; ある in other forms.
		{"番号あってる", "番号 合う"},
		{"あってます", "合う"},
		{"お金があって", "お金"},
		// Kansai negations.
		{"コードが届かへん", "コード 届く ない"},
		{"ログインできひん", "ログイン できる ない"},
		// Question frames: どう before する/やる, 場合, politeness go; verb+方
		// counts as the verb.
		{"どうすればいいですか", ""},
		{"どうやって変えるの", "変える"},
		{"選んだらどうなる", "選ぶ どう なる"},
		{"届かない場合は", "届く ない"},
		{"恐れ入りますがよろしいでしょうか", ""},
		{"あ、すみません。迷惑メールにもないです", "迷惑 メール ない"},
		{"たぶんSMSだと思う", "sms"},
		{"多分メールかも", "メール"},
		{"回復フォームの書き方", "回復 フォーム 書く"},
		{"使い方を教えて", "使う 教える"},
		{"やり方がわからない", "わかる ない"},
		// A negated benefactive in a question is a polite request, not a
		// negation; negated without a question it still negates.
		{"電話で対応してもらえませんか", "電話 対応"},
		{"人に代わっていただけないでしょうか", "人 代わる"},
		{"つないでくれないか", "つなぐ"},
		{"コードを送ってもらえない", "コード 送る ない"},
		{"誰も対応してくれません", "誰 対応 ない"},
		// When frames the situation.
		{"ログインのときのコード", "ログイン コード"},
		// English: function words dropped, light stemming, negation kept.
		{"My verification code doesn't arrive", "verification cod ない arriv"},
		{"codes arrived", "cod arriv"},
		{"I can't sign in", "ない sign"},
		{"Authenticatorアプリ", "authenticator アプリ"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := strings.Join(Words(Normalize(tt.in)), " ")
			if got != tt.want {
				t.Fatalf("Words(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
