package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/todoku/todoku/bot"
)

// idleSweepEvery is how often `serve` looks for conversations that idled.
const idleSweepEvery = time.Minute

// idleSweepBatch bounds the conversations one sweep ends (the rest wait
// for the next).
const idleSweepBatch = 500

// sweepIdle ends the conversations the bot owns that had no message for
// IDLE_TIMEOUT: one bot.Idle event each, through the inbox, so that the
// pipeline decides the ending in order with the chat's events (a message
// that arrived meanwhile keeps the conversation going). Replicas sweeping at
// once submit the same event ids; the inbox keeps one. It reports how many
// it submitted.
func (a *App) sweepIdle(ctx context.Context, now time.Time) (int, error) {
	idle := a.Config.IdleTimeout
	if idle <= 0 {
		return 0, nil
	}
	convs, err := a.DB.IdleConversations(ctx, now.Add(-idle), idleSweepBatch)
	if err != nil || len(convs) == 0 {
		return 0, err
	}
	events := make([]bot.Event, len(convs))
	for i, c := range convs {
		events[i] = bot.Idle(c.ChatID, c.ID, c.LastActivityAt, now)
	}
	return len(events), a.Workers.Submit(ctx, events...)
}

// startIdleSweep sweeps every idleSweepEvery until ctx ends, and returns a
// function that stops it and waits for a sweep in progress.
func (a *App) startIdleSweep(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(idleSweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := a.sweepIdle(ctx, time.Now()); err != nil {
				a.Log.Warn("idle sweep failed; trying again in a minute", slog.Any("error", err))
			} else if n > 0 {
				a.Log.Debug("idle sweep", slog.Int("conversations", n))
			}
		}
	}()
	return func() { cancel(); <-done }
}
