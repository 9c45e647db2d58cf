package knowledge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseValidate(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	// The real packs are left out on purpose: minimising inputs of 2,000
	// lines takes the fuzzer minutes. TestEmbeddedPacksValidate covers them.
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"id: x\n",
		"- a\n",
		"id: x\nnodes: [\n",
		"nodes:\n  - id: a\n    <<: &b {topic: t}\n  - <<: *b\n",
		"intents: [{id: a, kind: answer, examples: []}]\nnodes: [{id: n, expects: [{answer: a, next: n}]}]\n",
		"nodes: [{id: a, choices: [{label: x, next: a, uri: 'http://x'}]}]\n",
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var se *SyntaxError
			var ve *ValidationError
			if !errors.As(err, &se) && !errors.As(err, &ve) {
				t.Fatalf("Parse error of type %T: %v", err, err)
			}
			_ = err.Error()
			return
		}
		probs := Validate(p)
		// YAML breaks lines at LF, CR, NEL, LS and PS: an upper bound.
		maxLine := 1
		for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			maxLine += bytes.Count(data, []byte(sep))
		}
		for _, pr := range probs {
			if pr.Line < 0 || pr.Line > maxLine {
				t.Fatalf("problem %v has line %d outside 0..%d", pr, pr.Line, maxLine)
			}
			_ = pr.String()
		}
		_, lerr := Load(data, "fuzz.yaml")
		if (lerr == nil) != (len(probs) == 0) {
			t.Fatalf("Load error %v but Validate found %d problems", lerr, len(probs))
		}
		for i := range p.Nodes {
			if got := p.Node(p.Nodes[i].ID); got == nil || got.ID != p.Nodes[i].ID {
				t.Fatalf("Node(%q) = %v", p.Nodes[i].ID, got)
			}
		}
		for i := range p.Intents {
			if got := p.Intent(p.Intents[i].ID); got == nil || got.ID != p.Intents[i].ID {
				t.Fatalf("Intent(%q) = %v", p.Intents[i].ID, got)
			}
		}
	})
}
