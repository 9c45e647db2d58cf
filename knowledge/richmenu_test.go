package knowledge

import (
	"strings"
	"testing"
)

func TestRichMenuRules(t *testing.T) {
	menu := func(body string) []string {
		head := "\nrich_menu:\n"
		if !strings.Contains(body, marker) {
			head = "\nrich_menu: " + marker + "\n" // a problem of the menu as a whole
		}
		return []string{"\ntexts:\n", head + body + "\ntexts:\n"}
	}
	const ok = "  size: compact\n  chat_bar: メニュー\n  columns: 2\n  areas:\n    - {label: メール, next: email_check}\n    - {label: 人と話したい, command: restart}\n"
	tests := []struct {
		name, body, want string
	}{
		{"valid", ok, ""},
		{"size", strings.Replace(ok, "size: compact", "size: large "+marker, 1), `rich menu size "large"`},
		{"chat bar missing", strings.Replace(ok, "  chat_bar: メニュー\n", "", 1), "no chat_bar"},
		{"chat bar long", strings.Replace(ok, "chat_bar: メニュー", "chat_bar: メニューはこちらからお選びいただけます "+marker, 1), "LINE allows 14"},
		{"columns", strings.Replace(ok, "columns: 2", "columns: 5 "+marker, 1), "columns is 5; want 1 to 4"},
		{"too many rows", strings.Replace(strings.Replace(ok, "columns: 2", "columns: 1", 1), "areas:", "areas: "+marker, 1) + "    - {label: 三つ目, command: restart}\n", "3 rows of 1 areas; a compact menu holds 2"},
		{"unknown node", strings.Replace(ok, "next: email_check}", "next: emial} "+marker, 1), `rich menu area 1: unknown node "emial"`},
		{"long label", strings.Replace(ok, "{label: メール, next: email_check}", "{label: メールが届かないときにはこちらを押してください, next: email_check} "+marker, 1), "at most 20"},
		{"http link", strings.Replace(ok, "command: restart}", "uri: http://example.com} "+marker, 1), "not an https URL"},
		{"no areas", "  size: full\n  chat_bar: メニュー\n  columns: 2\n  areas: [] " + marker + "\n", "rich menu has no areas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := edit(t, readValid(t), menu(tt.body)...)
			p, err := Parse([]byte(src), "menu.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			probs := Validate(p)
			if tt.want == "" {
				if len(probs) != 0 {
					t.Fatalf("problems in a valid menu: %v", probs)
				}
				if p.RichMenu.Rows() != 1 || p.RichMenu.Height() != RichMenuHalfHeight {
					t.Errorf("rows %d height %d, want 1 and %d", p.RichMenu.Rows(), p.RichMenu.Height(), RichMenuHalfHeight)
				}
				return
			}
			if len(probs) != 1 || !strings.Contains(probs[0].Msg, tt.want) || probs[0].Line != markerLine(t, src) {
				t.Fatalf("want one problem %q at line %d, got %v", tt.want, markerLine(t, src), probs)
			}
		})
	}
}
