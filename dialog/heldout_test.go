package dialog

import (
	"path/filepath"
	"testing"
)

// heldoutFloor is the share of held-out conversations that must pass: a
// little under the 29/30 reached after tuning, so that a regression fails.
const heldoutFloor = 0.85

// TestHeldoutConversations plays dialog/testdata/conversations.heldout.txt:
// 30 conversations with free-text answers, topic changes mid-flow, back,
// start over, handoff, codes and passwords pasted mid-flow, typos and thanks.
//
// They were written blind (before reading the pack's node texts and intents)
// and committed before any tuning: 16/30 passed then. Their failures were
// then used to find general weaknesses (questions read as yes, kana-written
// answers, multi-sentence text, replies that continue the current thread,
// missing expects and phrasings in the pack), and two labels were corrected
// where the bot's real question made another topic right (the authenticator
// node for a lost phone; replacing the method when no listed address
// matches). The set is therefore no longer blind: it guards against
// regressions, it does not estimate accuracy on unseen conversations.
func TestHeldoutConversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout.txt", heldoutFloor)
}

// testConversationFile plays a conversation file of testdata, logs the pass
// rate and each failure, and fails under floor.
func testConversationFile(t *testing.T, name string, floor float64) {
	t.Helper()
	convs := parseConversations(t, name, readLines(t, filepath.Join("testdata", name)))
	if len(convs) == 0 {
		t.Fatalf("%s holds no conversation", name)
	}
	passed := playConversations(t, loadRealEngine(t), convs, false)
	rate := float64(passed) / float64(len(convs))
	t.Logf("%s: %d/%d = %.1f%% passed", name, passed, len(convs), 100*rate)
	if rate < floor {
		t.Fatalf("%s: pass rate %.1f%% is under the floor %.0f%%", name, 100*rate, 100*floor)
	}
}

// heldout2Floor is the share of conversations.heldout2.txt that must pass,
// a little under the 15/16 reached after the fixes from the third set.
const heldout2Floor = 0.85

// TestHeldout2Conversations plays dialog/testdata/conversations.heldout2.txt:
// 16 conversations written after the tuning on the first set and committed
// before being measured: 10/16 passed then, the estimate of how that tuning
// carries over to conversations it has not seen. Two general fixes followed
// (a question or a negated text is no yes; more phrasings of yes and
// prevention), so this set is no longer blind either.
func TestHeldout2Conversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout2.txt", heldout2Floor)
}

// heldout3Floor is the share of conversations.heldout3.txt that must pass, a
// little under the 25/25 reached after tuning.
const heldout3Floor = 0.9

// TestHeldout3Conversations plays dialog/testdata/conversations.heldout3.txt:
// 25 conversations written blind (without reading the pack or the earlier
// held-out sets) and committed before being measured: 16/25 passed then.
// Their failures led to general fixes (the bot's own words are no evidence
// for out of scope; "what if it still fails?" reads as the no branch of the
// current question; phrasings for waiting in vain, details the recovery form
// asks, not having shared a code, asking for another method, a deleted
// address, safe senders), so the set is no longer blind: it guards against
// regressions, it does not estimate accuracy on unseen conversations.
func TestHeldout3Conversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout3.txt", heldout3Floor)
}

// heldout4Floor is the share of conversations.heldout4.txt that must pass, a
// little under the 20/20 reached after tuning.
const heldout4Floor = 0.95

// TestHeldout4Conversations plays dialog/testdata/conversations.heldout4.txt:
// 20 conversations written blind (without reading the pack or the earlier
// held-out sets) and committed before being measured: 19/20 passed then (an
// apology in front of an answer, あ、すみません。迷惑メールにもないです, read as
// the welcome). After that fix (すみません is a frame) the set is no longer
// blind: it guards against regressions, it does not estimate accuracy on
// unseen conversations.
func TestHeldout4Conversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout4.txt", heldout4Floor)
}

// heldout5Floor is the share of conversations.heldout5.txt that must pass, a
// little under the 15/15 reached after tuning.
const heldout5Floor = 0.9

// TestHeldout5Conversations plays dialog/testdata/conversations.heldout5.txt:
// 15 conversations written blind (without reading the pack or the earlier
// held-out sets) and committed before any tuning: 12/15 passed then (an
// admission of having shared a code read as replacing the method, an address
// that no longer exists read as no on the address question, a prevention
// question after the これ以上使いません answer reprompted). Their failures led
// to general fixes (もう means 'no longer' only before a negation; a reply
// that says an address or phone is gone is a statement, not the bare answer
// no; an opening acknowledgement frames the question after it), tested with
// other phrasings in families_test.go, so the set is no longer blind: it
// guards against regressions, it does not estimate accuracy on unseen
// conversations.
func TestHeldout5Conversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout5.txt", heldout5Floor)
}

// heldout6Floor is the share of conversations.heldout6.txt that must pass, a
// little under the 20/20 reached after the general fixes.
const heldout6Floor = 0.9

// TestHeldout6Conversations plays dialog/testdata/conversations.heldout6.txt:
// 20 conversations written blind (without reading the pack, the dialog code or
// the earlier held-out sets) and committed before any tuning: 16/20 passed
// then (a question about the wait right after わかりました after replacing the
// method reprompted; a phone that was cancelled read as no on the SMS
// question; a long rambling first message fell to the welcome; a code that
// does not come "at login" read as the recovery form). Their failures led to
// general fixes (とき and 時 frame like 場合; a long text is read clause by
// clause; how many days is the 30-day wait, and hiragana kagome reads as
// words is not respelt into others; a reading that takes up one of the
// current buttons needs less confidence; replies are read against the
// question they answer), tested with other phrasings in families_test.go,
// so the set is no longer blind: it guards against regressions, it does not
// estimate accuracy on unseen conversations.
func TestHeldout6Conversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout6.txt", heldout6Floor)
}

// heldout7Floor is the share of conversations.heldout7.txt that must pass, a
// little under the 19/20 reached after the general fixes.
const heldout7Floor = 0.9

// TestHeldout7Conversations plays dialog/testdata/conversations.heldout7.txt:
// 20 conversations written blind (without reading the pack, the dialog code or
// the earlier held-out sets) and committed before any tuning: 17/20 passed
// then (a return to the SMS flow after an unrelated question stayed out of
// scope; "iPhoneです" on the authenticator flow read as SMS; the masked
// address shown on screen, after "わかんない" to the method question, read as
// SMS). Their failures led to general fixes (asking what to do is spelt one
// way; the partly hidden destination the screen shows answers the method
// question; text not understood after an off-topic question is read as a
// reply to the step before it), tested with other phrasings in families_test.go, so the set is
// no longer blind: it guards against regressions, it does not estimate
// accuracy on unseen conversations.
func TestHeldout7Conversations(t *testing.T) {
	testConversationFile(t, "conversations.heldout7.txt", heldout7Floor)
}
