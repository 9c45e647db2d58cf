package bot_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/webhook"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// fakeEngine answers every input with one bubble that names it, and checks
// that each chat's numbered texts ("U1:3") arrive in order with the session
// of the previous turn.
type fakeEngine struct {
	mu         sync.Mutex
	steps      []string // inputs seen, "kind:text"
	violations []string
}

func (e *fakeEngine) Pack() *knowledge.Pack { return &knowledge.Pack{ID: "test-pack", Version: "7"} }

func (e *fakeEngine) Step(st dialog.State, in dialog.Input) dialog.Result {
	if in.Text == "panic" {
		panic("engine bug")
	}
	e.mu.Lock()
	e.steps = append(e.steps, string(in.Kind)+":"+in.Text+in.Data+in.Type)
	if chat, seq, ok := strings.Cut(in.Text, ":"); ok {
		n, _ := strconv.Atoi(seq)
		if last, _ := strconv.Atoi(st.Slots["last"]); n != last+1 {
			e.violations = append(e.violations, fmt.Sprintf("%s: got %d after %d", chat, n, last))
		}
	}
	e.mu.Unlock()

	next := dialog.State{Node: fmt.Sprintf("n%d", len(st.History)+1), Slots: map[string]string{}}
	next.History = append(slices.Clone(st.History), next.Node)
	for k, v := range st.Slots {
		next.Slots[k] = v
	}
	if _, seq, ok := strings.Cut(in.Text, ":"); ok {
		next.Slots["last"] = seq
	}
	var text string
	switch in.Kind {
	case dialog.InputText:
		text = "echo " + in.Text
	case dialog.InputPostback:
		text = "postback " + in.Data
	case dialog.InputFollow:
		text = "ようこそ"
	case dialog.InputNonText:
		text = "テキストで送ってください (" + in.Type + ")"
	case dialog.InputGroup:
		text = "1対1のトークでお話しします"
	}
	return dialog.Result{
		State:   next,
		Replies: []dialog.Reply{{Text: text, QuickReplies: []dialog.QuickReply{{Label: "はい", Data: "a=yes"}}}},
		Trace: dialog.Trace{Reason: dialog.ReasonAnswer, FromNode: st.Node, ToNode: next.Node, ToTopic: "topic-" + next.Node,
			Handoff: in.Text == "人と話したい", Resolved: in.Text == "解決しました"},
	}
}

func (e *fakeEngine) Violations() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.violations)
}

func (e *fakeEngine) Steps() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.steps)
}

// sent is one recorded Send.
type sent struct {
	Chat      string
	RetryKey  string
	Texts     []string
	Attempted bool
}

// fakeSender records sends; chats in failFor get an error.
type fakeSender struct {
	mu      sync.Mutex
	sends   []sent
	loading []string
	failFor map[string]bool
	onSend  func(out bot.Outgoing) // called before recording, outside the lock
}

func (s *fakeSender) Send(ctx context.Context, out bot.Outgoing) (bot.Delivery, error) {
	if s.onSend != nil {
		s.onSend(out)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failFor[out.ChatID] {
		return bot.Delivery{}, errors.New("line: 500 after 3 retries")
	}
	var texts []string
	for _, m := range out.Messages {
		var v struct{ Text string }
		json.Unmarshal(m, &v)
		texts = append(texts, v.Text)
	}
	s.sends = append(s.sends, sent{Chat: out.ChatID, RetryKey: out.RetryKey, Texts: texts, Attempted: out.Attempted})
	via := "reply"
	if out.ReplyToken == "" {
		via = "push"
	}
	return bot.Delivery{Via: via, RequestID: fmt.Sprintf("req-%d", len(s.sends))}, nil
}

func (s *fakeSender) ShowLoading(ctx context.Context, userID string, seconds int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = append(s.loading, userID)
	return nil
}

func (s *fakeSender) Sends() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sends)
}

func (s *fakeSender) Loading() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.loading)
}

func newProcessor(db *storage.DB, e *fakeEngine, s *fakeSender) *bot.Processor {
	p := bot.NewProcessor(e, db, s)
	p.Logger = slog.New(slog.DiscardHandler)
	p.LoadingDelay = time.Hour
	return p
}

func text(id, chat, body string, at time.Time) bot.Event {
	return bot.Event{ID: id, Type: "message", SourceType: "user", UserID: chat, ChatID: chat,
		MessageType: "text", MessageID: "msg-" + id, Text: body, ReplyToken: "rt-" + id, Timestamp: at}
}

func mustHandle(t *testing.T, p *bot.Processor, ev bot.Event) bot.Turn {
	t.Helper()
	turn, err := p.HandleNow(context.Background(), ev)
	if err != nil {
		t.Fatalf("HandleNow(%s): %v", ev.ID, err)
	}
	return turn
}

// conversation returns the chat's only conversation and its messages.
func conversation(t *testing.T, db *storage.DB, chat string) (storage.Conversation, []storage.Message) {
	t.Helper()
	ctx := context.Background()
	convs, err := db.Conversations(ctx, chat)
	if err != nil || len(convs) == 0 {
		t.Fatalf("conversations of %s: %v, %v", chat, convs, err)
	}
	msgs, err := db.Messages(ctx, convs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return convs[0], msgs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		ev        bot.Event
		wantReply string // "" means no reply
		wantLog   string // type of the inbound log row; "" means none
	}{
		{"text", text("e1", "U1", "こんにちは", t0), "echo こんにちは", "text"},
		{"postback", bot.Event{ID: "e1", Type: "postback", SourceType: "user", UserID: "U1", ChatID: "U1", Data: "a=yes", ReplyToken: "rt", Timestamp: t0}, "postback a=yes", "postback"},
		{"follow", bot.Event{ID: "e1", Type: "follow", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0}, "ようこそ", "follow"},
		{"sticker", bot.Event{ID: "e1", Type: "message", MessageType: "sticker", MessageID: "m1", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0}, "テキストで送ってください (sticker)", "sticker"},
		{"image", bot.Event{ID: "e1", Type: "message", MessageType: "image", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0}, "テキストで送ってください (image)", "image"},
		{"location", bot.Event{ID: "e1", Type: "message", MessageType: "location", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0}, "テキストで送ってください (location)", "location"},
		// In a group: silence, and nothing kept, unless the bot is mentioned.
		{"group text", bot.Event{ID: "e1", Type: "message", MessageType: "text", Text: "みんなへ", SourceType: "group", UserID: "U1", ChatID: "G1", ReplyToken: "rt", Timestamp: t0}, "", ""},
		{"group sticker", bot.Event{ID: "e1", Type: "message", MessageType: "sticker", SourceType: "group", UserID: "U1", ChatID: "G1", ReplyToken: "rt", Timestamp: t0}, "", ""},
		{"group postback", bot.Event{ID: "e1", Type: "postback", Data: "go=welcome", SourceType: "group", UserID: "U1", ChatID: "G1", ReplyToken: "rt", Timestamp: t0}, "", ""},
		{"group member joined", bot.Event{ID: "e1", Type: "memberJoined", SourceType: "group", ChatID: "G1", ReplyToken: "rt", Timestamp: t0}, "", ""},
		{"group mention", bot.Event{ID: "e1", Type: "message", MessageType: "text", Text: "@todoku 使い方は？", MentionsBot: true, SourceType: "group", UserID: "U1", ChatID: "G1", ReplyToken: "rt", Timestamp: t0}, "1対1のトークでお話しします", "text"},
		{"group join", bot.Event{ID: "e1", Type: "join", SourceType: "group", ChatID: "G1", ReplyToken: "rt", Timestamp: t0}, "1対1のトークでお話しします", "join"},
		{"room join", bot.Event{ID: "e1", Type: "join", SourceType: "room", ChatID: "R1", ReplyToken: "rt", Timestamp: t0}, "1対1のトークでお話しします", "join"},
		{"group leave", bot.Event{ID: "e1", Type: "leave", SourceType: "group", ChatID: "G1", Timestamp: t0}, "", ""},
		{"unknown type", bot.Event{ID: "e1", Type: "messageEdited", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0}, "", ""},
		// A message type LINE adds later gets the sticker's notice.
		{"unknown message type", bot.Event{ID: "e1", Type: "message", MessageType: "hologram", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0}, "テキストで送ってください (hologram)", "hologram"},
		{"no source", bot.Event{ID: "e1", Type: "things", Timestamp: t0}, "", ""},
	}
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e, s := &fakeEngine{}, &fakeSender{}
				p := newProcessor(db, e, s)
				ev := tt.ev
				ev.ID = fmt.Sprintf("%s-%d", ev.ID, i)
				if ev.ChatID != "" {
					ev.ChatID = fmt.Sprintf("%s-%d", ev.ChatID, i)
				}
				turn := mustHandle(t, p, ev)
				sends := s.Sends()
				if tt.wantReply == "" {
					if len(sends) != 0 || len(turn.Messages) != 0 || len(e.Steps()) != 0 {
						t.Fatalf("want no reply, got sends %v, turn %+v, steps %v", sends, turn, e.Steps())
					}
				} else {
					if len(sends) != 1 || len(sends[0].Texts) != 1 || sends[0].Texts[0] != tt.wantReply || sends[0].Chat != ev.ChatID {
						t.Fatalf("sends %+v, want one %q to %s", sends, tt.wantReply, ev.ChatID)
					}
					if len(turn.Messages) != 1 || turn.Node != "n1" || turn.Topic != "topic-n1" {
						t.Fatalf("turn %+v", turn)
					}
				}
				if n, _ := db.Backlog(context.Background()); n != 0 {
					t.Fatalf("backlog %d after processing", n)
				}
				if ev.ChatID == "" {
					return
				}
				convs, _ := db.Conversations(context.Background(), ev.ChatID)
				if tt.wantLog == "" {
					if len(convs) != 0 {
						t.Fatalf("want nothing logged, got %+v", convs)
					}
					return
				}
				_, msgs := conversation(t, db, ev.ChatID)
				if len(msgs) == 0 || msgs[0].Type != tt.wantLog || msgs[0].Direction != storage.DirectionIn || msgs[0].PackID != "test-pack" {
					t.Fatalf("log %+v, want inbound %s", msgs, tt.wantLog)
				}
				if ev.SourceType == "group" && msgs[0].Text != "" {
					t.Fatalf("group message text stored: %q", msgs[0].Text)
				}
				if tt.wantReply != "" {
					out := msgs[len(msgs)-1]
					if out.Direction != storage.DirectionOut || out.Text != tt.wantReply || out.DeliveryStatus != storage.StatusSent || out.RequestID == "" {
						t.Fatalf("outbound log %+v", out)
					}
				}
			})
		}
	})
}

func TestSessionAcrossTurns(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		for i := 1; i <= 3; i++ {
			turn := mustHandle(t, p, text(fmt.Sprint("e", i), "U1", fmt.Sprintf("U1:%d", i), t0.Add(time.Duration(i)*time.Second)))
			if want := fmt.Sprintf("n%d", i); turn.Node != want {
				t.Fatalf("turn %d node %s, want %s", i, turn.Node, want)
			}
		}
		if len(e.Violations()) != 0 {
			t.Fatal(e.Violations())
		}
		conv, msgs := conversation(t, db, "U1")
		if len(msgs) != 6 || conv.Node != "n3" || conv.Topic != "topic-n3" {
			t.Fatalf("conversation %+v with %d messages", conv, len(msgs))
		}
		if msgs[2].NodeBefore != "n1" || msgs[2].NodeAfter != "n2" || msgs[2].TopicAfter != "topic-n2" || msgs[2].Reason != dialog.ReasonAnswer {
			t.Fatalf("second inbound %+v", msgs[2])
		}
	})
}

// TestRedactionStored: what a user writes is redacted once, at the webhook,
// and nothing raw reaches the engine or any table.
func TestRedactionStored(t *testing.T) {
	t.Parallel()
	secrets := []string{"482913", "4829 13", "taro.yamada@example.com", "hunter2pass", "09012345678", "090-1234-5678", "ABCDE-12345-FGHIJ-67890-KLMNO"}
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		inputs := []string{
			"コードは482913です", "確認コード 4829 13", "メールはtaro.yamada@example.comです",
			"パスワードはhunter2passです", "電話09012345678と090-1234-5678", "回復コード ABCDE-12345-FGHIJ-67890-KLMNO",
		}
		// Through the edge that redacts, the webhook, into the inbox.
		h := webhook.New(webhook.Config{ChannelSecret: "s3cret", Inbox: db, Logger: slog.New(slog.DiscardHandler)})
		for i, in := range inputs {
			body, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{map[string]any{
				"type": "message", "mode": "active", "webhookEventId": fmt.Sprint("e", i), "replyToken": fmt.Sprint("rt", i),
				"timestamp": t0.Add(time.Duration(i) * time.Second).UnixMilli(), "source": map[string]any{"type": "user", "userId": "U1"},
				"message": map[string]any{"type": "text", "id": fmt.Sprint("m", i), "text": in}, "deliveryContext": map[string]any{"isRedelivery": false},
			}}})
			mac := hmac.New(sha256.New, []byte("s3cret"))
			mac.Write(body)
			req := httptest.NewRequest(http.MethodPost, webhook.Path, bytes.NewReader(body))
			req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
			}
		}
		if err := p.Process(context.Background(), "U1"); err != nil {
			t.Fatal(err)
		}
		for _, st := range e.Steps() {
			for _, sec := range secrets {
				if strings.Contains(st, sec) {
					t.Fatalf("engine saw %q", st)
				}
			}
		}
		for _, table := range []string{"users", "conversations", "messages", "inbox_events", "outbox", "sessions", "audit_log"} {
			var rows []map[string]any
			if err := db.Gorm().Table(table).Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			dump := fmt.Sprint(rows)
			for _, sec := range secrets {
				if strings.Contains(dump, sec) {
					t.Fatalf("table %s contains %q", table, sec)
				}
			}
		}
		_, msgs := conversation(t, db, "U1")
		if msgs[0].Text != "コードは[code]です" {
			t.Fatalf("logged %q", msgs[0].Text)
		}
	})
}

func TestUnsend(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		mustHandle(t, p, text("e1", "U1", "まちがえました", t0))
		mustHandle(t, p, text("e2", "U1", "これは残る", t0.Add(time.Second)))
		turn := mustHandle(t, p, bot.Event{ID: "e3", Type: "unsend", SourceType: "user", UserID: "U1", ChatID: "U1", MessageID: "msg-e1", Timestamp: t0.Add(2 * time.Second)})
		if len(turn.Messages) != 0 || len(s.Sends()) != 2 {
			t.Fatalf("unsend got a reply: %+v", turn)
		}
		_, msgs := conversation(t, db, "U1")
		var hidden, kept bool
		for _, m := range msgs {
			switch m.LineMessageID {
			case "msg-e1":
				hidden = m.Unsent && m.Text == "" && m.UnsentAt != nil
			case "msg-e2":
				kept = !m.Unsent && m.Text == "これは残る"
			}
		}
		if !hidden || !kept {
			t.Fatalf("unsend: hidden=%v kept=%v in %+v", hidden, kept, msgs)
		}
		var rows []storage.InboxEvent
		db.Gorm().Find(&rows)
		for _, r := range rows {
			if strings.Contains(r.Payload, "まちがえました") {
				t.Fatalf("inbox payload still has the text: %s", r.Payload)
			}
		}
	})
}

func TestUnfollowAndFollow(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		mustHandle(t, p, bot.Event{ID: "f1", Type: "follow", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt", Timestamp: t0})
		mustHandle(t, p, text("e1", "U1", "こんにちは", t0.Add(time.Second)))
		turn := mustHandle(t, p, bot.Event{ID: "u1", Type: "unfollow", SourceType: "user", UserID: "U1", ChatID: "U1", Timestamp: t0.Add(2 * time.Second)})
		if len(turn.Messages) != 0 || len(s.Sends()) != 2 {
			t.Fatalf("unfollow got a reply: %+v, sends %d", turn, len(s.Sends()))
		}
		convs, _ := db.Conversations(ctx, "U1")
		if len(convs) != 1 || convs[0].Status != storage.ConversationClosed || convs[0].ClosedAt == nil {
			t.Fatalf("after unfollow: %+v", convs)
		}
		u, err := db.User(ctx, "U1")
		if err != nil || u.UnfollowedAt == nil || u.FollowedAt == nil {
			t.Fatalf("user %+v, %v", u, err)
		}
		// Following again starts a new conversation.
		mustHandle(t, p, bot.Event{ID: "f2", Type: "follow", SourceType: "user", UserID: "U1", ChatID: "U1", ReplyToken: "rt2", Timestamp: t0.Add(time.Hour)})
		convs, _ = db.Conversations(ctx, "U1")
		if len(convs) != 2 || convs[0].Status != storage.ConversationOpen {
			t.Fatalf("after re-follow: %+v", convs)
		}
		if u, _ := db.User(ctx, "U1"); u.UnfollowedAt != nil {
			t.Fatalf("unfollowed_at not cleared")
		}
	})
}

// TestStaffTakeOverAndHandBack follows a conversation from the bot to a
// person and back: asking for a person makes it wait, a takeover silences
// the bot, the staff member's message goes out by push with its author,
// and the hand back ends the conversation; the next message opens a new one.
func TestStaffTakeOverAndHandBack(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		mustHandle(t, p, text("e1", "U1", "人と話したい", t0))
		conv, _ := conversation(t, db, "U1")
		if conv.Owner != bot.OwnerWaiting || conv.HandoffAt == nil {
			t.Fatalf("after asking for a person: owner %q, handoff_at %v", conv.Owner, conv.HandoffAt)
		}
		if _, err := db.TakeOver(ctx, conv.ID, "staff-1"); err != nil {
			t.Fatal(err)
		}
		turn := mustHandle(t, p, text("e2", "U1", "まだですか", t0.Add(time.Minute)))
		if len(turn.Messages) != 0 || len(s.Sends()) != 1 || len(e.Steps()) != 1 {
			t.Fatalf("bot answered a staff-owned conversation: %+v, steps %v", turn, e.Steps())
		}
		staff := bot.StaffMessage("U1", "staff-1", "担当の佐藤です", t0.Add(2*time.Minute))
		staff.SenderName, staff.SenderIcon = "担当 佐藤", "https://example.com/sato.png"
		if turn := mustHandle(t, p, staff); len(turn.Messages) != 1 ||
			!strings.Contains(string(turn.Messages[0]), `"sender":{"name":"担当 佐藤","iconUrl":"https://example.com/sato.png"}`) {
			t.Fatalf("staff message without its sender: %+v", turn)
		}
		if got := s.Sends(); len(got) != 2 || got[1].Texts[0] != "担当の佐藤です" || got[1].Attempted {
			t.Fatalf("sends %+v", got)
		}
		conv, msgs := conversation(t, db, "U1")
		if conv.Owner != bot.OwnerStaff || conv.AssignedStaffID == nil || *conv.AssignedStaffID != "staff-1" {
			t.Fatalf("owner %q %v", conv.Owner, conv.AssignedStaffID)
		}
		var authors []string
		for _, m := range msgs {
			a := m.Author
			if m.StaffID != nil {
				a += ":" + *m.StaffID
			}
			authors = append(authors, a)
		}
		if want := []string{"user", "bot", "user", "staff:staff-1"}; !slices.Equal(authors, want) {
			t.Fatalf("authors %v, want %v", authors, want)
		}
		if last := msgs[len(msgs)-1]; last.Text != "担当の佐藤です" || last.WebhookEventID != staff.ID || last.DeliveryStatus != storage.StatusSent || last.Via != "push" {
			t.Fatalf("staff message logged as %+v", last)
		}
		if msgs[2].Reason != "staff" {
			t.Fatalf("user's message while staff own it: %+v", msgs[2])
		}

		mustHandle(t, p, bot.HandBack("U1", "staff-1", "", t0.Add(3*time.Minute)))
		convs, _ := db.Conversations(ctx, "U1")
		c := convs[0]
		if c.Status != storage.ConversationClosed || c.Outcome == nil || *c.Outcome != bot.OutcomeHandedOver || c.EndReason != bot.EndHandBack ||
			c.Owner != bot.OwnerBot || c.AssignedStaffID != nil || c.HandoffAt != nil {
			t.Fatalf("after hand back: %+v", c)
		}
		if turn := mustHandle(t, p, text("e3", "U1", "もういいです", t0.Add(4*time.Minute))); len(turn.Messages) != 1 || strings.Contains(string(turn.Messages[0]), "sender") {
			t.Fatalf("after hand back the bot answers as the account: %+v", turn)
		}
		if convs, _ = db.Conversations(ctx, "U1"); len(convs) != 2 || convs[0].Status != storage.ConversationOpen || convs[0].Owner != bot.OwnerBot {
			t.Fatalf("after the hand back the next message opens a new conversation: %+v", convs)
		}
	})
}

// TestConversationEnds: a conversation the bot owns ends when the user
// comes back after the idle time-out (with the verdict it had: resolved
// once the flow resolved it), never while it waits for a person, and the
// next message opens a new one.
func TestConversationEnds(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		p := newProcessor(db, &fakeEngine{}, &fakeSender{})
		p.IdleTimeout = 30 * time.Minute
		at := t0
		say := func(id, body string, after time.Duration) {
			at = at.Add(after)
			mustHandle(t, p, text(id, "U1", body, at))
		}
		say("e1", "こんにちは", 0)
		say("e2", "解決しました", time.Minute)
		say("e3", "もう一つ", time.Minute) // the same conversation: it has not idled
		say("e4", "戻りました", time.Hour)
		say("e5", "人と話したい", time.Minute)
		say("e6", "まだですか", 2*time.Hour) // waiting: no time-out
		convs, _ := db.Conversations(ctx, "U1")
		type end struct{ status, outcome, reason, owner string }
		var got []end
		for _, c := range slices.Backward(convs) {
			e := end{c.Status, "", c.EndReason, c.Owner}
			if c.Outcome != nil {
				e.outcome = *c.Outcome
			}
			got = append(got, e)
		}
		want := []end{
			{storage.ConversationClosed, bot.OutcomeResolved, bot.EndIdle, bot.OwnerBot},
			{storage.ConversationOpen, "", "", bot.OwnerWaiting},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("conversations %+v, want %+v", got, want)
		}
		for i, n := range []int{6, 6} {
			if msgs, _ := db.Messages(ctx, convs[len(convs)-1-i].ID); len(msgs) != n {
				t.Errorf("conversation %d has %d messages, want %d", i+1, len(msgs), n)
			}
		}
	})
}

// TestTakeOverRace: of several staff members taking over at once, one wins
// and every other learns who has it.
func TestTakeOverRace(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		mustHandle(t, newProcessor(db, &fakeEngine{}, &fakeSender{}), text("e1", "U1", "人と話したい", t0))
		conv, _ := conversation(t, db, "U1")
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = db.TakeOver(ctx, conv.ID, fmt.Sprint("staff-", i)) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			var taken *storage.TakenError
			switch {
			case err == nil && winner < 0:
				winner = i
			case errors.As(err, &taken):
			default:
				t.Fatalf("takeover %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("nobody won")
		}
		for i, err := range errs {
			var taken *storage.TakenError
			if i != winner && (!errors.As(err, &taken) || taken.StaffID != fmt.Sprint("staff-", winner)) {
				t.Fatalf("loser %d got %v, want taken by staff-%d", i, err, winner)
			}
		}
		if _, err := db.TakeOver(ctx, conv.ID, fmt.Sprint("staff-", winner)); err != nil {
			t.Fatalf("the owner taking over again: %v", err)
		}
		if _, err := db.TakeOver(ctx, conv.ID+100, "staff-1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown conversation: %v", err)
		}
		if err := db.SetOutcome(ctx, conv.ID, bot.OutcomeNotResolved, "staff-1"); err != nil {
			t.Fatal(err)
		}
		var audits []storage.AuditLog
		db.Gorm().Order("id").Find(&audits)
		if len(audits) != 3 || audits[0].Action != storage.AuditTakeOver || audits[2].Detail != bot.OutcomeNotResolved {
			t.Fatalf("audit %+v", audits)
		}
	})
}

func TestDeliveryFailure(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{failFor: map[string]bool{"U1": true}}
		p := newProcessor(db, e, s)
		mustHandle(t, p, text("e1", "U1", "こんにちは", t0))
		_, msgs := conversation(t, db, "U1")
		out := msgs[len(msgs)-1]
		if out.DeliveryStatus != storage.StatusFailed || !strings.Contains(out.Error, "500") {
			t.Fatalf("outbound %+v, want failed", out)
		}
		var rows []storage.OutboxRow
		db.Gorm().Find(&rows)
		if len(rows) != 1 || rows[0].Status != storage.StatusFailed || !rows[0].Attempted || rows[0].ReplyToken != "" {
			t.Fatalf("outbox %+v", rows)
		}
		// The chat goes on: the next event is processed and its reply sent.
		s.mu.Lock()
		s.failFor = nil
		s.mu.Unlock()
		mustHandle(t, p, text("e2", "U1", "もう一度", t0.Add(time.Second)))
		if sends := s.Sends(); len(sends) != 1 || sends[0].Texts[0] != "echo もう一度" {
			t.Fatalf("sends %+v", sends)
		}
	})
}

func TestEnginePanicFailsEventAfterRetries(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e, s := &fakeEngine{}, &fakeSender{}
		p := newProcessor(db, e, s)
		if _, err := p.HandleNow(context.Background(), text("e1", "U1", "panic", t0)); err == nil {
			t.Fatal("want an error for an event that failed")
		}
		var row storage.InboxEvent
		db.Gorm().Where("webhook_event_id = ?", "e1").First(&row)
		if row.Status != storage.StatusFailed || row.Attempts != 3 || !strings.Contains(row.Error, "panic") {
			t.Fatalf("inbox row %+v", row)
		}
		if turn := mustHandle(t, p, text("e2", "U1", "次", t0.Add(time.Second))); len(turn.Messages) != 1 {
			t.Fatalf("chat stuck after a failed event: %+v", turn)
		}
	})
}

func TestLoadingAnimation(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e := &fakeEngine{}
		s := &fakeSender{}
		// The send waits until the loading animation was requested.
		s.onSend = func(bot.Outgoing) {
			waitFor(t, "loading animation", func() bool { return len(s.Loading()) > 0 })
		}
		p := newProcessor(db, e, s)
		p.LoadingDelay = 10 * time.Millisecond
		mustHandle(t, p, text("e1", "U1", "こんにちは", t0))
		if l := s.Loading(); len(l) != 1 || l[0] != "U1" {
			t.Fatalf("loading %v, want once for U1", l)
		}
		// Quick turns and group chats get none.
		s.onSend = nil
		p.LoadingDelay = time.Hour
		mustHandle(t, p, text("e2", "U1", "次", t0.Add(time.Second)))
		p.LoadingDelay = time.Nanosecond
		mustHandle(t, p, bot.Event{ID: "g1", Type: "message", MessageType: "text", SourceType: "group", ChatID: "G1", UserID: "U2", ReplyToken: "rt", Timestamp: t0})
		// Final once HandleNow returned: the timer is stopped after the
		// send, and a call in flight finishes before the stop returns.
		if l := s.Loading(); len(l) != 1 {
			t.Fatalf("loading %v, want still one", l)
		}
	})
}
