package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/todoku/todoku/bot"
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
// start, then daily (variables so that tests can shorten them).
var (
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

	// First (plus a random part of Jitter) is the wait before the first
	// run; Every the wait between runs. Now is the clock.
	First, Jitter, Every time.Duration
	Now                  func() time.Time
	// purge is db.Purge (tests replace it to hold a run open).
	purge func(ctx context.Context, before time.Time, actor string) (storage.PurgeReport, error)
}

func newRetentionJob(db *storage.DB, days int, log *slog.Logger) *retentionJob {
	return &retentionJob{
		db: db, days: days, log: log,
		First: retentionFirst, Jitter: retentionJitter, Every: retentionEvery,
		Now:   time.Now,
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
	wait := j.First
	if j.Jitter > 0 {
		wait += rand.N(j.Jitter)
	}
	j.log.Info("retention: scheduled", slog.Int("days", j.days), slog.Duration("first_in", wait.Round(time.Second)), slog.Duration("every", j.Every))
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		j.RunOnce(ctx)
		t.Reset(j.Every)
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
	now := j.Now().UTC()
	last, ran, err := j.db.LastPurge(ctx, actorRetention)
	if err != nil {
		j.log.Warn("retention: could not read the audit log", slog.Any("error", err))
		return retentionFailed, storage.PurgeReport{}
	}
	if ran && now.Sub(last) < j.Every*9/10 {
		j.log.Info("retention: already ran recently; skipped", slog.Time("last", last))
		return retentionRecent, storage.PurgeReport{}
	}
	before := now.Add(-time.Duration(j.days) * 24 * time.Hour)
	start := time.Now()
	r, err := j.purge(ctx, before, actorRetention)
	if err != nil {
		j.log.Error("retention: purge failed; trying again at the next run", slog.Any("error", err))
		return retentionFailed, storage.PurgeReport{}
	}
	j.log.Info("retention: purged", slog.Int("days", j.days), slog.Time("before", before),
		slog.Int64("conversations", r.Conversations), slog.Int64("messages", r.Messages),
		slog.Int64("inbox_events", r.InboxEvents), slog.Int64("outbox", r.OutboxRows),
		slog.Int64("sessions", r.Sessions), slog.Int64("users", r.Users),
		slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	return retentionRan, r
}

// startRetention starts the job in the background unless RETENTION_DAYS is
// 0, and returns a function that stops it and waits for a run in progress.
func startRetention(ctx context.Context, cfg *Config, db *storage.DB, log *slog.Logger) (stop func()) {
	if cfg.RetentionDays <= 0 {
		log.Info("retention: off (RETENTION_DAYS=0 keeps everything)")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	job := newRetentionJob(db, cfg.RetentionDays, log)
	go func() {
		defer close(done)
		job.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// wireDeleteOnUnfollow makes an unfollow delete everything stored about the
// user (DELETE_ON_UNFOLLOW), after the turn that closes the conversation,
// with the same audit record as `todoku user delete` (actor "unfollow").
func wireDeleteOnUnfollow(cfg *Config, proc *bot.Processor, db *storage.DB, log *slog.Logger) {
	if !cfg.DeleteOnUnfollow {
		return
	}
	log.Info("DELETE_ON_UNFOLLOW: everything about a user is deleted when they block the account")
	proc.OnUnfollow = func(ctx context.Context, userID string) error {
		_, err := db.ForgetUser(ctx, userID, actorUnfollow)
		return err
	}
}

// limitPool bounds the PostgreSQL connections of one replica, so that
// several replicas stay within the server's max_connections (100 by
// default): a worker holds at most two at once (its chat's advisory lock and
// its turn), and a few more serve webhook accepts (which wait for a free one
// rather than fail), the sweep and the retention job. Nothing holds one
// connection while waiting for another except a worker, so the bound cannot
// deadlock.
func limitPool(db *storage.DB, workers, max int) {
	if db.Dialect() != storage.Postgres {
		return // SQLite: one connection already
	}
	if sqlDB, err := db.Gorm().DB(); err == nil {
		if max == 0 {
			max = poolSize(workers)
		}
		sqlDB.SetMaxOpenConns(max)
	}
}

// poolSize is the connection bound for a replica with this many workers.
func poolSize(workers int) int { return 2*workers + 8 }
