package dialog

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/todoku/todoku/knowledge"
)

// fakeReader reads text from a fixed table of readings (intents and facts)
// and records the last query.
type fakeReader struct {
	readings map[string]knowledge.Reading
	last     knowledge.Query
}

func (f *fakeReader) Read(q knowledge.Query) knowledge.Reading {
	f.last = q
	return f.readings[q.Text]
}

func fact(name, value string, score float64) knowledge.Fact {
	return knowledge.Fact{Name: name, Value: value, Score: score}
}

var memoryReadings = map[string]knowledge.Reading{
	"SMSで送ったって出るのに全然こない。番号はあってる": {
		Matches: []knowledge.Match{m("not_arriving", 0.8), m("sms_topic", 0.6)},
		Facts:   []knowledge.Fact{fact("method", "sms", 0.9), fact("contact", "ok", 0.8)},
	},
	"SMSです":              {Matches: []knowledge.Match{m("sms", 0.9)}, Facts: []knowledge.Fact{fact("method", "sms", 0.9)}},
	"コードが届かない":           {Matches: []knowledge.Match{m("not_arriving", 0.9)}},
	"SMSが来ない":            {Matches: []knowledge.Match{m("sms_topic", 0.97)}},
	"大学の番号でもう使えない":       {Facts: []knowledge.Fact{fact("contact", "lost", 0.8)}},
	"番号はたぶん合ってる":         {Facts: []knowledge.Fact{fact("contact", "ok", 0.3)}},
	"それはもうやった":           {Matches: []knowledge.Match{m("already_done", 0.8)}},
	"回復フォームかな":           {Matches: []knowledge.Match{m("form_topic", 0.6)}},
	"回復フォームの書き方を教えてください": {Matches: []knowledge.Match{m("form_topic", 0.9)}},
	"はい":       {Matches: []knowledge.Match{m("yes", 0.95)}},
	"いいえ、違います": {Matches: []knowledge.Match{m("no", 0.9)}},
	"人と話したい":   {Matches: []knowledge.Match{m("human", 0.95)}},
	"まだですか？":   {Matches: []knowledge.Match{m("followup", 0.9)}},
	"何時ごろお返事いただけますか": {},
	"こんにちは": {Matches: []knowledge.Match{m("greet", 0.95)}},
	"ありがとう": {Matches: []knowledge.Match{m("thanks", 0.9)}},
	"ありがとう、でも人と話したい": {Matches: []knowledge.Match{m("thanks", 0.9), m("human", 0.8)}},
	"届いた、ありがとう":      {Matches: []knowledge.Match{m("thanks", 0.9), m("done", 0.6)}},
	"method=bogus":   {Facts: []knowledge.Fact{fact("method", "fax", 0.9), fact("mood", "bad", 0.9)}},
}

func newMemoryEngine(t testing.TB) (*Engine, *fakeReader) {
	t.Helper()
	data, err := os.ReadFile("testdata/memory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := knowledge.Load(data, "testdata/memory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeReader{readings: memoryReadings}
	e, err := New(p, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e, u
}

// jst is a time in Japan on the test day.
func jst(hour, min int) time.Time {
	return time.Date(2026, 11, 25, hour, min, 0, 0, japan)
}

func TestMemory(t *testing.T) {
	scenarios := []scenario{
		{name: "what the first message says is not asked again", steps: []step{
			{in: say("SMSで送ったって出るのに全然こない。番号はあってる"), node: "sms_settings", reason: ReasonIntent, intent: "not_arriving",
				skipped: []string{"ask_method", "sms_check"}, history: []string{"ask_method", "sms_check"},
				slots: map[string]string{"method": "sms", "contact": "ok"},
				texts: []string{"伺った内容をもとにご案内します。", "電波を確認してください。", "届きましたか？"}},
			{in: tap("cmd=back"), node: "sms_check", reason: ReasonCommand, texts: []string{"下2桁は今の番号と合っていますか？"}},
		}},
		{name: "an answer is remembered", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say("SMSです"), node: "sms_check", reason: ReasonAnswer, slots: map[string]string{"method": "sms"}},
			{in: say("はい"), node: "sms_settings", reason: ReasonAnswer, slots: map[string]string{"method": "sms", "contact": "ok"}},
			// 「届かない」 again: ask_method and sms_check are answered, and
			// their step is the one the user is on: its question only.
			{in: say("コードが届かない"), node: "sms_settings", reason: ReasonSame, texts: []string{"先ほどの手順のとおりです。", "届きましたか？"}},
		}},
		{name: "a fact that answers the question asked is the answer", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("大学の番号でもう使えない"), node: "form", reason: ReasonAnswer, slots: map[string]string{"method": "sms", "contact": "lost"}},
		}},
		{name: "a weak fact is not kept", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("番号はたぶん合ってる"), node: "sms_check", reason: ReasonReprompt, misses: 1, slots: map[string]string{"method": "sms"}},
		}},
		{name: "facts and values the pack does not declare are ignored", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("method=bogus"), node: "sms_check", reason: ReasonReprompt, misses: 1, slots: map[string]string{"method": "sms"}},
		}},
		{name: "another method forgets what was said about the first", steps: []step{
			{in: say("SMSで送ったって出るのに全然こない。番号はあってる"), node: "sms_settings", reason: ReasonIntent},
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice, slots: map[string]string{"method": "email"}},
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice, slots: map[string]string{"method": "sms"}},
		}},
		{name: "restart forgets", steps: []step{
			{in: say("SMSで送ったって出るのに全然こない。番号はあってる"), node: "sms_settings", reason: ReasonIntent},
			{in: tap("cmd=restart"), node: "welcome", reason: ReasonCommand, slots: map[string]string{}},
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
		}},
		{name: "already done moves on", steps: []step{
			{in: tap("go=sms_settings"), node: "sms_settings", reason: ReasonChoice},
			{in: say("それはもうやった"), node: "sms_more", reason: ReasonAnswer, intent: "already_done"},
		}},
		{name: "already done says nothing to a question about the user's situation", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("それはもうやった"), node: "sms_check", reason: ReasonReprompt, misses: 1},
		}},
		{name: "the menu again is its last bubble and buttons", steps: []step{
			{in: follow(), node: "welcome", reason: ReasonStart},
			{in: say("こんにちは"), node: "welcome", reason: ReasonSame, texts: []string{"こんばんは。確認コードのお手伝いをします。"}, qrs: []string{"コードが届かない", "回復フォーム", "人と話す"}},
		}},
		{name: "a side question can come back", steps: []step{
			{in: tap("go=sms_settings"), node: "sms_settings", reason: ReasonChoice},
			{in: say("回復フォームの書き方を教えてください"), node: "form", reason: ReasonIntent, qrs: []string{"最初から", "前の話に戻る"}},
			{in: tap("cmd=resume"), node: "sms_settings", reason: ReasonCommand, texts: []string{"電波を確認してください。", "届きましたか？"}},
			{in: say("回復フォームの書き方を教えてください"), node: "form", reason: ReasonIntent},
			{in: tap("go=done"), node: "done", reason: ReasonChoice, resolved: true},
			{in: say("SMSが来ない"), node: "sms_check", reason: ReasonIntent, qrs: []string{"合っている", "違う"}}, // nothing to come back to after a resolved step
		}},
		{name: "thanks mid-step are thanked back, the question stays open", steps: []step{
			{in: tap("go=sms_settings"), node: "sms_settings", reason: ReasonChoice},
			{in: say("ありがとう"), node: "sms_settings", reason: ReasonThanks, texts: []string{"どういたしまして。結果を教えてください。"}, qrs: []string{"届いた", "まだ"}},
			{in: say("届いた、ありがとう"), node: "done", reason: ReasonAnswer, resolved: true},
		}},
		{name: "thanks carry no need", steps: []step{
			{in: tap("go=sms_settings"), node: "sms_settings", reason: ReasonChoice},
			{in: say("ありがとう、でも人と話したい"), node: "human", reason: ReasonCommand, handoff: true, waiting: true},
		}},
		{name: "thanks where nothing is asked close", steps: []step{
			{in: tap("go=form"), node: "form", reason: ReasonChoice},
			{in: say("ありがとう"), node: "closing", reason: ReasonIntent, resolved: true},
		}},
		{name: "the same step is not sent twice", steps: []step{
			{in: tap("go=sms_settings"), node: "sms_settings", reason: ReasonChoice},
			{in: tap("go=sms_settings"), node: "sms_settings", reason: ReasonSame,
				texts: []string{"先ほどの手順のとおりです。", "届きましたか？"}, qrs: []string{"届いた", "まだ"}},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e, _ := newMemoryEngine(t)
			run(t, e, sc)
		})
	}
}

func TestConfirmWeightyNodes(t *testing.T) {
	yesNo := []string{"はい", "いいえ"}
	scenarios := []scenario{
		{name: "a partial reading is confirmed, yes goes there", steps: []step{
			{in: say("回復フォームかな"), node: "welcome", reason: ReasonConfirm, topic: "recovery_form", pending: "form",
				texts: []string{"回復フォームについてのご質問でしょうか？"}, qrs: yesNo},
			{in: say("はい"), node: "form", reason: ReasonAnswer, texts: []string{"回復フォームで申請できます。"}},
		}},
		{name: "the yes button goes there", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say("回復フォームかな"), node: "ask_method", reason: ReasonConfirm, topic: "recovery_form", pending: "form"},
			{in: tap("go=form"), node: "form", reason: ReasonChoice},
		}},
		{name: "no apologises and offers the current step's buttons", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say("回復フォームかな"), node: "ask_method", reason: ReasonConfirm, topic: "recovery_form", pending: "form"},
			{in: say("いいえ、違います"), node: "ask_method", reason: ReasonDeny,
				texts: []string{"失礼しました。もう少し詳しく教えてください。"}, qrs: []string{"メール", "SMS"}},
		}},
		{name: "the no button", steps: []step{
			{in: say("回復フォームかな"), node: "welcome", reason: ReasonConfirm, topic: "recovery_form", pending: "form"},
			{in: tap("no=form"), node: "welcome", reason: ReasonDeny, qrs: []string{"コードが届かない", "回復フォーム", "人と話す"}},
			{in: tap("no=form"), node: "welcome", reason: ReasonStale},
		}},
		{name: "something else is read as usual", steps: []step{
			{in: say("回復フォームかな"), node: "welcome", reason: ReasonConfirm, topic: "recovery_form", pending: "form"},
			{in: say("SMSが来ない"), node: "sms_check", reason: ReasonIntent},
		}},
		{name: "a sure reading goes straight there", steps: []step{
			{in: say("回復フォームの書き方を教えてください"), node: "form", reason: ReasonIntent},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e, _ := newMemoryEngine(t)
			run(t, e, sc)
		})
	}
}

func TestWaitingForAPerson(t *testing.T) {
	onDuty := Staff{OnDuty: true}
	offDuty := Staff{Next: jst(10, 0).AddDate(0, 0, 1)}
	scenarios := []scenario{
		{name: "follow-ups are acknowledged with when staff answer", steps: []step{
			{in: say("人と話したい"), staff: onDuty, node: "human", reason: ReasonCommand, handoff: true, waiting: true,
				texts: []string{"担当者におつなぎします。", "担当者が順番にお返事します。"}},
			{in: say("何時ごろお返事いただけますか"), staff: offDuty, node: "human", reason: ReasonWaiting, handoff: true, waiting: true, topic: "handoff",
				texts: []string{"お待たせしています。担当者は明日の10時からお返事します。"}, qrs: []string{"最初から"}},
			{in: say("まだですか？"), node: "human", reason: ReasonWaiting, handoff: true, waiting: true, topic: "handoff",
				texts: []string{"お待たせしています。担当者の対応時間内にお返事します。"}},
			{in: say("人と話したい"), staff: onDuty, node: "human", reason: ReasonWaiting, handoff: true, waiting: true, topic: "handoff",
				texts: []string{"お待たせしています。担当者が順番にお返事します。"}},
			{in: say("ありがとう"), staff: onDuty, node: "human", reason: ReasonWaiting, handoff: true, waiting: true, topic: "handoff",
				texts: []string{"こちらこそ。担当者が順番にお返事します。"}},
		}},
		{name: "thanks without waiting is the closing", steps: []step{
			{in: say("ありがとう"), node: "closing", reason: ReasonIntent, resolved: true},
		}},
		{name: "a clear topic still moves on, and the wait is remembered", steps: []step{
			{in: say("人と話したい"), node: "human", reason: ReasonCommand, handoff: true, waiting: true},
			{in: say("SMSが来ない"), node: "sms_check", reason: ReasonIntent, waiting: true},
			{in: say("まだですか？"), node: "sms_check", reason: ReasonWaiting, handoff: true, waiting: true, topic: "handoff",
				qrs: []string{"合っている", "違う"}},
			{in: say("何時ごろお返事いただけますか"), node: "sms_check", reason: ReasonWaiting, handoff: true, waiting: true, topic: "handoff"},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e, _ := newMemoryEngine(t)
			run(t, e, sc)
		})
	}
	if st := HandBack(State{Node: "sms_check", Waiting: true}); st.Waiting || st.Node != "sms_check" {
		t.Fatalf("HandBack = %+v", st)
	}
}

func TestGreetingByTimeOfDay(t *testing.T) {
	e, _ := newMemoryEngine(t)
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{jst(3, 59), "こんばんは"},
		{jst(4, 0), "おはようございます"},
		{jst(10, 59), "おはようございます"},
		{jst(11, 0), "こんにちは"},
		{jst(17, 59), "こんにちは"},
		{jst(18, 0), "こんばんは"},
		{jst(23, 30).UTC(), "こんばんは"}, // the engine words UTC times in Japan time
		{time.Time{}, "こんにちは"},
	} {
		res := e.Step(State{}, Input{Kind: InputFollow, Time: tt.at})
		if got, want := res.Replies[0].Text, tt.want+"。確認コードのお手伝いをします。"; got != want {
			t.Errorf("%v: %q, want %q", tt.at, got, want)
		}
	}
}

func TestWhenJa(t *testing.T) {
	now := jst(22, 0) // a Wednesday
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{jst(23, 0), "本日の23時"},
		{jst(10, 0).AddDate(0, 0, 1), "明日の10時"},
		{jst(9, 30).AddDate(0, 0, 1), "明日の9時30分"},
		{jst(10, 0).AddDate(0, 0, 2), "11月27日（金）の10時"},
		{jst(10, 0).AddDate(0, 0, 5), "11月30日（月）の10時"},
	} {
		if got := whenJa(now, tt.at); got != tt.want {
			t.Errorf("whenJa(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
}

// TestReaderQuery: a Reader gets the node, its question id, its expected
// answers and its question text; already_done is expected where it counts
// as no (a step that did not work, not the user's situation).
func TestReaderQuery(t *testing.T) {
	e, u := newMemoryEngine(t)
	for _, tt := range []struct {
		node string
		want knowledge.Query
	}{
		{"sms_check", knowledge.Query{Text: "ふわふわ", Node: "sms_check", Asks: "number_ok", Expects: []string{"yes", "no"}, Question: "下2桁は今の番号と合っていますか？"}},
		{"sms_settings", knowledge.Query{Text: "ふわふわ", Node: "sms_settings", Expects: []string{"done", "yes", "no", "already_done"}, Question: "届きましたか？"}},
	} {
		e.Step(State{Node: tt.node, LastSeen: t0}, Input{Kind: InputText, Text: "ふわふわ", Time: t0.Add(time.Minute)})
		if !reflect.DeepEqual(u.last, tt.want) {
			t.Errorf("query = %+v, want %+v", u.last, tt.want)
		}
	}
}

// withFacts wraps an understander and adds facts to the reading of given
// texts: the real pack's memory is tested before (and whatever) the
// understander extracts.
type withFacts struct {
	u     Understander
	facts map[string][]knowledge.Fact
}

func (w withFacts) Read(q knowledge.Query) knowledge.Reading {
	r := w.u.Read(q)
	r.Facts = append(r.Facts, w.facts[q.Text]...)
	return r
}

// TestRealPackMemory: on the product's pack, facts stated in a message are
// not asked again, whatever topic the message lands on.
func TestRealPackMemory(t *testing.T) {
	real := loadRealEngine(t)
	u := withFacts{u: real.u, facts: map[string][]knowledge.Fact{
		"SMSで送ったって出るのに全然こない。番号はあってる":         {fact("method", "sms", 0.9), fact("contact", "ok", 0.9)},
		"大学のときのアドレスに行っちゃってるみたい、卒業してもう使えないやつ": {fact("method", "email", 0.9), fact("contact", "lost", 0.9)},
		"登録してるメールも電話ももう使えない。ログインもできない":       {fact("contact", "lost", 0.9), fact("signed_in", "no", 0.9)},
		"2段階認証はオンです":        {fact("two_step", "on", 0.9)},
		"誰かにパスワードを変えられたみたい": {fact("hacked", "yes", 0.9)},
	}}
	e, err := New(real.pack, u, real.opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lines []string
		node  string // where the last line lands
	}{
		{[]string{"SMSで送ったって出るのに全然こない。番号はあってる"}, "sms_phone_settings"},
		{[]string{"コードが届かない", "大学のときのアドレスに行っちゃってるみたい、卒業してもう使えないやつ"}, "replace_method"},
		{[]string{"登録してるメールも電話ももう使えない。ログインもできない"}, "replace_locked_out"},
		{[]string{"2段階認証はオンです", "登録してるメールも電話ももう使えない。ログインもできない", "持っていません"}, "recovery_2sv"},
		// Someone else changed the info: the compromised account's steps,
		// for someone who cannot sign in, not replacing the methods.
		{[]string{"誰かにパスワードを変えられたみたい", "登録してるメールも電話ももう使えない。ログインもできない"}, "safety_hacked_locked_out"},
	}
	for _, tt := range tests {
		st := State{}
		var res Result
		for i, l := range tt.lines {
			res = e.Step(st, Input{Kind: InputText, Text: l, Time: t0.Add(time.Duration(i) * time.Minute)})
			st = res.State
		}
		if st.Node != tt.node {
			t.Errorf("%q → %s (%s, skipped %v), want %s", tt.lines, st.Node, res.Trace.Reason, res.Trace.Skipped, tt.node)
		}
	}
	// What the user reads when the first message says it all.
	turns := playScript(t, e, []string{"SMSで送ったって出るのに全然こない。番号はあってる"})
	turns[0].Trace.Score, turns[0].State.PackVersion = 0, ""
	checkGolden(t, "ms_memory_first_message", turns)
}

// TestRoutes: a route follows a fact that makes a step moot, after the
// step's own facts are set (a number lost for SMS says nothing of email).
func TestRoutes(t *testing.T) {
	real := loadRealEngine(t)
	e, err := New(real.pack, withFacts{u: real.u, facts: map[string][]knowledge.Fact{
		"番号はもう解約しました": {fact("method", "sms", 0.9), fact("contact", "lost", 0.9)},
	}}, real.opts)
	if err != nil {
		t.Fatal(err)
	}
	st := e.Step(State{}, Input{Kind: InputText, Text: "番号はもう解約しました", Time: t0}).State
	if st.Slots["contact"] != "lost" {
		t.Fatalf("slots %v", st.Slots)
	}
	res := e.Step(st, Input{Kind: InputPostback, Data: "go=email_check", Time: t0.Add(time.Minute)})
	if res.State.Node != "email_check" || res.State.Slots["contact"] != "" || res.State.Slots["method"] != "email" {
		t.Fatalf("email after a lost number: node %s, slots %v", res.State.Node, res.State.Slots)
	}
	st.Node, st.Slots = "ask_method", map[string]string{"method": "email", "contact": "lost"}
	res = e.Step(st, Input{Kind: InputPostback, Data: "go=email_check", Time: t0.Add(time.Minute)})
	if res.State.Node != "replace_method" || len(res.Trace.Skipped) != 1 {
		t.Fatalf("email check for a lost address: node %s, skipped %v", res.State.Node, res.Trace.Skipped)
	}
}
