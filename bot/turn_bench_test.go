package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// BenchmarkTurnRealPack measures one user message end to end without HTTP:
// inbox insert, understanding and the dialog step on the product's pack,
// rendering, the logged turn (session, messages, outbox) and the delivery
// bookkeeping, on each database. The sender is a fake (no network).
func BenchmarkTurnRealPack(b *testing.B) {
	pack, err := knowledge.EmbeddedPack("microsoft-ja")
	if err != nil {
		b.Fatal(err)
	}
	eng, err := dialog.New(pack, understand.New(pack), dialog.Options{IdleAfter: 30 * time.Minute, Threshold: understand.DefaultThreshold})
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{"確認コードが届きません", "メールです", "迷惑メールにもないです", "30日も待つの？", "SMSが来ません", "人と話したい", "最初から"}
	storagetest.EachB(b, func(b *testing.B, db *storage.DB) {
		p := bot.NewProcessor(eng, db, &fakeSender{})
		p.Logger = newProcessor(db, &fakeEngine{}, &fakeSender{}).Logger
		p.LoadingDelay = time.Hour
		ctx := context.Background()
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			chat := fmt.Sprintf("U%032d", i%100)
			ev := text(fmt.Sprint("ev", i), chat, texts[i%len(texts)], t0.Add(time.Duration(i)*time.Second))
			if _, err := p.HandleNow(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
