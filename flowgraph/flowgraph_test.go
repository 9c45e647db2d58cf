package flowgraph

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/todoku/todoku/knowledge"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func fixture(t *testing.T) *knowledge.Pack {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "pack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := knowledge.Load(data, "pack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// traffic is a week of a small pack: 10 conversations start, most by the
// menu, two by typing about SMS; 3 are abandoned on the dead end.
var traffic = Traffic{
	Edges: map[Edge]int{
		{"", "welcome"}:                   8,
		{"", "sms_check"}:                 2,
		{"welcome", "email_check"}:        7,
		{"email_check", "email_resolved"}: 3,
		{"email_check", "email_wait"}:     4,
		{"email_wait", "email_wait"}:      2, // not understood there
		{"email_wait", "handoff"}:         1, // typed 人と話したい
		{"sms_check", "sms_resolved"}:     1,
		{"welcome", "gone"}:               5, // a node a later version removed
	},
	DropOff: map[string]int{"email_wait": 3, "sms_check": 1},
}

func TestLayout(t *testing.T) {
	g := Layout(fixture(t), traffic)
	tests := []struct {
		node    string
		layer   int
		topic   string
		kind    string
		reached int
		stayed  int
		dropOff int
	}{
		{Entry, 0, Entry, "", 0, 0, 0},
		{"welcome", 1, "welcome", "", 8, 0, 0},
		{"email_check", 2, "email_check", "", 7, 0, 0},
		{"email_wait", 3, "email_check", kindDeadEnd, 4, 2, 3},
		{"email_resolved", 3, "email_check", knowledge.TerminalResolved, 3, 0, 0},
		{"sms_check", 2, "sms_check", "", 2, 0, 1}, // only text reaches it: third column
		{"sms_resolved", 3, "sms_check", knowledge.TerminalResolved, 1, 0, 0},
		{"handoff", 2, "handoff", knowledge.TerminalHandoff, 1, 0, 0},
		{"out_of_scope", 2, "out_of_scope", "", 0, 0, 0}, // its next: welcome, not a dead end
	}
	for _, tt := range tests {
		n := g.byID[tt.node]
		if n == nil {
			t.Errorf("node %q missing", tt.node)
			continue
		}
		got := [6]any{n.layer, n.topic, n.kind, n.reached, n.stayed, n.dropOff}
		want := [6]any{tt.layer, tt.topic, tt.kind, tt.reached, tt.stayed, tt.dropOff}
		if got != want {
			t.Errorf("node %q: layer, topic, kind, reached, stayed, drop-off = %v, want %v", tt.node, got, want)
		}
	}
	if g.byID["gone"] != nil {
		t.Error("a node the pack no longer has was drawn")
	}
	var lanes []string
	for _, l := range g.lanes {
		lanes = append(lanes, l.topic)
	}
	// Depth first from the start; then the rest in the pack's order.
	if want := []string{Entry, "welcome", "email_check", "sms_check", "handoff", "out_of_scope"}; !equal(lanes, want) {
		t.Errorf("lanes %q, want %q", lanes, want)
	}
	if g.maxN != 8 {
		t.Errorf("busiest arrow %d, want 8", g.maxN)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSVGGolden(t *testing.T) {
	var b bytes.Buffer
	err := Layout(fixture(t), traffic).SVG(&b, Options{
		Title: "flow-ja のフロー（2026年1月1日〜1月7日）",
		Link:  func(node string) string { return "/conversations?node=" + node + "&from=2026-01-01&to=2026-01-07" },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, whatever the golden file says.
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v", err)
			}
			break
		}
	}
	golden := filepath.Join("testdata", "flow.golden.svg")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./flowgraph -update to write it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("the SVG differs from %s (look at both; -update rewrites it)", golden)
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		s     string
		width float64
		want  string
	}{
		{"sms_check", 200, "sms_check"},
		{"authenticator_notification", 100, "authenticato…"},
		{"迷惑メールフォルダーを確認してください。", 80, "迷惑メール…"},
	}
	for _, tt := range tests {
		if got := fit(tt.s, tt.width, 12); got != tt.want {
			t.Errorf("fit(%q, %v) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands = %q", got)
	}
}
