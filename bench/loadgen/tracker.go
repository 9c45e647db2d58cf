package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// Tracker knows every event sent and every delivery the fake accepted, and
// matches them: a reply by its token; a push (which names only the user) to
// one of the user's unanswered events, acknowledged ones first, in the order
// they were sent (the service answers one user's events in order). Pushes
// are bound as they arrive, to drive the window and the drain, and bound
// again from scratch by Tally once everything is known, so an event the
// server never stored cannot take the push of one it did. It is safe for
// concurrent use.
type Tracker struct {
	// Expect reports whether an event of this kind must get an answer
	// (nil: every kind). The SDK's echo bot answers texts and stickers only.
	Expect func(kind string) bool

	mu          sync.Mutex
	byToken     map[string]*tracked
	byUser      map[string]*userQueue
	order       []*tracked
	outstanding int // expected events sent and not answered yet (live binding)
	missing     int // expected events acked and not answered yet (live binding)
	strayReply  int // replies with a token of no event sent
	changed     chan struct{}
}

type tracked struct {
	ev      Event
	expect  bool
	sent    time.Time
	acked   bool
	replies []time.Time // accepted replies with the event's token
	live    bool        // answered, by the live binding
}

type userQueue struct {
	events []*tracked  // expected events, in send order
	pushes []time.Time // accepted pushes, in arrival order
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{byToken: map[string]*tracked{}, byUser: map[string]*userQueue{}, changed: make(chan struct{})}
}

func (t *Tracker) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// Sent records events about to be sent for the first time.
func (t *Tracker) Sent(events []Event, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range events {
		tr := &tracked{ev: ev, sent: at, expect: t.Expect == nil || t.Expect(ev.Kind)}
		t.byToken[ev.Token] = tr
		t.order = append(t.order, tr)
		if tr.expect {
			t.queue(ev.User).events = append(t.queue(ev.User).events, tr)
			t.outstanding++
		}
	}
}

func (t *Tracker) queue(user string) *userQueue {
	q := t.byUser[user]
	if q == nil {
		q = &userQueue{}
		t.byUser[user] = q
	}
	return q
}

// Acked records that a request carrying events was answered 2xx.
func (t *Tracker) Acked(events []Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range events {
		if tr := t.byToken[ev.Token]; tr != nil && !tr.acked {
			tr.acked = true
			if tr.expect && !tr.live {
				t.missing++
			}
		}
	}
}

// Replied records an accepted reply with token.
func (t *Tracker) Replied(token string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.byToken[token]
	if tr == nil {
		t.strayReply++
		return
	}
	tr.replies = append(tr.replies, at)
	t.settle(tr)
}

// Pushed records an accepted push to user.
func (t *Tracker) Pushed(user string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.queue(user)
	q.pushes = append(q.pushes, at)
	var pick *tracked
	for _, tr := range q.events {
		if tr.live {
			continue
		}
		if tr.acked {
			pick = tr
			break
		}
		if pick == nil {
			pick = tr
		}
	}
	if pick != nil {
		t.settle(pick)
	}
}

// settle marks tr answered in the live binding.
func (t *Tracker) settle(tr *tracked) {
	if tr.live {
		return
	}
	tr.live = true
	if tr.expect {
		t.outstanding--
		if tr.acked {
			t.missing--
		}
	}
	t.signal()
}

// Outstanding returns the number of expected events sent and not answered.
func (t *Tracker) Outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outstanding
}

// WaitOutstanding blocks until at most max expected events are unanswered,
// or ctx ends (then it returns false).
func (t *Tracker) WaitOutstanding(ctx context.Context, max int) bool {
	for {
		t.mu.Lock()
		n, ch := t.outstanding, t.changed
		t.mu.Unlock()
		if n <= max {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// WaitAcked blocks until every acknowledged expected event is answered, or
// ctx ends; it reports whether all were.
func (t *Tracker) WaitAcked(ctx context.Context) bool {
	for {
		t.mu.Lock()
		missing, ch := t.missing, t.changed
		t.mu.Unlock()
		if missing == 0 {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Second):
			// The live binding may have given a push to an event the
			// server never stored; the full binding knows better.
			if c, _, _ := t.Tally(); c.Lost == 0 {
				return true
			}
		}
	}
}

// Counts is the tracker's tally.
type Counts struct {
	Sent     int `json:"sent"`     // distinct events sent
	Acked    int `json:"acked"`    // events in a request answered 2xx at least once
	Expected int `json:"expected"` // acked events that must get an answer
	Replied  int `json:"replied"`  // events answered at least once
	Lost     int `json:"lost"`     // acked, expected, never answered
	Dup      int `json:"dup"`      // answers beyond the first, plus answers that matched no event
	Unacked  int `json:"unacked"`  // never acknowledged (the generator gave up re-sending)
}

// Tally counts the events and returns the reply latencies (first answer
// minus first send) and the time of the last first answer. Pushes are bound
// anew: per user, in arrival order, to the events no reply answered,
// acknowledged events first, each in send order; pushes left over are
// duplicates.
func (t *Tracker) Tally() (Counts, []time.Duration, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := make(map[*tracked]time.Time, len(t.order))
	answers := make(map[*tracked]int, len(t.order))
	dup := t.strayReply
	for _, tr := range t.order {
		if len(tr.replies) > 0 {
			first[tr] = tr.replies[0]
			answers[tr] = len(tr.replies)
		}
	}
	for _, q := range t.byUser {
		var open []*tracked
		for _, pass := range []bool{true, false} { // acked first
			for _, tr := range q.events {
				if tr.acked == pass && len(tr.replies) == 0 {
					open = append(open, tr)
				}
			}
		}
		for i, at := range q.pushes {
			if i >= len(open) {
				dup++
				continue
			}
			first[open[i]] = at
			answers[open[i]]++
		}
	}
	var c Counts
	var last time.Time
	lat := make([]time.Duration, 0, len(t.order))
	for _, tr := range t.order {
		c.Sent++
		if tr.acked {
			c.Acked++
		} else {
			c.Unacked++
		}
		if n := answers[tr]; n > 0 {
			c.Replied++
			c.Dup += n - 1
			lat = append(lat, first[tr].Sub(tr.sent))
			if first[tr].After(last) {
				last = first[tr]
			}
		}
		if tr.expect && tr.acked {
			c.Expected++
			if answers[tr] == 0 {
				c.Lost++
			}
		}
	}
	c.Dup += dup
	return c, lat, last
}

// Sink is the fake Messaging API with a tap: it serves next and tells the
// tracker about every reply and push the fake accepted.
func Sink(next http.Handler, t *Tracker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status/100 != 2 || r.Method != http.MethodPost {
			return
		}
		now := time.Now()
		var b struct {
			ReplyToken string `json:"replyToken"`
			To         string `json:"to"`
		}
		switch r.URL.Path {
		case "/v2/bot/message/reply":
			if json.Unmarshal(body, &b) == nil {
				t.Replied(b.ReplyToken, now)
			}
		case "/v2/bot/message/push":
			if json.Unmarshal(body, &b) == nil {
				t.Pushed(b.To, now)
			}
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
