package dialog_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
)

// keywords is a toy understander: an intent matches when its example occurs
// in the text.
type keywords struct{ p *knowledge.Pack }

func (k keywords) Read(q knowledge.Query) knowledge.Reading {
	var out knowledge.Reading
	for _, in := range k.p.Intents {
		for _, ex := range in.Examples {
			if strings.Contains(q.Text, ex) {
				out.Matches = append(out.Matches, knowledge.Match{Intent: in.ID, Score: 0.9})
				break
			}
		}
	}
	return out
}

func ExampleEngine_Step() {
	p := &knowledge.Pack{
		ID: "demo", Version: "1", Start: "welcome", Handoff: "human", Fallback: "other",
		Intents: []knowledge.Intent{
			{ID: "sms", Kind: knowledge.KindTopic, Target: "sms_check", Examples: []string{"SMS"}},
			{ID: "yes", Kind: knowledge.KindAnswer, Examples: []string{"はい"}},
		},
		Nodes: []knowledge.Node{
			{ID: "welcome", Topic: "welcome", Messages: []knowledge.Message{{Text: "どうなさいましたか？"}},
				Choices: []knowledge.Choice{{Label: "SMSが届かない", Next: "sms_check"}}},
			{ID: "sms_check", Topic: "sms_check", Next: "done", Sets: map[string]string{"method": "sms"},
				Messages: []knowledge.Message{{Text: "番号を確認してください。届きましたか？"}}},
			{ID: "done", Topic: "sms_check", Terminal: knowledge.TerminalResolved, Messages: []knowledge.Message{{Text: "よかったです。"}}},
			{ID: "human", Topic: "handoff", Terminal: knowledge.TerminalHandoff, Messages: []knowledge.Message{{Text: "担当者におつなぎします。"}}},
			{ID: "other", Topic: "out_of_scope", Messages: []knowledge.Message{{Text: "お答えできません。"}}},
		},
	}
	e, err := dialog.New(p, keywords{p}, dialog.Options{})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var st dialog.State
	for _, text := range []string{"SMSが来ません", "はい"} {
		now = now.Add(time.Minute)
		res := e.Step(st, dialog.Input{Kind: dialog.InputText, Text: text, Time: now})
		fmt.Printf("%s → %s (%s) %q resolved=%v\n", text, res.State.Node, res.Trace.Reason, res.Replies[0].Text, res.Trace.Resolved)
		st = res.State
	}
	fmt.Println(st.Slots["method"])
	// Output:
	// SMSが来ません → sms_check (intent) "番号を確認してください。届きましたか？" resolved=false
	// はい → done (answer) "よかったです。" resolved=true
	// sms
}
