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
// matches them: a reply by its token, a push to the user's oldest
// unanswered event (the service answers one user's events in order). It is
// safe for concurrent use.
type Tracker struct {
	// Expect reports whether an event of this kind must get an answer
	// (nil: every kind). The SDK's echo bot answers texts and stickers only.
	Expect func(kind string) bool

	mu          sync.Mutex
	byToken     map[string]*tracked
	byUser      map[string]*userQueue
	order       []*tracked
	outstanding int // expected events sent and not answered yet
	missing     int // expected events acked and not answered yet
	stray       int // deliveries that matched no event
	lastAnswer  time.Time
	changed     chan struct{}
}

type tracked struct {
	ev      Event
	expect  bool
	sent    time.Time
	acked   bool
	answers int
	first   time.Time
}

type userQueue struct {
	events []*tracked
	next   int // events before next are answered
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
			q := t.byUser[ev.User]
			if q == nil {
				q = &userQueue{}
				t.byUser[ev.User] = q
			}
			q.events = append(q.events, tr)
			t.outstanding++
		}
	}
}

// Acked records that a request carrying events was answered 2xx.
func (t *Tracker) Acked(events []Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range events {
		if tr := t.byToken[ev.Token]; tr != nil && !tr.acked {
			tr.acked = true
			if tr.expect && tr.answers == 0 {
				t.missing++
			}
		}
	}
}

// Replied records an accepted reply with token.
func (t *Tracker) Replied(token string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.answer(t.byToken[token], at)
}

// Pushed records an accepted push to user.
func (t *Tracker) Pushed(user string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var tr *tracked
	if q := t.byUser[user]; q != nil {
		for q.next < len(q.events) && q.events[q.next].answers > 0 {
			q.next++
		}
		if q.next < len(q.events) {
			tr = q.events[q.next]
		}
	}
	t.answer(tr, at)
}

func (t *Tracker) answer(tr *tracked, at time.Time) {
	if tr == nil {
		t.stray++
		return
	}
	tr.answers++
	if tr.answers == 1 {
		tr.first = at
		if tr.expect {
			t.outstanding--
			if tr.acked {
				t.missing--
			}
		}
		if at.After(t.lastAnswer) {
			t.lastAnswer = at
		}
		t.signal()
	}
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
// minus first send) and the time of the last first answer.
func (t *Tracker) Tally() (Counts, []time.Duration, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var c Counts
	lat := make([]time.Duration, 0, len(t.order))
	for _, tr := range t.order {
		c.Sent++
		if tr.acked {
			c.Acked++
		} else {
			c.Unacked++
		}
		if tr.answers > 0 {
			c.Replied++
			c.Dup += tr.answers - 1
			lat = append(lat, tr.first.Sub(tr.sent))
		}
		if tr.expect && tr.acked {
			c.Expected++
			if tr.answers == 0 {
				c.Lost++
			}
		}
	}
	c.Dup += t.stray
	return c, lat, t.lastAnswer
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
