package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/todoku/todoku/bot/linemsg"
	"github.com/todoku/todoku/bot/metrics"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
)

// Stepper is the dialog engine as the pipeline uses it (*dialog.Engine, or
// route.Router choosing among several packs each turn). Pack is the default.
type Stepper interface {
	Step(dialog.State, dialog.Input) dialog.Result
	Pack() *knowledge.Pack
}

// Turn is what one event produced, for `todoku chat`: the node and topic
// the conversation is on afterwards and the LINE message objects exactly as
// they are (or would be) sent.
type Turn struct {
	Node     string            `json:"node"`
	Topic    string            `json:"topic"`
	Pack     string            `json:"pack"` // the id of the pack that answered
	Messages []json.RawMessage `json:"messages"`
}

// Defaults for Processor.
const (
	DefaultLoadingDelay   = time.Second
	DefaultLoadingSeconds = 20
	DefaultMaxAttempts    = 3
)

// Processor runs inbox events through the dialog engine: one chat's events
// strictly in order, each turn in one transaction (session, log, outbox,
// inbox marked done), then delivers the replies through the Sender.
//
// Delivery happens after the commit, so a crash can leave an outbox row
// undelivered; the next Process of that chat (after a restart: Recover)
// delivers it before any newer event. MarkAttempted is stored before each
// send (by a store that implements TurnMarksAttempted, in the turn's own
// transaction for the first send): a row found later with Attempted set
// may or may not have reached LINE (the crash came somewhere between that
// commit and MarkSent). The Sender then
// decides: a reply token is single use and a retried reply fails harmlessly
// if the first went out, and a push carries the row's fixed X-Line-Retry-Key
// so LINE drops a duplicate within 24 hours. The one case left is a reply
// that went out and whose retry falls back to push: the user may see the
// answer twice. We accept that rare duplicate rather than risk silence
// (at-least-once delivery, exactly-once processing).
type Processor struct {
	engine Stepper
	store  Store
	sender Sender

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives event types, ids and errors, never message text.
	Logger *slog.Logger
	// LoadingDelay is how long a turn may take before LINE's loading
	// animation is shown (once, in one-to-one chats).
	LoadingDelay time.Duration
	// LoadingSeconds is the animation's length (5..60, a multiple of 5).
	LoadingSeconds int
	// MaxAttempts bounds how often an event that makes the turn fail (an
	// engine panic, a reply that cannot be rendered) is retried before it is
	// marked failed and skipped.
	MaxAttempts int
	// Staff says, for an event's time, when a person answers (the
	// console's STAFF_HOURS); nil leaves it unknown to the dialog.
	Staff func(at time.Time) dialog.Staff
	// IdleTimeout ends a conversation the bot owns when the user comes back
	// after this long (0: never); the next message opens a new one.
	IdleTimeout time.Duration
	// OnUnfollow, when set, runs after an unfollow event's turn has
	// committed (the conversation is closed), with the chat's lock still
	// held and before the chat's next event. It must not take LockChat
	// itself. An error is logged; the event stays processed. `todoku serve`
	// sets it for DELETE_ON_UNFOLLOW (storage.DB.ForgetUser).
	OnUnfollow func(ctx context.Context, userID string) error
}

// NewProcessor returns a Processor with the defaults.
func NewProcessor(engine Stepper, store Store, sender Sender) *Processor {
	return &Processor{
		engine: engine, store: store, sender: sender,
		Now:            time.Now,
		Logger:         slog.Default(),
		LoadingDelay:   DefaultLoadingDelay,
		LoadingSeconds: DefaultLoadingSeconds,
		MaxAttempts:    DefaultMaxAttempts,
		IdleTimeout:    dialog.DefaultIdleAfter,
	}
}

// planError is a failure of the turn itself (not of the database): the
// event is retried a few times, then marked failed.
type planError struct{ err error }

func (e planError) Error() string { return e.err.Error() }
func (e planError) Unwrap() error { return e.err }

// chatWorkLocker is a Store that can take a chat's lock and read its
// undelivered outbox rows and first pending events in one go
// (storage.DB: one round trip on Postgres). The result is the same as
// LockChat, Undelivered and PendingEvents(limit) one after the other.
type chatWorkLocker interface {
	LockChatWork(ctx context.Context, chatID string, limit int) (unlock func(), undelivered []Outgoing, pending []InboxItem, err error)
}

// turnAttemptMarker is a Store whose RunTurn stores outbox rows that have
// a reply token as attempted already (storage.DB), so the first delivery
// after the turn needs no MarkAttempted.
type turnAttemptMarker interface {
	TurnMarksAttempted() bool
}

// turnObserver sees each processed event's plan (for HandleNow).
type turnObserver func(item InboxItem, tc TurnContext, plan TurnPlan)

// Process handles the pending events of one chat, in order: those pending
// when it looked (events accepted meanwhile are left to the next Process,
// which Workers.Notify or the sweep schedules). It first delivers outbox
// rows a crash left behind.
func (p *Processor) Process(ctx context.Context, chatID string) error {
	return p.process(ctx, chatID, nil, nil)
}

// process is Process with a stop check between events and an observer.
func (p *Processor) process(ctx context.Context, chatID string, stop func() bool, observe turnObserver) error {
	const batch = 32
	var unlock func()
	var undelivered []Outgoing
	var items []InboxItem
	var err error
	if lw, ok := p.store.(chatWorkLocker); ok {
		unlock, undelivered, items, err = lw.LockChatWork(ctx, chatID, batch)
		if err != nil {
			return err
		}
		defer unlock()
	} else {
		if unlock, err = p.store.LockChat(ctx, chatID); err != nil {
			return err
		}
		defer unlock()
		if undelivered, err = p.store.Undelivered(ctx, chatID); err != nil {
			return err
		}
		if items, err = p.store.PendingEvents(ctx, chatID, batch); err != nil {
			return err
		}
	}
	for _, out := range undelivered {
		if err := p.deliver(ctx, out); err != nil {
			return err
		}
	}
	for first := true; ; first = false {
		if !first {
			if items, err = p.store.PendingEvents(ctx, chatID, batch); err != nil {
				return err
			}
		}
		again := len(items) == batch
		for _, item := range items {
			if stop != nil && stop() {
				return nil
			}
			retry, err := p.handle(ctx, item, observe)
			if err != nil {
				return err
			}
			again = again || retry
		}
		if !again {
			// Nothing was left when the batch was read. An event accepted
			// since then was committed before its Notify, which finds this
			// chat running and queues it again (Workers), or is picked up
			// by the sweep (another replica's, or if that replica died):
			// no need to ask the database a second time. (A failed
			// event still pending is retried at once: again is set.)
			return nil
		}
	}
}

// handle processes one event: the turn, then the delivery. retry reports
// an event whose turn failed and that stays pending for another attempt.
func (p *Processor) handle(ctx context.Context, item InboxItem, observe turnObserver) (retry bool, err error) {
	ev := item.Event
	loading := p.startLoading(ctx, ev)
	defer loading.stop()

	out, err := p.store.RunTurn(ctx, item, p.Now(), func(tc TurnContext) (TurnPlan, error) {
		plan, err := p.plan(tc)
		if err != nil {
			return plan, planError{err}
		}
		if observe != nil {
			observe(item, tc, plan)
		}
		return plan, nil
	})
	var pe planError
	switch {
	case errors.Is(err, ErrNotPending):
		return false, nil // another worker or replica got there first
	case errors.As(err, &pe):
		failed, ferr := p.store.FailEvent(ctx, item.Seq, pe.Error(), p.MaxAttempts, p.Now())
		if ferr != nil {
			return false, ferr
		}
		p.Logger.Error("event processing failed", slog.String("event_id", ev.ID), slog.String("type", ev.Type),
			slog.Int("attempt", item.Attempts+1), slog.Bool("given_up", failed), slog.Any("error", pe.err))
		return !failed, nil
	case err != nil:
		return false, err
	}
	if ev.Type == "unfollow" && p.OnUnfollow != nil && ev.ChatID != "" {
		if err := p.OnUnfollow(ctx, ev.ChatID); err != nil {
			p.Logger.Error("unfollow hook failed", slog.String("event_id", ev.ID), slog.Any("error", err))
		}
	}
	if out != nil {
		marked := false
		if m, ok := p.store.(turnAttemptMarker); ok {
			marked = m.TurnMarksAttempted()
		}
		err = p.send(ctx, *out, marked)
	}
	loading.stop()
	metrics.ProcessingSeconds.Observe(p.Now().Sub(item.AcceptedAt).Seconds())
	return false, err
}

// deliver sends one outbox row and records the outcome. A Sender error is
// final: the row and its messages are marked failed (visible to staff).
func (p *Processor) deliver(ctx context.Context, out Outgoing) error {
	return p.send(ctx, out, false)
}

// send is deliver; marked says the store already recorded the attempt.
func (p *Processor) send(ctx context.Context, out Outgoing, marked bool) error {
	// Attempted only matters for a reply (a push is made idempotent by its
	// retry key), so a row without a reply token skips the write.
	if out.ReplyToken != "" && !out.Attempted && !marked {
		if err := p.store.MarkAttempted(ctx, out.ID); err != nil {
			return err
		}
	}
	d, err := p.sender.Send(ctx, out)
	if err != nil {
		metrics.DeliveryFailures.Inc()
		p.Logger.Warn("delivery failed", slog.Int64("outbox_id", out.ID), slog.Any("error", err))
		return p.store.MarkFailed(ctx, out, err.Error(), p.Now())
	}
	return p.store.MarkSent(ctx, out, d, p.Now())
}

// loadingTimer shows LINE's loading animation once if a turn is still
// running after LoadingDelay.
type loadingTimer struct {
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

func (p *Processor) startLoading(ctx context.Context, ev Event) *loadingTimer {
	l := &loadingTimer{}
	if ev.SourceType != "user" || ev.UserID == "" || !replyable(ev) || p.LoadingDelay <= 0 {
		return l
	}
	l.timer = time.AfterFunc(p.LoadingDelay, func() {
		// Holding the lock while calling LINE means stop() (after the
		// reply was sent) waits for the call: the animation never starts
		// after the reply arrived.
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.stopped {
			return
		}
		if err := p.sender.ShowLoading(context.WithoutCancel(ctx), ev.UserID, p.LoadingSeconds); err != nil {
			p.Logger.Debug("loading animation", slog.Any("error", err))
		}
	})
	return l
}

func (l *loadingTimer) stop() {
	if l.timer == nil {
		return
	}
	l.timer.Stop()
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// replyable reports whether an event may get an answer.
func replyable(ev Event) bool {
	switch ev.Type {
	case "message", "postback", "follow", "join":
		return true
	}
	return false
}

// nonText are the message types answered with "please write in text".
var nonText = map[string]bool{"sticker": true, "image": true, "video": true, "audio": true, "file": true, "location": true}

// plan maps an event to dialog input, runs the engine, renders the replies
// and decides what happens to the conversation. It runs inside the turn's
// transaction: no I/O here.
func (p *Processor) plan(tc TurnContext) (plan TurnPlan, err error) {
	ev := tc.Item.Event
	t := planner{p: p, tc: tc, plan: &plan, conv: tc.Conversation}
	if pack := p.engine.Pack(); pack != nil {
		t.packID, t.packVersion = pack.ID, pack.Version
	}
	t.trace = LogTrace{NodeBefore: tc.State.Node, NodeAfter: tc.State.Node, PackID: t.packID, PackVersion: t.packVersion}
	inType := ev.Type
	if ev.Type == "message" && ev.MessageType != "" {
		inType = ev.MessageType
	}
	group := ev.SourceType == "group" || ev.SourceType == "room"

	var in *dialog.Input
	switch {
	case ev.Type == EventStaffMessage:
		msgs, err := linemsg.Render([]dialog.Reply{{Text: ev.Text}})
		if err != nil {
			return plan, err
		}
		t.trace.Reason = "staff"
		t.conversation(OwnerStaff, ev.StaffID)
		plan.Reply = &Reply{Messages: msgs, Author: AuthorStaff, StaffID: ev.StaffID, Trace: t.trace}
		return plan, nil
	case ev.Type == EventHandBack:
		if t.conv != nil {
			outcome := ev.Data
			if outcome == "" {
				outcome = OutcomeHandedOver
			}
			plan.Owner = &OwnerChange{Owner: OwnerBot}
			plan.Finish = &Ending{Outcome: outcome, Reason: EndHandBack}
			// The bot resumes where the user was, no longer waiting, and
			// says so with the pack's text (by push: no reply token).
			st := dialog.HandBack(tc.State)
			plan.State = &st
			if pack := p.engine.Pack(); pack != nil && pack.Text(knowledge.TextHandBack) != "" {
				msgs, err := linemsg.Render([]dialog.Reply{{Text: pack.Text(knowledge.TextHandBack)}})
				if err != nil {
					return plan, err
				}
				t.trace.Reason = "handback"
				plan.Reply = &Reply{Messages: msgs, Author: AuthorBot, Trace: t.trace}
			}
		}
		return plan, nil
	case ev.Type == "unsend":
		plan.UnsendMessageID = ev.MessageID
		return plan, nil
	case ev.Type == "unfollow":
		plan.Unfollow = true
		if t.conv != nil {
			t.trace.Reason = "unfollow"
			plan.In = &Inbound{Type: inType, Trace: t.trace}
			plan.Finish = &Ending{Outcome: OutcomeAbandoned, Reason: EndUnfollow}
		}
		return plan, nil
	case group:
		if !replyable(ev) {
			p.Logger.Info("ignoring group event", slog.String("event_id", ev.ID), slog.String("type", ev.Type))
			return plan, nil
		}
		// What people write to each other in a group is not ours to keep:
		// log the type only.
		in = &dialog.Input{Kind: dialog.InputGroup}
	case ev.Type == "follow":
		plan.Follow = true
		in = &dialog.Input{Kind: dialog.InputFollow}
	case ev.Type == "postback":
		in = &dialog.Input{Kind: dialog.InputPostback, Data: ev.Data}
	case ev.Type == "message" && ev.MessageType == "text":
		in = &dialog.Input{Kind: dialog.InputText, Text: ev.Text}
	case ev.Type == "message" && nonText[ev.MessageType]:
		in = &dialog.Input{Kind: dialog.InputNonText, Type: ev.MessageType}
	default:
		p.Logger.Info("ignoring event", slog.String("event_id", ev.ID), slog.String("type", inType))
		return plan, nil
	}
	in.Time = ev.Timestamp
	if p.Staff != nil {
		in.Staff = p.Staff(ev.Timestamp)
	}
	t.conversation(OwnerBot, "")
	inText := in.Text
	if in.Kind == dialog.InputPostback {
		inText = in.Data
	}
	plan.In = &Inbound{Type: inType, Text: inText, Trace: t.trace}

	if t.conv != nil && t.conv.Owner == OwnerStaff {
		// A person has the conversation: log what the user wrote, say nothing.
		plan.In.Trace.Reason = "staff"
		return plan, nil
	}

	res, err := p.step(tc.State, *in)
	if err != nil {
		return plan, err
	}
	if res.State.PackID != "" {
		// Several packs may answer (a router picks one per turn): record
		// the one that did.
		t.packID, t.packVersion = res.State.PackID, res.State.PackVersion
		if plan.Open != nil {
			plan.Open.PackID, plan.Open.PackVersion = t.packID, t.packVersion
		}
	}
	tr := res.Trace
	t.trace = LogTrace{NodeBefore: tr.FromNode, NodeAfter: tr.ToNode, TopicBefore: tr.FromTopic, TopicAfter: tr.ToTopic,
		Reason: tr.Reason, PackID: t.packID, PackVersion: t.packVersion}
	plan.In.Trace = t.trace
	plan.In.Trace.Intent, plan.In.Trace.Score = tr.Intent, tr.Score
	plan.State = &res.State
	plan.Position = &Position{Node: tr.ToNode, Topic: tr.ToTopic}
	if len(res.Replies) > 0 {
		msgs, err := linemsg.Render(res.Replies)
		if err != nil {
			return plan, err
		}
		plan.Reply = &Reply{Messages: msgs, Author: AuthorBot, Trace: t.trace}
	}
	owner := OwnerBot
	if t.conv != nil {
		owner = t.conv.Owner
	}
	if tr.Handoff && owner == OwnerBot {
		at := tc.Now
		plan.Owner = &OwnerChange{Owner: OwnerWaiting, HandoffAt: &at}
	}
	if tr.Resolved {
		plan.Finish = &Ending{Outcome: OutcomeResolved, Reason: EndResolved}
	}
	return plan, nil
}

// planner holds what plan works out on the way.
type planner struct {
	p                   *Processor
	tc                  TurnContext
	plan                *TurnPlan
	conv                *ConversationRef // the open conversation the turn logs into; nil: one is opened
	packID, packVersion string
	trace               LogTrace
}

// conversation makes sure the turn has a conversation to log into: the
// chat's open one, unless the bot owns it and the user comes back after the
// idle time-out (it ends, abandoned), else a new one for owner.
func (t *planner) conversation(owner, staffID string) {
	if c := t.conv; c != nil && c.Owner == OwnerBot && t.p.IdleTimeout > 0 &&
		t.tc.Item.Event.Timestamp.Sub(c.LastActivityAt) > t.p.IdleTimeout {
		t.plan.Close = &Ending{Outcome: OutcomeAbandoned, Reason: EndIdle}
		t.conv = nil
	}
	if t.conv == nil {
		t.plan.Open = &Opening{Owner: owner, StaffID: staffID, PackID: t.packID, PackVersion: t.packVersion}
	}
}

// step calls the engine, turning a panic into an error so one bad event
// cannot take the process down.
func (p *Processor) step(st dialog.State, in dialog.Input) (res dialog.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dialog engine panic: %v", r)
		}
	}()
	return p.engine.Step(st, in), nil
}

// HandleNow accepts ev into the inbox and processes its chat's pending
// events at once, returning what ev produced. It is the synchronous entry
// for `todoku chat` (with a Sender that records what would be sent).
func (p *Processor) HandleNow(ctx context.Context, ev Event) (Turn, error) {
	if _, err := p.store.Accept(ctx, []Event{ev}); err != nil {
		return Turn{}, err
	}
	var turn Turn
	found := false
	err := p.process(ctx, ev.ChatID, nil, func(item InboxItem, tc TurnContext, plan TurnPlan) {
		if item.Event.ID != ev.ID {
			return
		}
		found = true
		turn = Turn{Node: tc.State.Node, Pack: tc.State.PackID}
		if plan.State != nil {
			turn.Pack = plan.State.PackID
		}
		if plan.Reply != nil {
			turn.Messages = plan.Reply.Messages
		}
		if plan.Position != nil {
			turn.Node, turn.Topic = plan.Position.Node, plan.Position.Topic
		}
		if turn.Messages == nil {
			turn.Messages = []json.RawMessage{}
		}
	})
	if err != nil {
		return Turn{}, err
	}
	if !found {
		return Turn{}, fmt.Errorf("bot: event %s was not processed (a duplicate id?)", ev.ID)
	}
	return turn, nil
}
