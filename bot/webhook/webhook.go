// Package webhook receives LINE webhook requests on POST /callback: it caps
// the body, checks the signature with the SDK over the raw bytes, converts
// the events (text redacted), commits them to the durable inbox and only then
// answers 200. Processing happens elsewhere: the handler just wakes the
// workers with the chats' ids. It counts requests by status and events by
// type, with the duplicates the inbox skipped.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	sdk "github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/metrics"
)

// Path is where LINE posts webhooks.
const Path = "/callback"

// DefaultMaxBody is the body cap (1 MiB; LINE's bodies are a few KB).
const DefaultMaxBody = 1 << 20

// DefaultAcceptTimeout bounds the inbox commit. LINE waits about 2 s for the
// answer; past that it counts a failure and redelivers anyway.
const DefaultAcceptTimeout = 5 * time.Second

// Config configures a Handler.
type Config struct {
	// ChannelSecret verifies X-Line-Signature. Empty means LINE is not
	// configured: every request is answered 503.
	ChannelSecret string
	// Inbox durably stores the events before the 200 answer.
	Inbox bot.Inbox
	// Notify wakes the workers after the answer (optional; bot.Workers.Notify
	// fits). It gets the chat ids of the batch's events, once each: the user
	// id in a one-to-one chat, the group or room id otherwise. It is called
	// after every successful Accept, duplicates included (waking a worker
	// with nothing pending is cheap; missing a wake-up delays a reply).
	Notify        func(userIDs ...string)
	Logger        *slog.Logger     // default slog.Default()
	Metrics       *metrics.Metrics // default: metrics of its own
	MaxBody       int64            // default 1 MiB
	AcceptTimeout time.Duration    // default 5 s
}

// Handler serves POST /callback. It is an http.Handler; Register mounts it on gin.
type Handler struct {
	secret        string
	inbox         bot.Inbox
	notify        func(...string)
	log           *slog.Logger
	metrics       *metrics.Metrics
	maxBody       int64
	acceptTimeout time.Duration
}

// New builds a handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.AcceptTimeout <= 0 {
		cfg.AcceptTimeout = DefaultAcceptTimeout
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	return &Handler{
		secret: cfg.ChannelSecret, inbox: cfg.Inbox, notify: cfg.Notify,
		log: cfg.Logger, metrics: cfg.Metrics, maxBody: cfg.MaxBody, acceptTimeout: cfg.AcceptTimeout,
	}
}

// Register mounts the handler at /callback for every method: ServeHTTP
// answers any but POST with 405 and Allow: POST.
func (h *Handler) Register(r gin.IRoutes) {
	r.Any(Path, h.Gin)
}

// Gin is the handler as a gin.HandlerFunc.
func (h *Handler) Gin(c *gin.Context) {
	h.ServeHTTP(c.Writer, c.Request)
}

// ServeHTTP handles one webhook request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, http.StatusMethodNotAllowed, "only POST is allowed")
		return
	}
	if h.secret == "" || h.inbox == nil {
		h.fail(w, r, http.StatusServiceUnavailable, "LINE is not configured on this server")
		return
	}
	if r.ContentLength > h.maxBody {
		h.fail(w, r, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		h.fail(w, r, http.StatusBadRequest, "could not read the request body")
		return
	}
	sig := r.Header.Get("X-Line-Signature")
	if sig == "" {
		h.fail(w, r, http.StatusBadRequest, "missing X-Line-Signature")
		return
	}
	if !sdk.ValidateSignature(h.secret, sig, body) {
		h.fail(w, r, http.StatusBadRequest, "invalid X-Line-Signature")
		return
	}
	events, st, err := Parse(body)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "malformed JSON body")
		return
	}
	if st.Skipped+st.Fallback+st.Standby+st.Repeated > 0 {
		h.log.Warn("webhook: some events were unusual",
			slog.Int("events", st.Events), slog.Int("accepted", st.Accepted), slog.Int("fallback", st.Fallback),
			slog.Int("skipped", st.Skipped), slog.Int("standby", st.Standby), slog.Int("repeated", st.Repeated))
	}
	if len(events) == 0 {
		// The console's verification request, or nothing usable.
		h.ok(w, r, st, 0)
		return
	}
	ctx, cancel := contextWithTimeout(r, h.acceptTimeout)
	fresh, err := h.inbox.Accept(ctx, events)
	cancel()
	if err != nil {
		h.log.Error("webhook: inbox unavailable; LINE will redeliver",
			slog.Int("events", len(events)), slog.String("error", err.Error()))
		h.fail(w, r, http.StatusServiceUnavailable, "temporarily unavailable, please retry")
		return
	}
	for _, ev := range events {
		h.metrics.Events.WithLabelValues(eventType(ev)).Inc()
	}
	if dups := len(events) - fresh; dups > 0 {
		h.metrics.Events.WithLabelValues("duplicate").Add(float64(dups))
	}
	h.ok(w, r, st, fresh)
	if h.notify != nil {
		// Also for duplicates: a redelivery can reach this replica after the
		// one that accepted the event died before processing it.
		h.notify(keys(events)...)
	}
}

func (h *Handler) ok(w http.ResponseWriter, r *http.Request, st Stats, fresh int) {
	writeJSON(w, http.StatusOK, []byte(`{}`))
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // answer LINE before waking the workers
	}
	h.metrics.WebhookRequests.WithLabelValues("200").Inc()
	h.log.Debug("webhook: accepted", slog.String("remote", r.RemoteAddr),
		slog.Int("events", st.Events), slog.Int("fresh", fresh))
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, reason string) {
	b, _ := jsonError(reason)
	writeJSON(w, status, b)
	h.metrics.WebhookRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	level := slog.LevelWarn
	if status == http.StatusServiceUnavailable {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "webhook: refused", slog.Int("status", status), slog.String("reason", reason),
		slog.String("remote", r.RemoteAddr), slog.Int64("length", r.ContentLength))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// eventType is the metrics label: the message type for messages.
func eventType(ev bot.Event) string {
	if ev.Type == "message" && ev.MessageType != "" {
		return "message." + ev.MessageType
	}
	if ev.Type == "" {
		return "unknown"
	}
	return ev.Type
}

// keys returns each event's chat id (the user id in a one-to-one chat, else
// the group or room id; the user id when there is no chat id), once.
func keys(events []bot.Event) []string {
	out := make([]string, 0, len(events))
	seen := make(map[string]bool, len(events))
	for _, ev := range events {
		k := ev.ChatID
		if k == "" {
			k = ev.UserID
		}
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

func jsonError(reason string) ([]byte, error) {
	return json.Marshal(map[string]string{"error": reason})
}
