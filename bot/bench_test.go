package bot_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// BenchmarkHandleNow measures one event through the whole pipeline (inbox
// insert, turn transaction, outbox, delivery bookkeeping) with a fake engine
// and sender, i.e. the database cost per event.
func BenchmarkHandleNow(b *testing.B) {
	dbs := map[string]func(testing.TB) *storage.DB{"sqlite": storagetest.SQLite}
	if os.Getenv(storagetest.EnvPostgres) != "" {
		dbs["postgres"] = storagetest.Postgres
	}
	for name, open := range dbs {
		b.Run(name, func(b *testing.B) {
			db := open(b)
			p := newProcessor(db, &fakeEngine{}, &fakeSender{})
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				chat := fmt.Sprintf("U%d", i%50)
				if _, err := p.HandleNow(ctx, text(fmt.Sprint("e", i), chat, "こんにちは", t0.Add(time.Duration(i)*time.Millisecond))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWorkers measures throughput with 8 workers over 50 chats.
func BenchmarkWorkers(b *testing.B) {
	dbs := map[string]func(testing.TB) *storage.DB{"sqlite": storagetest.SQLite}
	if os.Getenv(storagetest.EnvPostgres) != "" {
		dbs["postgres"] = storagetest.Postgres
	}
	for name, open := range dbs {
		b.Run(name, func(b *testing.B) {
			db := open(b)
			s := &fakeSender{}
			w := bot.NewWorkers(newProcessor(db, &fakeEngine{}, s), 8)
			ctx := context.Background()
			if err := w.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer w.Shutdown(ctx)
			i := 0
			for b.Loop() {
				i++
				chat := fmt.Sprintf("U%d", i%50)
				ev := text(fmt.Sprint("e", i), chat, "こんにちは", t0.Add(time.Duration(i)*time.Millisecond))
				if _, err := db.Accept(ctx, []bot.Event{ev}); err != nil {
					b.Fatal(err)
				}
				w.Notify(chat)
			}
			for {
				if n, _ := db.Backlog(ctx); n == 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}
