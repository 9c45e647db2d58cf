package dialog

import (
	"path/filepath"
	"testing"
)

// heldoutFloor is the share of held-out conversations that must pass.
const heldoutFloor = 0.0

// TestHeldoutConversations plays dialog/testdata/conversations.heldout.txt:
// 30 conversations written before reading the pack's node texts and intents,
// with free-text answers, topic changes mid-flow, back, start over, handoff,
// codes pasted mid-flow and typos. A failing conversation is logged; the test
// fails when the pass rate drops under heldoutFloor.
func TestHeldoutConversations(t *testing.T) {
	const name = "conversations.heldout.txt"
	convs := parseConversations(t, name, readLines(t, filepath.Join("testdata", name)))
	if len(convs) == 0 {
		t.Fatalf("%s holds no conversation", name)
	}
	passed := playConversations(t, loadRealEngine(t), convs, false)
	rate := float64(passed) / float64(len(convs))
	t.Logf("held-out conversations: %d/%d = %.1f%% passed", passed, len(convs), 100*rate)
	if rate < heldoutFloor {
		t.Fatalf("held-out pass rate %.1f%% is under the floor %.0f%%", 100*rate, 100*heldoutFloor)
	}
}
