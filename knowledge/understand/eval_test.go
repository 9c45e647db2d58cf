package understand

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/todoku/todoku/knowledge"
)

// realPackPath is the product's pack; devDir is the development set
// (a copy of shared/eval that .ci/run keeps equal to it).
var (
	realPackPath = filepath.Join("..", "packs", "microsoft.ja.yaml")
	devDir       = filepath.Join("..", "..", "testdata", "eval")
)

var (
	realOnce    sync.Once
	realPack    *knowledge.Pack
	realMatcher *Matcher
)

func newRealMatcher(tb testing.TB) (*knowledge.Pack, *Matcher) {
	tb.Helper()
	if _, err := os.Stat(realPackPath); err != nil {
		tb.Fatalf("the product pack is missing: %v", err)
	}
	realOnce.Do(func() {
		realPack = loadPack(tb, realPackPath)
		realMatcher = New(realPack)
	})
	return realPack, realMatcher
}

// topicOf returns the topic the dialog lands on when intent wins: the target
// node's topic for topic intents, the handoff or start node's topic for those
// commands.
func topicOf(p *knowledge.Pack, intent string) string {
	in := p.Intent(intent)
	if in == nil {
		return ""
	}
	node := ""
	switch in.Kind {
	case knowledge.KindTopic, "":
		node = in.Target
	case knowledge.KindCommand:
		switch in.Command {
		case knowledge.CommandHandoff:
			node = p.Handoff
		case knowledge.CommandRestart:
			node = p.Start
		}
	}
	if n := p.Node(node); n != nil {
		return n.Topic
	}
	return ""
}

type labelled struct {
	line   int
	text   string
	topics []string
}

// readTSV reads utterance<TAB>topic|topic lines; # starts a comment.
func readTSV(tb testing.TB, path string) []labelled {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, topics, ok := strings.Cut(line, "\t")
		if !ok {
			tb.Fatalf("%s:%d: no tab", path, n)
		}
		out = append(out, labelled{line: n, text: text, topics: strings.Split(strings.TrimSpace(topics), "|")})
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return out
}

// accuracy runs every first message through the matcher as a new user's
// message (no answers expected) and counts those whose top match at or above
// DefaultThreshold lands on an expected topic.
// testHeldOutFile fails t when less than floor of testdata/NAME.tsv is
// understood as labelled.
func testHeldOutFile(t *testing.T, name string, floor float64) {
	t.Helper()
	p, m := newRealMatcher(t)
	if acc := accuracy(t, p, m, readTSV(t, filepath.Join("testdata", name+".tsv")), name); acc < floor {
		t.Fatalf("%s accuracy %.1f%%, want at least %.0f%%", name, 100*acc, 100*floor)
	}
}

func accuracy(t *testing.T, p *knowledge.Pack, m *Matcher, set []labelled, name string) float64 {
	t.Helper()
	ok := 0
	for _, u := range set {
		ms := m.Understand(u.text, nil)
		got := "(none)"
		score := 0.0
		if len(ms) > 0 {
			score = ms[0].Score
			if score >= DefaultThreshold {
				got = topicOf(p, ms[0].Intent)
			}
		}
		hit := false
		for _, want := range u.topics {
			if got == want {
				hit = true
			}
		}
		if hit {
			ok++
			continue
		}
		t.Logf("%s:%d: %q → %s (%.2f), want %s; candidates %v", name, u.line, u.text, got, score, strings.Join(u.topics, "|"), ms)
	}
	acc := float64(ok) / float64(len(set))
	t.Logf("%s: %d/%d = %.1f%% on an expected topic", name, ok, len(set), 100*acc)
	return acc
}

func TestAccuracyDevSet(t *testing.T) {
	path := filepath.Join(devDir, "utterances.dev.tsv")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("development set not found at %s: %v", path, err)
	}
	p, m := newRealMatcher(t)
	if acc := accuracy(t, p, m, readTSV(t, path), "dev"); acc < 0.97 {
		t.Fatalf("dev accuracy %.1f%%, want at least 97%%", 100*acc)
	}
}

// TestAccuracyHeldOut measures phrasings written for this test only and never
// used to tune the matcher or the pack: an estimate of accuracy on text the
// bot has never seen.
func TestAccuracyHeldOut(t *testing.T) {
	testHeldOutFile(t, "heldout", 0.85)
}

// TestTopicsReachable checks that every intent of the real pack leads to a
// topic, so that the accuracy tests measure the matcher, not the mapping.
func TestTopicsReachable(t *testing.T) {
	p, _ := newRealMatcher(t)
	for _, in := range p.Intents {
		if in.Kind == knowledge.KindAnswer || (in.Kind == knowledge.KindCommand && in.Command != knowledge.CommandHandoff && in.Command != knowledge.CommandRestart) {
			continue
		}
		if topicOf(p, in.ID) == "" {
			t.Errorf("intent %q leads to no topic", in.ID)
		}
	}
}

// TestAccuracyHeldOut2 is a second held-out set, measured after tuning and
// not used for it.
func TestAccuracyHeldOut2(t *testing.T) {
	testHeldOutFile(t, "heldout2", 0.75)
}

// TestEnglishPack checks that the same matcher reads the English pack.
func TestEnglishPack(t *testing.T) {
	p := loadPack(t, filepath.Join("..", "packs", "microsoft.en.yaml"))
	m := New(p)
	tests := []struct{ text, topic string }{
		{"Hi there", "welcome"},
		{"I never got the text message with my code", "sms_check"},
		{"Nothing in my inbox, not even in junk", "email_check"},
		{"I don't have that phone number anymore", "replace_method"},
		{"Why must I wait 30 days?", "waiting_period"},
		{"Please let me talk to a human", "handoff"},
		{"What's the weather like tomorrow?", "out_of_scope"},
		{"I don't use that address any more", "replace_method"},
	}
	for _, tt := range tests {
		ms := m.Understand(tt.text, nil)
		got := ""
		if len(ms) > 0 && ms[0].Score >= DefaultThreshold {
			got = topicOf(p, ms[0].Intent)
		}
		if got != tt.topic {
			t.Errorf("%q → %q, want %q (%v)", tt.text, got, tt.topic, ms)
		}
	}
	// On a yes/no question, saying an address or phone is no longer used
	// is about replacing it, not the bare answer no.
	for _, text := range []string{"I don't use that address any more", "no, I don't use that number anymore"} {
		ms := m.Understand(text, []string{"yes", "done", "no"})
		if len(ms) == 0 || ms[0].Intent == "no" || topicOf(p, ms[0].Intent) != "replace_method" {
			t.Errorf("%q with yes/no expected → %v, want replace_method first", text, ms)
		}
	}
}

// TestAccuracyReference48 measures the 48 realistic phrasings of the fact
// brief (section 8), labelled here; most are not among the pack's examples.
func TestAccuracyReference48(t *testing.T) {
	testHeldOutFile(t, "reference48", 0.8)
}

// TestAccuracyHeldOut3 is a third held-out set of 151 first messages from
// all 14 topics, written blind (before reading the pack's examples) and
// committed before any tuning: 86.1% then (130/151). It was then used to find
// general weaknesses (question frames, kana-written text, bigrams of
// conjugations, missing phrasings), so it is no longer blind; the other
// held-out sets and cross-validation guard against overfitting it.
func TestAccuracyHeldOut3(t *testing.T) {
	testHeldOutFile(t, "heldout3", 0.90)
}

// heldout4Floor is a little under the 97/100 reached after tuning.
const heldout4Floor = 0.95

// TestAccuracyHeldOut4 is a fourth held-out set of 100 first messages from
// all 14 topics (casual and dialectal register, typos, emoji, loanwords),
// written blind (before reading the pack or the earlier held-out sets) and
// committed before any tuning: 93/100 then. Its failures led to general
// fixes (Kansai negations, すみません as a frame, sentence-by-sentence reading
// of near-ties, examples for how to use the bot, waiting in vain and more
// out-of-scope subjects), so it is no longer blind: it guards against
// regressions, it does not estimate accuracy on unseen text.
func TestAccuracyHeldOut4(t *testing.T) {
	testHeldOutFile(t, "heldout4", heldout4Floor)
}

// heldout5Floor is the share of heldout5.tsv that must be understood, a
// margin under the 57/60 measured blind.
const heldout5Floor = 0.9

// TestAccuracyHeldOut5 is a fifth held-out set of 60 first messages from all
// 14 topics, written blind (before reading the pack or the earlier held-out
// sets) and committed before any tuning: 57/60 = 95.0% then. Its misses
// were read while checking the unknown-noun rule (strayNoun) for
// regressions, and one it caused (今度 read as an unknown thing) led to
// excluding adverbial nouns (isThing), so it is no longer strictly blind.
func TestAccuracyHeldOut5(t *testing.T) {
	testHeldOutFile(t, "heldout5", heldout5Floor)
}

// heldout6Floor is the share of heldout6.tsv that must be understood, a
// little under the 60/60 reached after the general fixes.
const heldout6Floor = 0.95

// TestAccuracyHeldOut6 is a sixth held-out set of 60 first messages from all
// 14 topics (half-width and full-width letters, Kansai-ben, English words,
// emoji, long messages), written blind (before reading the pack, the matcher
// or the earlier held-out sets) and committed before any tuning: 57/60 =
// 95.0% then (mailでcodeが… read as the method question, 二度とこんな目にあい
// たくない😩対策おしえて as nothing, asking for phone support as the recovery
// form). Its misses led to general fixes (English loanwords in Latin letters
// are respelt in katakana; an emoji ends a sentence; prevention synonyms; a
// negated request is no negation; handoff phrasings), tested with other
// phrasings in families_test.go and the matcher's tests, so the set is no
// longer blind: it guards against regressions, it does not estimate accuracy
// on unseen text.
func TestAccuracyHeldOut6(t *testing.T) {
	testHeldOutFile(t, "heldout6", heldout6Floor)
}

// heldout7Floor is the share of heldout7.tsv that must be understood, a
// little under the 60/60 reached after the general fixes.
const heldout7Floor = 0.95

// TestAccuracyHeldOut7 is a seventh held-out set of 60 first messages from
// all 14 topics (half-width katakana, Kansai-ben, English words, emoji, a long
// rambling message), written blind (before reading the pack, the matcher or
// the earlier held-out sets) and committed before any tuning: 58/60 = 96.7%
// then (a Kansai-ben "no code at all, what do I do" read as nothing; "sent
// to my mobile number, says the screen, but nothing comes" read as replacing
// the method). Its misses led to general fixes (asking what to do is spelt
// one way: どうしたら, どないしたらええ as どうすれば; 一個も and いっこも are
// 一つも; どっちも and どちらも are 両方, and 両方 and 全部 are one group; the
// screen saying the code went to the phone number is the SMS check),
// tested with other phrasings in dialog/families_test.go, so the set is no
// longer blind: it guards against regressions, it does not estimate accuracy
// on unseen text.
func TestAccuracyHeldOut7(t *testing.T) {
	testHeldOutFile(t, "heldout7", heldout7Floor)
}
