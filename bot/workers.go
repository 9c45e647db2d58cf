package bot

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Defaults for Workers.
const (
	DefaultWorkers       = 8
	DefaultSweepInterval = 5 * time.Second
	DefaultSweepAge      = 10 * time.Second
	DefaultBatchChats    = 32
)

// Workers process chats in the background: one chat at a time per chat (so
// its events stay in order), different chats in parallel on N goroutines.
// The webhook calls Notify after Accept; a periodic sweep picks up anything
// a notification missed (events accepted by another replica whose worker
// died, a database error mid-chat) and refreshes the backlog gauge.
type Workers struct {
	p *Processor
	n int

	// SweepInterval is how often pending work is looked for in the
	// database; SweepAge is how old it must be (younger work belongs to
	// the worker that was notified of it).
	SweepInterval time.Duration
	SweepAge      time.Duration
	// BatchChats is how many queued chats a worker takes at once (see
	// Processor). Under load this cuts database round trips and commits
	// per event; when the queue is short, batches are short.
	BatchChats int

	mu       sync.Mutex
	cond     *sync.Cond
	queue    []string
	state    map[string]chatState
	started  bool
	stopping bool

	wg         sync.WaitGroup
	workCtx    context.Context
	cancelWork context.CancelFunc
	stopSweep  chan struct{}
}

type chatState int

const (
	chatQueued  chatState = iota + 1 // waiting in the queue
	chatRunning                      // a worker is on it
	chatDirty                        // running, and notified again meanwhile
)

// NewWorkers returns n workers (DefaultWorkers when n <= 0) for p.
func NewWorkers(p *Processor, n int) *Workers {
	if n <= 0 {
		n = DefaultWorkers
	}
	w := &Workers{
		p: p, n: n,
		SweepInterval: DefaultSweepInterval,
		SweepAge:      DefaultSweepAge,
		BatchChats:    DefaultBatchChats,
		state:         map[string]chatState{},
		stopSweep:     make(chan struct{}),
	}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// Start recovers what a previous run left (pending inbox events, undelivered
// outbox rows) and starts the workers and the sweep. Work runs on its own
// context, so in-flight turns finish even while the caller shuts down; stop
// with Shutdown.
func (w *Workers) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return nil
	}
	w.started = true
	w.workCtx, w.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	w.mu.Unlock()

	for range w.n {
		w.wg.Go(w.run)
	}
	w.wg.Go(w.sweepLoop)
	if w.p.Profiles != nil {
		w.wg.Go(func() { w.p.refreshProfiles(w.workCtx, w.stopSweep) })
	}
	return w.Recover(ctx)
}

// Recover queues every chat with pending inbox events or undelivered outbox
// rows, whatever their age.
func (w *Workers) Recover(ctx context.Context) error {
	return w.sweep(ctx, w.p.Now().Add(time.Hour))
}

func (w *Workers) sweep(ctx context.Context, before time.Time) error {
	const batch = 1000
	chats, err := w.p.store.PendingChats(ctx, before, batch)
	if err != nil {
		return err
	}
	w.Notify(chats...)
	if n, err := w.p.store.Backlog(ctx); err == nil {
		w.p.Metrics.InboxBacklog.Set(float64(n))
	}
	return nil
}

func (w *Workers) sweepLoop() {
	if w.SweepInterval <= 0 {
		return
	}
	t := time.NewTicker(w.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stopSweep:
			return
		case <-t.C:
			if err := w.sweep(w.workCtx, w.p.Now().Add(-w.SweepAge)); err != nil {
				w.p.Logger.Warn("inbox sweep failed", slog.Any("error", err))
			}
		}
	}
}

// Notify queues chats (user ids of one-to-one chats, group or room ids) to
// be processed. A chat already queued is not queued twice; a chat being
// processed is processed again afterwards. After Shutdown it does nothing
// (the events stay in the inbox for the next start).
func (w *Workers) Notify(chatIDs ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		return
	}
	for _, id := range chatIDs {
		switch w.state[id] {
		case chatQueued, chatDirty:
		case chatRunning:
			w.state[id] = chatDirty
		default:
			w.state[id] = chatQueued
			w.queue = append(w.queue, id)
			w.cond.Signal()
		}
	}
}

// Submit accepts events into the inbox and queues their chats: how what
// staff do (StaffMessage, HandBack) joins the pipeline, in order with the
// user's events. It returns once the events are committed.
func (w *Workers) Submit(ctx context.Context, events ...Event) error {
	if _, err := w.p.store.Accept(ctx, events); err != nil {
		return err
	}
	w.NotifyEvents(events)
	return nil
}

// NotifyEvents queues the chats of events.
func (w *Workers) NotifyEvents(events []Event) {
	ids := make([]string, 0, len(events))
	for _, ev := range events {
		ids = append(ids, ev.ChatID)
	}
	w.Notify(ids...)
}

// next takes up to limit queued chats, waiting for one.
func (w *Workers) next(limit int) ([]string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) == 0 && !w.stopping {
		w.cond.Wait()
	}
	if w.stopping {
		return nil, false
	}
	n := min(max(1, limit), len(w.queue))
	ids := append([]string(nil), w.queue[:n]...)
	w.queue = w.queue[n:]
	for _, id := range ids {
		w.state[id] = chatRunning
	}
	return ids, true
}

// finish ends the work on chats; those notified meanwhile, and those in
// again, are queued once more.
func (w *Workers) finish(ids []string, again []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range again {
		if w.state[id] == chatRunning {
			w.state[id] = chatDirty
		}
	}
	for _, id := range ids {
		if w.state[id] == chatDirty && !w.stopping {
			w.state[id] = chatQueued
			w.queue = append(w.queue, id)
			w.cond.Signal()
			continue
		}
		delete(w.state, id)
	}
}

func (w *Workers) run() {
	for {
		ids, ok := w.next(w.BatchChats)
		if !ok {
			return
		}
		b, err := w.p.process(w.workCtx, ids, false)
		if err != nil {
			// The events stay pending; the sweep retries the chats.
			w.p.Logger.Error("processing chats failed", slog.Any("error", err))
		}
		// The batch's other chats are released first: a busy chat waits
		// for another process's lock.
		w.finish(slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(b.busy, id) }), b.again)
		for _, id := range b.busy {
			one, err := w.p.process(w.workCtx, []string{id}, true)
			if err != nil {
				w.p.Logger.Error("processing chat failed", slog.Any("error", err))
			}
			w.finish([]string{id}, one.again)
		}
	}
}

// Shutdown stops taking work, lets each worker finish the event it is on
// (turn and delivery) and waits for them, or for ctx to end (then in-flight
// work is cancelled). Events not started stay pending in the inbox and are
// processed after the next Start.
func (w *Workers) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	if w.stopping || !w.started {
		w.stopping = true
		w.mu.Unlock()
		return nil
	}
	w.stopping = true
	w.cond.Broadcast()
	close(w.stopSweep)
	w.mu.Unlock()

	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		w.cancelWork()
		return nil
	case <-ctx.Done():
		w.cancelWork()
		<-done
		return ctx.Err()
	}
}
