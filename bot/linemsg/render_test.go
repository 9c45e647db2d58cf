package linemsg_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/todoku/todoku/bot/linemsg"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
)

func TestExternal(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://account.live.com/acsr", "https://account.live.com/acsr?openExternalBrowser=1"},
		{"https://example.com/a?b=c#d", "https://example.com/a?b=c&openExternalBrowser=1#d"},
		{"https://example.com/?openExternalBrowser=1", "https://example.com/?openExternalBrowser=1"},
		{"line://nv/chat", "line://nv/chat"},
		{"tel:0120000000", "tel:0120000000"},
	} {
		if got := linemsg.External(tt.in); got != tt.want {
			t.Errorf("External(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		replies []dialog.Reply
		want    []string // substrings of the JSON of each message
		wantErr bool
	}{
		{name: "text with quick replies", replies: []dialog.Reply{
			{Text: "こんにちは"},
			{Text: "どちらですか？", QuickReplies: []dialog.QuickReply{{Label: "メール", Data: "go=email", DisplayText: "メール"}, {Label: "ヘルプ", URI: "https://example.com"}}},
		}, want: []string{
			`"text":"こんにちは"`, `"type":"text"`,
			`"type":"action"`, `"type":"postback"`, `"data":"go=email"`, `"displayText":"メール"`, `"type":"uri"`, `"uri":"https://example.com?openExternalBrowser=1"`,
		}},
		{name: "links in text", replies: []dialog.Reply{{Text: "https://account.microsoft.com/security で確認できます。See https://account.live.com/acsr?x=1."}},
			want: []string{`"text":"https://account.microsoft.com/security?openExternalBrowser=1 で確認できます。See https://account.live.com/acsr?x=1\u0026openExternalBrowser=1."`}},
		{name: "buttons", replies: []dialog.Reply{{Text: "本文", Buttons: &dialog.Buttons{Title: "題", AltText: "代替", Actions: []dialog.QuickReply{{Label: "開く", URI: "https://account.live.com/acsr"}}}}},
			want: []string{`"altText":"代替"`, `"type":"template"`, `"type":"buttons"`, `"title":"題"`, `"uri":"https://account.live.com/acsr?openExternalBrowser=1"`}},
		{name: "none", wantErr: true},
		{name: "too many", replies: make([]dialog.Reply, 6), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := linemsg.Render(tt.replies)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			all := ""
			for _, m := range got {
				all += string(m)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("rendered %s\nwant it to contain %s", all, w)
				}
			}
			// Round trip: what we store can be decoded for sending.
			if err == nil {
				back, err := linemsg.Decode(got)
				if err != nil || len(back) != len(got) {
					t.Fatalf("decode: %v (%d messages)", err, len(back))
				}
				b, _ := json.Marshal(back[0])
				var x, y any
				_ = json.Unmarshal(b, &x)
				_ = json.Unmarshal(got[0], &y)
				if !reflect.DeepEqual(x, y) {
					t.Errorf("round trip changed the message:\n%s\n%s", got[0], b)
				}
			}
		})
	}
}

// TestRenderCached: a reply rendered again (from the cache) is the same
// JSON as the first time, and replies that differ in any field, even
// where the texts could run together, are different messages.
func TestRenderCached(t *testing.T) {
	qr := func(label, data string) []dialog.QuickReply { return []dialog.QuickReply{{Label: label, Data: data}} }
	replies := []dialog.Reply{
		{Text: "ab", QuickReplies: qr("c", "d")},
		{Text: "a", QuickReplies: qr("bc", "d")},
		{Text: "ab", QuickReplies: qr("c", "e")},
		{Text: "ab", Buttons: &dialog.Buttons{AltText: "c", Actions: qr("c", "d")}},
		{Text: "ab"},
	}
	seen := map[string]bool{}
	for _, r := range replies {
		first, err := linemsg.Render([]dialog.Reply{r})
		if err != nil {
			t.Fatal(err)
		}
		again, err := linemsg.Render([]dialog.Reply{r})
		if err != nil {
			t.Fatal(err)
		}
		if string(first[0]) != string(again[0]) {
			t.Fatalf("rendered twice differently:\n%s\n%s", first[0], again[0])
		}
		if seen[string(first[0])] {
			t.Fatalf("two different replies rendered the same: %s", first[0])
		}
		seen[string(first[0])] = true
	}
}

func TestRenderCard(t *testing.T) {
	c := &dialog.Card{Title: "回復フォームの流れ", Rows: []dialog.CardRow{{Mark: "1", Text: "連絡先を入力 https://account.live.com/acsr"}, {Text: "印なし"}},
		Actions: []dialog.QuickReply{{Label: "フォームを開く", URI: "https://account.live.com/acsr"}, {Label: "人と話したい", Data: "cmd=handoff", DisplayText: "人と話したい"}}}
	got, err := linemsg.Render([]dialog.Reply{{Text: "代わりの文", Card: c, QuickReplies: []dialog.QuickReply{{Label: "最初から", Data: "cmd=restart"}}}})
	if err != nil {
		t.Fatal(err)
	}
	js := string(got[0])
	for _, w := range []string{`"type":"flex"`, `"altText":"代わりの文"`, `"type":"bubble"`, `"text":"回復フォームの流れ"`, `"text":"1"`,
		`acsr?openExternalBrowser=1`, `"style":"primary"`, `"data":"cmd=handoff"`, `"quickReply"`} {
		if !strings.Contains(js, w) {
			t.Errorf("card JSON lacks %s:\n%s", w, js)
		}
	}
	if _, err := linemsg.Decode(got); err != nil {
		t.Errorf("decode: %v", err)
	}
	if typ, text := linemsg.LogText(dialog.Reply{Text: "代わりの文", Card: c}); typ != "flex" || text != "代わりの文" {
		t.Errorf("LogText of a card = %q %q, want flex and its alternative text", typ, text)
	}
	if typ, text := linemsg.LogTextOf(got[0]); typ != "flex" || text != "代わりの文" {
		t.Errorf("LogTextOf a card = %q %q", typ, text)
	}
}

// TestLargestCardWithinLimits renders the largest card kb validate allows,
// with the characters that take the most bytes in JSON: the bubble stays
// under LINE's 30 KB.
func TestLargestCardWithinLimits(t *testing.T) {
	family := "👨‍👩‍👧‍👦" // one grapheme, 25 bytes
	c := &dialog.Card{Title: strings.Repeat("<", knowledge.MaxCardTitle)}
	for range knowledge.MaxCardRows {
		c.Rows = append(c.Rows, dialog.CardRow{Mark: strings.Repeat(family, knowledge.MaxCardMark), Text: strings.Repeat("<", knowledge.MaxCardRowText)})
	}
	for range knowledge.MaxCardActions {
		label := strings.Repeat(family, knowledge.MaxLabel)
		c.Actions = append(c.Actions, dialog.QuickReply{Label: label, URI: "https://example.com/" + strings.Repeat("a", knowledge.MaxURI-20)})
	}
	got, err := linemsg.Render([]dialog.Reply{{Text: "x", Card: c}})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Contents json.RawMessage `json:"contents"`
	}
	_ = json.Unmarshal(got[0], &m)
	if n := len(m.Contents); n > knowledge.MaxFlexBubbleBytes {
		t.Fatalf("the largest card is %d bytes; LINE allows %d", n, knowledge.MaxFlexBubbleBytes)
	} else {
		t.Logf("the largest card is %d bytes of %d", n, knowledge.MaxFlexBubbleBytes)
	}
}

func TestStaffSender(t *testing.T) {
	got, err := linemsg.Staff("担当の佐藤です。https://account.live.com/acsr をご覧ください", linemsg.Sender{Name: "担当 佐藤", IconURL: "https://example.com/sato.png"})
	if err != nil {
		t.Fatal(err)
	}
	js := string(got[0])
	for _, w := range []string{`"sender":{"name":"担当 佐藤","iconUrl":"https://example.com/sato.png"}`, `acsr?openExternalBrowser=1`, `"type":"text"`} {
		if !strings.Contains(js, w) {
			t.Errorf("staff message lacks %s: %s", w, js)
		}
	}
	// The bot's own messages carry no sender: LINE shows the account.
	bot, _ := linemsg.Render([]dialog.Reply{{Text: "こんにちは"}})
	if strings.Contains(string(bot[0]), "sender") {
		t.Errorf("a bot message has a sender: %s", bot[0])
	}
	for _, tt := range []struct {
		s  linemsg.Sender
		ok bool
	}{
		{linemsg.Sender{Name: "佐藤"}, true},
		{linemsg.Sender{Name: "Caroline"}, true},
		{linemsg.Sender{Name: ""}, false},
		{linemsg.Sender{Name: "LINE担当の佐藤"}, false},
		{linemsg.Sender{Name: "ｌｉｎｅ サポート"}, false},
		{linemsg.Sender{Name: strings.Repeat("佐", 21)}, false},
		{linemsg.Sender{Name: "佐藤", IconURL: "http://example.com/a.png"}, false},
	} {
		if err := linemsg.CheckSender(tt.s); (err == nil) != tt.ok {
			t.Errorf("CheckSender(%+v) = %v, want ok %v", tt.s, err, tt.ok)
		}
	}
}
