package knowledge

import (
	"strings"
	"testing"
)

func TestValidateSet(t *testing.T) {
	parts, err := embeddedParts()
	if err != nil {
		t.Fatal(err)
	}
	routing := parts["common-ja"].part.Routing
	pack := func(id, service string, names ...string) *Pack {
		return &Pack{ID: id, Service: service, Label: service, File: id + ".yaml", Names: names, Routing: routing,
			Lines: map[string]int{}}
	}
	a := pack("a", "google", "Google", "グーグル")
	b := pack("b", "apple", "Apple", "iCloud")
	b.Intents = []Intent{
		{ID: "ok", Examples: []string{"iCloudのコードが来ない", "Gmailに届かない", "Googleじゃなくてアップル"}},
		{ID: "bad", Examples: []string{"Googleのコードが来ない"}, Keywords: []string{"グーグル"}},
	}
	b.Synonyms = [][]string{{"メール", "Googleメール"}}
	b.Nodes = []Node{{ID: "n", Choices: []Choice{{Label: "x", Service: "line"}, {Label: "y", Service: ServiceOther}}}}
	c := pack("c", "apple", "Mac")
	d := pack("d", "line", "google")
	d.Label = ""

	probs := ValidateSet([]*Pack{a, b, c, d})
	var got []string
	for _, p := range probs {
		got = append(got, p.File+": "+p.Msg)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`b.yaml: intent "bad": example "Googleのコードが来ない" names service "google"`,
		`b.yaml: intent "bad": keyword "グーグル" names service "google"`,
		`b.yaml: synonym "Googleメール" names service "google"`,
		`c.yaml: service "apple" is served by pack "b" too`,
		`d.yaml: pack "d" has no label`,
		`d.yaml: name "google" is also a name of service "google"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q", want)
		}
	}
	for _, wrong := range []string{`"ok"`, `choice "y"`} {
		if strings.Contains(all, wrong) {
			t.Errorf("problems mention %s, which is fine:\n%s", wrong, all)
		}
	}
	if !strings.Contains(all, `node "n" offers services but not "google" (pack a)`) {
		t.Errorf("a step offering services without one of the set's was not reported:\n%s", all)
	}
	if strings.Contains(all, `choice "x"`) {
		t.Errorf("a button for line, which d serves, was reported:\n%s", all)
	}
	if probs := ValidateSet([]*Pack{b}); !strings.Contains(FormatProblems("", probs), `choice "x": no pack serves "line"`) {
		t.Errorf("a button for a service no pack of the set serves was not reported: %v", probs)
	}
}

func TestSourceRules(t *testing.T) {
	valid := readValid(t)
	data := strings.Replace(valid, "service: test\n", `service: test
hedges: [ようです]
sources:
  - {id: off, url: "https://example.com/a", grade: official}
  - {id: blog, url: "https://example.com/b", grade: third_party}
  - {id: warn, url: "https://example.com/c", grade: official, unverified: true}
  - {id: blog, url: "ftp:x", grade: gossip}
`, 1)
	data = strings.Replace(data, "      - text: 迷惑メールフォルダーを確認してください。", `      - text: 迷惑メールフォルダーを確認してください。
        sources: [blog]
      - text: 公式の事実です。
        sources: [off, blog]
      - text: 届くようです。
        sources: [warn]
      - text: 誰かの話
        sources: [nowhere]`, 1)
	_, err := Load([]byte(data), "src.yaml")
	if err == nil {
		t.Fatal("Load accepted broken sources")
	}
	got := err.Error()
	for _, want := range []string{
		`duplicate source id "blog"`,
		`source "blog": url "ftp:x" is not a web address`,
		`source "blog": unknown grade "gossip"`,
		`node "email_check": message 1 cites only third-party or unverified sources`,
		`node "email_check": message 4 cites unknown source "nowhere"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	for _, wrong := range []string{"message 2 cites", "message 3 cites"} {
		if strings.Contains(got, wrong) {
			t.Errorf("a firm or hedged message was reported (%s):\n%s", wrong, got)
		}
	}
}
