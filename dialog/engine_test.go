package dialog

import (
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/todoku/todoku/knowledge"
)

// fakeUnderstander reads free text from a fixed table.
type fakeUnderstander struct {
	readings     map[string][]knowledge.Match
	lastExpects  []string
	lastQuestion string
	calls        int
}

func (f *fakeUnderstander) Read(q knowledge.Query) knowledge.Reading {
	f.lastExpects = append([]string(nil), q.Expects...)
	f.lastQuestion = q.Question
	f.calls++
	return knowledge.Reading{Matches: f.readings[q.Text]}
}

func m(intent string, score float64) knowledge.Match {
	return knowledge.Match{Intent: intent, Score: score}
}

var testReadings = map[string][]knowledge.Match{
	"こんにちは":        {m("greet", 0.95)},
	"コードが届かない":     {m("not_arriving", 0.9)},
	"SMSが来ません":     {m("sms_topic", 0.9), m("sms", 0.6)},
	"メール":          {m("email", 0.9)},
	"メールに":         {m("email", 0.9)},
	"届かないです":       {m("not_arriving", 0.9)},
	"SMSで":         {m("sms", 0.85)},
	"はい":           {m("yes", 0.95)},
	"いいえ":          {m("no", 0.95)},
	"ないです、もう使ってない": {m("replace_topic", 0.85), m("no", 0.8)},
	"もう使っていないアドレス": {m("replace_topic", 0.95), m("no", 0.6)},
	"30日も待つの？":     {m("waiting_topic", 0.9)},
	"天気は？":         {m("other_topic", 0.8)},
	"最初からお願い":      {m("restart", 0.9)},
	"戻りたい":         {m("back", 0.9)},
	"人と話したい":       {m("human", 0.92)},
	"続きからで":        {m("resume", 0.9)},
	"うーん":          {m("waiting_topic", 0.3), m("sms_topic", 0.25), m("greet", 0.01)},
	"よくわからない":      {m("sms", 0.4)},
	"ふわふわ":         nil,
	"迷惑メールにもない":    {m("email_topic", 0.8), m("no", 0.35), m("yes", 0.1)},
	"メールが来ない":      {m("email_topic", 0.8), m("no", 0.2)},
	"メールが来ないかも":    {m("email_topic", 0.8), m("no", 0.35), m("yes", 0.3)},
	"電話でコードを聞かれた":  {m("safety_topic", 0.9)},
	"SMSでコードを聞かれた": {m("sms_topic", 0.66), m("safety_topic", 0.62), m("no", 0.64)},
	"SMSが来ないし聞かれた": {m("sms_topic", 0.75), m("safety_topic", 0.62)},
	"待つのは何のため":     {m("other_topic", 0.8), m("waiting_topic", 0.72)},
}

func loadTestPack(t testing.TB) *knowledge.Pack {
	t.Helper()
	b, err := os.ReadFile("testdata/pack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p knowledge.Pack
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatalf("testdata/pack.yaml: %v", err)
	}
	return &p
}

func newTestEngine(t testing.TB, opts Options) (*Engine, *fakeUnderstander) {
	t.Helper()
	u := &fakeUnderstander{readings: testReadings}
	e, err := New(loadTestPack(t), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e, u
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func say(s string) Input    { return Input{Kind: InputText, Text: s} }
func tap(data string) Input { return Input{Kind: InputPostback, Data: data} }
func follow() Input         { return Input{Kind: InputFollow} }
func sticker() Input        { return Input{Kind: InputNonText, Type: "sticker"} }

// step is one user turn and what must hold after it. Zero-valued fields
// other than node and reason are not checked unless noted.
type step struct {
	in       Input
	after    time.Duration // time since the previous turn; default 1 minute
	node     string
	reason   string
	intent   string
	texts    []string // the reply texts, when set
	first    string   // the first reply's text, when set
	qrs      []string // the last reply's quick-reply labels, when set
	misses   int      // always checked
	paused   bool     // always checked
	history  []string // checked when non-nil ("-" means empty)
	slots    map[string]string
	handoff  bool     // always checked
	resolved bool     // always checked
	topic    string   // the topic the reply reports, when not the node's
	staff    Staff    // passed in with the input
	skipped  []string // checked when non-nil
	waiting  bool     // always checked
	pending  string   // always checked
}

type scenario struct {
	name  string
	opts  Options
	start State
	steps []step
}

func run(t *testing.T, e *Engine, sc scenario) []Result {
	t.Helper()
	st := sc.start
	now := t0
	var out []Result
	for i, s := range sc.steps {
		if s.after == 0 {
			s.after = time.Minute
		}
		now = now.Add(s.after)
		in := s.in
		in.Time = now
		in.Staff = s.staff
		res := e.Step(st, in)
		out = append(out, res)
		where := func() string { return sc.name + " step " + strconv.Itoa(i) + " (" + describe(in) + ")" }
		if res.State.Node != s.node {
			t.Fatalf("%s: node = %q, want %q", where(), res.State.Node, s.node)
		}
		if res.Trace.Reason != s.reason {
			t.Fatalf("%s: reason = %q, want %q", where(), res.Trace.Reason, s.reason)
		}
		if s.intent != "" && res.Trace.Intent != s.intent {
			t.Fatalf("%s: intent = %q, want %q", where(), res.Trace.Intent, s.intent)
		}
		if res.State.Misses != s.misses {
			t.Fatalf("%s: misses = %d, want %d", where(), res.State.Misses, s.misses)
		}
		if res.State.Waiting != s.waiting || res.State.Pending != s.pending {
			t.Fatalf("%s: waiting/pending = %v/%q, want %v/%q", where(), res.State.Waiting, res.State.Pending, s.waiting, s.pending)
		}
		if s.skipped != nil && !reflect.DeepEqual(res.Trace.Skipped, s.skipped) {
			t.Fatalf("%s: skipped = %q, want %q", where(), res.Trace.Skipped, s.skipped)
		}
		if res.State.Paused != s.paused {
			t.Fatalf("%s: paused = %v, want %v", where(), res.State.Paused, s.paused)
		}
		if res.Trace.Handoff != s.handoff || res.Trace.Resolved != s.resolved {
			t.Fatalf("%s: handoff/resolved = %v/%v, want %v/%v", where(), res.Trace.Handoff, res.Trace.Resolved, s.handoff, s.resolved)
		}
		if len(res.Replies) == 0 || len(res.Replies) > MaxReplies {
			t.Fatalf("%s: %d replies", where(), len(res.Replies))
		}
		for j, r := range res.Replies[:len(res.Replies)-1] {
			if len(r.QuickReplies) != 0 {
				t.Fatalf("%s: reply %d is not the last but has quick replies", where(), j)
			}
		}
		if s.texts != nil {
			var got []string
			for _, r := range res.Replies {
				got = append(got, r.Text)
			}
			if !reflect.DeepEqual(got, s.texts) {
				t.Fatalf("%s: texts = %q, want %q", where(), got, s.texts)
			}
		}
		if s.first != "" && res.Replies[0].Text != s.first {
			t.Fatalf("%s: first reply = %q, want %q", where(), res.Replies[0].Text, s.first)
		}
		if s.qrs != nil {
			got := qrLabels(res)
			want := s.qrs
			if len(want) == 1 && want[0] == "-" {
				want = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: quick replies = %q, want %q", where(), got, want)
			}
		}
		if s.history != nil {
			want := s.history
			if len(want) == 1 && want[0] == "-" {
				want = nil
			}
			if !reflect.DeepEqual(res.State.History, want) {
				t.Fatalf("%s: history = %q, want %q", where(), res.State.History, want)
			}
		}
		if s.slots != nil && !(len(s.slots) == 0 && len(res.State.Slots) == 0) && !reflect.DeepEqual(res.State.Slots, s.slots) {
			t.Fatalf("%s: slots = %v, want %v", where(), res.State.Slots, s.slots)
		}
		if in.Kind != InputGroup {
			if !res.State.LastSeen.Equal(now) {
				t.Fatalf("%s: last seen = %v, want %v", where(), res.State.LastSeen, now)
			}
			if res.State.PackID != e.pack.ID || res.State.PackVersion != e.pack.Version {
				t.Fatalf("%s: pack = %s@%s", where(), res.State.PackID, res.State.PackVersion)
			}
		}
		wantTopic := e.topicOf(res.State.Node)
		if s.topic != "" {
			wantTopic = s.topic
		}
		if res.Trace.ToNode != res.State.Node || res.Trace.ToTopic != wantTopic {
			t.Fatalf("%s: trace to = %s/%s, state node %s", where(), res.Trace.ToNode, res.Trace.ToTopic, res.State.Node)
		}
		if res.Trace.FromNode != st.Node || res.Trace.FromTopic != e.topicOf(st.Node) {
			t.Fatalf("%s: trace from = %s/%s, want %s", where(), res.Trace.FromNode, res.Trace.FromTopic, st.Node)
		}
		st = res.State
	}
	return out
}

func qrLabels(res Result) []string {
	var got []string
	for _, q := range res.Replies[len(res.Replies)-1].QuickReplies {
		got = append(got, q.Label)
	}
	return got
}

func describe(in Input) string {
	switch in.Kind {
	case InputText:
		return "text " + in.Text
	case InputPostback:
		return "tap " + in.Data
	}
	return string(in.Kind)
}

var (
	welcomeTexts = []string{"こんにちは。確認コードが届かないときのお手伝いをします。", "どうなさいましたか？"}
	welcomeQRs   = []string{"コードが届かない", "30日の待機期間", "人と話す"}
	askQRs       = []string{"メール", "SMS", "戻る"}
	emailQRs     = []string{"見つかった", "見つからない"}
)

func TestScenarios(t *testing.T) {
	scenarios := []scenario{
		{name: "follow shows the welcome", steps: []step{
			{in: follow(), node: "welcome", reason: ReasonStart, texts: welcomeTexts, qrs: welcomeQRs, history: []string{"-"}},
		}},
		{name: "first text is a greeting", steps: []step{
			{in: say("こんにちは"), node: "welcome", reason: ReasonIntent, intent: "greet", texts: welcomeTexts},
		}},
		{name: "first text goes straight to the problem", steps: []step{
			{in: say("SMSが来ません"), node: "sms_check", reason: ReasonIntent, intent: "sms_topic", history: []string{"-"}, slots: map[string]string{"method": "sms"}},
			{in: tap("cmd=back"), node: "welcome", reason: ReasonCommand, texts: welcomeTexts},
		}},
		{name: "first text not understood shows the welcome", steps: []step{
			{in: say("ふわふわ"), node: "welcome", reason: ReasonStart, texts: welcomeTexts, misses: 1},
			{in: say("ふわふわ"), node: "welcome", reason: ReasonOffer, misses: 2, first: "うまくお手伝いできずすみません。担当者におつなぎしましょうか？",
				qrs: []string{"人と話す", "最初から", "コードが届かない", "30日の待機期間"}},
		}},
		{name: "postbacks, answers and slots", steps: []step{
			{in: follow(), node: "welcome", reason: ReasonStart},
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice, qrs: askQRs, history: []string{"welcome"}},
			{in: say("メールに"), node: "email_check", reason: ReasonAnswer, intent: "email", qrs: emailQRs,
				history: []string{"welcome", "ask_method"}, slots: map[string]string{"method": "email"}},
			{in: say("いいえ"), node: "replace_method", reason: ReasonAnswer, intent: "no",
				slots: map[string]string{"method": "email", "has_access": "no"}, qrs: []string{"30日について", "ヘルプ", "人と話す"}},
			{in: tap("go=waiting"), node: "waiting", reason: ReasonChoice},
			{in: tap("cmd=restart"), node: "welcome", reason: ReasonCommand, history: []string{"-"}, slots: map[string]string{}},
		}},
		{name: "yes follows next", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("はい"), node: "email_done", reason: ReasonAnswer, intent: "yes", resolved: true, qrs: []string{"最初から"}},
		}},
		{name: "yes listed in expects", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("はい"), node: "sms_done", reason: ReasonAnswer, intent: "yes", resolved: true, qrs: []string{"-"}},
		}},
		{name: "expected answer wins a near tie", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("ないです、もう使ってない"), node: "replace_method", reason: ReasonAnswer, intent: "no"},
		}},
		{name: "clearly better topic beats an expected answer", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("もう使っていないアドレス"), node: "replace_method", reason: ReasonIntent, intent: "replace_topic"},
		}},
		{name: "restating the current topic: the answer part decides", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("メールが来ない"), node: "email_check", reason: ReasonSame, intent: "email_topic", history: []string{"-"}, texts: []string{"見つかりましたか？"}},
			{in: say("メールが来ないかも"), node: "email_check", reason: ReasonSame, intent: "email_topic"},
			{in: say("迷惑メールにもない"), node: "replace_method", reason: ReasonAnswer, intent: "no", history: []string{"email_check"}},
			{in: say("メールが来ない"), node: "email_check", reason: ReasonIntent, intent: "email_topic", history: []string{"email_check", "replace_method"}},
		}},
		{name: "a reading that continues the thread wins near-ties", steps: []step{
			{in: tap("go=replace_method"), node: "replace_method", reason: ReasonChoice},
			{in: say("待つのは何のため"), node: "waiting", reason: ReasonIntent, intent: "waiting_topic"},
		}},
		{name: "elsewhere the better reading wins", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("待つのは何のため"), node: "other", reason: ReasonIntent, intent: "other_topic"},
		}},
		{name: "the menu's reading mid-step asks the step's question again, not the whole step", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("こんにちは"), node: "email_check", reason: ReasonSame, intent: "greet",
				texts: []string{"見つかりましたか？"}, qrs: emailQRs, history: []string{"-"}},
			{in: say("こんにちは"), after: time.Hour, node: "welcome", reason: ReasonIntent, intent: "greet", texts: welcomeTexts},
			{in: tap("go=email_done"), node: "email_done", reason: ReasonChoice, resolved: true},
			{in: say("こんにちは"), node: "welcome", reason: ReasonIntent, intent: "greet"},
		}},
		{name: "resume after a side question goes back", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("30日も待つの？"), node: "waiting", reason: ReasonIntent, intent: "waiting_topic", history: []string{"sms_check"}},
			{in: say("続きからで"), node: "sms_check", reason: ReasonCommand, intent: "resume", history: []string{"-"}},
			{in: say("続きからで"), node: "sms_check", reason: ReasonCommand, intent: "resume", history: []string{"-"}},
		}},
		{name: "topics work from anywhere", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("30日も待つの？"), node: "waiting", reason: ReasonIntent, intent: "waiting_topic", history: []string{"sms_check"}},
			{in: say("天気は？"), node: "other", reason: ReasonIntent, intent: "other_topic"},
			{in: say("戻りたい"), node: "waiting", reason: ReasonCommand, intent: "back", history: []string{"sms_check"}},
			{in: say("戻りたい"), node: "sms_check", reason: ReasonCommand, history: []string{"-"}},
			{in: say("戻りたい"), node: "welcome", reason: ReasonCommand, history: []string{"-"}},
			{in: say("戻りたい"), node: "welcome", reason: ReasonCommand, history: []string{"-"}, texts: welcomeTexts},
		}},
		{name: "back at the start stays", steps: []step{
			{in: follow(), node: "welcome", reason: ReasonStart},
			{in: tap("cmd=back"), node: "welcome", reason: ReasonCommand, texts: welcomeTexts, qrs: welcomeQRs},
		}},
		{name: "restart by text clears slots and history", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: tap("go=replace_method"), node: "replace_method", reason: ReasonChoice, history: []string{"email_check"}},
			{in: say("最初からお願い"), node: "welcome", reason: ReasonCommand, intent: "restart", history: []string{"-"}, slots: map[string]string{}},
		}},
		{name: "handoff by text and by button", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say("人と話したい"), node: "human", reason: ReasonCommand, intent: "human", handoff: true, waiting: true, texts: []string{"担当者におつなぎします。"}},
			{in: tap("cmd=restart"), node: "welcome", reason: ReasonCommand, waiting: true},
			{in: tap("cmd=handoff"), node: "human", reason: ReasonCommand, handoff: true, waiting: true, history: []string{"welcome"}},
		}},
		{name: "waiting for a person", steps: []step{
			{in: say("人と話したい"), node: "human", reason: ReasonCommand, intent: "human", handoff: true, waiting: true},
			{in: say("ほげほげ"), node: "human", reason: ReasonIntent, handoff: true, waiting: true, texts: []string{"担当者におつなぎします。"}},
			{in: say("最初から"), node: "welcome", reason: ReasonCommand, waiting: true},
			{in: follow(), node: "welcome", reason: ReasonStart},
		}},
		{name: "stale buttons", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: tap("go=removed_node"), node: "ask_method", reason: ReasonStale,
				texts: []string{"そのボタンは古くなりました。", "コードはどこに送られていますか？"}, qrs: askQRs, history: []string{"-"}},
			{in: tap("cmd=fly"), node: "ask_method", reason: ReasonStale},
			{in: tap("garbage"), node: "ask_method", reason: ReasonStale},
		}},
		{name: "stale button as first input", steps: []step{
			{in: tap("go=removed_node"), node: "welcome", reason: ReasonStale, first: "そのボタンは古くなりました。", qrs: welcomeQRs},
		}},
		{name: "safety wherever the user is", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("コードは[code]です"), node: "code_safety", reason: ReasonSafety,
				texts: []string{"コードやパスワードは誰にも送らないでください。", "Microsoftがコードを尋ねることはありません。"}, history: []string{"email_check"}},
			{in: tap("cmd=back"), node: "email_check", reason: ReasonCommand},
			{in: say("１２３４５６７"), node: "code_safety", reason: ReasonSafety},
			{in: say("電話でコードを聞かれた"), node: "code_safety", reason: ReasonSame, intent: "safety_topic"},
			{in: say("654321"), node: "code_safety", reason: ReasonSafety, texts: []string{"コードやパスワードは誰にも送らないでください。"}, qrs: []string{"最初から"}},
		}},
		{name: "a code-safety reading wins near-ties", steps: []step{
			{in: tap("go=sms_check"), node: "sms_check", reason: ReasonChoice},
			{in: say("SMSでコードを聞かれた"), node: "code_safety", reason: ReasonIntent, intent: "safety_topic"},
			{in: tap("cmd=back"), node: "sms_check", reason: ReasonCommand},
			{in: say("SMSが来ないし聞かれた"), node: "sms_check", reason: ReasonSame, intent: "sms_topic"},
		}},
		{name: "safety as first message", steps: []step{
			{in: say("パスワードは[password]"), node: "code_safety", reason: ReasonSafety, history: []string{"-"}},
		}},
		{name: "reprompt, then offer, then understood", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say("うーん"), node: "ask_method", reason: ReasonReprompt, intent: "waiting_topic", misses: 1,
				texts: []string{"すみません、うまく読み取れませんでした。近いものを選んでください。"},
				qrs:   []string{"30日の待機期間", "SMS", "メール", "戻る"}},
			{in: say("ふわふわ"), node: "ask_method", reason: ReasonOffer, misses: 2,
				qrs: []string{"人と話す", "最初から", "メール", "SMS", "戻る"}},
			{in: say("よくわからない"), node: "ask_method", reason: ReasonOffer, misses: 3},
			{in: say("SMSで"), node: "sms_check", reason: ReasonAnswer, intent: "sms", misses: 0},
		}},
		{name: "a tap resets misses", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say("ふわふわ"), node: "ask_method", reason: ReasonReprompt, misses: 1, qrs: askQRs},
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice, misses: 0},
			{in: say("ふわふわ"), node: "email_check", reason: ReasonReprompt, misses: 1},
		}},
		{name: "an answer the node does not expect is a miss", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("メール"), node: "email_check", reason: ReasonReprompt, intent: "email", misses: 1},
		}},
		{name: "a typed button label acts like a tap", steps: []step{
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: say(" ＳＭＳ "), node: "sms_check", reason: ReasonChoice, intent: "label"},
			{in: say("最初から"), node: "welcome", reason: ReasonCommand, intent: "label"},
		}},
		{name: "idle then resume", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("はい"), after: 31 * time.Minute, node: "email_check", reason: ReasonIdle, paused: true,
				texts: []string{"おかえりなさい。続きから再開しますか？"}, qrs: []string{"続きから", "最初から"}},
			{in: tap("cmd=resume"), node: "email_check", reason: ReasonCommand, paused: false,
				texts: []string{"迷惑メールフォルダを確認してください。", "見つかりましたか？"}, qrs: emailQRs},
			{in: say("はい"), node: "email_done", reason: ReasonAnswer, resolved: true},
		}},
		{name: "idle then restart", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("ふわふわ"), after: 2 * time.Hour, node: "email_check", reason: ReasonIdle, paused: true},
			{in: tap("cmd=restart"), node: "welcome", reason: ReasonCommand, slots: map[string]string{}},
		}},
		{name: "paused: yes resumes, a miss reprompts with the pause buttons", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("ふわふわ"), after: time.Hour, node: "email_check", reason: ReasonIdle, paused: true},
			{in: say("ふわふわ"), node: "email_check", reason: ReasonReprompt, paused: true, misses: 1, qrs: []string{"続きから", "最初から"}},
			{in: say("はい"), node: "email_check", reason: ReasonCommand, intent: "yes", texts: []string{"迷惑メールフォルダを確認してください。", "見つかりましたか？"}},
		}},
		{name: "idle with a confident topic goes there", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("30日も待つの？"), after: time.Hour, node: "waiting", reason: ReasonIntent, paused: false},
		}},
		{name: "idle with a command goes there", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("人と話したい"), after: time.Hour, node: "human", reason: ReasonCommand, handoff: true, waiting: true},
		}},
		{name: "no idle question at the start or at a terminal node", steps: []step{
			{in: follow(), node: "welcome", reason: ReasonStart},
			{in: say("届かないです"), after: 5 * time.Hour, node: "ask_method", reason: ReasonIntent},
			{in: tap("go=email_done"), node: "email_done", reason: ReasonChoice, resolved: true},
			{in: say("SMSが来ません"), after: 5 * time.Hour, node: "sms_check", reason: ReasonIntent},
		}},
		{name: "idle disabled", opts: Options{IdleAfter: -1}, steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: say("はい"), after: 48 * time.Hour, node: "email_done", reason: ReasonAnswer, resolved: true},
		}},
		{name: "a tap after idling is honoured", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: tap("go=replace_method"), after: time.Hour, node: "replace_method", reason: ReasonChoice},
		}},
		{name: "non-text", steps: []step{
			{in: sticker(), node: "welcome", reason: ReasonNonText,
				texts: []string{"すみません、文字でお送りください。", welcomeTexts[0], welcomeTexts[1]}, qrs: welcomeQRs},
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: sticker(), node: "ask_method", reason: ReasonNonText, texts: []string{"すみません、文字でお送りください。"}, qrs: askQRs, history: []string{"welcome"}},
			{in: tap("go=sms_done"), node: "sms_done", reason: ReasonChoice, resolved: true},
			{in: sticker(), node: "sms_done", reason: ReasonNonText, qrs: []string{"最初から", "人と話す"}},
		}},
		{name: "follow mid-flow starts over", steps: []step{
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: follow(), node: "welcome", reason: ReasonStart, history: []string{"-"}, slots: map[string]string{}},
		}},
		{name: "history is bounded", opts: Options{MaxHistory: 3}, steps: []step{
			{in: follow(), node: "welcome", reason: ReasonStart},
			{in: tap("go=ask_method"), node: "ask_method", reason: ReasonChoice},
			{in: tap("go=email_check"), node: "email_check", reason: ReasonChoice},
			{in: tap("go=replace_method"), node: "replace_method", reason: ReasonChoice, history: []string{"welcome", "ask_method", "email_check"}},
			{in: tap("go=waiting"), node: "waiting", reason: ReasonChoice, history: []string{"ask_method", "email_check", "replace_method"}},
			{in: tap("cmd=back"), node: "replace_method", reason: ReasonCommand, history: []string{"ask_method", "email_check"}},
		}},
		{name: "LINE limits are enforced", steps: []step{
			{in: tap("go=waiting"), node: "waiting", reason: ReasonChoice, texts: []string{"1", "2", "3", "4", "6"},
				qrs: []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11", "c12", "c13"}},
			{in: tap("go=nothing"), node: "waiting", reason: ReasonStale, texts: []string{"そのボタンは古くなりました。", "1", "2", "3", "6"}},
		}},
		{name: "state from an older pack", start: State{Node: "gone", History: []string{"welcome", "gone2"}, LastSeen: t0}, steps: []step{
			{in: say("ふわふわ"), node: "welcome", reason: ReasonStart, misses: 1, history: []string{"welcome"}},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, sc.opts)
			run(t, e, sc)
		})
	}
}

func TestGroupLeavesStateAlone(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	st := State{Node: "email_check", History: []string{"welcome"}, Slots: map[string]string{"method": "email"}, Misses: 1, LastSeen: t0, PackID: "old", PackVersion: "0"}
	res := e.Step(st, Input{Kind: InputGroup, Text: "こんにちは", Time: t0.Add(time.Hour)})
	if !reflect.DeepEqual(res.State, st) {
		t.Fatalf("state = %+v, want unchanged %+v", res.State, st)
	}
	if len(res.Replies) != 1 || res.Replies[0].Text != "このアカウントは1対1のトークでご利用ください。" {
		t.Fatalf("replies = %+v", res.Replies)
	}
	if res.Trace.Reason != ReasonGroup || res.Trace.ToNode != "email_check" || res.Trace.ToTopic != "email_check" {
		t.Fatalf("trace = %+v", res.Trace)
	}
}

func TestExpectsPassedToUnderstander(t *testing.T) {
	e, u := newTestEngine(t, Options{})
	tests := []struct {
		st   State
		want []string
	}{
		{State{Node: "ask_method", LastSeen: t0}, []string{"email", "sms"}},
		{State{Node: "email_check", LastSeen: t0}, []string{"no", "yes"}},
		{State{Node: "sms_check", LastSeen: t0}, []string{"yes", "no"}},
		{State{Node: "replace_method", LastSeen: t0}, []string{}},
		{State{Node: "email_check", Paused: true, LastSeen: t0}, []string{"yes"}},
	}
	for _, tt := range tests {
		e.Step(tt.st, Input{Kind: InputText, Text: "ふわふわ", Time: t0.Add(time.Minute)})
		if len(u.lastExpects)+len(tt.want) > 0 && !reflect.DeepEqual(u.lastExpects, tt.want) {
			t.Fatalf("%s: expects = %q, want %q", tt.st.Node, u.lastExpects, tt.want)
		}
	}
}

// TestQuestionPassedToUnderstander: the understander gets the current
// node's last message as the question, except for a new conversation and
// after a pause (the question then is whether to go on).
func TestQuestionPassedToUnderstander(t *testing.T) {
	u := &fakeUnderstander{readings: testReadings}
	p := loadTestPack(t)
	e, err := New(p, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := p.Node("email_check")
	for _, tt := range []struct {
		st   State
		want string
	}{
		{State{Node: n.ID, LastSeen: t0}, n.Messages[len(n.Messages)-1].Text},
		{State{Node: n.ID, Paused: true, LastSeen: t0}, ""},
		{State{}, ""},
	} {
		e.Step(tt.st, Input{Kind: InputText, Text: "ふわふわ", Time: t0.Add(time.Minute)})
		if u.lastQuestion != tt.want {
			t.Fatalf("%+v: question %q, want %q", tt.st, u.lastQuestion, tt.want)
		}
	}
}

func TestButtonsAndLinks(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	res := e.Step(State{}, Input{Kind: InputPostback, Data: "go=replace_method", Time: t0})
	if len(res.Replies) != 1 {
		t.Fatalf("replies = %d", len(res.Replies))
	}
	r := res.Replies[0]
	want := &Buttons{Title: "セキュリティ情報", AltText: "セキュリティ情報の変更", Actions: []QuickReply{
		{Label: "開く", URI: "https://account.microsoft.com/security"},
		{Label: "30日について", Data: "go=waiting", DisplayText: "30日について"},
	}}
	if !reflect.DeepEqual(r.Buttons, want) {
		t.Fatalf("buttons = %+v, want %+v", r.Buttons, want)
	}
	wantQR := []QuickReply{
		{Label: "30日について", Data: "go=waiting", DisplayText: "30日について"},
		{Label: "ヘルプ", URI: "https://support.microsoft.com/"},
		{Label: "人と話す", Data: "cmd=handoff", DisplayText: "人と話す"},
	}
	if !reflect.DeepEqual(r.QuickReplies, wantQR) {
		t.Fatalf("quick replies = %+v, want %+v", r.QuickReplies, wantQR)
	}
}

func TestDeterministicAndPure(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	inputs := []Input{follow(), tap("go=ask_method"), say("メール"), say("うーん"), say("ふわふわ"), say("いいえ"), sticker(), say("30日も待つの？"), tap("cmd=back"), say("123456")}
	play := func() ([]Result, []State) {
		st := State{}
		var results []Result
		var befores []State
		for i, in := range inputs {
			in.Time = t0.Add(time.Duration(i) * time.Minute)
			before := cloneState(st)
			res := e.Step(st, in)
			if !reflect.DeepEqual(st, before) {
				t.Fatalf("Step mutated its input state at %d", i)
			}
			befores = append(befores, before)
			results = append(results, res)
			st = res.State
		}
		return results, befores
	}
	a, _ := play()
	b, _ := play()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same inputs differ")
	}
	// Steps must not alias the state they were given: mutate a result and
	// replay from the previous state.
	st := a[3].State
	again := e.Step(a[2].State, Input{Kind: InputText, Text: "うーん", Time: t0.Add(3 * time.Minute)})
	st.History[0] = "changed"
	if reflect.DeepEqual(again.State, st) || again.State.History[0] == "changed" {
		t.Fatal("results share History with each other")
	}
}

func TestStateJSONRoundTrip(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	st := State{}
	for i, in := range []Input{tap("go=ask_method"), say("メール"), say("ふわふわ")} {
		in.Time = t0.Add(time.Duration(i) * time.Minute)
		st = e.Step(st, in).State
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, st) {
		t.Fatalf("round trip: %+v, want %+v", back, st)
	}
	// The restored state must drive the same next turn.
	next := Input{Kind: InputText, Text: "いいえ", Time: t0.Add(10 * time.Minute)}
	if a, b := e.Step(st, next), e.Step(back, next); !reflect.DeepEqual(a, b) {
		t.Fatalf("restored state steps differently:\n%+v\n%+v", a, b)
	}
}

func TestNewRequiresNodes(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *knowledge.Pack)
		want   string
	}{
		{"ok", func(p *knowledge.Pack) {}, ""},
		{"no start", func(p *knowledge.Pack) { p.Start = "" }, "no start node"},
		{"unknown handoff", func(p *knowledge.Pack) { p.Handoff = "nope" }, `handoff node "nope" does not exist`},
		{"no fallback", func(p *knowledge.Pack) { p.Fallback = "" }, "no fallback node"},
	}
	for _, tt := range tests {
		p := loadTestPack(t)
		tt.modify(p)
		_, err := New(p, &fakeUnderstander{}, Options{})
		if tt.want == "" {
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := New(loadTestPack(t), nil, Options{}); err == nil {
		t.Fatal("nil understander accepted")
	}
}

func TestDefaults(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	got := e.Options()
	want := Options{IdleAfter: 30 * time.Minute, Threshold: 0.5, MaxHistory: 20, Sure: 0.8, Location: japan}
	if got != want {
		t.Fatalf("options = %+v, want %+v", got, want)
	}
	if e.Pack().ID != "test-ja" {
		t.Fatalf("pack = %s", e.Pack().ID)
	}
}

func TestThreshold(t *testing.T) {
	// The same reading acts or not depending on the threshold: never a
	// silent guess below it.
	for _, tt := range []struct {
		threshold float64
		node      string
		reason    string
	}{
		{0.5, "ask_method", ReasonReprompt},
		{0.35, "sms_check", ReasonAnswer},
	} {
		e, _ := newTestEngine(t, Options{Threshold: tt.threshold})
		res := e.Step(State{Node: "ask_method", LastSeen: t0}, Input{Kind: InputText, Text: "よくわからない", Time: t0.Add(time.Minute)})
		if res.State.Node != tt.node || res.Trace.Reason != tt.reason {
			t.Fatalf("threshold %v: %s/%s, want %s/%s", tt.threshold, res.State.Node, res.Trace.Reason, tt.node, tt.reason)
		}
		if res.Trace.Intent != "sms" || res.Trace.Score != 0.4 {
			t.Fatalf("threshold %v: trace %+v", tt.threshold, res.Trace)
		}
	}
}

func TestCommandLabels(t *testing.T) {
	p := &knowledge.Pack{Nodes: []knowledge.Node{
		{ID: "a", Choices: []knowledge.Choice{{Label: "担当者へ", Command: "handoff"}, {Label: "はじめから", Command: "restart"}}},
		{ID: "b", Choices: []knowledge.Choice{{Label: "人と話したい", Command: "handoff"}, {Label: "最初に戻る", Command: "restart"}}},
		{ID: "c", Choices: []knowledge.Choice{{Label: "人と話したい", Command: "handoff"}}},
	}}
	got := commandLabels(p)
	want := map[string]string{TextLabelHandoff: "人と話したい", TextLabelRestart: "はじめから", TextLabelResume: "続きから", TextLabelReturn: "前の話に戻る", TextLabelYes: "はい", TextLabelNo: "いいえ"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("labels = %v, want %v", got, want)
	}
	p.Texts = map[string]string{TextLabelResume: "再開する", TextLabelHandoff: "スタッフと話す"}
	got = commandLabels(p)
	want = map[string]string{TextLabelHandoff: "スタッフと話す", TextLabelRestart: "はじめから", TextLabelResume: "再開する", TextLabelReturn: "前の話に戻る", TextLabelYes: "はい", TextLabelNo: "いいえ"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("labels with texts = %v, want %v", got, want)
	}
}

// BenchmarkStepEngineOnly is one step with a table understander: the
// engine's own share of a turn.
func BenchmarkStepEngineOnly(b *testing.B) {
	e, _ := newTestEngine(b, Options{})
	st := State{Node: "ask_method", History: []string{"welcome"}, LastSeen: t0}
	texts := []string{"30日も待つの？", "メールに", "うーん", "人と話したい"}
	in := Input{Kind: InputText, Time: t0.Add(time.Minute)}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		in.Text = texts[i%len(texts)]
		i++
		e.Step(st, in)
	}
}
