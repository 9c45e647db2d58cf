package route

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/redact"
)

// stepper is the router or one engine.
type stepper interface {
	Step(dialog.State, dialog.Input) dialog.Result
}

// TestMicrosoftSetsThroughRouter plays every Microsoft evaluation set (the
// development set, the held-out sets, the blind rounds) side by side through
// Microsoft's engine alone, as before other services had packs, and through
// the router over every pack: the router must not lose what the engine
// alone gets right. It may get more right (an Instagram or LINE password
// question answered as out of scope rather than by Microsoft's flow).
func TestMicrosoftSetsThroughRouter(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every pack's matcher")
	}
	r := embeddedRouter(t)
	alone := r.Engine("microsoft")
	root := filepath.Join("..", "..")
	var firsts, convs []string
	for _, g := range []string{"testdata/eval/utterances.dev.tsv", "knowledge/understand/testdata/heldout*.tsv", "dialog/testdata/blind/*/*.first.tsv"} {
		m, _ := filepath.Glob(filepath.Join(root, g))
		firsts = append(firsts, m...)
	}
	for _, g := range []string{"testdata/eval/conversations.dev.txt", "dialog/testdata/conversations.heldout*.txt", "dialog/testdata/blind/*/*.conv.txt"} {
		m, _ := filepath.Glob(filepath.Join(root, g))
		convs = append(convs, m...)
	}
	if len(firsts) < 3 || len(convs) < 3 {
		t.Fatalf("evaluation sets not found under %s", root)
	}
	var engineHits, routerHits, total int
	for _, f := range firsts {
		for _, row := range readRows(t, f) {
			total++
			in := dialog.Input{Kind: dialog.InputText, Text: redact.Text(row.text), Time: t0}
			e, rt := alone.Step(dialog.State{}, in).Trace.ToTopic, r.Step(dialog.State{}, in).Trace.ToTopic
			eOK, rOK := slices.Contains(row.topics, e), slices.Contains(row.topics, rt)
			engineHits += b2i(eOK)
			routerHits += b2i(rOK)
			if eOK != rOK {
				t.Logf("%s: %q: engine %s, router %s, want %s", filepath.Base(f), row.text, e, rt, strings.Join(row.topics, "|"))
			}
		}
	}
	var engineConv, routerConv, nconv int
	for _, f := range convs {
		for i, conv := range readConversations(t, f) {
			nconv++
			eOK, rOK := play(alone, conv), play(r, conv)
			engineConv += b2i(eOK)
			routerConv += b2i(rOK)
			if eOK != rOK {
				t.Logf("%s conversation %d: engine %v, router %v", filepath.Base(f), i+1, eOK, rOK)
			}
		}
	}
	t.Logf("first messages: engine %d/%d, router %d/%d; conversations: engine %d/%d, router %d/%d",
		engineHits, total, routerHits, total, engineConv, nconv, routerConv, nconv)
	if routerHits < engineHits || routerConv < engineConv {
		t.Errorf("the router loses Microsoft results: first messages %d < %d or conversations %d < %d", routerHits, engineHits, routerConv, engineConv)
	}
}

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

type row struct {
	text   string
	topics []string
	word   string // conversations: a word the reply must contain
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.TrimRight(sc.Text(), "\r"))
	}
	return out
}

// readRows reads text<TAB>topics[<TAB>word] lines, skipping comments.
func readRows(t *testing.T, path string) []row {
	var out []row
	for _, l := range readLines(t, path) {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		parts := strings.Split(l, "\t")
		if len(parts) < 2 {
			t.Fatalf("%s: %q: want text<TAB>topics", path, l)
		}
		r := row{text: parts[0], topics: strings.Split(strings.TrimSpace(parts[1]), "|")}
		if len(parts) > 2 {
			r.word = parts[2]
		}
		out = append(out, r)
	}
	return out
}

// readConversations reads conversations separated by blank lines.
func readConversations(t *testing.T, path string) [][]row {
	var out [][]row
	var cur []row
	for _, l := range append(readLines(t, path), "") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		parts := strings.Split(l, "\t")
		r := row{text: parts[0], topics: strings.Split(strings.TrimSpace(parts[1]), "|")}
		if len(parts) > 2 {
			r.word = parts[2]
		}
		cur = append(cur, r)
	}
	return out
}

// play runs one conversation as the harness does: [tap:LABEL] taps the
// first button whose label contains LABEL; every turn's topic must be one
// of the listed ones and its replies must contain the word, if given.
func play(s stepper, conv []row) bool {
	var st dialog.State
	var last []dialog.Reply
	now := t0
	for _, turn := range conv {
		now = now.Add(time.Minute)
		in := dialog.Input{Kind: dialog.InputText, Text: redact.Text(turn.text), Time: now}
		if label, ok := strings.CutPrefix(turn.text, "[tap:"); ok {
			label = strings.TrimSuffix(label, "]")
			data := ""
			for _, rep := range last {
				for _, q := range rep.QuickReplies {
					if data == "" && strings.Contains(q.Label, label) {
						data = q.Data
					}
				}
				if rep.Buttons != nil {
					for _, q := range rep.Buttons.Actions {
						if data == "" && strings.Contains(q.Label, label) {
							data = q.Data
						}
					}
				}
			}
			if data == "" {
				return false
			}
			in = dialog.Input{Kind: dialog.InputPostback, Data: data, Time: now}
		}
		res := s.Step(st, in)
		if !slices.Contains(turn.topics, res.Trace.ToTopic) {
			return false
		}
		if turn.word != "" && !slices.ContainsFunc(res.Replies, func(r dialog.Reply) bool { return strings.Contains(r.Text, turn.word) }) {
			return false
		}
		st, last = res.State, res.Replies
	}
	return true
}
