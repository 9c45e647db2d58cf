package dialog

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/todoku/todoku/redact"
)

// The lead's blind rounds (testdata/blind/roundN): first messages
// (*.first.tsv) and conversations (*.conv.txt) by writers with distinct
// personas, committed before any tuning and scored then from outside
// (SCORE.*.txt there). Once committed they are no longer blind; these tests
// keep what was reached on them from sliding back. Floors are a little under
// the figures reached (commit messages record them).
var blindFloors = map[string]struct{ first, conv float64 }{
	"round1": {first: 0.75, conv: 0.14},
}

func TestBlindRounds(t *testing.T) {
	e := loadRealEngine(t)
	for round, floor := range blindFloors {
		dir := filepath.Join("testdata", "blind", round)
		firsts, _ := filepath.Glob(filepath.Join(dir, "*.first.tsv"))
		convFiles, _ := filepath.Glob(filepath.Join(dir, "*.conv.txt"))
		if len(firsts) == 0 || len(convFiles) == 0 {
			t.Fatalf("%s: no sets in %s", round, dir)
		}
		hit, total := 0, 0
		for _, f := range firsts {
			for i, l := range readLines(t, f) {
				if strings.TrimSpace(l) == "" {
					continue
				}
				text, topics, ok := strings.Cut(l, "\t")
				if !ok {
					t.Fatalf("%s:%d: want text<TAB>topics", f, i+1)
				}
				total++
				res := e.Step(State{}, Input{Kind: InputText, Text: redact.Text(text), Time: t0})
				if contains(strings.Split(strings.TrimSpace(topics), "|"), res.Trace.ToTopic) {
					hit++
					continue
				}
				t.Logf("%s:%d: %q → %s (%s, intent %s %.2f), want %s", filepath.Base(f), i+1, text, res.Trace.ToTopic, res.Trace.Reason, res.Trace.Intent, res.Trace.Score, topics)
			}
		}
		passed, convs := 0, 0
		for _, f := range convFiles {
			cs := parseConversations(t, f, readLines(t, f))
			convs += len(cs)
			passed += playConversations(t, e, cs, false)
		}
		first, conv := float64(hit)/float64(total), float64(passed)/float64(convs)
		t.Logf("%s: first messages %d/%d = %.1f%%, conversations %d/%d = %.1f%%", round, hit, total, 100*first, passed, convs, 100*conv)
		if first < floor.first || conv < floor.conv {
			t.Errorf("%s: under the floors (first messages %.0f%%, conversations %.0f%%)", round, 100*floor.first, 100*floor.conv)
		}
	}
}
