package knowledge

import (
	"fmt"
	"strings"
	"testing"
)

// testNamer reads names with the common part's routing data and a few
// services' names, as the embedded packs list them.
func testNamer(t *testing.T) *Namer {
	t.Helper()
	parts, err := embeddedParts()
	if err != nil {
		t.Fatal(err)
	}
	common := parts["common-ja"].part
	packs := []*Pack{
		{Service: "microsoft", Names: []string{"Microsoft", "マイクロソフト", "MS"}, ContextNames: []string{"Outlook", "Hotmail", "ホットメール"}},
		{Service: "google", Names: []string{"Google", "グーグル", "YouTube"}, ContextNames: []string{"Gmail"}},
		{Service: "apple", Names: []string{"Apple ID", "アップルID", "Apple", "アップル", "iCloud"}},
		{Service: "line", ContextNames: []string{"LINE", "ライン"}},
		{Service: "yahoo", Names: []string{"Yahoo", "ヤフー", "ヤフオク"}, ContextNames: []string{"Yahoo!メール", "Yahooメール", "ヤフーメール"}},
		{Service: "amazon", Names: []string{"Amazon", "アマゾン"}},
		common,
	}
	return NewNamer(packs, common.Routing)
}

func TestNamerFind(t *testing.T) {
	nm := testNamer(t)
	tests := []struct {
		text string
		want string // services found, comma-separated; "!x" for a negated one
	}{
		// The account's own codes or sign-in: the service.
		{"Gmailの確認コードが来ないんだけど", "google"},
		{"ぐーぐるの こーどが来ねぇんだ", "google"},
		{"gmailの 2段階認証のこーど 来ん", "google"},
		{"Gmail 2SV、SMS未着", "google"},
		{"iCloudにサインインしたいのに6桁のコードが来ない", "apple"},
		{"アップルIDのアカウント復旧に何日かかりますか", "apple"},
		{"LINEの引き継ぎでSMSの認証番号が届かない", "line"},
		{"らいんの引き継ぎで 番号来ねぇ", "line"},
		{"家内のLINEで、SMS認証ができないと申しております", "line"},
		{"LINE新しいスマホでログインしたいのにsmsこない", "line"},
		{"ヤフーメールの確認コード、来ません。", "yahoo"},
		{"やふおくの 確認こーど 来とらん", "yahoo"},
		{"あまぞんで買い物しようとしたら こーど来ん", "amazon"},
		{"YouTubeにログインできない", "google"},
		{"インスタのコードこない", "other"},
		{"楽天銀行のワンタイムパスワードが来ない", "other"},
		{"Googleの方も", "google"},
		// Where a code goes, a tool, a channel, the chat itself: no service.
		{"gmailに届くはずです", ""},
		{"gmailです", ""},
		{"Gmailの方にコードが来ない", ""},
		{"gmailで受け取る設定なのにメール来ない", ""},
		{"ヤフーメールで確認コードが受信できません", ""},
		{"画面には「a***@gmail.com に送信しました」って出てる", ""},
		{"Google Authenticatorです", ""},
		{"Google認証システムのコードが無効って言われます", ""},
		{"認証コードを教えてって友達からLINEが来た", ""},
		{"LINEの友達にコード送ってって頼まれたけど大丈夫？", ""},
		{"このLINEって何を聞けばいいの？", ""},
		{"LINEのスタンプの買い方", ""},
		{"オンラインで申し込んだ", ""},
		{"SMSが来ません", ""},
		{"それ、もうログインできないGmailです", ""},
		{"押した。新しいGmail入れて、そっちに来たcodeでverifyした", ""},
		{"親のgmailでいけるならそれで　前のパスとか覚えてないんやけど大丈夫？", ""},
		{"https://account.microsoft.com を開いた", ""},
		// Several, or negated.
		{"Hotmailの確認コードがヤフーのメールに届かない", "microsoft"},
		{"iCloudとGoogleの両方でコードが来ない", "apple,google"},
		{"Googleじゃなくて、Appleです", "!google,apple"},
		{"マイクロソフト以外のサービスです", "!microsoft"},
	}
	for _, tc := range tests {
		var got []string
		for _, m := range nm.Find(tc.text) {
			s := m.Service
			if m.Negated {
				s = "!" + s
			}
			got = append(got, s)
		}
		if g := strings.Join(got, ","); g != tc.want {
			t.Errorf("Find(%q) = %q, want %q", tc.text, g, tc.want)
		}
	}
}

func TestNamerStrip(t *testing.T) {
	nm := testNamer(t)
	for in, want := range map[string]string{
		"Googleの方も同じなんです":     "も同じなんです",
		"ぐーぐるの こーどが来ねぇんだ":     "の こーどが来ねぇんだ",
		"Ｇｍａｉｌの２段階認証のコード":     "の2段階認証のコード",
		"Gmailに届かない":          "Gmailに届かない",
		"Googleじゃなくて、Appleです": "Googleじゃなくて、です",
		"アマゾン":                "",
	} {
		if got := nm.Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNameKey(t *testing.T) {
	for in, want := range map[string]string{
		"Ｇｏｏｇｌｅ アカウント": "googleアカウント",
		"ぐーぐる":         "グーグル",
		"Yahoo! JAPAN": "yahoo!japan",
	} {
		if got := nameKey(in); got != want {
			t.Errorf("nameKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleNamer_Find() {
	routing := &Routing{Subject: []string{"コード"}, Destination: []string{"に"}, Negation: []string{"じゃない"}}
	nm := NewNamer([]*Pack{{Service: "google", Names: []string{"Google"}, ContextNames: []string{"Gmail"}}}, routing)
	for _, text := range []string{"Googleのコードが来ない", "Gmailのコードが来ない", "Gmailに届かない", "Googleじゃない"} {
		fmt.Println(text, nm.Find(text))
	}
	// Output:
	// Googleのコードが来ない [{google Google false true}]
	// Gmailのコードが来ない [{google Gmail false true}]
	// Gmailに届かない []
	// Googleじゃない [{google Google true false}]
}
