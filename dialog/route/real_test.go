package route

import (
	"sync"
	"testing"
	"time"

	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand"
)

var (
	realOnce   sync.Once
	realRouter *Router
	realErr    error
)

// embeddedRouter is the product's router: every embedded Japanese pack with
// its matcher, microsoft-ja the default.
func embeddedRouter(t testing.TB) *Router {
	t.Helper()
	realOnce.Do(func() {
		packs, err := knowledge.Embedded()
		if err != nil {
			realErr = err
			return
		}
		var engines []*dialog.Engine
		for _, p := range packs {
			if p.Language != "ja" {
				continue
			}
			e, err := dialog.New(p, understand.New(p), dialog.Options{Threshold: understand.DefaultThreshold})
			if err != nil {
				realErr = err
				return
			}
			engines = append(engines, e)
		}
		realRouter, realErr = New(engines, "microsoft-ja")
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realRouter
}

// TestEmbeddedFirstMessages: a first message goes to the pack of the
// service it names, or to Microsoft's when it names none or names another
// service only as where a code goes, a tool or the chat. The examples are
// the and the held-out sets' (where Microsoft accounts mention
// Gmail, Yahoo!メール, Google Authenticator or LINE).
func TestEmbeddedFirstMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every pack's matcher")
	}
	r := embeddedRouter(t)
	tests := []struct{ text, pack, topic string }{
		{"LINEの引き継ぎでSMSの認証番号が届かない", "line-ja", ""},
		{"アップルIDのアカウント復旧に何日かかりますか", "apple-ja", "waiting_period"},
		{"iCloudにサインインしたいのに6桁のコードが来ない", "apple-ja", ""},
		{"Gmailの確認コードが来ないんだけど", "google-ja", "ask_method"},
		{"ヤフーの確認コードがSMSで来ない", "yahoo-ja", "sms_check"},
		{"アマゾンのワンタイムパスワードが届かない", "amazon-ja", "ask_method"},
		{"Amazonの荷物が届かない", "amazon-ja", "out_of_scope"},
		{"LINEのパスワード忘れてもうたんやけど、これもここで聞いてええの？", "line-ja", "out_of_scope"},
		{"インスタのパスワード忘れたんだけどどうすればいい", "microsoft-ja", "out_of_scope"},
		{"楽天銀行のワンタイムパスワードが来ない", "microsoft-ja", "out_of_scope"},
		{"確認コードが届きません", "microsoft-ja", "ask_method"},
		{"Gmailにマイクロソフトからのコードのメールが来ない", "microsoft-ja", "email_check"},
		{"ヤフーメールで確認コードが受信できません", "microsoft-ja", "email_check"},
		{"Google認証システムのコードが無効って言われます", "microsoft-ja", "authenticator"},
		{"LINEの友達にコード送ってって頼まれたけど大丈夫？", "microsoft-ja", "code_safety"},
		{"このLINEって何を聞けばいいの？", "microsoft-ja", "welcome"},
	}
	for _, tc := range tests {
		res := r.Step(dialog.State{}, dialog.Input{Kind: dialog.InputText, Text: tc.text, Time: time.Now()})
		if res.State.PackID != tc.pack || (tc.topic != "" && res.Trace.ToTopic != tc.topic) {
			t.Errorf("%q: pack %s topic %s (node %s), want %s %s", tc.text, res.State.PackID, res.Trace.ToTopic, res.Trace.ToNode, tc.pack, tc.topic)
		}
	}
}

// TestEmbeddedConversations plays a few conversations per service through
// the product's router: each turn's pack and topic.
func TestEmbeddedConversations(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every pack's matcher")
	}
	r := embeddedRouter(t)
	type turn struct{ text, pack, topic string }
	convs := [][]turn{
		{
			{"Gmailの確認コードが来ないんだけど", "google-ja", "ask_method"},
			{"SMSです", "google-ja", "sms_check"},
			{"番号は合ってます", "google-ja", "sms_check"},
			{"まだ来ない", "google-ja", "sms_check"},
		},
		{
			{"SMSでコードが届かない", "microsoft-ja", "sms_check"},
			{"Googleの方も同じなんです", "google-ja", "sms_check"},
			{"人と話したい", "google-ja", "handoff"},
		},
		{
			{"iPhoneを水没させてApple IDにサインインできません", "apple-ja", "replace_method"},
			{"どれもないです", "apple-ja", "recovery_form"},
			{"復旧って何日かかるんですか", "apple-ja", "waiting_period"},
		},
		{
			{"機種変したらLINEの引き継ぎで認証番号が来ない", "line-ja", "replace_method"},
			{"友達から認証番号を教えてって言われた", "line-ja", "code_safety"},
		},
		{
			{"ヤフーのコードが来ない", "yahoo-ja", "ask_method"},
			{"SMSです", "yahoo-ja", "sms_check"},
			{"その番号はもう解約しました", "yahoo-ja", "replace_method"},
		},
		{
			{"アマゾンの2段階認証、電話番号が変わって入れない", "amazon-ja", "replace_method"},
			{"どれも使えない", "amazon-ja", "recovery_form"},
			{"何日かかりますか", "amazon-ja", "waiting_period"},
		},
		{
			{"インスタのコードが来ない", "microsoft-ja", "out_of_scope"},
			{"じゃあアマゾンのワンタイムパスワードは？", "amazon-ja", "ask_method"},
		},
	}
	for i, conv := range convs {
		var st dialog.State
		for j, tu := range conv {
			res := r.Step(st, dialog.Input{Kind: dialog.InputText, Text: tu.text, Time: time.Now()})
			st = res.State
			if st.PackID != tu.pack || res.Trace.ToTopic != tu.topic {
				t.Errorf("conversation %d turn %d %q: pack %s topic %s (node %s), want %s %s", i+1, j+1, tu.text, st.PackID, res.Trace.ToTopic, res.Trace.ToNode, tu.pack, tu.topic)
				break
			}
		}
	}
}
