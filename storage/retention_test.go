package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// turn accepts and runs one text event with a reply, at the given time.
func turn(t *testing.T, db *storage.DB, id, chat string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Accept(ctx, []bot.Event{textEvent(id, chat, "こんにちは", at)}); err != nil {
		t.Fatal(err)
	}
	c, err := db.Claim(ctx, []string{chat}, true, at, plainPlan("はい"))
	if err != nil {
		t.Fatal(err)
	}
	out := c.Chats[chat].Out
	if out == nil {
		t.Fatalf("no reply: %+v", c.Chats[chat])
	}
	if err := c.Finish(ctx, []bot.DeliveryOutcome{{Out: *out, Delivery: bot.Delivery{Via: "reply"}}}, at); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *storage.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm().Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		turn(t, db, "a1", "U1", t0)
		turn(t, db, "b1", "U2", t0)
		// A pending event of U1 too.
		db.Accept(ctx, []bot.Event{textEvent("a2", "U1", "まだ", t0.Add(time.Second))})

		found, err := db.DeleteUser(ctx, "U1", "cli")
		if err != nil || !found {
			t.Fatalf("DeleteUser = %v, %v", found, err)
		}
		if _, err := db.User(ctx, "U1"); err != storage.ErrNotFound {
			t.Fatalf("user still there: %v", err)
		}
		for table, want := range map[string]int64{"users": 1, "conversations": 1, "messages": 2, "sessions": 1, "inbox_events": 1, "outbox": 1} {
			if n := count(t, db, table); n != want {
				t.Fatalf("%s: %d rows left, want %d (U2's)", table, n, want)
			}
		}
		var audit []storage.AuditLog
		db.Gorm().Find(&audit)
		if len(audit) != 1 || audit[0].Action != "user.delete" || audit[0].SubjectID != "U1" || audit[0].Actor != "cli" {
			t.Fatalf("audit %+v", audit)
		}
		if found, _ := db.DeleteUser(ctx, "U1", "cli"); found {
			t.Fatal("second delete found something")
		}
	})
}

func TestPurge(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		old := time.Now().UTC().Add(-400 * 24 * time.Hour)
		db.Now = func() time.Time { return old }
		turn(t, db, "a1", "UOLD", old)
		db.Now = time.Now
		turn(t, db, "b1", "UNEW", time.Now().UTC())

		r, err := db.Purge(ctx, time.Now().Add(-365*24*time.Hour), "retention")
		if err != nil {
			t.Fatal(err)
		}
		if r.Conversations != 1 || r.Messages != 2 || r.Users != 1 || r.Sessions != 1 || r.InboxEvents != 1 || r.OutboxRows != 1 {
			t.Fatalf("report %+v", r)
		}
		if _, err := db.User(ctx, "UNEW"); err != nil {
			t.Fatalf("recent user purged: %v", err)
		}
		if n := count(t, db, "messages"); n != 2 {
			t.Fatalf("%d messages left, want 2", n)
		}
	})
}
