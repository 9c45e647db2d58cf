// Package lineapi delivers messages through the LINE Messaging API: reply
// while the event's token is still good, otherwise push with the outgoing
// message's retry key, retrying 429/5xx/transport errors with bounded
// exponential backoff. It implements bot.Sender.
//
// Reply and push send the stored message objects as they are: the request
// body is assembled from the stored JSON and posted through the SDK's Do
// (which sets the bearer token and the SDK's User-Agent), instead of decoding
// every message into SDK types only for the SDK to encode them again. The
// other endpoints (loading animation, profile, bot info) use the SDK's
// generated methods.
//
// # Exactly once
//
// A reply token is single use and LINE answers a second use with 400
// "Invalid reply token". A push carries an X-Line-Retry-Key (fixed when the
// outgoing row is created); a repeat of an accepted key is answered 409, which
// counts as delivered. So:
//
//   - Push is retried with the same key: it can never deliver twice.
//   - A reply whose outcome is unknown (5xx, timeout, transport error, or
//     Outgoing.Attempted: a reply was in flight when the process died) is
//     retried as a reply with the same token, never turned into a push right
//     away, because a push after a reply that did go through would deliver the
//     messages twice. If the retried reply gets 400 "Invalid reply token" while
//     the event is younger than ReplyWindow, the token cannot have expired (LINE
//     keeps tokens for one minute), so it was used, and only we hold it: our
//     earlier reply was delivered, and Send reports it as delivered.
//   - A 400 "Invalid reply token" on a first attempt (nothing in flight before)
//     means the token expired or is invalid: fall back to push with the key.
//   - A 429 on a reply means LINE refused it without processing: retry the
//     reply while the token is young, then push.
//
// The remaining risk is LINE expiring a token sooner than documented while an
// ambiguous reply had in fact failed; that message would be reported delivered
// but lost. ReplyWindow (default 50 s, below LINE's one minute) keeps that
// window small; the alternative (push after every ambiguous reply) would send
// duplicates in the common case instead.
package lineapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/linemsg"
	"github.com/todoku/todoku/bot/metrics"
)

// Defaults for Config.
const (
	DefaultBaseURL     = "https://api.line.me"
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 250 * time.Millisecond
	DefaultMaxBackoff  = 4 * time.Second
	DefaultReplyWindow = 50 * time.Second
)

// Delivery channels reported in bot.Delivery.Via.
const (
	ViaReply = "reply"
	ViaPush  = "push"
)

// Endpoint labels used in metrics and logs.
const (
	EndpointReply   = "reply"
	EndpointPush    = "push"
	EndpointLoading = "loading"
	EndpointProfile = "profile"
	EndpointBotInfo = "bot_info"
)

// Config configures a Client. Only AccessToken is required.
type Config struct {
	AccessToken string
	BaseURL     string       // default https://api.line.me
	HTTPClient  *http.Client // default DefaultHTTPClient(): 10 s timeout, pooled connections
	Logger      *slog.Logger // default slog.Default()
	// MaxAttempts bounds the calls per phase (reply, then push) for 429, 5xx
	// and transport errors. Default 8: with the default backoff a message
	// rides out about 15 s of LINE trouble.
	MaxAttempts int
	BaseBackoff time.Duration // first wait; doubles each attempt, with jitter (default 250 ms)
	MaxBackoff  time.Duration // cap of one wait (default 4 s)
	// ReplyWindow is how old an event may be for its reply token to be used
	// (default 50 s; LINE documents one minute).
	ReplyWindow time.Duration
	Now         func() time.Time // for tests; default time.Now
	Metrics     *metrics.Metrics // default: metrics of its own
}

// Client is a bot.Sender on the Messaging API. It is safe for concurrent use.
type Client struct {
	api         *messaging_api.MessagingApiAPI // template: copied per call (WithContext mutates)
	replyURL    string
	pushURL     string
	log         *slog.Logger
	maxAttempts int
	baseBackoff time.Duration
	maxBackoff  time.Duration
	replyWindow time.Duration
	now         func() time.Time
	metrics     *metrics.Metrics
}

var _ bot.Sender = (*Client)(nil)

// APIError is a non-2xx answer from the Messaging API.
type APIError struct {
	Endpoint  string
	Status    int
	Message   string // LINE's error message (never message contents)
	RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("lineapi: %s: status %d: %s", e.Endpoint, e.Status, e.Message)
}

// Retryable reports whether the call may be repeated (429 or 5xx).
func (e *APIError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// New builds a client. It fails without an access token or with a bad base URL.
func New(cfg Config) (*Client, error) {
	if cfg.AccessToken == "" {
		return nil, errors.New("lineapi: missing channel access token")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = DefaultHTTPClient()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = DefaultBaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.ReplyWindow <= 0 {
		cfg.ReplyWindow = DefaultReplyWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	api, err := messaging_api.NewMessagingApiAPI(cfg.AccessToken,
		messaging_api.WithEndpoint(strings.TrimRight(cfg.BaseURL, "/")),
		messaging_api.WithHTTPClient(cfg.HTTPClient))
	if err != nil {
		return nil, fmt.Errorf("lineapi: %w", err)
	}
	return &Client{
		api: api, replyURL: api.Url(pathReply), pushURL: api.Url(pathPush), log: cfg.Logger, maxAttempts: cfg.MaxAttempts,
		baseBackoff: cfg.BaseBackoff, maxBackoff: cfg.MaxBackoff,
		replyWindow: cfg.ReplyWindow, now: cfg.Now, metrics: cfg.Metrics,
	}, nil
}

// DefaultHTTPClient is the client New uses when none is given: a 10 s
// timeout per call, and enough idle connections per host that parallel
// workers reuse their TLS connections to api.line.me (the standard
// transport keeps only 2).
func DefaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: DefaultTimeout, Transport: tr}
}

// call returns an SDK client bound to ctx. The SDK's WithContext mutates the
// client, so every call works on its own copy.
func (c *Client) call(ctx context.Context) *messaging_api.MessagingApiAPI {
	cp := *c.api
	return cp.WithContext(ctx)
}

// Send delivers out: reply while the token is young, else push with the retry
// key. Errors are final: retries are done.
func (c *Client) Send(ctx context.Context, out bot.Outgoing) (bot.Delivery, error) {
	if len(out.Messages) == 0 || len(out.Messages) > linemsg.MaxMessages {
		return bot.Delivery{}, fmt.Errorf("lineapi: outgoing %d has %d messages (1 to %d allowed)", out.ID, len(out.Messages), linemsg.MaxMessages)
	}
	if err := checkMessages(out.Messages); err != nil {
		return bot.Delivery{}, fmt.Errorf("lineapi: outgoing %d: %w", out.ID, err)
	}
	msgs := out.Messages
	if out.ReplyToken != "" && c.young(out.EventTime) {
		d, done, err := c.reply(ctx, out, msgs)
		if done || err != nil {
			return d, err
		}
	}
	return c.push(ctx, out, msgs)
}

func (c *Client) young(eventTime time.Time) bool {
	return c.now().Sub(eventTime) < c.replyWindow
}

// reply tries the Reply API. done=false asks the caller to push instead.
func (c *Client) reply(ctx context.Context, out bot.Outgoing, msgs []json.RawMessage) (bot.Delivery, bool, error) {
	inFlight := out.Attempted // an earlier reply may have been delivered
	body := requestBody(`{"replyToken":`, out.ReplyToken, msgs)
	for attempt := 1; ; attempt++ {
		res, err := c.post(ctx, c.replyURL, body, "")
		status, reqID := c.observe(EndpointReply, res, err)
		switch {
		case err == nil:
			return bot.Delivery{Via: ViaReply, RequestID: reqID}, true, nil
		case ctx.Err() != nil:
			return bot.Delivery{}, true, fmt.Errorf("lineapi: reply for outgoing %d: %w", out.ID, ctx.Err())
		}
		apiErr := toAPIError(EndpointReply, status, res, reqID)
		if apiErr != nil && status == http.StatusBadRequest && isInvalidReplyToken(apiErr.Message) {
			if inFlight && c.young(out.EventTime) {
				// Young token already used: by our earlier reply, which LINE accepted.
				c.log.Info("lineapi: reply token already used by an earlier attempt; counting it delivered",
					slog.Int64("outgoing_id", out.ID))
				return bot.Delivery{Via: ViaReply, RequestID: reqID}, true, nil
			}
			c.log.Info("lineapi: reply token invalid or expired; pushing instead", slog.Int64("outgoing_id", out.ID))
			return bot.Delivery{}, false, nil
		}
		if apiErr != nil && !apiErr.Retryable() {
			return bot.Delivery{}, true, apiErr
		}
		// 429: refused, not processed. 5xx or transport error: unknown outcome.
		if apiErr == nil || apiErr.Status != http.StatusTooManyRequests {
			inFlight = true
		}
		if attempt >= c.maxAttempts || !c.young(out.EventTime) {
			if inFlight {
				c.log.Warn("lineapi: reply outcome unknown after retries; pushing with the retry key",
					slog.Int64("outgoing_id", out.ID), slog.Int("attempts", attempt))
			}
			return bot.Delivery{}, false, nil
		}
		if err := c.sleep(ctx, attempt); err != nil {
			return bot.Delivery{}, true, fmt.Errorf("lineapi: reply for outgoing %d: %w", out.ID, err)
		}
	}
}

func (c *Client) push(ctx context.Context, out bot.Outgoing, msgs []json.RawMessage) (bot.Delivery, error) {
	if out.ChatID == "" {
		return bot.Delivery{}, fmt.Errorf("lineapi: outgoing %d has no chat id to push to", out.ID)
	}
	key := out.RetryKey
	if key == "" {
		// Without a stored key a retry of this Send is not idempotent across
		// calls, but retries within it still are.
		key = uuid.NewString()
		c.log.Warn("lineapi: outgoing without a retry key; using a fresh one", slog.Int64("outgoing_id", out.ID))
	} else if _, err := uuid.Parse(key); err != nil || len(key) != 36 {
		return bot.Delivery{}, fmt.Errorf("lineapi: outgoing %d: retry key is not a UUID", out.ID)
	}
	body := requestBody(`{"to":`, out.ChatID, msgs)
	var last error
	for attempt := 1; ; attempt++ {
		res, err := c.post(ctx, c.pushURL, body, key)
		status, reqID := c.observe(EndpointPush, res, err)
		if err == nil {
			return bot.Delivery{Via: ViaPush, RequestID: reqID}, nil
		}
		if ctx.Err() != nil {
			return bot.Delivery{}, fmt.Errorf("lineapi: push for outgoing %d: %w", out.ID, ctx.Err())
		}
		if status == http.StatusConflict {
			// The retry key was accepted before: delivered once already.
			accepted := res.Header.Get("X-Line-Accepted-Request-Id")
			if accepted == "" {
				accepted = reqID
			}
			return bot.Delivery{Via: ViaPush, RequestID: accepted}, nil
		}
		apiErr := toAPIError(EndpointPush, status, res, reqID)
		if apiErr != nil && !apiErr.Retryable() {
			return bot.Delivery{}, apiErr
		}
		if apiErr != nil {
			last = apiErr
		} else {
			last = fmt.Errorf("lineapi: push: %w", err)
		}
		if attempt >= c.maxAttempts {
			return bot.Delivery{}, fmt.Errorf("lineapi: push for outgoing %d failed after %d attempts: %w", out.ID, attempt, last)
		}
		if err := c.sleep(ctx, attempt); err != nil {
			return bot.Delivery{}, fmt.Errorf("lineapi: push for outgoing %d: %w (last: %v)", out.ID, err, last)
		}
	}
}

// Paths of the endpoints that post stored messages.
const (
	pathReply = "/v2/bot/message/reply"
	pathPush  = "/v2/bot/message/push"
)

// post sends a JSON body the way the SDK's generated methods do: the same
// Content-Type, and the SDK's Do for the bearer token and User-Agent. Like
// them it returns the response with an error for a non-2xx status, its body
// re-buffered for toAPIError; a 2xx body is drained and closed (nothing in it
// is used), so the connection is reused.
func (c *Client) post(ctx context.Context, url string, body []byte, retryKey string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	if retryKey != "" {
		req.Header.Set("X-Line-Retry-Key", retryKey)
	}
	// The template client has no context of its own, so Do keeps req's.
	res, err := c.api.Do(req)
	if err != nil {
		return res, err
	}
	if res.StatusCode/100 != 2 {
		b, rerr := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		_ = res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		if rerr != nil {
			return res, fmt.Errorf("failed to read response body: %w", rerr)
		}
		return res, fmt.Errorf("unexpected status code: %d", res.StatusCode)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	return res, nil
}

// checkMessages refuses, before anything is sent, a stored message that is
// not a JSON object with a type (what decoding into SDK types refused).
func checkMessages(msgs []json.RawMessage) error {
	for i, m := range msgs {
		m = bytes.TrimSpace(m)
		if len(m) == 0 || m[0] != '{' || !json.Valid(m) || !bytes.Contains(m, []byte(`"type"`)) {
			return fmt.Errorf("message %d is not a LINE message object", i)
		}
	}
	return nil
}

// requestBody builds {<head><quoted value>,"messages":[m1,m2,...]} with the
// stored message objects copied as they are (checkMessages has vetted them).
func requestBody(head, value string, msgs []json.RawMessage) []byte {
	n := len(head) + len(value) + len(`"","messages":[]}`) + 8
	for _, m := range msgs {
		n += len(m) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, head...)
	b = appendJSONString(b, value)
	b = append(b, `,"messages":[`...)
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, bytes.TrimSpace(m)...)
	}
	return append(b, "]}"...)
}

// appendJSONString appends s as a JSON string. Tokens and chat ids are plain
// ASCII and are copied; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// ShowLoading starts the loading animation in a one-to-one chat. seconds is
// rounded up to a multiple of 5 within 5..60. Group and room ids are skipped
// (LINE shows the animation in one-to-one chats only). One attempt: it is a
// courtesy, not worth delaying the reply for.
func (c *Client) ShowLoading(ctx context.Context, userID string, seconds int) error {
	if !strings.HasPrefix(userID, "U") {
		return nil
	}
	res, _, err := c.call(ctx).ShowLoadingAnimationWithHttpInfo(&messaging_api.ShowLoadingAnimationRequest{
		ChatId: userID, LoadingSeconds: int32(LoadingSeconds(seconds)),
	})
	status, reqID := c.observe(EndpointLoading, res, err)
	if err != nil {
		if apiErr := toAPIError(EndpointLoading, status, res, reqID); apiErr != nil {
			return apiErr
		}
		return fmt.Errorf("lineapi: loading: %w", err)
	}
	return nil
}

// LoadingSeconds rounds seconds up to LINE's allowed values: a multiple of 5
// from 5 to 60.
func LoadingSeconds(seconds int) int {
	switch {
	case seconds <= 5:
		return 5
	case seconds >= 60:
		return 60
	}
	return (seconds + 4) / 5 * 5
}

// Profile is a LINE user's public profile.
type Profile struct {
	UserID      string
	DisplayName string
	PictureURL  string
	Language    string // BCP 47; "" when the user has not consented to share it
}

// GetProfile fetches a user's display name and language. 429/5xx are retried.
func (c *Client) GetProfile(ctx context.Context, userID string) (Profile, error) {
	if !validID(userID) {
		return Profile{}, fmt.Errorf("lineapi: profile: invalid user id")
	}
	var p Profile
	err := c.retry(ctx, EndpointProfile, func(api *messaging_api.MessagingApiAPI) (*http.Response, error) {
		res, body, err := api.GetProfileWithHttpInfo(userID)
		if err == nil && body != nil {
			p = Profile{UserID: body.UserId, DisplayName: body.DisplayName, PictureURL: body.PictureUrl, Language: body.Language}
		}
		return res, err
	})
	return p, err
}

// DisplayName is a user's display name from their profile (bot.ProfileSource).
func (c *Client) DisplayName(ctx context.Context, userID string) (string, error) {
	p, err := c.GetProfile(ctx, userID)
	return p.DisplayName, err
}

// BotInfo is the bot's own account information.
type BotInfo struct {
	UserID      string
	BasicID     string
	DisplayName string
	ChatMode    string // "chat" (manual chat on) or "bot"
}

// GetBotInfo fetches the bot's account information: a cheap way to check the
// access token at startup.
func (c *Client) GetBotInfo(ctx context.Context) (BotInfo, error) {
	var b BotInfo
	err := c.retry(ctx, EndpointBotInfo, func(api *messaging_api.MessagingApiAPI) (*http.Response, error) {
		res, body, err := api.GetBotInfoWithHttpInfo()
		if err == nil && body != nil {
			b = BotInfo{UserID: body.UserId, BasicID: body.BasicId, DisplayName: body.DisplayName, ChatMode: string(body.ChatMode)}
		}
		return res, err
	})
	return b, err
}

// retry runs an idempotent call with backoff on 429, 5xx and transport errors.
func (c *Client) retry(ctx context.Context, endpoint string, do func(*messaging_api.MessagingApiAPI) (*http.Response, error)) error {
	var last error
	for attempt := 1; ; attempt++ {
		res, err := do(c.call(ctx))
		status, reqID := c.observe(endpoint, res, err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("lineapi: %s: %w", endpoint, ctx.Err())
		}
		apiErr := toAPIError(endpoint, status, res, reqID)
		if apiErr != nil && !apiErr.Retryable() {
			return apiErr
		}
		if apiErr != nil {
			last = apiErr
		} else {
			last = fmt.Errorf("lineapi: %s: %w", endpoint, err)
		}
		if attempt >= c.maxAttempts {
			return last
		}
		if err := c.sleep(ctx, attempt); err != nil {
			return fmt.Errorf("lineapi: %s: %w (last: %v)", endpoint, err, last)
		}
	}
}

// observe records the call in metrics and the log (endpoint, status, request
// id: never bodies) and returns the status (0 for a transport error) and the
// x-line-request-id.
func (c *Client) observe(endpoint string, res *http.Response, err error) (int, string) {
	status, reqID := 0, ""
	label := "error"
	if res != nil {
		status = res.StatusCode
		reqID = res.Header.Get("X-Line-Request-Id")
		label = strconv.Itoa(status)
	}
	c.metrics.LineAPICalls.WithLabelValues(endpoint, label).Inc()
	switch {
	case err == nil:
		c.log.Debug("lineapi: call", slog.String("endpoint", endpoint), slog.Int("status", status), slog.String("request_id", reqID))
	case res == nil:
		// Transport errors name the URL, never the body or the token.
		c.log.Warn("lineapi: call failed", slog.String("endpoint", endpoint), slog.String("error", err.Error()))
	default:
		c.log.Warn("lineapi: call refused", slog.String("endpoint", endpoint), slog.Int("status", status), slog.String("request_id", reqID))
	}
	return status, reqID
}

// toAPIError reads LINE's error message from a non-2xx response (the SDK
// re-buffers the body). It returns nil for transport errors.
func toAPIError(endpoint string, status int, res *http.Response, reqID string) *APIError {
	if res == nil || status == 0 {
		return nil
	}
	e := &APIError{Endpoint: endpoint, Status: status, RequestID: reqID}
	if res.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body = io.NopCloser(bytes.NewReader(b))
		var er messaging_api.ErrorResponse
		if json.Unmarshal(b, &er) == nil {
			e.Message = er.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

func isInvalidReplyToken(message string) bool {
	return strings.Contains(strings.ToLower(message), "invalid reply token")
}

// sleep waits before attempt+1: base·2^(attempt-1), capped, with ±25% jitter.
func (c *Client) sleep(ctx context.Context, attempt int) error {
	d := c.baseBackoff
	for i := 1; i < attempt && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	d = d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// validID accepts LINE ids (U/C/R followed by hex) and other plain tokens, and
// rejects anything that would change the request path.
func validID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
