package knowledge

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseLines(t *testing.T) {
	p, err := Parse([]byte(readValid(t)), "valid.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		path string
		line int
	}{
		{"id", 2},
		{"start", 6},
		{"required_topics[1]", 9},
		{"synonyms[1]", 13},
		{"intents[4]", 30},
		{"intents[4].target", 31},
		{"intents[4].keywords[0]", 33},
		{"nodes[0]", 36},
		{"nodes[0].messages[1].text", 40},
		{"nodes[1].messages[0].buttons", 51},
		{"nodes[1].messages[0].buttons.actions[1].next", 58},
		{"nodes[1].choices[1].next", 63},
		{"nodes[1].expects[1].answer", 67},
		{"nodes[1].sets.method", 70},
		{"nodes[2].terminal", 75},
		{"nodes[4].next", 92},
		{"texts.group", 99},
	}
	for _, tt := range tests {
		got, ok := p.Lines[tt.path]
		if !ok {
			t.Errorf("Lines[%q] missing", tt.path)
			continue
		}
		if got != tt.line {
			t.Errorf("Lines[%q] = %d, want %d", tt.path, got, tt.line)
		}
	}
}

func TestParseDefaultsIntentKind(t *testing.T) {
	p, err := Parse([]byte(readValid(t)), "valid.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := p.Intent("email_not_arriving").Kind; got != KindTopic {
		t.Fatalf("Kind = %q, want %q", got, KindTopic)
	}
	if got := p.Intent("yes").Kind; got != KindAnswer {
		t.Fatalf("Kind = %q, want %q", got, KindAnswer)
	}
}

func TestIndexLookups(t *testing.T) {
	p, err := Parse([]byte(readValid(t)), "valid.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.idx == nil {
		t.Fatal("Parse did not build the index")
	}
	for i := range p.Nodes {
		if got := p.Node(p.Nodes[i].ID); got != &p.Nodes[i] {
			t.Errorf("Node(%q) = %p, want %p", p.Nodes[i].ID, got, &p.Nodes[i])
		}
	}
	for i := range p.Intents {
		if got := p.Intent(p.Intents[i].ID); got != &p.Intents[i] {
			t.Errorf("Intent(%q) = %p, want %p", p.Intents[i].ID, got, &p.Intents[i])
		}
	}
	if p.Node("nope") != nil || p.Intent("nope") != nil {
		t.Fatal("unknown id found")
	}

	// A pack changed after Parse still answers correctly.
	p.Nodes = append([]Node{{ID: "new"}}, p.Nodes...)
	if got := p.Node("welcome"); got == nil || got.ID != "welcome" {
		t.Fatalf("Node(welcome) after change = %v", got)
	}
	if got := p.Node("new"); got == nil || got.ID != "new" {
		t.Fatalf("Node(new) after change = %v", got)
	}

	// Concurrent lookups share the read-only index (run with -race).
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if p.Node("resolved") == nil || p.Intent("no") == nil {
					t.Error("lookup failed")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestParseStrict(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		want  []string // one message fragment per problem, in line order
		lines []int
	}{
		{"unknown node field", []string{"    topic: welcome\n", "    topic: welcome\n    colour: red\n"},
			[]string{`unknown field "colour" in node`}, []int{38}},
		{"unknown top-level field", []string{"id: test-ja\n", "id: test-ja\nservce: test\n"},
			[]string{`unknown field "servce" in pack`}, []int{3}},
		{"unknown fields everywhere", []string{
			"    kind: answer\n    examples: [はい, そうです]\n", "    kind: answer\n    examples: [はい, そうです]\n    exmples: [うん]\n",
			"              next: resolved\n", "              next: resolved\n              data: x\n",
			"      - answer: no\n", "      - answer: no\n        then: x\n",
		}, []string{`unknown field "exmples" in intent`, `unknown field "data" in choice`, `unknown field "then" in expect`}, []int{19, 60, 70}},
		{"wrong type", []string{"    examples: [はい, そうです]", "    examples: はい"},
			[]string{"cannot unmarshal !!str `はい` into []string"}, []int{18}},
		{"duplicate key", []string{"language: ja\n", "language: ja\nid: again\n"},
			[]string{`mapping key "id" already defined at line 2`}, []int{5}},
	}
	base := readValid(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := edit(t, base, tt.edits...)
			_, err := Parse([]byte(src), "pack.yaml")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v (%T), want *ValidationError", err, err)
			}
			if len(ve.Problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(ve.Problems), len(tt.want), ve.Error())
			}
			for i, pr := range ve.Problems {
				if !strings.Contains(pr.Msg, tt.want[i]) || pr.Line != tt.lines[i] {
					t.Errorf("problem %d = %d: %q, want %d: %q", i, pr.Line, pr.Msg, tt.lines[i], tt.want[i])
				}
			}
			if !strings.HasPrefix(ve.Error(), "pack.yaml:") {
				t.Errorf("Error() = %q, want name:line: prefix", ve.Error())
			}
		})
	}
}

func TestParseUnknownFieldPath(t *testing.T) {
	src := edit(t, readValid(t), "              next: resolved\n", "              next: resolved\n              data: x\n")
	_, err := Parse([]byte(src), "pack.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("Parse error = %v", err)
	}
	if got, want := ve.Problems[0].Path, "nodes[1].messages[0].buttons.actions[1].data"; got != want {
		t.Fatalf("Path = %q, want %q", got, want)
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"empty", "", 1, "empty pack"},
		{"only a comment", "# nothing\n", 1, "empty pack"},
		{"unclosed flow sequence", "id: x\nrequired_topics: [a, b\nnodes: []\n", 2, "did not find expected ',' or ']'"},
		{"bad indentation", "id: x\nnodes:\n  - id: a\n   topic: b\n", 3, "did not find expected '-' indicator"},
		{"mapping value in a scalar", "id: x\nservice: a: b\n", 2, "mapping values are not allowed in this context"},
		{"unclosed quote", "id: x\nservice: \"abc\nlanguage: ja\n", 2, "found unexpected end of stream"},
		{"invalid UTF-8", "id: x\nservice: \xff\n", 2, "invalid leading UTF-8 octet"},
		{"control character", "id: x\n\nservice: a\x01\n", 3, "control characters are not allowed"},
		{"tab indentation", "id: x\nnodes:\n\t- id: a\n", 3, "found character that cannot start any token"},
		{"list at the top", "- id: x\n", 1, "a pack must be a YAML mapping"},
		{"scalar at the top", "hello\n", 1, "a pack must be a YAML mapping"},
		{"two documents", "id: x\n---\nid: y\n", 2, "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "pack.yaml")
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error = %v (%T), want *SyntaxError", err, err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.want) {
				t.Fatalf("got line %d %q, want line %d %q", se.Line, se.Msg, tt.line, tt.want)
			}
			if want := "pack.yaml:"; !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("Error() = %q, want prefix %q", err.Error(), want)
			}
			// Load and ValidateFile report the same error.
			if _, lerr := Load([]byte(tt.src), "pack.yaml"); lerr == nil || lerr.Error() != err.Error() {
				t.Fatalf("Load error = %v, want %v", lerr, err)
			}
		})
	}
}

func TestParseAnchorsAndMerge(t *testing.T) {
	src := edit(t, readValid(t),
		"  - id: resolved\n    topic: email_check\n", "  - id: resolved\n    <<: &email\n      topic: email_check\n",
		"  - id: handoff\n", "  - id: extra\n    <<: *email\n    terminal: resolved\n    messages: [{text: x}]\n  - id: handoff\n",
		"      - label: 届きません\n        next: handoff\n", "      - label: 届きません\n        next: handoff\n      - label: ほか\n        next: extra\n",
	)
	p, err := Load([]byte(src), "pack.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := p.Node("extra").Topic; got != "email_check" {
		t.Fatalf("merged topic = %q", got)
	}
	if _, ok := p.Lines["nodes[3].topic"]; !ok {
		t.Fatalf("no line for a merged field: %v", p.Lines)
	}
}

func TestLoadReportsParseAndValidationProblems(t *testing.T) {
	src := edit(t, readValid(t),
		"    topic: welcome\n", "    topic: welcome\n    colour: red\n",
		"start: welcome", "start: nowhere",
	)
	_, err := Load([]byte(src), "pack.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	want := "pack.yaml:6: start: unknown node \"nowhere\"\npack.yaml:38: unknown field \"colour\" in node"
	if got := ve.Error(); got != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestValidateFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	probs, p, err := ValidateFile("testdata/valid.yaml")
	if err != nil || len(probs) != 0 || p == nil || p.ID != "test-ja" {
		t.Fatalf("valid: problems %v, pack %v, err %v", probs, p != nil, err)
	}

	// Unknown fields are problems, not errors, next to validation problems.
	broken := write("broken.yaml", edit(t, readValid(t),
		"    topic: welcome\n", "    topic: welcome\n    colour: red\n",
		"    terminal: resolved", "    terminal: done",
	))
	probs, p, err = ValidateFile(broken)
	if err != nil || p == nil {
		t.Fatalf("broken: err %v, pack %v", err, p != nil)
	}
	got := FormatProblems("broken.yaml", probs)
	want := "broken.yaml:38: unknown field \"colour\" in node\nbroken.yaml:76: node \"resolved\": unknown terminal kind \"done\" (want resolved or handoff)\n"
	if got != want {
		t.Fatalf("problems =\n%s\nwant\n%s", got, want)
	}

	syntax := write("syntax.yaml", "id: x\nnodes: [\n")
	_, _, err = ValidateFile(syntax)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line == 0 {
		t.Fatalf("syntax: err %v, want *SyntaxError with a line", err)
	}

	if _, _, err := ValidateFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err %v, want not-exist", err)
	}
}

func TestExcessiveAliasesDoNotHang(t *testing.T) {
	// A "billion laughs" document must fail fast, not expand.
	src := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
synonyms: [*g,*g,*g,*g,*g,*g,*g,*g,*g]
`
	if _, err := Load([]byte(src), "laughs.yaml"); err == nil {
		t.Fatal("Load accepted a billion-laughs document")
	}
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestValidateFileGolden checks the full report for a pack that breaks many
// rules at once, as `todoku kb validate` prints it.
func TestValidateFileGolden(t *testing.T) {
	const name = "testdata/broken.yaml"
	probs, p, err := ValidateFile(name)
	if err != nil || p == nil {
		t.Fatalf("ValidateFile: %v", err)
	}
	got := FormatProblems(name, probs)
	golden := "testdata/broken.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("report differs from %s (run with -update to accept):\n%s", golden, got)
	}
	if _, err := Load(mustRead(t, name), name); err == nil || err.Error()+"\n" != got {
		t.Fatalf("Load error differs from ValidateFile report:\n%v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
