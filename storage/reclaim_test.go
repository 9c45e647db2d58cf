package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestReclaimAfterDeleteUser: once a person is deleted and Reclaim has run,
// their message text is in no byte of the SQLite files (it was before), and
// PostgreSQL has vacuumed the tables.
func TestReclaimAfterDeleteUser(t *testing.T) {
	const user = "U00000000000000000000000000f0a9e7"
	storagetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := storagetest.Open(t, url)
		storagetest.Seed(t, db, user, time.Now().UTC())
		storagetest.Seed(t, db, "Ukeep", time.Now().UTC())
		text := "secret-content-" + user // what Seed stores
		sqlite := db.Dialect() == storage.SQLite
		if sqlite && !storagetest.SQLiteFilesHold(t, url, text) {
			t.Fatal("the message text is not in the database files before the deletion: the check would prove nothing")
		}
		if found, err := db.DeleteUser(ctx, user, "test"); err != nil || !found {
			t.Fatalf("DeleteUser: %v %v", found, err)
		}
		if err := db.Reclaim(ctx); err != nil {
			t.Fatal(err)
		}
		if sqlite {
			if storagetest.SQLiteFilesHold(t, url, text) {
				t.Fatal("the deleted person's message text is still in the database files")
			}
			if !storagetest.SQLiteFilesHold(t, url, "secret-content-Ukeep") {
				t.Fatal("the other person's message text is gone from the files")
			}
			return
		}
		var vacuumed int64
		if err := db.Gorm().Raw(`SELECT COUNT(*) FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname IN ('messages', 'conversations', 'users') AND last_vacuum IS NOT NULL`).Scan(&vacuumed).Error; err != nil {
			t.Fatal(err)
		}
		if vacuumed != 3 {
			t.Fatalf("%d of messages, conversations and users vacuumed after Reclaim, want 3", vacuumed)
		}
	})
}
