package loadgen

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted on purpose
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p0 is min", ms(5, 1, 3), 0, time.Millisecond},
		{"p100 is max", ms(5, 1, 3), 100, 5 * time.Millisecond},
		{"median odd", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median even takes lower rank", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99.9 of 100 is max", ms(hundred...), 99.9, 100 * time.Millisecond},
		{"p1 of 100", ms(hundred...), 1, time.Millisecond},
		{"p25 of 10", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 25, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.samples, tc.p); got != tc.want {
				t.Fatalf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 1000; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	got := Summarize(s)
	want := Latency{N: 1000, P50: 500 * time.Microsecond, P90: 900 * time.Microsecond, P99: 990 * time.Microsecond, Max: time.Millisecond}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
}

func TestSignOfficialVector(t *testing.T) {
	// From LINE's signature verification documentation.
	body := []byte(`{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}`)
	const secret = "8c570fa6dd201bb328f1c1eac23a96d8"
	if got, want := Sign(secret, body), "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

// TestBodyParsesWithSDK checks that generated requests are what LINE sends:
// the SDK verifies the signature and parses every event into its type.
func TestBodyParsesWithSDK(t *testing.T) {
	const secret = "bench-secret"
	g := NewGenerator(3, 20, 5, Mix{Postback: 0.3, Sticker: 0.2})
	kinds := map[string]int{}
	for i := range 200 {
		events := g.Batch(time.Now())
		if len(events) < 1 || len(events) > 5 {
			t.Fatalf("batch of %d events", len(events))
		}
		redelivery := i%2 == 1
		body := Body(events, redelivery)
		req := httptest.NewRequest(http.MethodPost, "/callback", bytes.NewReader(body))
		req.Header.Set("X-Line-Signature", Sign(secret, body))
		cb, err := webhook.ParseRequest(secret, req)
		if err != nil {
			t.Fatalf("SDK ParseRequest: %v\n%s", err, body)
		}
		if len(cb.Events) != len(events) {
			t.Fatalf("SDK parsed %d events, want %d", len(cb.Events), len(events))
		}
		for j, e := range cb.Events {
			ev := events[j]
			kinds[ev.Kind]++
			switch e := e.(type) {
			case webhook.MessageEvent:
				if e.ReplyToken != ev.Token || e.WebhookEventId != ev.ID || e.DeliveryContext.IsRedelivery != redelivery {
					t.Fatalf("event %d: token %q id %q redelivery %v, want %q %q %v", j, e.ReplyToken, e.WebhookEventId, e.DeliveryContext.IsRedelivery, ev.Token, ev.ID, redelivery)
				}
				src, ok := e.Source.(webhook.UserSource)
				if !ok || src.UserId != ev.User || len(src.UserId) != 33 {
					t.Fatalf("event %d: source %#v, want user %s", j, e.Source, ev.User)
				}
				switch m := e.Message.(type) {
				case webhook.TextMessageContent:
					if ev.Kind != KindText || m.Text != ev.Text {
						t.Fatalf("event %d: text %q, want %s %q", j, m.Text, ev.Kind, ev.Text)
					}
				case webhook.StickerMessageContent:
					if ev.Kind != KindSticker {
						t.Fatalf("event %d: sticker, want %s", j, ev.Kind)
					}
				default:
					t.Fatalf("event %d: message %T", j, e.Message)
				}
			case webhook.PostbackEvent:
				if ev.Kind != KindPostback || e.Postback.Data != ev.Text || e.ReplyToken != ev.Token {
					t.Fatalf("event %d: postback %q, want %s %q", j, e.Postback.Data, ev.Kind, ev.Text)
				}
			default:
				t.Fatalf("event %d: %T", j, e)
			}
		}
		// A body changed after signing must fail verification.
		bad := bytes.Replace(body, []byte(`"events"`), []byte(`"events" `), 1)
		req = httptest.NewRequest(http.MethodPost, "/callback", bytes.NewReader(bad))
		req.Header.Set("X-Line-Signature", Sign(secret, body))
		if _, err := webhook.ParseRequest(secret, req); err != webhook.ErrInvalidSignature {
			t.Fatalf("tampered body: err %v, want ErrInvalidSignature", err)
		}
	}
	for _, k := range []string{KindText, KindSticker, KindPostback} {
		if kinds[k] == 0 {
			t.Errorf("no %s events in 200 batches", k)
		}
	}
}

func TestGeneratorUniqueIDs(t *testing.T) {
	g := NewGenerator(1, 5, 5, Mix{})
	ids, tokens := map[string]bool{}, map[string]bool{}
	for range 2000 {
		for _, ev := range g.Batch(time.Now()) {
			if ids[ev.ID] || tokens[ev.Token] {
				t.Fatalf("repeated id %s or token %s", ev.ID, ev.Token)
			}
			ids[ev.ID], tokens[ev.Token] = true, true
		}
	}
	if len(g.Users()) != 5 {
		t.Fatalf("%d users, want 5", len(g.Users()))
	}
}

func TestTracker(t *testing.T) {
	ev := func(id, user, kind string) Event { return Event{ID: id, User: user, Token: "tok-" + id, Kind: kind} }
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tr := NewTracker()
	tr.Expect = func(kind string) bool { return kind != KindPostback }
	a1, a2, a3 := ev("a1", "Ua", KindText), ev("a2", "Ua", KindText), ev("a3", "Ua", KindSticker)
	b1, b2 := ev("b1", "Ub", KindText), ev("b2", "Ub", KindPostback)
	c1 := ev("c1", "Uc", KindText)
	tr.Sent([]Event{a1, b1, a2}, t0)
	tr.Sent([]Event{a3, b2, c1}, at(1))
	if got := tr.Outstanding(); got != 5 {
		t.Fatalf("outstanding %d, want 5 (the postback expects nothing)", got)
	}
	tr.Acked([]Event{a1, b1, a2})
	tr.Acked([]Event{a3, b2}) // c1 never acknowledged
	tr.Replied("tok-a1", at(10))
	tr.Replied("tok-a1", at(11))      // duplicate answer
	tr.Pushed("Ua", at(20))           // fallback push: answers a2, the oldest unanswered
	tr.Replied("tok-a3", at(30))      // a3 by its token
	tr.Pushed("Ua", at(40))           // nothing of Ua left: a stray duplicate
	tr.Replied("tok-unknown", at(41)) // matches nothing
	tr.Replied("tok-b2", at(50))      // answered though not expected: fine
	c, lat, last := tr.Tally()
	want := Counts{Sent: 6, Acked: 5, Expected: 4, Replied: 4, Lost: 1, Dup: 3, Unacked: 1}
	if c != want {
		t.Fatalf("Tally = %+v, want %+v", c, want)
	}
	if got := Summarize(lat); got.N != 4 || got.Max != 49*time.Millisecond || got.P50 != 20*time.Millisecond {
		t.Fatalf("latencies %+v", got)
	}
	if !last.Equal(at(50)) {
		t.Fatalf("last answer %v, want %v", last, at(50))
	}
	if got := tr.Outstanding(); got != 2 {
		t.Fatalf("outstanding %d, want 2 (b1, c1)", got)
	}
}

func TestSinkTaps(t *testing.T) {
	tr := NewTracker()
	tr.Sent([]Event{{ID: "e1", User: "U1", Token: "t1", Kind: KindText}, {ID: "e2", User: "U2", Token: "t2", Kind: KindText}}, time.Now())
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "bad") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{}`)) // implicit 200
	})
	h := Sink(backend, tr)
	for _, c := range []struct{ path, body, auth string }{
		{"/v2/bot/message/reply", `{"replyToken":"t1","messages":[]}`, "Bearer ok"},
		{"/v2/bot/message/push", `{"to":"U2","messages":[]}`, "Bearer bad"}, // refused: not an answer
		{"/v2/bot/chat/loading/start", `{"chatId":"U2"}`, "Bearer ok"},
	} {
		req := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", c.auth)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	c, _, _ := tr.Tally()
	if c.Replied != 1 || c.Dup != 0 {
		t.Fatalf("replied %d dup %d, want 1 0", c.Replied, c.Dup)
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\ttodoku\nVmPeak:\t 1000 kB\nVmHWM:\t  241234 kB\nVmRSS:\t 200000 kB\n"
	got, err := parseVmHWM(strings.NewReader(status))
	if err != nil || got != 241234 {
		t.Fatalf("parseVmHWM = %d, %v; want 241234", got, err)
	}
	if _, err := parseVmHWM(strings.NewReader("Name:\tx\n")); err == nil {
		t.Fatal("no VmHWM: want an error")
	}
}

// TestTrackerPushPrefersAcked: a push names only the user. An event the
// server never stored (its request failed) must not take the push meant for
// an acknowledged one, even when the push arrives before the ack is seen.
func TestTrackerPushPrefersAcked(t *testing.T) {
	t0 := time.Unix(2000, 0)
	lost := Event{ID: "e1", User: "U", Token: "t1", Kind: KindText}
	kept := Event{ID: "e2", User: "U", Token: "t2", Kind: KindText}
	tr := NewTracker()
	tr.Sent([]Event{lost}, t0)
	tr.Sent([]Event{kept}, t0.Add(time.Millisecond))
	tr.Pushed("U", t0.Add(time.Second)) // before the ack of e2 arrives
	tr.Acked([]Event{kept})
	c, lat, _ := tr.Tally()
	want := Counts{Sent: 2, Acked: 1, Expected: 1, Replied: 1, Lost: 0, Dup: 0, Unacked: 1}
	if c != want {
		t.Fatalf("Tally = %+v, want %+v", c, want)
	}
	if len(lat) != 1 || lat[0] != time.Second-time.Millisecond {
		t.Fatalf("latencies %v", lat)
	}
	// A second push for the same user answers the unacknowledged event
	// (the server may have stored it after all); a third is a duplicate.
	tr.Pushed("U", t0.Add(2*time.Second))
	tr.Pushed("U", t0.Add(3*time.Second))
	if c, _, _ := tr.Tally(); c.Replied != 2 || c.Dup != 1 || c.Lost != 0 {
		t.Fatalf("after three pushes: %+v", c)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses, utime 250 and stime 50 ticks.
	stat := "1234 (todo ku) (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 200"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3.0 {
		t.Fatalf("parseStatCPU = %v, %v; want 3", got, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Fatal("garbage: want an error")
	}
	if self, err := ProcCPU(os.Getpid()); err != nil || self < 0 {
		t.Fatalf("ProcCPU(self) = %v, %v", self, err)
	}
}
