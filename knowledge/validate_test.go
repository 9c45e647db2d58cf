package knowledge

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// marker ends the line of a test YAML where a problem must be reported.
const marker = "# <--"

func readValid(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit applies old/new replacement pairs to src; each old must occur once.
func edit(t *testing.T, src string, pairs ...string) string {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatalf("odd number of edit strings")
	}
	for i := 0; i < len(pairs); i += 2 {
		if n := strings.Count(src, pairs[i]); n != 1 {
			t.Fatalf("edit %q occurs %d times in the pack, want 1", pairs[i], n)
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	return src
}

// markerLine returns the 1-based line of src that holds the marker.
func markerLine(t *testing.T, src string) int {
	t.Helper()
	found := 0
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, marker) {
			if found != 0 {
				t.Fatalf("two markers, lines %d and %d", found, i+1)
			}
			found = i + 1
		}
	}
	if found == 0 {
		t.Fatalf("no marker in test YAML")
	}
	return found
}

func addNode(yaml string) []string {
	return []string{"\ntexts:\n", "\n" + yaml + "\ntexts:\n"}
}

func addIntent(yaml string) []string {
	return []string{"\nnodes:\n", "\n" + yaml + "\nnodes:\n"}
}

func TestValidPackHasNoProblems(t *testing.T) {
	p, err := Load([]byte(readValid(t)), "valid.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if probs := Validate(p); len(probs) != 0 {
		t.Fatalf("Validate: %v", probs)
	}
}

func TestValidateRules(t *testing.T) {
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	manyChoices := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "      - label: 選択%d", i)
			if i == n {
				b.WriteString(" " + marker)
			}
			b.WriteString("\n        command: restart\n")
		}
		return b.String()
	}

	tests := []struct {
		name  string
		edits []string
		line  int // expected line; 0 means the marker's line
		want  string
		count int // expected number of problems in all
	}{
		// ids
		{"duplicate node id", addNode("  - id: resolved " + marker + "\n    topic: email_check\n    terminal: resolved\n    messages:\n      - text: x\n"),
			0, `duplicate node id "resolved" (first at line 73)`, 1},
		{"duplicate intent id", addIntent("  - id: yes " + marker + "\n    kind: answer\n    examples: [うん]\n"),
			0, `duplicate intent id "yes" (first at line 16)`, 1},
		{"node without id", addNode("  - topic: email_check " + marker + "\n    terminal: resolved\n    messages:\n      - text: x\n"),
			0, `node #6 has no id`, 1},

		// targets
		{"unknown choice next", []string{"        next: email_check\n      - label: 人と話したい", "        next: emial_check " + marker + "\n      - label: 人と話したい"},
			0, `node "welcome": choice 1: unknown node "emial_check"`, 1},
		{"unknown expect next", []string{"      - answer: no\n        next: handoff", "      - answer: no\n        next: handof " + marker},
			0, `node "email_check": expect "no": unknown node "handof"`, 1},
		{"unknown node next", []string{"    next: welcome\n", "    next: welcom " + marker + "\n"},
			0, `node "out_of_scope": next: unknown node "welcom"`, 1},
		{"unknown button next", []string{"              next: resolved", "              next: resolvd " + marker},
			0, `node "email_check": message 1: button 2: unknown node "resolvd"`, 1},
		{"unknown intent target", []string{"    target: email_check", "    target: email_chek " + marker},
			0, `intent "email_not_arriving": target: unknown node "email_chek"`, 1},
		{"unknown start", []string{"start: welcome", "start: welcom " + marker},
			0, `start: unknown node "welcom"`, 1},
		{"unknown handoff", []string{"handoff: handoff\n", "handoff: nobody " + marker + "\n"},
			0, `handoff: unknown node "nobody"`, 1},
		{"unknown fallback", []string{"fallback: out_of_scope", "fallback: oos " + marker},
			0, `fallback: unknown node "oos"`, 2}, // and out_of_scope is unreachable

		// expects
		{"expect unknown answer", []string{"      - answer: yes", "      - answer: maybe " + marker},
			0, `node "email_check": expects unknown answer intent "maybe"`, 1},
		{"expect non-answer intent", []string{"      - answer: no", "      - answer: restart " + marker},
			0, `node "email_check": expects "restart", which is a command intent, not an answer`, 1},
		{"expect topic intent", []string{"      - answer: no", "      - answer: email_not_arriving " + marker},
			0, `expects "email_not_arriving", which is a topic intent, not an answer`, 1},
		{"expect repeated", []string{"      - answer: no", "      - answer: yes " + marker},
			0, `node "email_check": expect 2 repeats answer "yes" of expect 1`, 1},
		{"expect without next", []string{"      - answer: no\n        next: handoff\n", "      - answer: no " + marker + "\n"},
			0, `node "email_check": expect 2 has no next`, 1},

		// commands
		{"unknown choice command", []string{"        command: handoff", "        command: operator " + marker},
			0, `node "welcome": choice 2: unknown command "operator"`, 1},
		{"unknown intent command", []string{"    kind: command\n    command: restart", "    kind: command\n    command: reboot " + marker},
			0, `intent "restart": unknown command "reboot"`, 1},
		{"command intent without command", []string{"  - id: human\n    kind: command\n    command: handoff\n", "  - id: human " + marker + "\n    kind: command\n"},
			0, `command intent "human" has no command`, 1},
		{"topic intent without target", []string{"  - id: email_not_arriving\n    target: email_check\n", "  - id: email_not_arriving " + marker + "\n"},
			0, `topic intent "email_not_arriving" has no target`, 1},
		{"topic intent with command", []string{"    target: email_check\n", "    target: email_check\n    command: restart " + marker + "\n"},
			0, `topic intent "email_not_arriving" must not set command`, 1},
		{"answer intent with target", []string{"  - id: yes\n    kind: answer\n", "  - id: yes\n    kind: answer\n    target: welcome " + marker + "\n"},
			0, `answer intent "yes" must not set target`, 1},
		{"unknown intent kind", []string{"    kind: answer\n    examples: [いいえ", "    kind: reply " + marker + "\n    examples: [いいえ"},
			0, `intent "no": unknown kind "reply" (want topic, answer or command)`, 3}, // and expects "no" and the question's "no" are no answers
		{"intent without examples", []string{"    examples: [最初から]", "    examples: [] " + marker},
			0, `intent "restart" has no examples`, 1},
		{"intent without examples key", []string{"  - id: restart\n    kind: command\n    command: restart\n    examples: [最初から]\n", "  - id: restart " + marker + "\n    kind: command\n    command: restart\n"},
			0, `intent "restart" has no examples`, 1},
		{"empty example", []string{"    examples: [いいえ, ちがいます]", "    examples: [いいえ, \"\"] " + marker},
			0, `intent "no": example 2 is empty`, 1},
		{"example in two intents", []string{"    examples: [人と話したい, オペレーター]", "    examples: [人と話したい, いいえ] " + marker},
			0, `intent "human": example "いいえ" is also an example of intent "no" (line 21)`, 1},
		{"example twice in an intent", []string{"    examples: [人と話したい, オペレーター]", "    examples: [人と話したい, \" 人と話したい\"] " + marker},
			0, `intent "human": example "人と話したい" is listed twice (first at line 29)`, 1},
		{"empty keyword", []string{"    keywords: [迷惑メール]", "    keywords: [\" \"] " + marker},
			0, `intent "email_not_arriving": keyword 1 is empty`, 1},

		// questions
		{"unknown question", []string{"    asks: found_in_junk", "    asks: found " + marker},
			0, `node "email_check": asks: unknown question "found"`, 2}, // and found_in_junk is asked by no node
		{"question asked by no node", []string{"    asks: found_in_junk\n", "", "  - id: found_in_junk\n", "  - id: found_in_junk " + marker + "\n"},
			0, `question "found_in_junk" is asked by no node (set asks: found_in_junk on the node that asks it)`, 1},
		{"question answer not an answer intent", []string{"      - answer: \"yes\"\n        examples: [迷惑", "      - answer: restart " + marker + "\n        examples: [迷惑"},
			0, `question "found_in_junk": "restart" is a command intent, not an answer`, 1},
		{"question answer unknown", []string{"      - answer: \"yes\"\n        examples: [迷惑", "      - answer: maybe " + marker + "\n        examples: [迷惑"},
			0, `question "found_in_junk": unknown answer intent "maybe"`, 1},
		{"question example in two answers", []string{"examples: [そっちにもないです,", "examples: [迷惑メールに入ってました, " + marker + "\n          そっちにもないです,"},
			0, `question "found_in_junk": example "迷惑メールに入ってました" is an example of both "yes" and "no"`, 1},
		{"question answer without examples", []string{"        examples: [迷惑メールに入ってました]", "        examples: [] " + marker},
			0, `question "found_in_junk": answer "yes" has no examples`, 1},
		{"duplicate question", []string{"  - id: found_in_junk\n    answers:\n", "  - id: found_in_junk\n    answers:\n      - answer: \"yes\"\n        examples: [うん]\n  - id: found_in_junk " + marker + "\n    answers:\n"},
			0, `duplicate question id "found_in_junk"`, 1},

		// choices
		{"choice with no action", []string{"      - label: 人と話したい\n        command: handoff\n", "      - label: 人と話したい " + marker + "\n"},
			0, `node "welcome": choice 2 sets none of next, command, uri`, 1},
		{"choice with two actions", []string{"      - label: メール\n        next: email_check\n", "      - label: メール " + marker + "\n        next: email_check\n        uri: https://example.com/\n"},
			0, `node "welcome": choice 1 sets more than one of next, command, uri`, 1},
		{"non-https uri", []string{"uri: https://support.microsoft.com/", "uri: http://support.microsoft.com/ " + marker},
			0, `node "email_check": message 1: button 1: uri "http://support.microsoft.com/" is not an https URL`, 1},
		{"uri without host", []string{"uri: https://support.microsoft.com/", "uri: \"https:/nohost\" " + marker},
			0, `uri "https:/nohost" is not an https URL`, 1},
		{"empty label", []string{"      - label: メール\n", "      - label: \"\" " + marker + "\n"},
			0, `node "welcome": choice 1 has no label`, 1},
		{"label too long", []string{"      - label: 届きません\n", "      - label: あいうえおかきくけこさしすせそたちつてとな " + marker + "\n"},
			0, `node "email_check": choice 2: label "あいうえおかきくけこさしすせそたちつてとな" is 21 characters; at most 20`, 1},
		{"duplicate label", []string{"      - label: 届きません\n", "      - label: 届きました " + marker + "\n"},
			0, `node "email_check": choice 2 has the same label "届きました" as choice 1`, 1},
		{"too many choices", []string{"      - label: 最初から\n        command: restart\n", manyChoices(14)},
			0, `node "resolved" has 14 choices; LINE shows at most 13 quick replies`, 1},
		{"postback data too long", []string{"        next: email_check\n      - label: 人と話したい", "        next: " + long("x", 298) + " " + marker + "\n      - label: 人と話したい"},
			0, `node "welcome": choice 1: postback data is 301 bytes; LINE allows 300`, 2}, // and the node is unknown

		// nodes
		{"unreachable node", addNode("  - id: orphan " + marker + "\n    topic: email_check\n    terminal: resolved\n    messages:\n      - text: x\n"),
			0, `node "orphan" is unreachable`, 1},
		{"dead end", []string{"  - id: out_of_scope\n", "  - id: out_of_scope " + marker + "\n", "    next: welcome\n", ""},
			0, `node "out_of_scope" is a dead end: not terminal, and no choices, expects or next`, 1},
		{"unknown terminal kind", []string{"    terminal: resolved", "    terminal: done " + marker},
			0, `node "resolved": unknown terminal kind "done" (want resolved or handoff)`, 1},
		{"node without topic", []string{"  - id: resolved\n    topic: email_check\n", "  - id: resolved " + marker + "\n"},
			0, `node "resolved" has no topic`, 1},
		{"node without messages", []string{"    messages:\n      - text: よかったです。\n", "    messages: [] " + marker + "\n"},
			0, `node "resolved" has no messages`, 1},
		{"too many messages", []string{"      - text: どの方法でコードを受け取っていますか？\n", "      - text: どの方法でコードを受け取っていますか？\n      - text: 三\n      - text: 四\n      - text: 五 " + marker + "\n"},
			0, `node "welcome" has 5 messages; at most 4`, 1},
		{"empty message text", []string{"      - text: よかったです。", "      - text: \"\" " + marker},
			0, `node "resolved": message 1 has empty text`, 1},
		{"message text too long", []string{"      - text: よかったです。", "      - text: " + long("あ", 5001) + " " + marker},
			0, `node "resolved": message 1 is 5001 UTF-16 units long; LINE allows 5000`, 1},
		{"message text too long in UTF-16", []string{"      - text: よかったです。", "      - text: " + long("😀", 2501) + " " + marker},
			0, `node "resolved": message 1 is 5002 UTF-16 units long; LINE allows 5000`, 1},

		{"unknown slot value", []string{"      method: email", "      method: mail " + marker},
			0, `node "email_check": slot method cannot be "mail" (want email, sms, call, app)`, 1},
		{"empty slot value", []string{"      method: email", "      method: \"\" " + marker},
			0, `node "email_check": slot "method" has no value`, 1},

		// buttons
		{"buttons without actions", []string{"          actions:\n            - label: 詳しく見る\n              uri: https://support.microsoft.com/\n            - label: 届きました\n              next: resolved\n", "          actions: [] " + marker + "\n"},
			0, `node "email_check": message 1: buttons have no actions (1 to 4)`, 1},
		{"buttons with five actions", []string{"              next: resolved\n    choices:", "              next: resolved\n            - label: 三\n              next: resolved\n            - label: 四\n              next: resolved\n            - label: 五 " + marker + "\n              next: resolved\n    choices:"},
			0, `node "email_check": message 1: buttons have 5 actions; at most 4`, 1},
		{"buttons title too long", []string{"          title: 確認のしかた", "          title: " + long("あ", 41) + " " + marker},
			0, `node "email_check": message 1: buttons title is 41 characters; at most 40`, 1},
		{"buttons text too long with title", []string{"      - text: 迷惑メールフォルダーを確認してください。", "      - text: " + long("あ", 61) + " " + marker},
			0, `node "email_check": message 1: buttons text is 61 characters; at most 60 with a title`, 1},
		{"buttons text too long without title", []string{"      - text: 迷惑メールフォルダーを確認してください。", "      - text: " + long("あ", 161) + " " + marker, "          title: 確認のしかた\n", ""},
			0, `node "email_check": message 1: buttons text is 161 characters; at most 160`, 1},
		{"buttons without alt_text", []string{"          alt_text: 迷惑メールフォルダーの確認\n", ""},
			51, `node "email_check": message 1: buttons have no alt_text`, 1},
		{"buttons alt_text too long", []string{"          alt_text: 迷惑メールフォルダーの確認", "          alt_text: " + long("あ", 1501) + " " + marker},
			0, `node "email_check": message 1: buttons alt_text is 1501 characters; at most 1500`, 1},

		// pack fields
		{"missing service", []string{"service: test\n", ""},
			1, `missing required field "service"`, 1},
		{"empty version", []string{`version: "2026-01-01.1"`, `version: "" ` + marker},
			0, `missing required field "version"`, 1},
		{"missing text", []string{"\ntexts:\n", "\ntexts: " + marker + "\n", "  stale_button: そのボタンは使えなくなりました。\n", ""},
			0, `missing text "stale_button" (texts.stale_button)`, 1},
		{"empty text", []string{"  group: このアカウントは1対1のトークでご利用ください。", "  group: \"\" " + marker},
			0, `text "group" is empty`, 1},
		{"missing required topic", []string{"required_topics: [welcome, email_check, handoff, out_of_scope]", "required_topics:\n  - welcome\n  - sms_check " + marker + "\n  - handoff"},
			0, `required topic "sms_check" has no node`, 1},
		{"start topic", []string{"start: welcome", "start: welcome " + marker, "  - id: welcome\n    topic: welcome", "  - id: welcome\n    topic: greeting"},
			0, `start node "welcome" has topic "greeting"; it must be "welcome"`, 2}, // and topic welcome has no node
		{"handoff topic", []string{"handoff: handoff\n", "handoff: handoff " + marker + "\n", "    topic: handoff\n", "    topic: staff\n", "required_topics: [welcome, email_check, handoff, out_of_scope]", "required_topics: [welcome]"},
			0, `handoff node "handoff" has topic "staff"; it must be "handoff"`, 1},
		{"fallback topic", []string{"fallback: out_of_scope", "fallback: out_of_scope " + marker, "    topic: out_of_scope\n", "    topic: other\n", "required_topics: [welcome, email_check, handoff, out_of_scope]", "required_topics: [welcome]"},
			0, `fallback node "out_of_scope" has topic "other"; it must be "out_of_scope"`, 1},
		{"short synonym group", []string{"  - [SMS, ショートメール]", "  - [SMS] " + marker},
			0, `synonym group [SMS] needs at least 2 words`, 1},
	}
	base := readValid(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := edit(t, base, tt.edits...)
			line := tt.line
			if line == 0 {
				line = markerLine(t, src)
			}
			_, err := Load([]byte(src), "pack.yaml")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load error = %v (%T), want *ValidationError", err, err)
			}
			found := false
			for _, pr := range ve.Problems {
				if strings.Contains(pr.Msg, tt.want) && pr.Line == line {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem %q at line %d in:\n%s", tt.want, line, ve.Error())
			}
			if len(ve.Problems) != tt.count {
				t.Fatalf("got %d problems, want %d:\n%s", len(ve.Problems), tt.count, ve.Error())
			}
		})
	}
}

// TestValidateReportsEveryProblem breaks several rules at once: all of them
// must come back, sorted by line, not just the first.
func TestValidateReportsEveryProblem(t *testing.T) {
	src := edit(t, readValid(t),
		"start: welcome", "start: nowhere",
		"    examples: [最初から]", "    examples: []",
		"      - text: よかったです。", `      - text: ""`,
		"  group: このアカウントは1対1のトークでご利用ください。\n", "",
	)
	_, err := Load([]byte(src), "pack.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	want := `pack.yaml:6: start: unknown node "nowhere"
pack.yaml:25: intent "restart" has no examples
pack.yaml:77: node "resolved": message 1 has empty text
pack.yaml:94: missing text "group" (texts.group)`
	if got := ve.Error(); got != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestValidateWithoutLines(t *testing.T) {
	p := &Pack{ID: "x", Service: "s", Language: "ja", Version: "1", Start: "a", Handoff: "a", Fallback: "a",
		Nodes: []Node{{ID: "a", Topic: "welcome", Messages: []Message{{Text: "hi"}}, Terminal: TerminalResolved}}}
	probs := Validate(p)
	if len(probs) == 0 {
		t.Fatal("want problems (topics, texts), got none")
	}
	for _, pr := range probs {
		if pr.Line != 0 {
			t.Fatalf("problem %v has line %d, want 0 for a pack without Lines", pr, pr.Line)
		}
	}
}

func TestValidateNil(t *testing.T) {
	if got := Validate(nil); len(got) != 1 || got[0].Msg != "no pack" {
		t.Fatalf("Validate(nil) = %v", got)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 12, Path: "nodes[3].next", Msg: "bad"}, "line 12 (nodes[3].next): bad"},
		{Problem{Line: 12, Msg: "bad"}, "line 12: bad"},
		{Problem{Path: "start", Msg: "bad"}, "start: bad"},
		{Problem{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestFormatProblems(t *testing.T) {
	got := FormatProblems("p.yaml", []Problem{{Line: 3, Msg: "one"}, {Msg: "two"}})
	want := "p.yaml:3: one\np.yaml: two\n"
	if got != want {
		t.Fatalf("FormatProblems = %q, want %q", got, want)
	}
}

func TestGraphemes(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"メール", 3},
		{"ｶﾞｲﾄﾞ", 3},  // halfwidth katakana with voiced marks
		{"が", 1},      // か + combining dakuten
		{"é", 1},      // e + combining acute
		{"👍🏽", 1},     // thumbs up + skin tone
		{"👨‍👩‍👧", 1},  // family: ZWJ sequence
		{"🇯🇵🇺🇸", 2},   // two flags
		{"❤️", 1},     // heart + variation selector
		{"a\r\nb", 3}, // CR LF is one
		{"はい😀", 3},
	}
	for _, tt := range tests {
		if got := Graphemes(tt.s); got != tt.want {
			t.Errorf("Graphemes(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestLabelLengthCountsGraphemes(t *testing.T) {
	// 20 flags are 40 runes but 20 characters: a valid label.
	src := edit(t, readValid(t), "      - label: メール\n", "      - label: "+strings.Repeat("🇯🇵", 20)+"\n")
	if _, err := Load([]byte(src), "pack.yaml"); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

// TestValidateAccepts lists packs near the rules' edges that must load.
func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
	}{
		{"buttons are a way on", []string{
			"    messages:\n      - text: 申し訳ありません、その内容にはお答えできません。\n    next: welcome\n",
			"    messages:\n      - text: 申し訳ありません、その内容にはお答えできません。\n        buttons:\n          alt_text: メニュー\n          actions:\n            - label: メニューへ\n              command: restart\n",
		}},
		{"merge of several anchors", []string{
			"  - id: resolved\n    topic: email_check\n    terminal: resolved\n",
			"  - id: resolved\n    <<: [{topic: email_check}, {terminal: resolved}]\n",
		}},
		{"label of exactly 20 characters", []string{"      - label: メール\n", "      - label: あいうえおかきくけこさしすせそたちつて\n"}},
		{"13 quick replies", []string{"      - label: 最初から\n        command: restart\n", "      - label: 最初から\n        command: restart\n" +
			func() string {
				var b strings.Builder
				for i := 2; i <= 13; i++ {
					fmt.Fprintf(&b, "      - label: 戻る%d\n        command: back\n", i)
				}
				return b.String()
			}()}},
		{"text of exactly 5000 units", []string{"      - text: よかったです。", "      - text: " + strings.Repeat("あ", 5000)}},
		{"four messages", []string{"      - text: どの方法でコードを受け取っていますか？\n", "      - text: どの方法でコードを受け取っていますか？\n      - text: 三\n      - text: 四\n"}},
	}
	base := readValid(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load([]byte(edit(t, base, tt.edits...)), "pack.yaml"); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

// TestValidateMemoryRules checks facts, questions' facts and values, asks,
// confirm and placeholders: the pack features the dialog's memory and tone
// rest on.
func TestValidateMemoryRules(t *testing.T) {
	const facts = `
facts:
  - {id: method, values: [email, sms]}
  - {id: contact, values: [ok, lost], depends_on: method, examples: {lost: [もう使っていないアドレス]}}
`
	withFacts := []string{
		"  - id: found_in_junk\n    answers:", "  - id: found_in_junk\n    fact: contact\n    answers:",
		"      - answer: \"yes\"\n", "      - answer: \"yes\"\n        value: ok\n",
		"      - answer: \"no\"\n", "      - answer: \"no\"\n        value: lost\n",
	}
	tests := []struct {
		name  string
		edits []string
		want  string
	}{
		{"valid", nil, ""},
		{"asks without expects", []string{"  - id: resolved\n", "  - id: resolved\n    asks: found_in_junk " + marker + "\n"}, `node "resolved" asks "found_in_junk" but expects no answer`},
		{"unknown fact", []string{"    fact: contact", "    fact: contacts " + marker}, `question "found_in_junk": unknown fact "contacts"`},
		{"value not of the fact", []string{"        value: lost", "        value: gone " + marker}, `question "found_in_junk": fact contact cannot be "gone" (want ok, lost)`},
		{"value without a fact", []string{"    fact: contact\n", "", "        value: ok", "        value: ok " + marker}, `answer "yes" has a value but the question settles no fact`},
		{"an answer with a value needs no examples", []string{"        examples: [迷惑メールに入ってました]\n", ""}, ""},
		{"depends on an unknown fact", []string{"depends_on: method,", "depends_on: mehtod,"}, `fact "contact" depends on unknown fact "mehtod"`},
		{"value listed twice", []string{"values: [email, sms]}", "values: [email, email]} " + marker}, `fact "method": value "email" is listed twice`},
		{"examples of an unknown value", []string{"examples: {lost:", "examples: {gone:"}, `fact "contact": examples for "gone", which is not one of its values`},
		{"sets a value the fact lacks", []string{"      method: email\n", "      method: call " + marker + "\n"}, `slot method cannot be "call" (want email, sms)`},
		{"unknown placeholder", []string{"      - text: よかったです。", "      - text: \"{name}さん、よかったです。\" " + marker}, `unknown placeholder {name}`},
		{"greeting without its texts", []string{"      - text: よかったです。", "      - text: \"{greeting}。よかったです。\""}, `missing text "greeting_morning" (texts.greeting_morning), needed by {greeting}`},
		{"staff off duty without when", []string{"      - text: 担当者におつなぎします。", "      - text: \"{staff}\"",
			"  stale_button: そのボタンは使えなくなりました。", "  stale_button: そのボタンは使えなくなりました。\n  staff_on_duty: 順番にお返事します。\n  staff_off_duty: 時間外です。 " + marker + "\n  staff_unknown: 対応時間内にお返事します。"},
			`text "staff_off_duty" must say when staff come back ({next})`},
	}
	base := edit(t, readValid(t), withFacts...) + facts
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := edit(t, base, tt.edits...)
			_, err := Load([]byte(src), "pack.yaml")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load error = %v (%T), want *ValidationError", err, err)
			}
			for _, pr := range ve.Problems {
				if strings.Contains(pr.Msg, tt.want) && (!strings.Contains(src, marker) || pr.Line == markerLine(t, src)) {
					return
				}
			}
			t.Fatalf("no problem %q (at the marker) in:\n%s", tt.want, ve.Error())
		})
	}
}
