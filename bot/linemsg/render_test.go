package linemsg_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/todoku/todoku/bot/linemsg"
	"github.com/todoku/todoku/dialog"
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
