package bot_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestOutcomes follows conversations to their outcome: resolved (and it
// stays so when it then idles), abandoned (no message for the idle time
// before a resolution: the user comes back, or the sweep's event ends it),
// handed over, and what the conversation keeps for analytics on the way.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	const idle = 30 * time.Minute
	type step struct {
		text  string        // a user message; "" with sweep
		sweep bool          // the idle sweep's event for the open conversation, at this time
		after time.Duration // since the previous step
	}
	tests := []struct {
		name         string
		steps        []step
		staff        bool // a staff member takes over after the steps, and hands back
		status       string
		outcome      string
		reason       string
		resolvedStep int // the step whose time resolved_at is (1-based), 0 for none
		messages     int
	}{
		{name: "resolved, then idle", steps: []step{{text: "こんにちは"}, {text: "解決しました", after: time.Minute}, {sweep: true, after: idle + time.Minute}},
			status: storage.ConversationClosed, outcome: bot.OutcomeResolved, reason: bot.EndIdle, resolvedStep: 2, messages: 4},
		{name: "resolved, open until it idles", steps: []step{{text: "解決しました"}, {text: "ありがとう", after: time.Minute}},
			status: storage.ConversationOpen, outcome: bot.OutcomeResolved, reason: "", resolvedStep: 1, messages: 4},
		{name: "abandoned: swept", steps: []step{{text: "こんにちは"}, {sweep: true, after: idle + time.Second}},
			status: storage.ConversationClosed, outcome: bot.OutcomeAbandoned, reason: bot.EndIdle, messages: 2},
		{name: "not idle yet: the sweep's event does nothing", steps: []step{{text: "こんにちは"}, {sweep: true, after: idle - time.Second}},
			status: storage.ConversationOpen, outcome: "", reason: "", messages: 2},
		{name: "waiting for a person never idles", steps: []step{{text: "人と話したい"}, {sweep: true, after: 3 * time.Hour}},
			status: storage.ConversationOpen, outcome: "", reason: "", messages: 2},
		{name: "handed over", steps: []step{{text: "こんにちは"}, {text: "人と話したい", after: time.Minute}}, staff: true,
			status: storage.ConversationClosed, outcome: bot.OutcomeHandedOver, reason: bot.EndHandBack, messages: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storagetest.Each(t, func(t *testing.T, db *storage.DB) {
				ctx := context.Background()
				p := newProcessor(db, &fakeEngine{}, &fakeSender{})
				p.IdleTimeout = idle
				at := t0
				var stepAt []time.Time
				for i, s := range tt.steps {
					at = at.Add(s.after)
					stepAt = append(stepAt, at)
					if !s.sweep {
						mustHandle(t, p, text("e"+strconv.Itoa(i), "U1", s.text, at))
						continue
					}
					// What the sweep does: the open conversations idle since
					// before the cutoff get an Idle event; the pipeline decides.
					c, _ := conversation(t, db, "U1")
					ev := bot.Idle("U1", c.ID, c.LastActivityAt, at)
					if idle, err := db.IdleConversations(ctx, at.Add(-idle), 10); err != nil || len(idle) > 1 {
						t.Fatalf("idle conversations: %+v, %v", idle, err)
					}
					mustHandle(t, p, ev)
				}
				if tt.staff {
					c, _ := conversation(t, db, "U1")
					if _, err := db.TakeOver(ctx, c.ID, "sato"); err != nil {
						t.Fatal(err)
					}
					mustHandle(t, p, bot.HandBack("U1", "sato", "", at.Add(time.Minute)))
				}
				convs, _ := db.Conversations(ctx, "U1")
				if len(convs) != 1 {
					t.Fatalf("%d conversations, want 1", len(convs))
				}
				c := convs[0]
				outcome := ""
				if c.Outcome != nil {
					outcome = *c.Outcome
				}
				if c.Status != tt.status || outcome != tt.outcome || c.EndReason != tt.reason {
					t.Errorf("status, outcome, reason = %s, %q, %q; want %s, %q, %q", c.Status, outcome, c.EndReason, tt.status, tt.outcome, tt.reason)
				}
				switch {
				case tt.resolvedStep == 0 && c.ResolvedAt != nil:
					t.Errorf("resolved_at %v, want none", c.ResolvedAt)
				case tt.resolvedStep > 0 && (c.ResolvedAt == nil || !c.ResolvedAt.Equal(stepAt[tt.resolvedStep-1])):
					t.Errorf("resolved_at %v, want %v", c.ResolvedAt, stepAt[tt.resolvedStep-1])
				}
				if c.MessageCount != tt.messages {
					t.Errorf("message_count %d, want %d", c.MessageCount, tt.messages)
				}
				if tt.staff {
					// The wait for a person and the way there are kept after the hand back.
					if c.WaitedAt == nil || c.TakenAt == nil || c.HandoffAt != nil || c.HandoffPath != "n1 > n2" {
						t.Errorf("waited_at %v, taken_at %v, handoff_at %v, path %q", c.WaitedAt, c.TakenAt, c.HandoffAt, c.HandoffPath)
					}
				}
			})
		})
	}
}
