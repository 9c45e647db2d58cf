// Package linefake is a fake LINE Messaging API on an httptest server, for
// tests and benchmarks. It answers the way LINE does where it matters for
// delivery: a reply token works once (then 400 "Invalid reply token"), tokens
// starting with "expired" never work, a push retry key must be a UUID and a
// repeated key gets 409 with x-line-accepted-request-id. It can be told to
// fail (429/500), to lose responses, to expire every token, or to be slow, and
// it records every call and every accepted delivery.
package linefake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// DefaultToken is the channel access token the fake accepts unless told otherwise.
const DefaultToken = "linefake-access-token"

// API paths the fake implements.
const (
	PathReply   = "/v2/bot/message/reply"
	PathPush    = "/v2/bot/message/push"
	PathLoading = "/v2/bot/chat/loading/start"
	PathProfile = "/v2/bot/profile/"
	PathBotInfo = "/v2/bot/info"
)

// Call is one request the fake received, with the status it answered.
type Call struct {
	Method    string
	Path      string
	Header    http.Header
	Body      []byte
	Time      time.Time // when the request arrived
	Status    int
	RequestID string // the x-line-request-id the fake answered with
}

// JSON decodes the call's body into a generic map (nil if it is not a JSON object).
func (c Call) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(c.Body, &m) != nil {
		return nil
	}
	return m
}

// ReplyToken returns the replyToken of a reply call's body.
func (c Call) ReplyToken() string {
	var b struct {
		ReplyToken string `json:"replyToken"`
	}
	_ = json.Unmarshal(c.Body, &b)
	return b.ReplyToken
}

// To returns the "to" of a push call's body.
func (c Call) To() string {
	var b struct {
		To string `json:"to"`
	}
	_ = json.Unmarshal(c.Body, &b)
	return b.To
}

// RetryKey returns the X-Line-Retry-Key header ("" when absent or empty).
func (c Call) RetryKey() string { return c.Header.Get("X-Line-Retry-Key") }

// Messages returns the message objects of a reply or push body.
func (c Call) Messages() []json.RawMessage {
	var b struct {
		Messages []json.RawMessage `json:"messages"`
	}
	_ = json.Unmarshal(c.Body, &b)
	return b.Messages
}

// Accepted reports whether the fake accepted the call (2xx).
func (c Call) Accepted() bool { return c.Status/100 == 2 }

// Delivery is one accepted reply or push: messages that reached a user.
type Delivery struct {
	To        string // the user (replies: the user registered for the token, else the token)
	Via       string // "reply" or "push"
	Token     string // reply token (replies only)
	RetryKey  string // push only
	Messages  []json.RawMessage
	Time      time.Time
	RequestID string
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the channel access token the fake accepts.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// Server is the fake Messaging API.
type Server struct {
	srv   *httptest.Server
	token string

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced whenever a call is recorded
	calls       []Call
	deliveries  []Delivery
	usedTokens  map[string]bool
	tokenUser   map[string]string
	retryKeys   map[string]string // key -> request id that accepted it
	profiles    map[string]string // user id -> display name
	failCode    int
	failNext    int
	failUntil   time.Time
	loseNext    int // process the call, then answer 500 as if the response was lost
	expireAll   bool
	delay       time.Duration
	nextRequest int

	menus       map[string]*RichMenu // rich menus by id
	menuOrder   []string             // ids in creation order
	defaultMenu string
	nextMenu    int
}

// New starts a fake on a local port. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		token:      DefaultToken,
		changed:    make(chan struct{}),
		usedTokens: map[string]bool{},
		tokenUser:  map[string]string{},
		retryKeys:  map[string]string{},
		profiles:   map[string]string{},
		menus:      map[string]*RichMenu{},
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to give the client (LINE_API_BASE_URL).
func (s *Server) URL() string { return s.srv.URL }

// Handler is the fake as an http.Handler, to serve it on another listener
// (e.g. behind TLS or at a fixed address for a separate process).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Token is the access token the fake accepts.
func (s *Server) Token() string { return s.token }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// FailNext makes the next n API calls answer code (e.g. 429 or 500) without
// processing them.
func (s *Server) FailNext(code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failNext = code, n
}

// FailFor makes every API call answer code for the duration d.
func (s *Server) FailFor(code int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failUntil = code, time.Now().Add(d)
}

// LoseResponses makes the next n reply/push calls be processed (the messages
// are delivered) but answered with 500, as when a response is lost on the way.
func (s *Server) LoseResponses(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseNext = n
}

// ExpireTokens makes every reply token invalid (true) or restores normal
// behaviour (false).
func (s *Server) ExpireTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAll = on
}

// SetDelay makes every call wait d before it is answered.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// ExpectToken attributes accepted replies with this token to userID in Delivered.
func (s *Server) ExpectToken(token, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenUser[token] = userID
}

// SetProfile sets the display name the profile endpoint returns for userID
// (default "テスト").
func (s *Server) SetProfile(userID, displayName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles[userID] = displayName
}

// Calls returns every call received so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Where returns the calls that match pred.
func (s *Server) Where(pred func(Call) bool) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if pred(c) {
			out = append(out, c)
		}
	}
	return out
}

// Replies returns every call to the reply endpoint (accepted or not).
func (s *Server) Replies() []Call { return s.Where(IsReply) }

// Pushes returns every call to the push endpoint (accepted or not).
func (s *Server) Pushes() []Call { return s.Where(IsPush) }

// IsReply matches calls to the reply endpoint.
func IsReply(c Call) bool { return c.Path == PathReply }

// IsPush matches calls to the push endpoint.
func IsPush(c Call) bool { return c.Path == PathPush }

// IsLoading matches calls to the loading animation endpoint.
func IsLoading(c Call) bool { return c.Path == PathLoading }

// Deliveries returns every accepted reply and push, in order of acceptance.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Delivered counts the accepted deliveries (replies and pushes) to userID.
// Replies count for the user registered with ExpectToken, else for the token.
func (s *Server) Delivered(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.deliveries {
		if d.To == userID {
			n++
		}
	}
	return n
}

// WaitFor waits until some call matches pred or the timeout passes, and
// reports whether one did.
func (s *Server) WaitFor(pred func(Call) bool, timeout time.Duration) bool {
	return len(s.WaitForN(pred, 1, timeout)) >= 1
}

// WaitForN waits until at least n calls match pred or the timeout passes, and
// returns the matching calls.
func (s *Server) WaitForN(pred func(Call) bool, n int, timeout time.Duration) []Call {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var got []Call
		for _, c := range s.calls {
			if pred(c) {
				got = append(got, c)
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			return got
		}
	}
}

// Reset forgets calls, deliveries, used tokens, retry keys and failure settings.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.deliveries = nil, nil
	s.usedTokens = map[string]bool{}
	s.retryKeys = map[string]string{}
	s.failNext, s.failUntil, s.loseNext, s.expireAll, s.delay = 0, time.Time{}, 0, false, 0
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
	}

	s.mu.Lock()
	s.nextRequest++
	reqID := fmt.Sprintf("fake-%08d", s.nextRequest)
	status, resp, extra := s.handle(r, body, reqID, arrived)
	s.calls = append(s.calls, Call{
		Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body,
		Time: arrived, Status: status, RequestID: reqID,
	})
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Line-Request-Id", reqID)
	for k, v := range extra {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(resp)
	_, _ = w.Write(b)
}

type msg map[string]any

func errBody(text string) msg { return msg{"message": text} }

// handle decides the answer. It runs with s.mu held.
func (s *Server) handle(r *http.Request, body []byte, reqID string, now time.Time) (int, any, map[string]string) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		return http.StatusUnauthorized, errBody("Authentication failed due to the following reason: invalid token. Confirm that the access token in the authorization header is valid."), nil
	}
	if s.failNext > 0 {
		s.failNext--
		return s.failCode, failBody(s.failCode), nil
	}
	if now.Before(s.failUntil) {
		return s.failCode, failBody(s.failCode), nil
	}
	key := r.Header.Get("X-Line-Retry-Key")
	if key != "" && !(r.Method == http.MethodPost && r.URL.Path == PathPush) {
		return http.StatusBadRequest, errBody("The retry key is not supported on this endpoint"), nil
	}

	switch {
	case r.Method == http.MethodPost && r.URL.Path == PathReply:
		return s.reply(body, reqID, now)
	case r.Method == http.MethodPost && r.URL.Path == PathPush:
		return s.push(body, key, reqID, now)
	case r.Method == http.MethodPost && r.URL.Path == PathLoading:
		return s.loading(body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, PathProfile):
		id := strings.TrimPrefix(r.URL.Path, PathProfile)
		if id == "" || strings.Contains(id, "/") {
			return http.StatusNotFound, errBody("Not found"), nil
		}
		name, ok := s.profiles[id]
		if !ok {
			name = "テスト"
		}
		return http.StatusOK, msg{"userId": id, "displayName": name, "language": "ja"}, nil
	case strings.HasPrefix(r.URL.Path, PathRichMenu) || strings.HasPrefix(r.URL.Path, PathRichMenuDefault):
		if status, resp, ok := s.richMenu(r, body); ok {
			return status, resp, nil
		}
	case r.Method == http.MethodGet && r.URL.Path == PathBotInfo:
		return http.StatusOK, msg{"userId": "U00000000000000000000000000000000", "basicId": "@todoku", "displayName": "todoku", "chatMode": "bot", "markAsReadMode": "auto"}, nil
	}
	return http.StatusNotFound, errBody("Not found"), nil
}

func failBody(code int) msg {
	if code == http.StatusTooManyRequests {
		return errBody("The API rate limit has been exceeded. Try again later.")
	}
	return errBody("An error occurred in the API server")
}

// lose reports whether this processed call's response is to be lost.
func (s *Server) lose() bool {
	if s.loseNext > 0 {
		s.loseNext--
		return true
	}
	return false
}

func checkMessages(raw []json.RawMessage) string {
	if len(raw) == 0 || len(raw) > 5 {
		return "The request body has 1 error(s): messages must be 1 to 5 items"
	}
	for _, m := range raw {
		var t struct {
			Type     string          `json:"type"`
			AltText  string          `json:"altText"`
			Contents json.RawMessage `json:"contents"`
		}
		if json.Unmarshal(m, &t) != nil || t.Type == "" {
			return "The request body has 1 error(s): a message has no type"
		}
		if t.Type == "flex" {
			if n := utf8.RuneCountInString(t.AltText); n == 0 || n > 1500 {
				return "The request body has 1 error(s): altText must be 1 to 1500 characters"
			}
			if len(t.Contents) > 30*1024 {
				return "The request body has 1 error(s): a flex bubble must be at most 30 KB"
			}
		}
	}
	return ""
}

func (s *Server) reply(body []byte, reqID string, now time.Time) (int, any, map[string]string) {
	var b struct {
		ReplyToken string            `json:"replyToken"`
		Messages   []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return http.StatusBadRequest, errBody("The request body could not be parsed as JSON"), nil
	}
	if b.ReplyToken == "" {
		return http.StatusBadRequest, errBody("The request body has 1 error(s): replyToken must not be empty"), nil
	}
	if problem := checkMessages(b.Messages); problem != "" {
		return http.StatusBadRequest, errBody(problem), nil
	}
	if s.expireAll || strings.HasPrefix(b.ReplyToken, "expired") || s.usedTokens[b.ReplyToken] {
		return http.StatusBadRequest, errBody("Invalid reply token"), nil
	}
	s.usedTokens[b.ReplyToken] = true
	to := s.tokenUser[b.ReplyToken]
	if to == "" {
		to = b.ReplyToken
	}
	s.deliveries = append(s.deliveries, Delivery{To: to, Via: "reply", Token: b.ReplyToken, Messages: b.Messages, Time: now, RequestID: reqID})
	if s.lose() {
		return http.StatusInternalServerError, failBody(500), nil
	}
	return http.StatusOK, msg{"sentMessages": sent(reqID, len(b.Messages))}, nil
}

func (s *Server) push(body []byte, key, reqID string, now time.Time) (int, any, map[string]string) {
	if key != "" {
		if _, err := uuid.Parse(key); err != nil || len(key) != 36 {
			return http.StatusBadRequest, errBody("The value of the X-Line-Retry-Key header is invalid"), nil
		}
		if accepted, ok := s.retryKeys[key]; ok {
			return http.StatusConflict, msg{"message": "The retry key is already accepted", "sentMessages": sent(accepted, 1)},
				map[string]string{"X-Line-Accepted-Request-Id": accepted}
		}
	}
	var b struct {
		To       string            `json:"to"`
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return http.StatusBadRequest, errBody("The request body could not be parsed as JSON"), nil
	}
	if b.To == "" {
		return http.StatusBadRequest, errBody("The request body has 1 error(s): to must not be empty"), nil
	}
	if problem := checkMessages(b.Messages); problem != "" {
		return http.StatusBadRequest, errBody(problem), nil
	}
	if key != "" {
		s.retryKeys[key] = reqID
	}
	s.deliveries = append(s.deliveries, Delivery{To: b.To, Via: "push", RetryKey: key, Messages: b.Messages, Time: now, RequestID: reqID})
	if s.lose() {
		return http.StatusInternalServerError, failBody(500), nil
	}
	return http.StatusOK, msg{"sentMessages": sent(reqID, len(b.Messages))}, nil
}

func (s *Server) loading(body []byte) (int, any, map[string]string) {
	var b struct {
		ChatID         string `json:"chatId"`
		LoadingSeconds *int   `json:"loadingSeconds"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return http.StatusBadRequest, errBody("The request body could not be parsed as JSON"), nil
	}
	if !strings.HasPrefix(b.ChatID, "U") {
		return http.StatusBadRequest, errBody("The request body has 1 error(s): chatId must be a user ID"), nil
	}
	if b.LoadingSeconds != nil {
		if n := *b.LoadingSeconds; n < 5 || n > 60 || n%5 != 0 {
			return http.StatusBadRequest, errBody("The request body has 1 error(s): loadingSeconds must be a multiple of 5 from 5 to 60"), nil
		}
	}
	return http.StatusAccepted, msg{}, nil
}

func sent(reqID string, n int) []msg {
	out := make([]msg, n)
	for i := range out {
		out[i] = msg{"id": fmt.Sprintf("%s-%d", reqID, i), "quoteToken": "q-" + reqID}
	}
	return out
}
