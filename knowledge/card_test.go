package knowledge

import (
	"strings"
	"testing"
)

func TestCardRules(t *testing.T) {
	const buttons = `        buttons:
          title: 確認のしかた
          alt_text: 迷惑メールフォルダーの確認
          actions:
            - label: 詳しく見る
              uri: https://support.microsoft.com/
            - label: 届きました
              next: resolved
`
	const ok = `        card:
          title: 確認のしかた
          rows:
            - {mark: "1", text: 迷惑メールフォルダーを開きます}
            - {text: 見つかったら「迷惑メールではない」にします}
          actions:
            - {label: 届きました, next: resolved}
`
	tests := []struct{ name, card, want string }{
		{"valid", ok, ""},
		{"no title", strings.Replace(strings.Replace(ok, "          title: 確認のしかた\n", "", 1), "        card:\n", "        card: "+marker+"\n", 1), "card has no title"},
		{"long title", strings.Replace(ok, "title: 確認のしかた", "title: "+strings.Repeat("確", 41)+" "+marker, 1), "card title is 41 characters; at most 40"},
		{"no rows", "        card:\n          title: x\n          rows: [] " + marker + "\n", "card has no rows"},
		{"empty row", strings.Replace(ok, `{text: 見つかったら「迷惑メールではない」にします}`, `{mark: "2"} `+marker, 1), "card row 2 has no text"},
		{"long mark", strings.Replace(ok, `{mark: "1", text: 迷惑メールフォルダーを開きます}`, `{mark: いちばんさいしょ, text: x} `+marker, 1), "mark \"いちばんさいしょ\" is 8 characters"},
		{"unknown node", strings.Replace(ok, "{label: 届きました, next: resolved}", "{label: 届きました, next: resolvd} "+marker, 1), `card button 1: unknown node "resolvd"`},
		{"and buttons", buttons + strings.Replace(ok, "        card:\n", "        card: "+marker+"\n", 1), "has both buttons and a card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := edit(t, readValid(t), buttons, tt.card)
			p, err := Parse([]byte(src), "card.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			probs := Validate(p)
			if tt.want == "" {
				if len(probs) != 0 {
					t.Fatalf("problems in a valid card: %v", probs)
				}
				if a := p.Node("email_check").Messages[0].Actions(); len(a) != 1 || a[0].Next != "resolved" {
					t.Errorf("Actions() = %v", a)
				}
				return
			}
			if len(probs) != 1 || !strings.Contains(probs[0].Msg, tt.want) || probs[0].Line != markerLine(t, src) {
				t.Fatalf("want one problem %q at line %d, got %v", tt.want, markerLine(t, src), probs)
			}
		})
	}
}
