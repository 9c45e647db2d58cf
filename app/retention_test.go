package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

var retLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func retAudits(t *testing.T, db *storage.DB, actor string) int64 {
	t.Helper()
	return storagetest.Count(t, db, "audit_log", "actor = ? AND action = ?", actor, storage.AuditPurge)
}

func TestRetentionJobOnce(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, url string) {
		db := storagetest.Open(t, url)
		clock := clockwork.NewFakeClockAt(time.Now().UTC())
		db.Now = clock.Now
		storagetest.Seed(t, db, userOld, clock.Now().Add(-31*24*time.Hour))
		storagetest.Seed(t, db, userNew, clock.Now().Add(-29*24*time.Hour))

		j := newRetentionJob(db, 30, retLog, clock)
		got, r := j.RunOnce(context.Background())
		if got != retentionRan || r.Conversations != 1 || r.Messages != 2 || r.Users != 1 {
			t.Fatalf("first run: %v %+v; want it to purge the 31-day-old user only", got, r)
		}
		if n := storagetest.Count(t, db, "users", "id = ?", userNew); n != 1 {
			t.Fatal("the 29-day-old user was purged")
		}
		if n := retAudits(t, db, actorRetention); n != 1 {
			t.Fatalf("%d retention audit records, want 1", n)
		}

		// Within the same day (another replica, or a restart): skipped.
		clock.Advance(time.Hour)
		if got, _ := j.RunOnce(context.Background()); got != retentionRecent {
			t.Fatalf("run an hour later: %v, want skipped as recent", got)
		}
		// A day later the 29-day-old data has aged past 30 days.
		clock.Advance(2 * 24 * time.Hour)
		if got, r := j.RunOnce(context.Background()); got != retentionRan || r.Users != 1 {
			t.Fatalf("run two days later: %v %+v; want the second user purged", got, r)
		}
		if n := retAudits(t, db, actorRetention); n != 2 {
			t.Fatalf("%d retention audit records, want 2", n)
		}
		// A manual purge does not count as the daily run.
		if _, err := db.Purge(context.Background(), clock.Now(), "cli:alice"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(24 * time.Hour)
		if got, _ := j.RunOnce(context.Background()); got != retentionRan {
			t.Fatalf("run a day after: %v", got)
		}

		off := newRetentionJob(db, 0, retLog, clock)
		if got, _ := off.RunOnce(context.Background()); got != retentionOff {
			t.Fatalf("RETENTION_DAYS=0: %v, want off", got)
		}
	})
}

// TestRetentionOneRunnerAtATime runs the job in two "replicas" (two
// connection pools on one database) at the same moment: one purges, the
// other skips, and the audit log has one record.
func TestRetentionOneRunnerAtATime(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, url string) {
		dbA, dbB := storagetest.Open(t, url), storagetest.Open(t, url)
		storagetest.Seed(t, dbA, userOld, time.Now().UTC().Add(-400*24*time.Hour))

		inside, release := make(chan struct{}), make(chan struct{})
		a := newRetentionJob(dbA, 365, retLog, clockwork.NewRealClock())
		a.purge = func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error) {
			close(inside)
			<-release
			return dbA.Purge(ctx, before, actor)
		}
		b := newRetentionJob(dbB, 365, retLog, clockwork.NewRealClock())

		type result struct {
			o storage.PurgeReport
			w retentionOutcome
		}
		resA := make(chan result, 1)
		go func() {
			w, r := a.RunOnce(context.Background())
			resA <- result{r, w}
		}()
		select {
		case <-inside:
		case <-time.After(10 * time.Second):
			t.Fatal("replica A never started purging")
		}
		if got, _ := b.RunOnce(context.Background()); got != retentionLocked {
			t.Fatalf("replica B while A runs: %v, want skipped (locked)", got)
		}
		close(release)
		ra := <-resA
		if ra.w != retentionRan || ra.o.Users != 1 {
			t.Fatalf("replica A: %v %+v", ra.w, ra.o)
		}
		// After A is done, B sees that today's run happened.
		if got, _ := b.RunOnce(context.Background()); got != retentionRecent {
			t.Fatalf("replica B after A: %v, want skipped (recent)", got)
		}
		if n := retAudits(t, dbA, actorRetention); n != 1 {
			t.Fatalf("%d retention audit records, want 1", n)
		}
		// The lock was released: B can take it now.
		unlock, ok, err := dbB.TryLockJob(context.Background(), retentionLock)
		if err != nil || !ok {
			t.Fatalf("lock after both runs: %v %v", ok, err)
		}
		unlock()
	})
}

// TestRetentionSchedule runs the loop on a fake clock: the first run when
// the clock passes first, then one each time it passes every, until the
// context ends.
func TestRetentionSchedule(t *testing.T) {
	t.Parallel()
	db := storagetest.SQLite(t)
	clock := clockwork.NewFakeClock()
	db.Now = clock.Now
	j := newRetentionJob(db, 365, retLog, clock)
	j.jitter = 0
	runs := make(chan time.Time, 10)
	j.purge = func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error) {
		defer func() { runs <- before }() // once the run is recorded
		return db.Purge(ctx, before, actor)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); j.Run(ctx) }()

	// advance moves the clock on by d once the job waits on its timer.
	advance := func(d time.Duration) {
		t.Helper()
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(d)
	}
	// next is the next run's cutoff. A run that came too early would show
	// up here first, with an earlier cutoff.
	next := func() time.Time {
		t.Helper()
		select {
		case b := <-runs:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no run 10 s after the timer was due")
		}
		return time.Time{}
	}
	for i, wait := range []time.Duration{retentionFirst, retentionEvery, retentionEvery} {
		advance(wait - time.Second) // not due yet
		advance(time.Second)
		if got, want := next(), clock.Now().UTC().Add(-365*24*time.Hour); !got.Equal(want) {
			t.Fatalf("run %d purged before %v, want %v (365 days before the clock when due)", i+1, got, want)
		}
	}
	cancel()
	<-done
	select {
	case b := <-runs:
		t.Fatalf("an extra run (before %v)", b)
	default:
	}
	if n := retAudits(t, db, actorRetention); n != 3 {
		t.Fatalf("%d retention audit records, want 3", n)
	}
}

// retSender accepts every delivery.
type retSender struct{}

func (retSender) Send(context.Context, bot.Outgoing) (bot.Delivery, error) {
	return bot.Delivery{Via: "reply"}, nil
}
func (retSender) ShowLoading(context.Context, string, int) error { return nil }

func retEvent(id, typ, user, text string, at time.Time) bot.Event {
	ev := bot.Event{ID: id, Type: typ, SourceType: "user", UserID: user, ChatID: user, Timestamp: at, ReplyToken: "rt-" + id}
	if typ == "message" {
		ev.MessageType, ev.Text = "text", text
	}
	if typ == "unfollow" {
		ev.ReplyToken = ""
	}
	return ev
}

func TestDeleteOnUnfollow(t *testing.T) {
	t0 := time.Now().UTC().Add(-time.Hour)
	for _, tc := range []struct {
		name      string
		on        bool
		refollow  bool  // a follow accepted right after the unfollow
		wantConvs int64 // conversations of the user afterwards
		wantAudit int64
	}{
		{"off keeps the log", false, false, 1, 0},
		{"on deletes everything", true, false, 0, 1},
		{"on, then a follow starts afresh", true, true, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storagetest.EachURL(t, func(t *testing.T, url string) {
				cfg := testConfig(t, url, nil)
				cfg.DeleteOnUnfollow = tc.on
				a := newTestApp(t, cfg, Options{Sender: retSender{}})
				db, proc := a.DB, a.Processor
				ctx := context.Background()
				for _, ev := range []bot.Event{
					retEvent("a1", "message", userOld, "コードが届きません", t0),
					retEvent("b1", "message", userNew, "コードが届きません", t0),
				} {
					if _, err := proc.HandleNow(ctx, ev); err != nil {
						t.Fatal(err)
					}
				}
				var old storage.Conversation
				if err := db.Gorm().Where("user_id = ?", userOld).First(&old).Error; err != nil {
					t.Fatal(err)
				}
				before := storagetest.Count(t, db, "messages", "conversation_id = ?", old.ID)
				if before < 2 {
					t.Fatalf("%d messages logged for the first turn, want the text and a reply", before)
				}
				batch := []bot.Event{retEvent("a2", "unfollow", userOld, "", t0.Add(time.Minute))}
				if tc.refollow {
					batch = append(batch, retEvent("a3", "follow", userOld, "", t0.Add(2*time.Minute)))
				}
				if _, err := db.Accept(ctx, batch); err != nil {
					t.Fatal(err)
				}
				if err := proc.Process(ctx, userOld); err != nil {
					t.Fatal(err)
				}

				convs := storagetest.Count(t, db, "conversations", "user_id = ?", userOld)
				// The first conversation's messages: kept (plus the logged
				// unfollow) or gone.
				msgs := storagetest.Count(t, db, "messages", "conversation_id = ?", old.ID)
				wantMsgs := int64(0)
				if !tc.on {
					wantMsgs = before + 1
				}
				audit := storagetest.Count(t, db, "audit_log", "actor = ? AND action = ? AND subject_id = ?", actorUnfollow, storage.AuditUserDelete, userOld)
				if convs != tc.wantConvs || msgs != wantMsgs || audit != tc.wantAudit {
					t.Fatalf("after unfollow: %d conversations, %d old messages, %d audit records; want %d, %d, %d",
						convs, msgs, audit, tc.wantConvs, wantMsgs, tc.wantAudit)
				}
				if tc.on && !tc.refollow {
					for _, table := range []string{"users", "sessions", "outbox"} {
						col := map[string]string{"users": "id", "sessions": "user_id", "outbox": "chat_id"}[table]
						if n := storagetest.Count(t, db, table, col+" = ?", userOld); n != 0 {
							t.Fatalf("%s: %d rows of the deleted user left", table, n)
						}
					}
					if n := storagetest.Count(t, db, "inbox_events", "chat_id = ?", userOld); n != 0 {
						t.Fatalf("inbox: %d events of the deleted user left", n)
					}
				}
				if tc.refollow {
					// The follow was processed after the deletion: a fresh
					// conversation with the welcome.
					if n := storagetest.Count(t, db, "inbox_events", "webhook_event_id = ? AND status = ?", "a3", storage.StatusDone); n != 1 {
						t.Fatal("the follow after the unfollow was not processed")
					}
					if n := storagetest.Count(t, db, "messages", "conversation_id IN (SELECT id FROM conversations WHERE user_id = ?) AND direction = ?", userOld, storage.DirectionOut); n == 0 {
						t.Fatal("no welcome in the new conversation")
					}
				}
				// The other user is untouched.
				if n := storagetest.Count(t, db, "conversations", "user_id = ?", userNew); n != 1 {
					t.Fatalf("the other user has %d conversations, want 1", n)
				}
			})
		})
	}
}

// TestServeRunsRetention: `serve` with RETENTION_DAYS set purges on its
// schedule; with RETENTION_DAYS=0 it has no retention job at all.
func TestServeRunsRetention(t *testing.T) {
	t.Parallel()
	url := storagetest.SQLiteURL(t)
	cfg := testConfig(t, url, nil)
	cfg.RetentionDays = 30
	clock := clockwork.NewFakeClock()
	a := newTestApp(t, cfg, Options{Clock: clock})
	storagetest.Seed(t, a.DB, userOld, time.Now().UTC().Add(-40*24*time.Hour))
	ran := make(chan struct{})
	purge := a.retention.purge
	a.retention.purge = func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error) {
		defer close(ran)
		return purge(ctx, before, actor)
	}
	s := startServe(t, a)
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(retentionFirst + retentionJitter)
	select {
	case <-ran:
	case <-time.After(time.Minute):
		t.Fatal("no retention run a minute after it was due")
	}
	s.shutdown(t)
	if audits, users := retAudits(t, a.DB, actorRetention), storagetest.Count(t, a.DB, "users", "id = ?", userOld); audits != 1 || users != 0 {
		t.Fatalf("RETENTION_DAYS=30: %d retention runs, %d old users left; want 1 run and the user purged", audits, users)
	}

	cfg = testConfig(t, storagetest.SQLiteURL(t), nil)
	if off := newTestApp(t, cfg, Options{}); off.retention != nil {
		t.Fatal("RETENTION_DAYS=0 built a retention job")
	}
}
