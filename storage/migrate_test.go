package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestMigratePeopleCarriesRowsOver starts from schema version 2 with the
// rows it allowed (a handed-off conversation, one closed by unfollow, two
// open for one user) and checks what version 3 made of them.
func TestMigratePeopleCarriesRowsOver(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return storagetest.SQLiteURL(t) }},
		{"postgres", func(t *testing.T) string { return storagetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := storage.Open(ctx, tc.url(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := storage.MigrateTo(db, ctx, 2); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			g := db.Gorm()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO users (id, kind, created_at, updated_at) VALUES ('U1', 'user', ?, ?), ('U2', 'user', ?, ?), ('U3', 'user', ?, ?)`, []any{at, at, at, at, at, at}},
				{`INSERT INTO conversations (id, user_id, status, owner, handoff_at, started_at, last_activity_at, closed_at) VALUES
					(1, 'U1', 'open', 'bot', ?, ?, ?, NULL),
					(2, 'U2', 'closed', 'bot', NULL, ?, ?, ?),
					(3, 'U3', 'open', 'bot', NULL, ?, ?, NULL),
					(4, 'U3', 'open', 'staff', NULL, ?, ?, NULL)`, []any{at, at, at, at, at, at, at, at, at, at}},
				{`INSERT INTO messages (conversation_id, direction, type, text, at, created_at) VALUES
					(1, 'in', 'text', 'a', ?, ?), (1, 'out', 'text', 'b', ?, ?)`, []any{at, at, at, at}},
				{`INSERT INTO outbox (chat_id, reply_token, retry_key, messages, status, event_at, created_at) VALUES
					('U1', 'rt', 'k1', '[]', 'pending', ?, ?), ('U1', '', 'k2', '[]', 'pending', ?, ?)`, []any{at, at, at, at}},
			} {
				if err := g.Exec(q.sql, q.args...).Error; err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}

			var convs []storage.Conversation
			g.Order("id").Find(&convs)
			type row struct{ status, owner, outcome, reason string }
			want := []row{
				{"open", bot.OwnerWaiting, "", ""},
				{"closed", bot.OwnerBot, bot.OutcomeAbandoned, bot.EndUnfollow},
				{"closed", bot.OwnerBot, bot.OutcomeAbandoned, bot.EndIdle},
				{"open", bot.OwnerStaff, "", ""},
			}
			for i, c := range convs {
				got := row{c.Status, c.Owner, "", c.EndReason}
				if c.Outcome != nil {
					got.outcome = *c.Outcome
				}
				if got != want[i] {
					t.Errorf("conversation %d: %+v, want %+v", c.ID, got, want[i])
				}
			}
			var msgs []storage.Message
			g.Order("id").Find(&msgs)
			if len(msgs) != 2 || msgs[0].Author != bot.AuthorUser || msgs[1].Author != bot.AuthorBot {
				t.Errorf("messages %+v", msgs)
			}
			var outbox []storage.OutboxRow
			g.Order("id").Find(&outbox)
			if len(outbox) != 2 || !outbox[0].Attempted || outbox[1].Attempted {
				t.Errorf("outbox attempted %+v", outbox)
			}
			// One open conversation per user from now on.
			if err := g.Exec(`INSERT INTO conversations (user_id, status, owner, started_at, last_activity_at) VALUES ('U1', 'open', 'bot', ?, ?)`, at, at).Error; err == nil {
				t.Error("a second open conversation for U1 was accepted")
			}
		})
	}
}
