package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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

// Processor runs inbox events through the dialog engine and delivers the
// replies. Every event goes one way (process): a batch of one or more
// chats is claimed (their locks, and the turns of each chat's next event in
// one transaction: session, log, outbox, inbox marked done), the replies
// are sent in parallel, and one transaction records how the deliveries
// ended. One event per chat per batch keeps each chat's order: its next
// event runs only after this one's reply was sent.
//
// Delivery happens after the commit, so a crash can leave an outbox row
// undelivered; the chat's next claim (after a restart: Recover) delivers
// it before any newer event. A row with a reply token is stored as
// attempted by its turn: found later, it may or may not have reached LINE,
// and the Sender decides: a reply token is single use and a retried reply
// fails harmlessly if the first went out, and a push carries the row's
// fixed X-Line-Retry-Key so LINE drops a duplicate within 24 hours. The one
// case left is a reply that went out and whose retry falls back to push:
// the user may see the answer twice. We accept that rare duplicate rather
// than risk silence (at-least-once delivery, exactly-once processing).
type Processor struct {
	engine   Stepper
	store    Store
	sender   Sender
	renderer *linemsg.Renderer
	profile  chan string // users whose display name to fetch (refreshProfiles)

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives event types, ids and errors, never message text.
	Logger *slog.Logger
	// Metrics counts what the pipeline does (default: metrics of its own).
	Metrics *metrics.Metrics
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
	// MaxEventAge: an event older than this when its turn runs (a
	// redelivery days late, a backlog after an outage) is not answered: an
	// answer by push would cost the account's message quota and surprise
	// the user. It is logged as missed (reason "missed", for staff to see),
	// counted and warned about. 0 answers every event (`todoku serve` sets
	// MAX_EVENT_AGE, 24 hours by default).
	MaxEventAge time.Duration
	// Profiles, when set, fills users' display names from LINE when their
	// conversation opens (Workers run the fetches, off the reply path).
	Profiles ProfileSource
	// OnUnfollow, when set, runs after an unfollow event's turn has
	// committed (the conversation is closed), with the chat still claimed
	// and before the chat's next event. It must not lock the chat itself. An
	// error is logged; the event stays processed. `todoku serve` sets it
	// for DELETE_ON_UNFOLLOW (storage.DB.ForgetUser).
	OnUnfollow func(ctx context.Context, userID string) error
}

// NewProcessor returns a Processor with the defaults.
func NewProcessor(engine Stepper, store Store, sender Sender) *Processor {
	return &Processor{
		engine: engine, store: store, sender: sender,
		renderer:       &linemsg.Renderer{},
		profile:        make(chan string, 256),
		Now:            time.Now,
		Logger:         slog.Default(),
		Metrics:        metrics.New(),
		LoadingDelay:   DefaultLoadingDelay,
		LoadingSeconds: DefaultLoadingSeconds,
		MaxAttempts:    DefaultMaxAttempts,
		IdleTimeout:    dialog.DefaultIdleAfter,
	}
}

// batch is what process did with a batch of chats.
type batch struct {
	again []string             // chats with more to do: queue them again
	busy  []string             // chats another process holds (never with wait)
	turns map[string]*ChatTurn // what the claim did, per chat
}

// process runs the next event of each of chatIDs and delivers the replies
// (see Processor). Without wait it leaves out the chats another process
// holds (busy); with wait it waits for the one chat it is given. Should the
// batch's transaction fail, each chat is tried again on its own.
func (p *Processor) process(ctx context.Context, chatIDs []string, wait bool) (batch, error) {
	claim, err := p.store.Claim(ctx, chatIDs, wait, p.Now(), p.plan)
	if err != nil {
		if len(chatIDs) == 1 {
			return batch{}, err
		}
		p.Logger.Warn("a batch of chats failed; trying them one by one", slog.Int("chats", len(chatIDs)), slog.Any("error", err))
		var b batch
		var errs []error
		for _, id := range chatIDs {
			one, err := p.process(ctx, []string{id}, wait)
			b.again, b.busy = append(b.again, one.again...), append(b.busy, one.busy...)
			errs = append(errs, err)
		}
		return b, errors.Join(errs...)
	}
	b := batch{turns: claim.Chats}
	var sends [][]Outgoing // per chat, in order
	var loading []*loadingTimer
	var done []InboxItem
	for _, id := range chatIDs {
		ct := claim.Chats[id]
		switch {
		case ct == nil:
			b.busy = append(b.busy, id)
			continue
		case len(ct.Undelivered) > 0:
			sends = append(sends, ct.Undelivered)
			b.again = append(b.again, id)
			continue
		case ct.Item == nil:
			continue
		case ct.Err != nil:
			if gaveUp := p.failed(ctx, *ct.Item, ct.Err); !gaveUp || ct.More {
				b.again = append(b.again, id)
			}
			continue
		}
		done = append(done, *ct.Item)
		if ct.More {
			b.again = append(b.again, id)
		}
		ev := ct.Item.Event
		if ev.Type == "unfollow" && p.OnUnfollow != nil && ev.ChatID != "" {
			if err := p.OnUnfollow(ctx, ev.ChatID); err != nil {
				p.Logger.Error("unfollow hook failed", slog.String("event_id", ev.ID), slog.Any("error", err))
			}
		}
		if ct.Plan.Open != nil && p.Profiles != nil && ev.SourceType == "user" {
			select {
			case p.profile <- ev.ChatID:
			default: // best effort: the next conversation asks again
			}
		}
		if ct.Out != nil {
			sends = append(sends, []Outgoing{*ct.Out})
			loading = append(loading, p.startLoading(ctx, ev))
		}
	}
	if len(done) > 0 {
		p.Metrics.BatchEvents.Observe(float64(len(done)))
	}

	outcomes := make([][]DeliveryOutcome, len(sends))
	var wg sync.WaitGroup
	for i, outs := range sends {
		wg.Go(func() {
			for _, out := range outs {
				outcomes[i] = append(outcomes[i], p.send(ctx, out))
			}
		})
	}
	wg.Wait()
	for _, l := range loading {
		l.stop()
	}
	var all []DeliveryOutcome
	for _, o := range outcomes {
		all = append(all, o...)
	}
	if err := claim.Finish(ctx, all, p.Now()); err != nil {
		return b, err
	}
	now := p.Now()
	for _, it := range done {
		p.Metrics.ProcessingSeconds.Observe(now.Sub(it.AcceptedAt).Seconds())
	}
	return b, nil
}

// failed records that an event's turn failed; it reports whether the event
// was given up on (otherwise it is tried again).
func (p *Processor) failed(ctx context.Context, it InboxItem, planErr error) bool {
	gaveUp, err := p.store.FailEvent(ctx, it.Seq, planErr.Error(), p.MaxAttempts, p.Now())
	p.Logger.Error("event processing failed", slog.String("event_id", it.Event.ID), slog.String("type", it.Event.Type),
		slog.Int("attempt", it.Attempts+1), slog.Bool("given_up", gaveUp), slog.Any("error", planErr))
	if err != nil {
		p.Logger.Error("recording a failed event", slog.String("event_id", it.Event.ID), slog.Any("error", err))
	}
	return gaveUp
}

// send delivers one outbox row. A Sender error is final: the row and its
// messages are recorded as failed (visible to staff).
func (p *Processor) send(ctx context.Context, out Outgoing) DeliveryOutcome {
	if out.Log != nil && len(out.Log.Bubbles) == 0 {
		// A row made before the log text was stored with it.
		for _, m := range out.Messages {
			typ, text := linemsg.LogTextOf(m)
			out.Log.Bubbles = append(out.Log.Bubbles, Bubble{typ, text})
		}
	}
	d, err := p.sender.Send(ctx, out)
	if err != nil {
		p.Metrics.DeliveryFailures.Inc()
		p.Logger.Warn("delivery failed", slog.Int64("outbox_id", out.ID), slog.Any("error", err))
		return DeliveryOutcome{Out: out, Failure: err.Error()}
	}
	return DeliveryOutcome{Out: out, Delivery: d}
}

// render is the replies as LINE message objects and as the log shows them.
func (p *Processor) render(replies []dialog.Reply) ([]json.RawMessage, []Bubble, error) {
	msgs, err := p.renderer.Render(replies)
	if err != nil {
		return nil, nil, err
	}
	bubbles := make([]Bubble, len(replies))
	for i, r := range replies {
		bubbles[i].Type, bubbles[i].Text = linemsg.LogText(r)
	}
	return msgs, bubbles, nil
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

// plan maps an event to dialog input, runs the engine, renders the replies
// and decides what happens to the conversation. It runs inside the turn's
// transaction: no I/O here.
func (p *Processor) plan(tc TurnContext) (plan TurnPlan, err error) {
	ev := tc.Item.Event
	t := planner{p: p, tc: tc, plan: &plan, conv: tc.Conversation}
	if st := tc.State; st.PackID != "" {
		t.packID, t.packVersion = st.PackID, st.PackVersion // the pack the conversation is with
	} else if pack := p.engine.Pack(); pack != nil {
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
		msgs, bubbles, err := p.render([]dialog.Reply{{Text: ev.Text}})
		if err != nil {
			return plan, err
		}
		if s := (linemsg.Sender{Name: ev.SenderName, IconURL: ev.SenderIcon}); s.Name != "" && linemsg.CheckSender(s) == nil {
			// The user sees the staff member's name (and icon) on the message.
			if msgs, err = linemsg.Staff(ev.Text, s); err != nil {
				return plan, err
			}
		}
		t.trace.Reason = "staff"
		t.conversation(OwnerStaff, ev.StaffID)
		plan.Reply = &Reply{Messages: msgs, Bubbles: bubbles, Author: AuthorStaff, StaffID: ev.StaffID, Trace: t.trace}
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
	case ev.Type == EventIdle:
		if c := t.conv; c != nil && strconv.FormatInt(c.ID, 10) == ev.Data && t.idle(c) {
			plan.Finish = &Ending{Outcome: c.ending(), Reason: EndIdle}
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
		// In a group or room the bot says once that it works one to one:
		// when it joins, and when someone mentions it. Everything else
		// members do there is theirs: nothing is answered or kept (only
		// the inbox's record that the event was handled).
		if !(ev.Type == "join" || ev.Type == "message" && ev.MentionsBot) {
			return plan, nil
		}
		// Log the type only, never what was written.
		in = &dialog.Input{Kind: dialog.InputGroup}
	case ev.Type == "follow":
		plan.Follow = true
		in = &dialog.Input{Kind: dialog.InputFollow}
	case ev.Type == "postback":
		in = &dialog.Input{Kind: dialog.InputPostback, Data: ev.Data}
	case ev.Type == "message" && ev.MessageType == "text":
		in = &dialog.Input{Kind: dialog.InputText, Text: ev.Text}
	case ev.Type == "message":
		// A sticker, an image, ... or a message type LINE adds later: the
		// same polite notice to please write in text.
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
	if age := p.Now().Sub(ev.Timestamp); p.MaxEventAge > 0 && age > p.MaxEventAge {
		plan.In.Trace.Reason = "missed"
		p.Metrics.EventsMissed.WithLabelValues(inType).Inc()
		p.Logger.Warn("event too old to answer: logged as missed", slog.String("event_id", ev.ID),
			slog.String("type", inType), slog.Duration("age", age.Round(time.Second)))
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
		msgs, bubbles, err := p.render(res.Replies)
		if err != nil {
			return plan, err
		}
		plan.Reply = &Reply{Messages: msgs, Bubbles: bubbles, Author: AuthorBot, Trace: t.trace}
	}
	owner := OwnerBot
	if t.conv != nil {
		owner = t.conv.Owner
	}
	if tr.Handoff && owner == OwnerBot {
		at := tc.Now
		plan.Owner = &OwnerChange{Owner: OwnerWaiting, HandoffAt: &at, Path: handoffPath(res.State)}
	}
	plan.Progress = p.progress(tr)
	return plan, nil
}

// handoffPathLen is how many nodes before a handover analytics keeps.
const handoffPathLen = 3

// handoffPath is the nodes that led to the handover, oldest first, and the
// node it is on.
func handoffPath(st dialog.State) []string {
	h := st.History
	if len(h) > 0 && h[len(h)-1] == st.Node {
		h = h[:len(h)-1]
	}
	return append(slices.Clone(h[max(0, len(h)-handoffPathLen):]), st.Node)
}

// progress is what a turn tells about how its conversation goes: reaching
// a resolution makes resolved the verdict so far (the conversation goes on
// until it idles: the user may answer whether it helped, or ask more), and
// the first topic after the start is what the conversation is about.
func (p *Processor) progress(tr dialog.Trace) *Progress {
	var pr Progress
	if tr.Resolved {
		pr.Verdict, pr.Resolved = OutcomeResolved, true
	}
	if pack := p.engine.Pack(); tr.ToTopic != "" && pack != nil {
		if start := pack.Node(pack.Start); start == nil || tr.ToTopic != start.Topic {
			pr.Subject = tr.ToTopic
		}
	}
	if pr == (Progress{}) {
		return nil
	}
	return &pr
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
// idle time-out (it ends), else a new one for owner.
func (t *planner) conversation(owner, staffID string) {
	if c := t.conv; c != nil && t.idle(c) {
		t.plan.Close = &Ending{Outcome: c.ending(), Reason: EndIdle}
		t.conv = nil
	}
	if t.conv == nil {
		t.plan.Open = &Opening{Owner: owner, StaffID: staffID, PackID: t.packID, PackVersion: t.packVersion}
	}
}

// idle reports whether c, which the bot owns, had no activity for the idle
// time-out before the event (waiting and staff-owned conversations never
// time out).
func (t *planner) idle(c *ConversationRef) bool {
	return c.Owner == OwnerBot && t.p.IdleTimeout > 0 && t.tc.Item.Event.Timestamp.Sub(c.LastActivityAt) > t.p.IdleTimeout
}

// ending is the outcome of a conversation that idles: its verdict so far,
// else abandoned (nobody wrote for the idle time before a resolution).
func (c *ConversationRef) ending() string {
	if c.Verdict != "" {
		return c.Verdict
	}
	return OutcomeAbandoned
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

// Process handles the pending events of one chat, in order, waiting for
// its lock, until none is left.
func (p *Processor) Process(ctx context.Context, chatID string) error {
	for {
		b, err := p.process(ctx, []string{chatID}, true)
		if err != nil || len(b.again) == 0 {
			return err
		}
	}
}

// HandleNow accepts ev into the inbox and processes its chat until ev is
// done, returning what ev produced. It is the synchronous entry for `todoku
// chat` (with a Sender that records what would be sent).
func (p *Processor) HandleNow(ctx context.Context, ev Event) (Turn, error) {
	if _, err := p.store.Accept(ctx, []Event{ev}); err != nil {
		return Turn{}, err
	}
	for {
		b, err := p.process(ctx, []string{ev.ChatID}, true)
		if err != nil {
			return Turn{}, err
		}
		if ct := b.turns[ev.ChatID]; ct != nil && ct.Item != nil && ct.Item.Event.ID == ev.ID && ct.Err == nil {
			turn := Turn{Messages: []json.RawMessage{}}
			if in := ct.Plan.In; in != nil {
				turn.Node, turn.Pack = in.Trace.NodeAfter, in.Trace.PackID
			}
			if st := ct.Plan.State; st != nil {
				turn.Pack = st.PackID
			}
			if pos := ct.Plan.Position; pos != nil {
				turn.Node, turn.Topic = pos.Node, pos.Topic
			}
			if ct.Plan.Reply != nil {
				turn.Messages = ct.Plan.Reply.Messages
			}
			return turn, nil
		}
		if len(b.again) == 0 {
			return Turn{}, fmt.Errorf("bot: event %s was not processed (a duplicate id, or its turn failed)", ev.ID)
		}
	}
}
