package dialog

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/knowledge"
)

// exampleUnderstander scores an intent 0.9 when one of its examples occurs in
// the text, so that fuzzed texts reach every kind of reading.
type exampleUnderstander struct{ p *knowledge.Pack }

func (u exampleUnderstander) Read(q knowledge.Query) knowledge.Reading {
	var out knowledge.Reading
	for _, in := range u.p.Intents {
		if in.Kind == knowledge.KindAnswer && !contains(q.Expects, in.ID) {
			continue
		}
		for _, ex := range in.Examples {
			if strings.Contains(q.Text, ex) {
				out.Matches = append(out.Matches, knowledge.Match{Intent: in.ID, Score: 0.9})
				break
			}
		}
	}
	return out
}

// FuzzStep checks the engine's invariants on arbitrary input and state: no
// panic, 1 to 5 replies, at most 13 quick replies on the last one only, the
// state on an existing node with bounded history.
func FuzzStep(f *testing.F) {
	f.Add(uint8(0), "コードが届かない", "", uint8(0), false, uint8(0), int64(60))
	f.Add(uint8(1), "", "go=email_check", uint8(2), false, uint8(1), int64(60))
	f.Add(uint8(1), "", "cmd=back", uint8(3), true, uint8(0), int64(7200))
	f.Add(uint8(0), "123456", "", uint8(4), false, uint8(2), int64(60))
	f.Add(uint8(0), "はい", "", uint8(2), true, uint8(0), int64(60))
	f.Add(uint8(2), "", "", uint8(0), false, uint8(0), int64(0))
	f.Add(uint8(3), "", "", uint8(9), false, uint8(0), int64(0))
	p := loadTestPack(f)
	e, err := New(p, exampleUnderstander{p}, Options{MaxHistory: 4})
	if err != nil {
		f.Fatal(err)
	}
	kinds := []InputKind{InputText, InputPostback, InputFollow, InputNonText, InputGroup, "weird"}
	f.Fuzz(func(t *testing.T, kind uint8, text, data string, node uint8, paused bool, misses uint8, idle int64) {
		st := State{Paused: paused, Misses: int(misses % 4), LastSeen: t0, History: []string{"welcome", "gone", "ask_method"}}
		if i := int(node); i < len(p.Nodes) {
			st.Node = p.Nodes[i].ID
		} else if i < len(p.Nodes)+2 {
			st.Node = "gone"
		}
		in := Input{Kind: kinds[int(kind)%len(kinds)], Text: text, Data: data, Time: t0.Add(time.Duration(idle) * time.Second)}
		res := e.Step(st, in)
		if n := len(res.Replies); n < 1 || n > MaxReplies {
			t.Fatalf("%d replies", n)
		}
		for i, r := range res.Replies {
			if len(r.QuickReplies) > MaxQuickReplies || (len(r.QuickReplies) > 0 && i != len(res.Replies)-1) {
				t.Fatalf("reply %d has %d quick replies", i, len(r.QuickReplies))
			}
		}
		if in.Kind == InputGroup {
			return
		}
		if e.nodes[res.State.Node] == nil {
			t.Fatalf("state on unknown node %q", res.State.Node)
		}
		if len(res.State.History) > 4 {
			t.Fatalf("history %v", res.State.History)
		}
		if res.Trace.Reason == "" {
			t.Fatal("no reason in trace")
		}
	})
}

// FuzzStepMemory drives the memory pack (facts, questions, routes,
// confirmations, the wait for a person) from any state: replies stay within
// LINE's limits, the state names known nodes, and a pending confirmation
// names a node that asks for one.
func FuzzStepMemory(f *testing.F) {
	f.Add(uint8(0), "SMSで送ったって出るのに全然こない。番号はあってる", "", uint8(0), uint8(0), false, "method=sms")
	f.Add(uint8(0), "はい", "", uint8(1), uint8(6), false, "")
	f.Add(uint8(1), "", "no=form", uint8(1), uint8(6), false, "contact=lost")
	f.Add(uint8(0), "まだですか", "", uint8(9), uint8(0), true, "")
	f.Add(uint8(1), "", "go=email_check", uint8(3), uint8(0), false, "method=sms,contact=ok")
	data, err := os.ReadFile("testdata/memory.yaml")
	if err != nil {
		f.Fatal(err)
	}
	p, err := knowledge.Load(data, "memory.yaml")
	if err != nil {
		f.Fatal(err)
	}
	e, err := New(p, exampleUnderstander{p}, Options{MaxHistory: 4})
	if err != nil {
		f.Fatal(err)
	}
	kinds := []InputKind{InputText, InputPostback, InputFollow, InputNonText}
	f.Fuzz(func(t *testing.T, kind uint8, text, data string, node, pending uint8, waiting bool, slots string) {
		st := State{Waiting: waiting, LastSeen: t0, Slots: map[string]string{}}
		if i := int(node); i < len(p.Nodes) {
			st.Node = p.Nodes[i].ID
		}
		if i := int(pending); i < len(p.Nodes) {
			st.Pending = p.Nodes[i].ID
		}
		for _, kv := range strings.Split(slots, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				st.Slots[k] = v
			}
		}
		in := Input{Kind: kinds[int(kind)%len(kinds)], Text: text, Data: data, Time: t0.Add(time.Minute)}
		res := e.Step(st, in)
		if n := len(res.Replies); n < 1 || n > MaxReplies {
			t.Fatalf("%d replies", n)
		}
		for i, r := range res.Replies {
			if len(r.QuickReplies) > MaxQuickReplies || (len(r.QuickReplies) > 0 && i != len(res.Replies)-1) {
				t.Fatalf("reply %d has %d quick replies", i, len(r.QuickReplies))
			}
		}
		if e.nodes[res.State.Node] == nil {
			t.Fatalf("state on unknown node %q", res.State.Node)
		}
		if pn := res.State.Pending; pn != "" && (e.nodes[pn] == nil || e.nodes[pn].Confirm == "") {
			t.Fatalf("pending on %q, which asks for no confirmation", pn)
		}
	})
}
