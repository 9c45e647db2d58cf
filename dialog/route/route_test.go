package route

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
)

// table reads free text from a fixed table, whatever the pack.
type table map[string][]knowledge.Match

func (t table) Read(q knowledge.Query) knowledge.Reading {
	return knowledge.Reading{Matches: t[q.Text]}
}

func (t table) Understand(text string, _ []string) []knowledge.Match { return t[text] }

func mt(intent string, score float64) knowledge.Match {
	return knowledge.Match{Intent: intent, Score: score}
}

// Texts naming a service are read without the name in its pack.
var readings = table{
	"のSMSが来ない":                 {mt("sms_check", 0.9)},
	"のコードが届かない":                {mt("ask_method", 0.9)},
	"の確認コードが届かない":              {mt("ask_method", 0.9)},
	"コードが届かない":                 {mt("ask_method", 0.9)},
	"GoogleのSMSが来ない":           {mt("sms_check", 0.9)},
	"SMSが来ない":                  {mt("sms_check", 0.9)},
	"Gmailにコードが届かない":           {mt("ask_method", 0.9)},
	"Gmailの確認コードが届かない":         {mt("ask_method", 0.9)},
	"マイクロソフトのコードが届かない":         {mt("ask_method", 0.9)},
	"GoogleとMicrosoftのコードが来ない": {mt("ask_method", 0.9)},
	"30日待つの":                   {mt("waiting_period", 0.9)},
}

func newRouter(t *testing.T) *Router {
	t.Helper()
	var engines []*dialog.Engine
	for _, f := range []string{"testdata/alpha.yaml", "testdata/beta.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := knowledge.Load(data, f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := dialog.New(p, readings, dialog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	r, err := New(engines, "alpha-ja")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// step is one user action and what must follow.
type step struct {
	in    string // text, or postback:DATA
	pack  string
	node  string
	topic string // "" = the node's topic is not checked
	// say: words the replies must contain; buttons: postback data the
	// quick replies must offer; service: the fact kept ("" = not set),
	// which the trace reports on the turn that settles it.
	say     []string
	buttons []string
	service string
}

func TestRouter(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"a first message naming a service goes to its pack", []step{
			{in: "GoogleのSMSが来ない", pack: "beta-ja", node: "sms_check", say: []string{"Google の SMS"}, service: "google"},
			{in: "SMSが来ない", pack: "beta-ja", node: "sms_check", service: "google"},
		}},
		{"a first message naming none: the default, saying so, with the other services", []step{
			{in: "コードが届かない", pack: "alpha-ja", node: "ask_method", say: []string{"Microsoft アカウントの場合のご案内です"}, buttons: []string{"go=sms_check", "svc=google"}},
			{in: "SMSが来ない", pack: "alpha-ja", node: "sms_check", say: []string{"Microsoft の SMS"}},
		}},
		{"the note comes once, on the way into the flow", []step{
			{in: "コードが届かない", pack: "alpha-ja", node: "ask_method", buttons: []string{"svc=google"}},
			{in: "postback:go=sms_check", pack: "alpha-ja", node: "sms_check"},
		}},
		{"naming the default is remembered: no note", []step{
			{in: "マイクロソフトのコードが届かない", pack: "alpha-ja", node: "ask_method", service: "microsoft"},
		}},
		{"a service named mid-way switches at the same step", []step{
			{in: "SMSが来ない", pack: "alpha-ja", node: "sms_check"},
			{in: "Googleの方も", pack: "beta-ja", node: "sms_check", say: []string{"Google アカウントについてご案内します。", "Google の SMS"}, service: "google"},
			{in: "マイクロソフトの方は？", pack: "alpha-ja", node: "sms_check", say: []string{"Microsoft アカウントについてご案内します。"}, service: "microsoft"},
		}},
		{"a step the other pack lacks maps to its start", []step{
			{in: "30日待つの", pack: "alpha-ja", node: "waiting_period"},
			{in: "グーグルは？", pack: "beta-ja", node: "welcome", service: "google"},
		}},
		{"where a code goes names no service", []step{
			{in: "Gmailにコードが届かない", pack: "alpha-ja", node: "ask_method"},
		}},
		{"a mailbox named with its codes does", []step{
			{in: "Gmailの確認コードが届かない", pack: "beta-ja", node: "ask_method", service: "google"},
		}},
		{"two services named: which one, with their buttons, on the topic asked", []step{
			{in: "GoogleとMicrosoftのコードが来ない", pack: "alpha-ja", node: "", topic: "ask_method", say: []string{"どちらのサービス"}, buttons: []string{"svc=google", "svc=microsoft"}},
			{in: "postback:svc=google", pack: "beta-ja", node: "welcome", service: "google"},
		}},
		{"a service with no pack: said honestly, with a person", []step{
			{in: "インスタのコードが来ない", pack: "alpha-ja", node: "other_service", topic: "out_of_scope", say: []string{"ご案内できません"}, buttons: []string{"cmd=handoff", "svc=google"}},
		}},
		{"not the current service, without saying which: asked", []step{
			{in: "Microsoftじゃないです", pack: "alpha-ja", node: "which_service", buttons: []string{"svc=google", "svc=other"}},
			{in: "postback:svc=other", pack: "alpha-ja", node: "other_service"},
		}},
		{"a service button switches at the same step", []step{
			{in: "SMSが来ない", pack: "alpha-ja", node: "sms_check"},
			{in: "postback:svc=google", pack: "beta-ja", node: "sms_check", service: "google"},
			{in: "postback:svc=google", pack: "beta-ja", node: "sms_check", service: "google"},
		}},
		{"a button of the default pack to a step this pack lacks: the default's", []step{
			{in: "GoogleのSMSが来ない", pack: "beta-ja", node: "sms_check", service: "google"},
			{in: "postback:go=waiting_period", pack: "alpha-ja", node: "waiting_period"},
		}},
		{"a new friend starts in the default pack", []step{
			{in: "GoogleのSMSが来ない", pack: "beta-ja", node: "sms_check", service: "google"},
			{in: "follow", pack: "alpha-ja", node: "welcome"},
		}},
	}
	r := newRouter(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st dialog.State
			prev := ""
			for i, s := range tc.steps {
				in := dialog.Input{Kind: dialog.InputText, Text: s.in, Time: now}
				if data, ok := strings.CutPrefix(s.in, "postback:"); ok {
					in = dialog.Input{Kind: dialog.InputPostback, Data: data, Time: now}
				} else if s.in == "follow" {
					in = dialog.Input{Kind: dialog.InputFollow, Time: now}
				}
				res := r.Step(st, in)
				st = res.State
				var text []string
				var data []string
				for _, rep := range res.Replies {
					text = append(text, rep.Text)
					for _, q := range rep.QuickReplies {
						data = append(data, q.Data)
					}
				}
				all := strings.Join(text, "\n")
				if st.PackID != s.pack || res.Trace.ToNode != s.node {
					t.Fatalf("step %d %q: pack %s node %q, want %s %q\n%s", i+1, s.in, st.PackID, res.Trace.ToNode, s.pack, s.node, all)
				}
				if s.topic != "" && res.Trace.ToTopic != s.topic {
					t.Errorf("step %d %q: topic %q, want %q", i+1, s.in, res.Trace.ToTopic, s.topic)
				}
				for _, w := range s.say {
					if !strings.Contains(all, w) {
						t.Errorf("step %d %q: replies lack %q:\n%s", i+1, s.in, w, all)
					}
				}
				for _, b := range s.buttons {
					if !slices.Contains(data, b) {
						t.Errorf("step %d %q: no button %q in %v", i+1, s.in, b, data)
					}
				}
				if want := s.service != "" && s.service != prev; slices.Contains(res.Trace.Facts, "service="+s.service) != want {
					t.Errorf("step %d %q: trace facts %v; the service settled: %v", i+1, s.in, res.Trace.Facts, want)
				}
				prev = s.service
				if got := st.Slots[knowledge.FactService]; got != s.service {
					t.Errorf("step %d %q: service fact %q, want %q", i+1, s.in, got, s.service)
				}
				if len(res.Replies) > dialog.MaxReplies || len(data) > dialog.MaxQuickReplies {
					t.Errorf("step %d %q: %d replies, %d buttons: over LINE's limits", i+1, s.in, len(res.Replies), len(data))
				}
			}
		})
	}
}

func TestRouterNew(t *testing.T) {
	r := newRouter(t)
	if r.Pack().ID != "alpha-ja" {
		t.Errorf("Pack() = %s, want the default", r.Pack().ID)
	}
	if _, err := New([]*dialog.Engine{r.Engine("microsoft")}, "nope-ja"); err == nil {
		t.Error("New accepted a default pack that is not among the packs")
	}
	if _, err := New([]*dialog.Engine{r.Engine("microsoft"), r.Engine("microsoft")}, "alpha-ja"); err == nil {
		t.Error("New accepted two packs of one service")
	}
}
