package dialog

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenTurn is one turn of a scripted conversation as stored in a golden file.
type goldenTurn struct {
	User    string  `json:"user"` // text, "tap:DATA", "follow", "sticker"
	Replies []Reply `json:"replies"`
	Trace   Trace   `json:"trace"`
	State   State   `json:"state"`
}

// script turns lines into inputs: "tap:DATA", "follow", "sticker", "wait:DURATION" (idle
// before the next input), "at:RFC3339" (the time of the next input), "staff:on",
// "staff:off:RFC3339" (staff hours from then on), or text.
func playScript(t *testing.T, e *Engine, lines []string) []goldenTurn {
	t.Helper()
	var out []goldenTurn
	st := State{}
	now := t0
	var staff Staff
	parseTime := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, l := range lines {
		if d, ok := strings.CutPrefix(l, "wait:"); ok {
			dur, err := time.ParseDuration(d)
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(dur)
			continue
		}
		if s, ok := strings.CutPrefix(l, "at:"); ok {
			now = parseTime(s).Add(-time.Minute)
			continue
		}
		if s, ok := strings.CutPrefix(l, "staff:"); ok {
			staff = Staff{OnDuty: s == "on"}
			if next, ok := strings.CutPrefix(s, "off:"); ok {
				staff.Next = parseTime(next)
			}
			continue
		}
		now = now.Add(time.Minute)
		in := Input{Kind: InputText, Text: l, Time: now, Staff: staff}
		switch {
		case strings.HasPrefix(l, "tap:"):
			in = Input{Kind: InputPostback, Data: strings.TrimPrefix(l, "tap:"), Time: now, Staff: staff}
		case l == "follow":
			in = Input{Kind: InputFollow, Time: now, Staff: staff}
		case l == "sticker":
			in = Input{Kind: InputNonText, Type: "sticker", Time: now}
		}
		res := e.Step(st, in)
		out = append(out, goldenTurn{User: l, Replies: res.Replies, Trace: res.Trace, State: res.State})
		st = res.State
	}
	return out
}

// checkGolden compares v, as indented JSON, with testdata/golden/name.json.
func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dialog -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d (run with -update if intended)", path, len(gl), len(wl))
	}
}

func TestGoldenTestPack(t *testing.T) {
	scripts := map[string][]string{
		"test_email_flow":     {"follow", "tap:go=ask_method", "メールに", "いいえ", "30日も待つの？", "tap:cmd=back", "tap:cmd=restart"},
		"test_reprompt_offer": {"こんにちは", "tap:go=ask_method", "うーん", "ふわふわ", "tap:cmd=handoff"},
		"test_idle_resume":    {"SMSが来ません", "wait:45m", "はい", "tap:cmd=resume", "はい"},
		"test_safety_stale":   {"123456", "tap:go=gone", "sticker", "人と話したい"},
	}
	for name, lines := range scripts {
		t.Run(name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{})
			checkGolden(t, name, playScript(t, e, lines))
		})
	}
}
