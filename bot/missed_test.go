package bot_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestOldEventsAreLoggedAsMissed (issue 16): an event older than
// MaxEventAge when its turn runs is not answered (no step, nothing sent):
// its message is logged with reason "missed" and counted by type; a newer
// one is answered as usual; with MaxEventAge 0 every event is answered.
func TestOldEventsAreLoggedAsMissed(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		p.MaxEventAge = 24 * time.Hour
		p.IdleTimeout = 0 // one conversation for the whole test
		now := t0.Add(48 * time.Hour)
		p.Now = func() time.Time { return now }

		if turn := mustHandle(t, p, text("old-1", "Umissed", "Umissed:1", t0)); len(turn.Messages) != 0 {
			t.Fatalf("a 48-hour-old event was answered: %+v", turn)
		}
		if len(e.Steps()) != 0 || len(s.Sends()) != 0 {
			t.Fatalf("a 48-hour-old event reached the engine (%v) or LINE (%v)", e.Steps(), s.Sends())
		}
		if got := testutil.ToFloat64(p.Metrics.EventsMissed.WithLabelValues("text")); got != 1 {
			t.Fatalf("todoku_events_missed_total{type=text} = %v, want 1", got)
		}
		if turn := mustHandle(t, p, text("new-1", "Umissed", "Umissed:2", now.Add(-23*time.Hour))); len(turn.Messages) != 1 {
			t.Fatalf("a 23-hour-old event was not answered: %+v", turn)
		}
		_, msgs := conversation(t, db, "Umissed")
		if len(msgs) != 3 || msgs[0].Reason != "missed" || msgs[0].Text != "Umissed:1" || msgs[0].Direction != storage.DirectionIn ||
			msgs[1].Reason == "missed" || msgs[2].Direction != storage.DirectionOut {
			t.Fatalf("log %+v: want the missed message (reason missed), then the answered one and its reply", msgs)
		}

		p.MaxEventAge = 0
		if turn := mustHandle(t, p, text("old-2", "Uanswered", "Uanswered:1", t0)); len(turn.Messages) != 1 {
			t.Fatalf("with MaxEventAge 0 an old event was not answered: %+v", turn)
		}
	})
}
