package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/todoku/todoku/bot/metrics"
)

// processBatch runs the first pending event of each of several chats
// together (a batchStore: one lock round trip, one transaction for all the
// turns, the replies sent in parallel, one transaction for all the
// delivery records). It handles only the common case and hands back the
// rest:
//   - rest are chats to process one at a time with process, after the
//     batch has unlocked them: another process holds the chat, a crash left
//     outbox rows to deliver first, the event's turn failed (process
//     retries and counts the attempt), or the batch's own transaction failed
//     (nothing of it was committed);
//   - again are chats with more events pending, to queue once more.
//
// One event per chat keeps each chat's order: its next event runs only
// after this one's reply was sent.
func (p *Processor) processBatch(ctx context.Context, bs batchStore, chatIDs []string, stop func() bool) (rest, again []string, err error) {
	unlock, next, err := bs.LockChatsNext(ctx, chatIDs)
	if err != nil {
		return chatIDs, nil, err
	}
	defer unlock()
	items := make([]InboxItem, 0, len(chatIDs))
	for _, id := range chatIDs {
		n, locked := next[id]
		switch {
		case !locked || n.Undelivered:
			rest = append(rest, id)
		case n.Event != nil:
			items = append(items, *n.Event)
			if n.More {
				again = append(again, id)
			}
		}
	}
	if len(items) == 0 || (stop != nil && stop()) {
		return rest, again, nil
	}
	metrics.BatchEvents.Observe(float64(len(items)))

	loading := make([]*loadingTimer, len(items))
	for i, it := range items {
		loading[i] = p.startLoading(ctx, it.Event)
	}
	defer func() {
		for _, l := range loading {
			l.stop()
		}
	}()

	outcomes, err := bs.RunTurns(ctx, items, p.Now(), p.plan)
	if err != nil {
		for _, it := range items {
			rest = append(rest, it.Event.ChatID)
		}
		return rest, again, err
	}

	type send struct {
		i   int // index in items
		out Outgoing
	}
	var sends []send
	for i, o := range outcomes {
		ev := items[i].Event
		switch {
		case errors.Is(o.Err, ErrNotPending):
			continue
		case o.Err != nil:
			rest = append(rest, ev.ChatID)
			continue
		}
		if ev.Type == "unfollow" && p.OnUnfollow != nil && ev.ChatID != "" {
			if err := p.OnUnfollow(ctx, ev.ChatID); err != nil {
				p.Logger.Error("unfollow hook failed", slog.String("event_id", ev.ID), slog.Any("error", err))
			}
		}
		if o.Out != nil {
			sends = append(sends, send{i, *o.Out})
		}
	}

	done := make([]DeliveryOutcome, len(sends))
	var wg sync.WaitGroup
	for k, s := range sends {
		wg.Go(func() {
			d, err := p.sender.Send(ctx, s.out)
			loading[s.i].stop()
			done[k] = DeliveryOutcome{Out: s.out, Delivery: d}
			if err != nil {
				metrics.DeliveryFailures.Inc()
				p.Logger.Warn("delivery failed", slog.Int64("outbox_id", s.out.ID), slog.Any("error", err))
				done[k].Failure = err.Error()
			}
		})
	}
	wg.Wait()
	if err := bs.FinishDeliveries(ctx, done, p.Now()); err != nil {
		// One row the database refuses must not leave the others pending:
		// a row left pending is delivered again later, and a reply that
		// went out may then reach the user twice (as a push). Record them
		// one by one; a row that still fails is retried by the sweep.
		p.Logger.Warn("recording a batch of deliveries failed; recording them one by one", slog.Any("error", err))
		var firstErr error
		for _, d := range done {
			if err := bs.FinishDeliveries(ctx, []DeliveryOutcome{d}, p.Now()); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if firstErr != nil {
			return rest, again, firstErr
		}
	}
	now := p.Now()
	for i, o := range outcomes {
		if o.Err == nil {
			metrics.ProcessingSeconds.Observe(now.Sub(items[i].AcceptedAt).Seconds())
		}
	}
	return rest, again, nil
}
