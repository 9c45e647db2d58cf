// Package loadgen generates LINE webhook load: correctly signed requests of
// 1 to 5 events from many users (Japanese texts, stickers, postbacks), sent
// at a fixed rate or as fast as a window of unanswered events allows, with
// redelivered duplicates and LINE-style redelivery of unacknowledged
// requests. A Tracker, fed by a Sink in front of the fake Messaging API,
// matches every reply and push to the event it answers, so a run reports
// throughput, ack and reply latency, lost events and duplicate replies.
package loadgen

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Sign returns the X-Line-Signature of body: base64(HMAC-SHA256(secret, body)).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Kinds of generated events.
const (
	KindText     = "text"
	KindSticker  = "sticker"
	KindPostback = "postback"
)

// Mix sets the share of each kind of event; the rest are texts.
type Mix struct {
	Postback float64 // e.g. 0.2
	Sticker  float64 // e.g. 0.05
}

// Event is one generated webhook event.
type Event struct {
	ID        string // webhookEventId
	User      string
	Token     string // reply token
	Kind      string
	Text      string // text, or postback data
	Timestamp int64  // ms
}

// Destination is the bot user id put into every request.
const Destination = "U0000000000000000000000000000b0b0"

// Generator makes events. It is not safe for concurrent use.
type Generator struct {
	rng      *rand.Rand
	users    []string
	mix      Mix
	maxBatch int
	seq      uint64
	prefix   string
}

// NewGenerator returns a generator over n users (ids derived from seed), with
// batches of 1 to maxBatch events.
func NewGenerator(seed uint64, users, maxBatch int, mix Mix) *Generator {
	if users < 1 {
		users = 1
	}
	if maxBatch < 1 {
		maxBatch = 1
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{rng: rng, mix: mix, maxBatch: maxBatch}
	for i := range users {
		g.users = append(g.users, fmt.Sprintf("U%08x%024x", uint32(seed), i))
	}
	// Ids are unique across runs of the same seed too (a run's database may
	// be reused): the prefix carries the start time.
	g.prefix = fmt.Sprintf("%011x", time.Now().UnixMilli())
	return g
}

// Users returns the generator's user ids.
func (g *Generator) Users() []string { return g.users }

// Batch returns the events of one request: 1 to maxBatch events, each from a
// random user, with timestamps now.
func (g *Generator) Batch(now time.Time) []Event {
	n := 1 + g.rng.IntN(g.maxBatch)
	out := make([]Event, n)
	for i := range out {
		out[i] = g.event(now)
	}
	return out
}

func (g *Generator) event(now time.Time) Event {
	g.seq++
	ev := Event{
		ID:        fmt.Sprintf("01%s%013X", g.prefix, g.seq),
		User:      g.users[g.rng.IntN(len(g.users))],
		Token:     fmt.Sprintf("rt%s%014x%016x", g.prefix, g.seq, g.rng.Uint64()),
		Timestamp: now.UnixMilli(),
	}
	switch r := g.rng.Float64(); {
	case r < g.mix.Postback:
		ev.Kind, ev.Text = KindPostback, Postbacks[g.rng.IntN(len(Postbacks))]
	case r < g.mix.Postback+g.mix.Sticker:
		ev.Kind = KindSticker
	default:
		ev.Kind, ev.Text = KindText, Texts[g.rng.IntN(len(Texts))]
	}
	return ev
}

// Body renders events as a webhook request body. redelivery sets
// deliveryContext.isRedelivery on every event, as LINE does when it sends a
// request again.
func Body(events []Event, redelivery bool) []byte {
	type source struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	}
	type message struct {
		Type                string   `json:"type"`
		ID                  string   `json:"id"`
		QuoteToken          string   `json:"quoteToken,omitempty"`
		Text                string   `json:"text,omitempty"`
		PackageID           string   `json:"packageId,omitempty"`
		StickerID           string   `json:"stickerId,omitempty"`
		StickerResourceType string   `json:"stickerResourceType,omitempty"`
		Keywords            []string `json:"keywords,omitempty"`
	}
	type postback struct {
		Data string `json:"data"`
	}
	type event struct {
		Type            string          `json:"type"`
		Message         *message        `json:"message,omitempty"`
		Postback        *postback       `json:"postback,omitempty"`
		WebhookEventID  string          `json:"webhookEventId"`
		DeliveryContext map[string]bool `json:"deliveryContext"`
		Timestamp       int64           `json:"timestamp"`
		Source          source          `json:"source"`
		ReplyToken      string          `json:"replyToken"`
		Mode            string          `json:"mode"`
	}
	body := struct {
		Destination string  `json:"destination"`
		Events      []event `json:"events"`
	}{Destination: Destination, Events: make([]event, len(events))}
	for i, ev := range events {
		e := event{
			Type: "message", WebhookEventID: ev.ID, DeliveryContext: map[string]bool{"isRedelivery": redelivery},
			Timestamp: ev.Timestamp, Source: source{Type: "user", UserID: ev.User}, ReplyToken: ev.Token, Mode: "active",
		}
		msgID := fmt.Sprint(500000000000000 + ev.Timestamp%1000000*1000 + int64(i))
		switch ev.Kind {
		case KindPostback:
			e.Type = "postback"
			e.Postback = &postback{Data: ev.Text}
		case KindSticker:
			e.Message = &message{Type: "sticker", ID: msgID, QuoteToken: "q" + ev.ID, PackageID: "446", StickerID: "1988",
				StickerResourceType: "STATIC", Keywords: []string{"OK"}}
		default:
			e.Message = &message{Type: "text", ID: msgID, QuoteToken: "q" + ev.ID, Text: ev.Text}
		}
		body.Events[i] = e
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // plain structs of strings: cannot fail
	}
	return b
}
