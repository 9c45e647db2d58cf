package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestPurgeCountsMatchPurge: a dry run counts exactly what Purge deletes.
func TestPurgeCountsMatchPurge(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		old := now.Add(-400 * 24 * time.Hour)
		db.Now = func() time.Time { return old }
		turn(t, db, "a1", "UOLD", old)
		turn(t, db, "b1", "UMIXED", old)
		db.Now = func() time.Time { return now }
		// UMIXED is active again: their old conversation stays (the same
		// conversation goes on), the user stays.
		turn(t, db, "b2", "UMIXED", now)
		turn(t, db, "c1", "UNEW", now)
		// A pending event keeps its user.
		db.Accept(ctx, []bot.Event{textEvent("d1", "UOLD", "まだ", now)})

		cutoff := now.Add(-365 * 24 * time.Hour)
		want, err := db.PurgeCounts(ctx, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "audit_log"); n != 0 {
			t.Fatalf("PurgeCounts wrote %d audit records", n)
		}
		got, err := db.Purge(ctx, cutoff, "retention")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Purge deleted %+v, PurgeCounts said %+v", got, want)
		}
		if got.Conversations != 1 || got.Users != 0 {
			t.Fatalf("purged %+v; want UOLD's conversation, and no user (UOLD has a pending event)", got)
		}
		last, ok, err := db.LastPurge(ctx, "retention")
		if err != nil || !ok || last.Sub(now).Abs() > time.Second {
			t.Fatalf("LastPurge = %v, %v, %v; want about %v", last, ok, err, now)
		}
		if _, ok, _ := db.LastPurge(ctx, "cli:someone"); ok {
			t.Fatal("LastPurge found a purge by an actor that never purged")
		}
	})
}

// TestTryLockJob: a second holder is refused without waiting, across
// connection pools (replicas), until the first unlocks.
func TestTryLockJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", storagetest.SQLiteURL},
		{"postgres", storagetest.PostgresURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url(t)
			a, b := storagetest.Open(t, u), storagetest.Open(t, u)
			ctx := context.Background()
			unlock, ok, err := a.TryLockJob(ctx, "retention")
			if err != nil || !ok {
				t.Fatalf("first lock: %v %v", ok, err)
			}
			start := time.Now()
			if _, ok, err := b.TryLockJob(ctx, "retention"); ok || err != nil {
				t.Fatalf("second holder got the lock: %v %v", ok, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("TryLockJob waited %v", d)
			}
			other, ok, err := b.TryLockJob(ctx, "another-job")
			if err != nil || !ok {
				t.Fatalf("another job's lock: %v %v", ok, err)
			}
			other()
			unlock()
			unlock() // idempotent
			again, ok, err := b.TryLockJob(ctx, "retention")
			if err != nil || !ok {
				t.Fatalf("lock after unlock: %v %v", ok, err)
			}
			again()
		})
	}
}

// TestForgetUser: the unfollow hook's delete keeps the user's events still
// pending (they came later) and leaves the audit record.
func TestForgetUser(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		turn(t, db, "a1", "U1", t0)
		turn(t, db, "b1", "U2", t0)
		db.Accept(ctx, []bot.Event{textEvent("a2", "U1", "また来ました", t0.Add(time.Minute))})

		found, err := db.ForgetUser(ctx, "U1", "unfollow")
		if err != nil || !found {
			t.Fatalf("ForgetUser = %v, %v", found, err)
		}
		for table, want := range map[string]int64{"users": 1, "conversations": 1, "messages": 2, "sessions": 1, "outbox": 1} {
			if n := count(t, db, table); n != want {
				t.Fatalf("%s: %d rows left, want %d (U2's)", table, n, want)
			}
		}
		if items := storagetest.Pending(t, db, "U1"); len(items) != 1 || items[0].Event.ID != "a2" {
			t.Fatalf("pending after ForgetUser: %+v; want the later event kept", items)
		}
		var audit []storage.AuditLog
		db.Gorm().Find(&audit)
		if len(audit) != 1 || audit[0].Action != storage.AuditUserDelete || audit[0].Actor != "unfollow" || audit[0].SubjectID != "U1" {
			t.Fatalf("audit %+v", audit)
		}
		if _, err := db.ForgetUser(ctx, "", "unfollow"); err == nil {
			t.Fatal("ForgetUser accepted an empty id")
		}
	})
}
