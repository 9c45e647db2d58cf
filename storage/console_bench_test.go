package storage_test

import (
	"testing"

	"github.com/todoku/todoku/storage/storagetest"
)

// BenchmarkTurnSearchIndex is BenchmarkLoggedTurn on PostgreSQL without
// the console's indexes (the messages' trigram index, conversations by
// activity, whose column every turn updates, so the update is not HOT),
// with the trigram one only, and with both (as migrated). Compare them
// side by side in one run.
func BenchmarkTurnSearchIndex(b *testing.B) {
	for _, v := range []struct {
		name string
		sql  []string
	}{
		{"none", []string{"DROP INDEX messages_text_trgm", "DROP INDEX conversations_activity"}},
		{"trgm", []string{"DROP INDEX conversations_activity"}},
		{"trgm+activity", nil},
	} {
		b.Run(v.name, func(b *testing.B) {
			db := storagetest.Postgres(b)
			for _, s := range v.sql {
				if err := db.Gorm().Exec(s).Error; err != nil {
					b.Fatal(err)
				}
			}
			benchLoggedTurns(b, db)
		})
	}
}
