package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

var retLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// retClock is a settable clock shared by the job and the database.
type retClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *retClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *retClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func retAudits(t *testing.T, db *storage.DB, actor string) int64 {
	t.Helper()
	return admCount(t, db, "audit_log", "actor = ? AND action = ?", actor, storage.AuditPurge)
}

func TestRetentionJobOnce(t *testing.T) {
	admEachURL(t, func(t *testing.T, url string) {
		db := storagetest.Open(t, url)
		clock := &retClock{t: time.Now().UTC()}
		db.Now = clock.Now
		admSeed(t, db, admOld, clock.Now().Add(-31*24*time.Hour))
		admSeed(t, db, admNew, clock.Now().Add(-29*24*time.Hour))

		j := newRetentionJob(db, 30, retLog)
		j.Now = clock.Now
		got, r := j.RunOnce(context.Background())
		if got != retentionRan || r.Conversations != 1 || r.Messages != 2 || r.Users != 1 {
			t.Fatalf("first run: %v %+v; want it to purge the 31-day-old user only", got, r)
		}
		if n := admCount(t, db, "users", "id = ?", admNew); n != 1 {
			t.Fatal("the 29-day-old user was purged")
		}
		if n := retAudits(t, db, actorRetention); n != 1 {
			t.Fatalf("%d retention audit records, want 1", n)
		}

		// Within the same day (another replica, or a restart): skipped.
		clock.Add(time.Hour)
		if got, _ := j.RunOnce(context.Background()); got != retentionRecent {
			t.Fatalf("run an hour later: %v, want skipped as recent", got)
		}
		// A day later the 29-day-old data has aged past 30 days.
		clock.Add(2 * 24 * time.Hour)
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
		clock.Add(24 * time.Hour)
		if got, _ := j.RunOnce(context.Background()); got != retentionRan {
			t.Fatalf("run a day after: %v", got)
		}

		off := newRetentionJob(db, 0, retLog)
		if got, _ := off.RunOnce(context.Background()); got != retentionOff {
			t.Fatalf("RETENTION_DAYS=0: %v, want off", got)
		}
	})
}

// TestRetentionOneRunnerAtATime runs the job in two "replicas" (two
// connection pools on one database) at the same moment: one purges, the
// other skips, and the audit log has one record.
func TestRetentionOneRunnerAtATime(t *testing.T) {
	admEachURL(t, func(t *testing.T, url string) {
		dbA, dbB := storagetest.Open(t, url), storagetest.Open(t, url)
		admSeed(t, dbA, admOld, time.Now().UTC().Add(-400*24*time.Hour))

		inside, release := make(chan struct{}), make(chan struct{})
		a := newRetentionJob(dbA, 365, retLog)
		a.purge = func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error) {
			close(inside)
			<-release
			return dbA.Purge(ctx, before, actor)
		}
		b := newRetentionJob(dbB, 365, retLog)

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

// TestRetentionSchedule runs the loop with a short interval: a first run
// after First, then one every Every, until the context ends.
func TestRetentionSchedule(t *testing.T) {
	db := storagetest.SQLite(t)
	j := newRetentionJob(db, 365, retLog)
	j.First, j.Jitter, j.Every = 10*time.Millisecond, 0, 40*time.Millisecond
	runs := make(chan time.Time, 100)
	j.purge = func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error) {
		runs <- before
		return db.Purge(ctx, before, actor)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); j.Run(ctx) }()
	var got []time.Time
	for len(got) < 3 {
		select {
		case b := <-runs:
			got = append(got, b)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d runs in 10 s, want 3", len(got))
		}
	}
	cancel()
	<-done
	if elapsed := time.Since(start); elapsed < 10*time.Millisecond+2*40*time.Millisecond {
		t.Fatalf("3 runs in %v: faster than the schedule allows", elapsed)
	}
	for _, b := range got {
		if age := time.Since(b); age < 365*24*time.Hour || age > 366*24*time.Hour {
			t.Fatalf("purged before %v: want 365 days ago", b)
		}
	}
	select {
	case <-runs:
		t.Fatal("a run after the context ended")
	case <-time.After(60 * time.Millisecond):
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
	cfg, _, err := parseConfig("serve", nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := newEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
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
			admEachURL(t, func(t *testing.T, url string) {
				db := storagetest.Open(t, url)
				cfg := *cfg
				cfg.DeleteOnUnfollow = tc.on
				proc := bot.NewProcessor(eng, db, retSender{})
				proc.Logger = retLog
				wireDeleteOnUnfollow(&cfg, proc, db, retLog)
				ctx := context.Background()
				for _, ev := range []bot.Event{
					retEvent("a1", "message", admOld, "コードが届きません", t0),
					retEvent("b1", "message", admNew, "コードが届きません", t0),
				} {
					if _, err := proc.HandleNow(ctx, ev); err != nil {
						t.Fatal(err)
					}
				}
				var old storage.Conversation
				if err := db.Gorm().Where("user_id = ?", admOld).First(&old).Error; err != nil {
					t.Fatal(err)
				}
				before := admCount(t, db, "messages", "conversation_id = ?", old.ID)
				if before < 2 {
					t.Fatalf("%d messages logged for the first turn, want the text and a reply", before)
				}
				batch := []bot.Event{retEvent("a2", "unfollow", admOld, "", t0.Add(time.Minute))}
				if tc.refollow {
					batch = append(batch, retEvent("a3", "follow", admOld, "", t0.Add(2*time.Minute)))
				}
				if _, err := db.Accept(ctx, batch); err != nil {
					t.Fatal(err)
				}
				if err := proc.Process(ctx, admOld); err != nil {
					t.Fatal(err)
				}

				convs := admCount(t, db, "conversations", "user_id = ?", admOld)
				// The first conversation's messages: kept (plus the logged
				// unfollow) or gone.
				msgs := admCount(t, db, "messages", "conversation_id = ?", old.ID)
				wantMsgs := int64(0)
				if !tc.on {
					wantMsgs = before + 1
				}
				audit := admCount(t, db, "audit_log", "actor = ? AND action = ? AND subject_id = ?", actorUnfollow, storage.AuditUserDelete, admOld)
				if convs != tc.wantConvs || msgs != wantMsgs || audit != tc.wantAudit {
					t.Fatalf("after unfollow: %d conversations, %d old messages, %d audit records; want %d, %d, %d",
						convs, msgs, audit, tc.wantConvs, wantMsgs, tc.wantAudit)
				}
				if tc.on && !tc.refollow {
					for _, table := range []string{"users", "sessions", "outbox"} {
						col := map[string]string{"users": "id", "sessions": "user_id", "outbox": "chat_id"}[table]
						if n := admCount(t, db, table, col+" = ?", admOld); n != 0 {
							t.Fatalf("%s: %d rows of the deleted user left", table, n)
						}
					}
					if n := admCount(t, db, "inbox_events", "chat_id = ?", admOld); n != 0 {
						t.Fatalf("inbox: %d events of the deleted user left", n)
					}
				}
				if tc.refollow {
					// The follow was processed after the deletion: a fresh
					// conversation with the welcome.
					if n := admCount(t, db, "inbox_events", "webhook_event_id = ? AND status = ?", "a3", storage.StatusDone); n != 1 {
						t.Fatal("the follow after the unfollow was not processed")
					}
					if n := admCount(t, db, "messages", "conversation_id IN (SELECT id FROM conversations WHERE user_id = ?) AND direction = ?", admOld, storage.DirectionOut); n == 0 {
						t.Fatal("no welcome in the new conversation")
					}
				}
				// The other user is untouched.
				if n := admCount(t, db, "conversations", "user_id = ?", admNew); n != 1 {
					t.Fatalf("the other user has %d conversations, want 1", n)
				}
			})
		})
	}
}

// TestServeRunsRetention: `serve` with RETENTION_DAYS set purges on its
// schedule (shortened here), and does not with RETENTION_DAYS=0.
func TestServeRunsRetention(t *testing.T) {
	first, jitter := retentionFirst, retentionJitter
	retentionFirst, retentionJitter = 20*time.Millisecond, 0
	t.Cleanup(func() { retentionFirst, retentionJitter = first, jitter })

	for _, days := range []int{30, 0} {
		url := storagetest.SQLiteURL(t)
		db := storagetest.Open(t, url)
		admSeed(t, db, admOld, time.Now().UTC().Add(-40*24*time.Hour))
		cfg := &Config{
			DatabaseURL: url, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text",
			Workers: 1, IdleTimeout: 30 * time.Minute, RetentionDays: days, PackID: "microsoft-ja",
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		ready := make(chan string, 1)
		go func() { done <- serve(ctx, cfg, retLog, ready) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("serve exited at start: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not listen within 60 s")
		}
		deadline := time.Now().Add(20 * time.Second)
		for retAudits(t, db, actorRetention) == 0 && time.Now().Before(deadline) && days > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if days == 0 {
			time.Sleep(300 * time.Millisecond) // ample time for a run that must not come
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve: %v", err)
		}
		users := admCount(t, db, "users", "id = ?", admOld)
		if audits := retAudits(t, db, actorRetention); days > 0 && (audits != 1 || users != 0) {
			t.Fatalf("RETENTION_DAYS=%d: %d retention runs, %d old users left; want 1 run and the user purged", days, audits, users)
		} else if days == 0 && (audits != 0 || users != 1) {
			t.Fatalf("RETENTION_DAYS=0: %d retention runs, %d old users left; want none and the user kept", audits, users)
		}
	}
}
