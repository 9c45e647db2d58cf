package knowledge

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testPart is a small part: a text, a node for the packs, a node nothing
// in them leads to, an intent, a synonym group, a source.
const testPart = `id: shared-ja
kind: part
language: ja
version: "7"
hedges: [ようです]
sources:
  - {id: s1, url: "https://example.com/help", grade: third_party}
texts:
  group: 1対1のトークでどうぞ。
  code_safety: "{service}のコードは誰にも教えないでください。"
nodes:
  - id: closing
    topic: welcome
    terminal: resolved
    messages:
      - text: "{service}のご相談、ありがとうございました。"
  - id: orphan
    topic: welcome
    terminal: resolved
    messages:
      - text: 誰も来ない
  - id: tip
    topic: welcome
    terminal: resolved
    messages:
      - text: 再起動で直るようです。
        sources: [s1]
intents:
  - {id: thanks, target: closing, examples: [ありがとう]}
  - {id: tip, target: tip, examples: [こつ]}
  - {id: yes, kind: answer, examples: [うん]}
synonyms:
  - [ありがとう, サンキュー]
  - [SMS, Cメール]
`

func partsOf(t *testing.T, docs ...string) map[string]partFile {
	t.Helper()
	parts := map[string]partFile{}
	for i, d := range docs {
		name := "part" + string(rune('a'+i)) + ".yaml"
		p, probs, err := parse([]byte(d), name)
		if err != nil || len(probs) > 0 {
			t.Fatalf("part %d: %v %v", i, err, probs)
		}
		parts[p.ID] = partFile{part: p, file: name}
	}
	return parts
}

func TestMergePart(t *testing.T) {
	valid := readValid(t)
	data := strings.Replace(valid, "service: test\n", "service: test\nname: テスト\nuses: [shared-ja]\n", 1)
	data = strings.Replace(data, "  group:", "  ungroup_unused:", 1)
	p, err := load([]byte(data), "pack.yaml", partsOf(t, testPart))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if p.Node("closing") == nil || p.Intent("thanks") == nil {
		t.Error("the part's node and intent are not in the pack")
	}
	if p.Node("orphan") != nil {
		t.Error("a part node that nothing in the pack leads to was kept")
	}
	if got := p.Node("closing").Messages[0].Text; got != "テストのご相談、ありがとうございました。" {
		t.Errorf("{service} not filled in: %q", got)
	}
	if got := p.Text(TextCodeSafety); got == "" || strings.Contains(got, "{service}") {
		t.Errorf("the pack's own code_safety text must win: %q", got)
	}
	if got := p.Text(TextGroup); got != "1対1のトークでどうぞ。" {
		t.Errorf("the part's text for a key the pack lacks: %q", got)
	}
	if got := p.Intent("yes").Examples; slices.Contains(got, "うん") {
		t.Errorf("the pack's own intent must win, got examples %v", got)
	}
	var groups []string
	for _, g := range p.Synonyms {
		groups = append(groups, strings.Join(g, ","))
	}
	if !slices.Contains(groups, "ありがとう,サンキュー") || slices.Contains(groups, "SMS,Cメール") {
		t.Errorf("synonyms: want the part's new group and not the one sharing SMS with the pack's: %v", groups)
	}
	if !strings.HasSuffix(p.Version, "+shared-ja.7") || !slices.Equal(p.Parts, []string{"shared-ja 7"}) {
		t.Errorf("version %q parts %v: the part is not named", p.Version, p.Parts)
	}
}

func TestMergePartProblems(t *testing.T) {
	valid := readValid(t)
	data := strings.Replace(valid, "service: test\n", "service: test\nuses: [shared-ja, missing-ja]\n", 1)
	// A problem in the part: its tip cites a third-party source without a hedge.
	part := strings.Replace(testPart, "再起動で直るようです。", "再起動で直ります。", 1)
	_, err := load([]byte(data), "pack.yaml", partsOf(t, part))
	if err == nil {
		t.Fatal("load accepted a pack using a missing part and a broken one")
	}
	got := err.Error()
	for _, want := range []string{
		`pack.yaml:4: uses unknown part "missing-ja"`,
		`parta.yaml:26: node "tip": message 1 cites only third-party or unverified sources`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func TestValidateFilesPart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	valid := readValid(t)
	pack := write("pack.yaml", strings.Replace(valid, "service: test\n", "service: test\nuses: [shared-ja]\n", 1))
	part := write("part.yaml", strings.Replace(testPart, "再起動で直るようです。", "再起動で直ります。", 1))
	results, _ := ValidateFiles([]string{pack, part})
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	if r := results[1]; !slices.Contains(r.Users, "test-ja") || len(r.Problems) != 1 || r.Problems[0].File != part {
		t.Errorf("part: users %v problems %v; want test-ja and the one problem in the part", r.Users, r.Problems)
	}
	if r := results[0]; len(r.Problems) != 1 || r.Problems[0].File != part {
		t.Errorf("pack: problems %v; want the part's, named as the part's", r.Problems)
	}
}

func TestEmbeddedParts(t *testing.T) {
	parts, err := embeddedParts()
	if err != nil {
		t.Fatal(err)
	}
	common, ok := parts["common-ja"]
	if !ok {
		t.Fatal("no common-ja part")
	}
	if common.part.Routing == nil || len(common.part.OtherNames) == 0 {
		t.Error("common-ja has no routing data or other services' names")
	}
}
