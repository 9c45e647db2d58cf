package dialog

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand"
	"github.com/todoku/todoku/redact"
)

// The real pack and the development set (testdata/eval at the module
// root: a copy of shared/eval that .ci/run keeps equal to it). The eval
// directory can be moved with TODOKU_EVAL_DIR.
const realPackPath = "../knowledge/packs/microsoft.ja.yaml"

func evalDir() string {
	if d := os.Getenv("TODOKU_EVAL_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata", "eval")
}

var (
	realOnce   sync.Once
	realEngine *Engine
	realErr    error
)

// loadRealEngine builds the engine on the product's pack and matcher once per
// test binary (the tokenizer costs about a second).
func loadRealEngine(tb testing.TB) *Engine {
	tb.Helper()
	realOnce.Do(func() {
		var data []byte
		data, realErr = os.ReadFile(realPackPath)
		if realErr != nil {
			return
		}
		var p *knowledge.Pack
		p, realErr = knowledge.Load(data, realPackPath)
		if realErr != nil {
			return
		}
		realEngine, realErr = New(p, understand.New(p), Options{Threshold: understand.DefaultThreshold})
	})
	if realErr != nil {
		tb.Fatalf("real pack: %v", realErr)
	}
	return realEngine
}

func readEvalFile(t *testing.T, name string) []string {
	t.Helper()
	return readLines(t, filepath.Join(evalDir(), name))
}

// readLines returns the lines of a test data file, without line ends.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("test set missing: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

type devTurn struct {
	user   string
	topics []string
	word   string
	line   int
}

// parseConversations reads the conversations format of shared/eval/README.md;
// name only labels errors.
func parseConversations(t *testing.T, name string, lines []string) [][]devTurn {
	t.Helper()
	var convs [][]devTurn
	var cur []devTurn
	for i, l := range append(lines, "") {
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				convs = append(convs, cur)
				cur = nil
			}
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) < 2 {
			t.Fatalf("%s:%d: want text<TAB>topics[<TAB>word], got %q", name, i+1, l)
		}
		d := devTurn{user: f[0], topics: strings.Split(f[1], "|"), line: i + 1}
		if len(f) > 2 {
			d.word = f[2]
		}
		cur = append(cur, d)
	}
	return convs
}

// tapLabel finds the button whose label contains label among the last turn's
// quick replies (then its buttons templates) and returns its postback data.
func tapLabel(replies []Reply, label string) (string, bool) {
	if len(replies) == 0 {
		return "", false
	}
	for _, q := range replies[len(replies)-1].QuickReplies {
		if q.Data != "" && strings.Contains(q.Label, label) {
			return q.Data, true
		}
	}
	for _, r := range replies {
		if r.Buttons == nil {
			continue
		}
		for _, a := range r.Buttons.Actions {
			if a.Data != "" && strings.Contains(a.Label, label) {
				return a.Data, true
			}
		}
	}
	return "", false
}

func repliesContain(replies []Reply, word string) bool {
	for _, r := range replies {
		if strings.Contains(r.Text, word) {
			return true
		}
		for _, q := range r.QuickReplies {
			if strings.Contains(q.Label, word) {
				return true
			}
		}
		if r.Buttons != nil {
			if strings.Contains(r.Buttons.Title, word) {
				return true
			}
			for _, a := range r.Buttons.Actions {
				if strings.Contains(a.Label, word) {
					return true
				}
			}
		}
	}
	return false
}

func labels(replies []Reply) []string {
	if len(replies) == 0 {
		return nil
	}
	var out []string
	for _, q := range replies[len(replies)-1].QuickReplies {
		out = append(out, q.Label)
	}
	return out
}

// playConversations plays each conversation as a new user through e and
// returns how many passed: after every turn the bot is on one of the listed
// topics and, where a word is given, a reply contains it. Each failure is
// reported with t.Errorf when strict, with t.Logf otherwise.
func playConversations(t *testing.T, e *Engine, convs [][]devTurn, strict bool) int {
	t.Helper()
	report := t.Logf
	if strict {
		report = t.Errorf
	}
	passed := 0
	for ci, conv := range convs {
		st := State{}
		now := t0
		var last []Reply
		ok := true
		for _, turn := range conv {
			now = now.Add(time.Minute)
			// The pipeline redacts what users type before the engine
			// sees it (codes, passwords, addresses).
			in := Input{Kind: InputText, Text: redact.Text(turn.user), Time: now}
			if l, isTap := strings.CutPrefix(turn.user, "[tap:"); isTap {
				l = strings.TrimSuffix(l, "]")
				data, found := tapLabel(last, l)
				if !found {
					report("conversation %d, line %d: no quick reply labelled %q among %q", ci+1, turn.line, l, labels(last))
					ok = false
					break
				}
				in = Input{Kind: InputPostback, Data: data, Time: now}
			}
			res := e.Step(st, in)
			topic := res.Trace.ToTopic
			if !contains(turn.topics, topic) {
				report("conversation %d, line %d: %q → node %s (topic %s, %s, intent %s %.2f), want topic %s",
					ci+1, turn.line, turn.user, res.State.Node, topic, res.Trace.Reason, res.Trace.Intent, res.Trace.Score, strings.Join(turn.topics, "|"))
				ok = false
				break
			}
			if turn.word != "" && !repliesContain(res.Replies, turn.word) {
				report("conversation %d, line %d: %q → node %s: no reply contains %q", ci+1, turn.line, turn.user, res.State.Node, turn.word)
				ok = false
				break
			}
			st, last = res.State, res.Replies
		}
		if ok {
			passed++
		}
	}
	return passed
}

// TestDevConversations plays every conversation of the development set, each
// as a new user, through the real pack and matcher.
func TestDevConversations(t *testing.T) {
	convs := parseConversations(t, "conversations.dev.txt", readEvalFile(t, "conversations.dev.txt"))
	if len(convs) == 0 {
		t.Fatal("conversations.dev.txt holds no conversation")
	}
	passed := playConversations(t, loadRealEngine(t), convs, true)
	t.Logf("dev conversations: %d/%d passed", passed, len(convs))
}

// TestDevUtterances sends each first message of the development set as a new
// user and checks the topic landed on.
func TestDevUtterances(t *testing.T) {
	lines := readEvalFile(t, "utterances.dev.tsv")
	e := loadRealEngine(t)
	total, hit := 0, 0
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		text, topics, found := strings.Cut(l, "\t")
		if !found {
			t.Fatalf("utterances.dev.tsv:%d: want utterance<TAB>topics, got %q", i+1, l)
		}
		total++
		res := e.Step(State{}, Input{Kind: InputText, Text: text, Time: t0})
		want := strings.Split(topics, "|")
		if contains(want, res.Trace.ToTopic) {
			hit++
			continue
		}
		t.Logf("miss: %q → %s (%s, intent %s %.2f), want %s", text, res.Trace.ToTopic, res.Trace.Reason, res.Trace.Intent, res.Trace.Score, topics)
	}
	if total == 0 {
		t.Fatal("utterances.dev.tsv holds no utterance")
	}
	acc := float64(hit) / float64(total)
	t.Logf("dev utterances: %d/%d = %.1f%% on an expected topic", hit, total, 100*acc)
	if acc < 0.97 {
		t.Fatalf("accuracy %.1f%% is under 97%%", 100*acc)
	}
}

// TestGoldenRealPack records full conversations on the product's pack.
func TestGoldenRealPack(t *testing.T) {
	e := loadRealEngine(t)
	scripts := map[string][]string{
		"ms_email_to_replace": {"follow", "コードが届かない", "メールです", "迷惑メールにもないです", "そのアドレス、もう使ってないかも", "30日も待つの？"},
		"ms_sms_to_delay":     {"SMSが来ません", "番号は合ってると思う", "もう何回も送ってる", "最初から"},
		"ms_safety_handoff":   {"確認コードを教えてほしいって電話が来た", "123456", "人と話したい"},
		"ms_reprompt_offer":   {"こんにちは", "ほげほげ", "ふがふが", "tap:go=ask_method", "メールです", "wait:45m", "はい", "tap:cmd=resume", "はい"},
		// A morning greeting; staff off duty, then on: the wait is
		// acknowledged with when they answer, thanks are answered as
		// thanks, and nobody is sent the handoff message twice.
		"ms_waiting": {"at:2026-12-02T07:30:00+09:00", "follow", "staff:off:2026-12-02T10:00:00+09:00", "人と話したい", "何時ごろお返事いただけますか",
			"staff:on", "まだですか？", "ありがとうございます"},
		// A hacked account: a locked-out user is sent to the recovery
		// form, not to a page they cannot reach.
		"ms_hacked": {"パスワードが違いますって出る。変えられたかも", "ログインできないです"},
		// Locked out without a recovery code, two-step verification on:
		// Microsoft cannot help, said plainly; and "already did that" moves on.
		"ms_locked_out_2sv": {"登録してるメールも電話ももう使えない", "サインインできない", "持ってない", "オンにしてる"},
		"ms_already_done":   {"SMSが来ません", "合ってます", "それはもうやりました", "それももう確認済みです"},
	}
	for name, lines := range scripts {
		t.Run(name, func(t *testing.T) {
			turns := playScript(t, e, lines)
			// Scores move with every tuning of the matcher; the golden
			// files pin what the user sees and where the flow goes.
			for i := range turns {
				turns[i].Trace.Score = 0
				turns[i].State.PackVersion = "" // every pack edit bumps it
			}
			checkGolden(t, name, turns)
		})
	}
}

// BenchmarkStep measures understanding plus one step on the real pack, for a
// typed message in the middle of a conversation.
func BenchmarkStep(b *testing.B) {
	e := loadRealEngine(b)
	st := e.Step(State{}, Input{Kind: InputText, Text: "コードが届かない", Time: t0}).State
	texts := []string{"メールで届くはずです", "迷惑メールにもないです", "30日も待つの？", "SMSが来ません", "人と話したい"}
	in := Input{Kind: InputText, Time: t0.Add(time.Minute)}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		in.Text = texts[i%len(texts)]
		i++
		e.Step(st, in)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
