package app

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/todoku/todoku/storage"
)

// Actors written to the audit log by the service itself.
const (
	actorRetention = "retention"
	actorUnfollow  = "unfollow"
)

// retentionLock names the cluster-wide lock of the retention job.
const retentionLock = "retention"

// The retention schedule of `serve`: the first run a minute or two after
// start, then daily.
const (
	retentionFirst  = time.Minute
	retentionJitter = time.Minute
	retentionEvery  = 24 * time.Hour
)

// retentionJob deletes data older than RETENTION_DAYS once a day, in one
// replica at a time: each run takes a non-blocking cluster-wide lock
// (storage.DB.TryLockJob: a Postgres advisory lock; a process mutex on
// SQLite) and skips when another replica holds it, or when the audit log
// shows a retention purge less than 90% of an interval ago (another replica
// ran today). It logs counts only.
type retentionJob struct {
	db   *storage.DB
	days int
	log  *slog.Logger

	// first (plus a random part of jitter) is the wait before the first
	// run; every the wait between runs, on clock.
	first, jitter, every time.Duration
	clock                clockwork.Clock
	// purge is db.Purge (tests replace it to hold a run open).
	purge func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error)
}

func newRetentionJob(db *storage.DB, days int, log *slog.Logger, clock clockwork.Clock) *retentionJob {
	return &retentionJob{
		db: db, days: days, log: log,
		first: retentionFirst, jitter: retentionJitter, every: retentionEvery,
		clock: clock,
		purge: db.Purge,
	}
}

// retentionOutcome is what one attempt did.
type retentionOutcome int

const (
	retentionRan    retentionOutcome = iota + 1
	retentionLocked                  // another replica was running it
	retentionRecent                  // another replica ran it less than an interval ago
	retentionOff                     // RETENTION_DAYS is 0
	retentionFailed                  // the database failed
)

// Run runs the job on its schedule until ctx ends.
func (j *retentionJob) Run(ctx context.Context) {
	if j.days <= 0 {
		return
	}
	wait := j.first
	if j.jitter > 0 {
		wait += rand.N(j.jitter)
	}
	j.log.Info("retention: scheduled", slog.Int("days", j.days), slog.Duration("first_in", wait.Round(time.Second)), slog.Duration("every", j.every))
	t := j.clock.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		j.RunOnce(ctx)
		t.Reset(j.every)
	}
}

// RunOnce purges once if this replica gets the lock and no replica purged
// recently, and reports what happened.
func (j *retentionJob) RunOnce(ctx context.Context) (retentionOutcome, storage.PurgeReport) {
	if j.days <= 0 {
		return retentionOff, storage.PurgeReport{}
	}
	unlock, ok, err := j.db.TryLockJob(ctx, retentionLock)
	if err != nil {
		j.log.Warn("retention: could not take the job lock; trying again at the next run", slog.Any("error", err))
		return retentionFailed, storage.PurgeReport{}
	}
	if !ok {
		j.log.Info("retention: another replica is running it; skipped")
		return retentionLocked, storage.PurgeReport{}
	}
	defer unlock()
	now := j.clock.Now().UTC()
	last, ran, err := j.db.LastPurge(ctx, actorRetention)
	if err != nil {
		j.log.Warn("retention: could not read the audit log", slog.Any("error", err))
		return retentionFailed, storage.PurgeReport{}
	}
	if ran && now.Sub(last) < j.every*9/10 {
		j.log.Info("retention: already ran recently; skipped", slog.Time("last", last))
		return retentionRecent, storage.PurgeReport{}
	}
	before := now.Add(-time.Duration(j.days) * 24 * time.Hour)
	start := j.clock.Now()
	r, err := j.purge(ctx, before, actorRetention)
	if err != nil {
		j.log.Error("retention: purge failed; trying again at the next run", slog.Any("error", err))
		return retentionFailed, storage.PurgeReport{}
	}
	if err := j.db.Reclaim(ctx); err != nil {
		j.log.Warn("retention: the rows are deleted, but reclaiming their space failed", slog.Any("error", err))
	}
	j.log.Info("retention: purged", slog.Int("days", j.days), slog.Time("before", before),
		slog.Int64("conversations", r.Conversations), slog.Int64("messages", r.Messages),
		slog.Int64("inbox_events", r.InboxEvents), slog.Int64("outbox", r.OutboxRows),
		slog.Int64("sessions", r.Sessions), slog.Int64("users", r.Users),
		slog.Duration("took", j.clock.Since(start).Round(time.Millisecond)))
	return retentionRan, r
}

// startRetention starts the job in the background unless RETENTION_DAYS is
// 0, and returns a function that stops it and waits for a run in progress.
func (a *App) startRetention(ctx context.Context) (stop func()) {
	if a.retention == nil {
		a.Log.Info("retention: off (RETENTION_DAYS=0 keeps everything)")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.retention.Run(ctx)
	}()
	return func() { cancel(); <-done }
}
