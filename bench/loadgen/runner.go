package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Config describes one load run. URL and Secret are required; the run stops
// sending at Events events or after Duration, whichever comes first (at
// least one of them must be set).
type Config struct {
	URL    string // webhook URL, e.g. http://127.0.0.1:8080/callback
	Secret string // channel secret for X-Line-Signature

	// Rate is the target in events per second; 0 sends as fast as Window allows.
	Rate float64
	// Window caps the expected events sent and not yet answered (a closed
	// loop: like Window users each waiting for the answer before writing
	// again). 0 means no cap (with Rate > 0).
	Window int
	// Concurrency caps requests in flight (default 256).
	Concurrency int

	Events   int
	Duration time.Duration

	Users    int // default 1000
	MaxBatch int // events per request: 1..MaxBatch (default 5)
	Mix      Mix
	Seed     uint64

	// Duplicates is the share of acknowledged requests sent once more as a
	// redelivery (same events, isRedelivery=true).
	Duplicates float64
	// Redeliver re-sends requests answered non-2xx or not at all, with
	// isRedelivery=true and backoff, as LINE does when redelivery is on,
	// for up to RedeliverFor after the first attempt (default 2 minutes).
	Redeliver    bool
	RedeliverFor time.Duration

	// Drain is how long to wait after the last send for the answers to
	// acknowledged events (default 30 s).
	Drain time.Duration
	// Timeout is the HTTP timeout of one webhook request (default 5 s;
	// LINE gives up after about 2 s).
	Timeout time.Duration

	Tracker *Tracker // required: fed by a Sink in front of the fake
	Client  *http.Client
	// During, if set, runs while the load is sent (e.g. to inject faults);
	// its context ends when sending ends.
	During func(ctx context.Context, start time.Time)
}

// Stats is what Run measured.
type Stats struct {
	Counts
	Requests     int            `json:"requests"` // HTTP requests sent, all attempts
	AckedReqs    int            `json:"acked_requests"`
	Redelivered  int            `json:"redelivered"`   // re-sends of unacknowledged requests
	DupSent      int            `json:"dup_requests"`  // deliberate redelivered duplicates of acked requests
	Errors       int            `json:"errors"`        // non-2xx answers and transport errors
	ErrorsBy     map[string]int `json:"errors_by"`     // by status or "transport"
	SendSeconds  float64        `json:"send_seconds"`  // first send to last send
	TotalSeconds float64        `json:"total_seconds"` // first send to last first answer
	EventsPerSec float64        `json:"events_per_sec"`
	Ack          Latency        `json:"ack"`
	Reply        Latency        `json:"reply"`
}

func (c *Config) defaults() error {
	if c.URL == "" || c.Secret == "" || c.Tracker == nil {
		return errors.New("loadgen: URL, Secret and Tracker are required")
	}
	if c.Events <= 0 && c.Duration <= 0 {
		return errors.New("loadgen: set Events or Duration to bound the run")
	}
	if c.Rate <= 0 && c.Window <= 0 {
		return errors.New("loadgen: set Rate or Window (as fast as possible needs a window)")
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.Users <= 0 {
		c.Users = 1000
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 5
	}
	if c.RedeliverFor <= 0 {
		c.RedeliverFor = 2 * time.Minute
	}
	if c.Drain <= 0 {
		c.Drain = 30 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Client == nil {
		tr := &http.Transport{
			Proxy:               nil, // loopback only, never through a proxy
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        c.Concurrency,
			MaxIdleConnsPerHost: c.Concurrency,
			IdleConnTimeout:     30 * time.Second,
		}
		c.Client = &http.Client{Transport: tr, Timeout: c.Timeout}
	}
	return nil
}

type runState struct {
	cfg *Config

	mu       sync.Mutex
	acks     []time.Duration
	requests int
	ackedReq int
	redeliv  int
	dupSent  int
	errors   map[string]int
	rng      *rand.Rand
}

// Run sends the load and waits for the answers; ctx cancels it early.
func Run(ctx context.Context, cfg Config) (*Stats, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	st := &runState{cfg: &cfg, errors: map[string]int{}, rng: rand.New(rand.NewPCG(cfg.Seed, 7))}
	gen := NewGenerator(cfg.Seed, cfg.Users, cfg.MaxBatch, cfg.Mix)

	var sendCtx context.Context
	var stopSend context.CancelFunc
	if cfg.Duration > 0 {
		sendCtx, stopSend = context.WithTimeout(ctx, cfg.Duration)
	} else {
		sendCtx, stopSend = context.WithCancel(ctx)
	}
	defer stopSend()

	start := time.Now()
	var during sync.WaitGroup
	if cfg.During != nil {
		during.Go(func() { cfg.During(sendCtx, start) })
	}
	sem := make(chan struct{}, cfg.Concurrency)
	var inflight sync.WaitGroup
	sent := 0
	lastSend := start
	for cfg.Events <= 0 || sent < cfg.Events {
		if sendCtx.Err() != nil {
			break
		}
		batch := gen.Batch(time.Now())
		if cfg.Events > 0 && sent+len(batch) > cfg.Events {
			batch = batch[:cfg.Events-sent]
		}
		if cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(sent) / cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-sendCtx.Done():
				}
			}
		}
		if cfg.Window > 0 && !cfg.Tracker.WaitOutstanding(sendCtx, cfg.Window-len(batch)) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-sendCtx.Done():
		}
		if sendCtx.Err() != nil {
			break
		}
		now := time.Now()
		for i := range batch {
			batch[i].Timestamp = now.UnixMilli()
		}
		cfg.Tracker.Sent(batch, now)
		sent += len(batch)
		lastSend = now
		inflight.Go(func() {
			defer func() { <-sem }()
			st.deliver(ctx, batch)
		})
	}
	stopSend()
	inflight.Wait()
	during.Wait()

	drainCtx, cancel := context.WithTimeout(ctx, cfg.Drain)
	cfg.Tracker.WaitAcked(drainCtx)
	cancel()

	counts, replyLat, last := cfg.Tracker.Tally()
	s := &Stats{
		Counts: counts, Requests: st.requests, AckedReqs: st.ackedReq, Redelivered: st.redeliv, DupSent: st.dupSent,
		ErrorsBy: st.errors, SendSeconds: lastSend.Sub(start).Seconds(),
		Ack: Summarize(st.acks), Reply: Summarize(replyLat),
	}
	for _, n := range st.errors {
		s.Errors += n
	}
	if last.After(start) {
		s.TotalSeconds = last.Sub(start).Seconds()
		s.EventsPerSec = float64(counts.Replied) / s.TotalSeconds
	}
	return s, nil
}

// deliver sends one request; it re-sends it on failure when Redeliver is on,
// and sends a redelivered duplicate of it now and then when asked.
func (st *runState) deliver(ctx context.Context, events []Event) {
	cfg := st.cfg
	first := time.Now()
	redelivery := false
	for attempt := 0; ; attempt++ {
		ok := st.post(ctx, events, redelivery)
		if ok {
			cfg.Tracker.Acked(events)
			break
		}
		if !cfg.Redeliver || ctx.Err() != nil || time.Since(first) > cfg.RedeliverFor {
			return
		}
		d := min(250*time.Millisecond<<min(attempt, 4), 3*time.Second)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
		redelivery = true
		st.mu.Lock()
		st.redeliv++
		st.mu.Unlock()
	}
	st.mu.Lock()
	dup := cfg.Duplicates > 0 && st.rng.Float64() < cfg.Duplicates
	var wait time.Duration
	if dup {
		wait = time.Duration(st.rng.Int64N(int64(300 * time.Millisecond)))
		st.dupSent++
	}
	st.mu.Unlock()
	if dup {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		st.post(ctx, events, true)
	}
}

// post sends one signed request and records its outcome.
func (st *runState) post(ctx context.Context, events []Event, redelivery bool) bool {
	body := Body(events, redelivery)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.cfg.URL, bytes.NewReader(body))
	if err != nil {
		st.fail("request")
		return false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Line-Signature", Sign(st.cfg.Secret, body))
	req.Header.Set("User-Agent", "LineBotWebhook/2.0")
	t0 := time.Now()
	res, err := st.cfg.Client.Do(req)
	if err != nil {
		st.fail("transport")
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	lat := time.Since(t0)
	if res.StatusCode/100 != 2 {
		st.fail(strconv.Itoa(res.StatusCode))
		return false
	}
	st.mu.Lock()
	st.requests++
	st.ackedReq++
	st.acks = append(st.acks, lat)
	st.mu.Unlock()
	return true
}

func (st *runState) fail(kind string) {
	st.mu.Lock()
	st.requests++
	st.errors[kind]++
	st.mu.Unlock()
}

// ErrorsString renders errors by kind, e.g. "503×12 transport×3" ("0" when none).
func (s *Stats) ErrorsString() string {
	if s.Errors == 0 {
		return "0"
	}
	keys := make([]string, 0, len(s.ErrorsBy))
	for k := range s.ErrorsBy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s×%d", k, s.ErrorsBy[k])
	}
	return out
}
