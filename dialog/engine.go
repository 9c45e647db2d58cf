package dialog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/todoku/todoku/knowledge"
)

// Defaults for Options.
const (
	DefaultIdleAfter  = 30 * time.Minute
	DefaultThreshold  = 0.5
	DefaultSure       = 0.8
	DefaultMaxHistory = 20
)

// japan is the default time zone: Japan has one offset and no daylight
// saving, so a fixed zone needs no time zone database.
var japan = time.FixedZone("JST", 9*60*60)

// LINE's limits on one turn, enforced defensively here (the pack validator
// rejects packs that would exceed them).
const (
	MaxReplies      = 5
	MaxQuickReplies = 13
)

// AnswerYes is the answer intent that follows a node's Next when the node
// does not list it in Expects ("はい", "次へ").
const AnswerYes = "yes"

// AnswerNo is the answer intent for "no, it did not work".
const AnswerNo = "no"

// IntentThanks is plain thanks ("ありがとう、やってみます"). In the middle of a
// step that asks whether something worked (the node expects done) it is
// answered with Pack.Texts[thanks] and the question stays open; elsewhere it
// goes where its target leads (the closing).
const IntentThanks = "thanks"

// AnswerDone is the answer intent for "it worked, it arrived".
const AnswerDone = "done"

// AnswerAlreadyDone ("それはもうやった") counts, where a node does not list
// it, as the node's "no" answer: the step did not help, so the user moves on
// instead of getting the same step again.
const AnswerAlreadyDone = "already_done"

// TopicCodeSafety is the topic of the node shown after the code-safety warning.
const TopicCodeSafety = "code_safety"

// Optional Pack.Texts keys for the labels of the engine's own quick replies
// (the offer of a person, the idle question). Without them the engine uses the
// label the pack's own buttons most often give that command, else the
// Japanese defaults below.
const (
	TextLabelHandoff = "label_handoff" // 人と話す
	TextLabelRestart = "label_restart" // 最初から
	TextLabelResume  = "label_resume"  // 続きから
	TextLabelReturn  = "label_return"  // 前の話に戻る (after a side question)
	TextLabelYes     = "label_yes"     // はい (confirmations)
	TextLabelNo      = "label_no"      // いいえ
)

var labelCommands = map[string]string{
	TextLabelHandoff: knowledge.CommandHandoff,
	TextLabelRestart: knowledge.CommandRestart,
	TextLabelResume:  knowledge.CommandResume,
}

var defaultLabels = map[string]string{
	TextLabelHandoff: "人と話す",
	TextLabelRestart: "最初から",
	TextLabelResume:  "続きから",
	TextLabelReturn:  "前の話に戻る",
	TextLabelYes:     "はい",
	TextLabelNo:      "いいえ",
}

// Understander reads free text in context: the node the user is on, the
// question it asks (its id and its words) and the answers it accepts, so
// that はい/いいえ/メール/SMS count where they answer the question. It returns
// candidate intents, best first, with a confidence in [0, 1], and the facts
// the text states whatever its intent. knowledge/understand.Matcher
// implements it.
type Understander interface {
	Read(q knowledge.Query) knowledge.Reading
}

// Options tune the engine. Zero values mean the defaults.
type Options struct {
	// IdleAfter is how long a user may be silent mid-flow before being asked
	// whether to continue or start over. Default 30 minutes; negative disables.
	IdleAfter time.Duration
	// Threshold is the minimum confidence to act on free text. Default 0.5.
	Threshold float64
	// MaxHistory bounds State.History (for 戻る). Default 20.
	MaxHistory int
	// Sure is the confidence from which free text goes to a weighty node
	// (Node.Confirm) without asking first. Default 0.8.
	Sure float64
	// Location is the time zone greetings and staff times are worded in.
	// Default Japan.
	Location *time.Location
}

// Engine runs conversations over one pack. It is immutable after New and safe
// for concurrent use; Step is pure and deterministic.
type Engine struct {
	pack *knowledge.Pack
	u    Understander
	opts Options

	nodes     map[string]*knowledge.Node
	intents   map[string]*knowledge.Intent
	questions map[string]*knowledge.Question
	facts     map[string]*knowledge.FactSpec
	start     *knowledge.Node
	handoff   *knowledge.Node
	safety    *knowledge.Node // may be nil
	// menu maps a node id to the label of the start node's choice leading there.
	menu map[string]string
	// labels are the engine's own button labels by Text* label key.
	labels map[string]string
	// typed are the postback buttons of each node by normalised label, for
	// users who type a label instead of tapping it; commandTyped and
	// pausedTyped are the engine's own buttons.
	typed        map[string][]typedButton
	commandTyped []typedButton
	pausedTyped  []typedButton
}

// typedButton is a button's normalised label and its postback data.
type typedButton struct{ key, data string }

// New builds an engine for p. The pack must name existing start, handoff and
// fallback nodes; it is otherwise assumed validated by knowledge's validator.
func New(p *knowledge.Pack, u Understander, opts Options) (*Engine, error) {
	if p == nil {
		return nil, errors.New("dialog: nil pack")
	}
	if u == nil {
		return nil, errors.New("dialog: nil understander")
	}
	if opts.IdleAfter == 0 {
		opts.IdleAfter = DefaultIdleAfter
	}
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.MaxHistory <= 0 {
		opts.MaxHistory = DefaultMaxHistory
	}
	if opts.Sure <= 0 {
		opts.Sure = DefaultSure
	}
	if opts.Location == nil {
		opts.Location = japan
	}
	e := &Engine{
		pack:      p,
		u:         u,
		opts:      opts,
		nodes:     byID(p.Nodes, func(n *knowledge.Node) string { return n.ID }),
		intents:   byID(p.Intents, func(in *knowledge.Intent) string { return in.ID }),
		questions: byID(p.Questions, func(q *knowledge.Question) string { return q.ID }),
		facts:     byID(p.Facts, func(f *knowledge.FactSpec) string { return f.ID }),
		menu:      make(map[string]string),
		labels:    make(map[string]string, len(defaultLabels)),
	}
	for _, c := range []struct{ field, id string }{{"start", p.Start}, {"handoff", p.Handoff}, {"fallback", p.Fallback}} {
		if c.id == "" {
			return nil, fmt.Errorf("dialog: pack %s has no %s node", p.ID, c.field)
		}
		if e.nodes[c.id] == nil {
			return nil, fmt.Errorf("dialog: pack %s: %s node %q does not exist", p.ID, c.field, c.id)
		}
	}
	e.start = e.nodes[p.Start]
	e.handoff = e.nodes[p.Handoff]
	e.safety = e.findSafetyNode()
	for _, c := range e.start.Choices {
		if c.Next != "" {
			if _, ok := e.menu[c.Next]; !ok {
				e.menu[c.Next] = c.Label
			}
		}
	}
	e.labels = commandLabels(p)
	e.typed = make(map[string][]typedButton, len(e.nodes))
	for id, n := range e.nodes {
		for _, q := range choiceQuickReplies(n.Choices) {
			if q.Data != "" {
				e.typed[id] = append(e.typed[id], typedButton{labelKey(q.Label), q.Data})
			}
		}
	}
	for _, c := range []struct{ cmd, key string }{
		{knowledge.CommandRestart, TextLabelRestart},
		{knowledge.CommandHandoff, TextLabelHandoff},
		{knowledge.CommandResume, TextLabelResume},
	} {
		b := typedButton{labelKey(e.label(c.key)), knowledge.PostbackCommandPrefix + c.cmd}
		if c.cmd != knowledge.CommandResume {
			e.commandTyped = append(e.commandTyped, b)
		}
		if c.cmd != knowledge.CommandHandoff {
			e.pausedTyped = append(e.pausedTyped, b)
		}
	}
	return e, nil
}

// byID indexes items by id; the first of a repeated id wins.
func byID[T any](items []T, id func(*T) string) map[string]*T {
	out := make(map[string]*T, len(items))
	for i := range items {
		if _, dup := out[id(&items[i])]; !dup {
			out[id(&items[i])] = &items[i]
		}
	}
	return out
}

// commandLabels picks the label of each command button the engine adds: the
// pack's text if set, else the pack's most frequent label for that command
// (first seen wins ties), else the default.
func commandLabels(p *knowledge.Pack) map[string]string {
	counts := map[string]map[string]int{}
	var order []string
	for _, n := range p.Nodes {
		for _, c := range n.Choices {
			if c.Command == "" || c.Label == "" {
				continue
			}
			if counts[c.Command] == nil {
				counts[c.Command] = map[string]int{}
			}
			if counts[c.Command][c.Label] == 0 {
				order = append(order, c.Command+"\x00"+c.Label)
			}
			counts[c.Command][c.Label]++
		}
	}
	out := make(map[string]string, len(defaultLabels))
	for key, def := range defaultLabels {
		if s := p.Text(key); s != "" {
			out[key] = s
			continue
		}
		cmd, best, bestN := labelCommands[key], def, 0
		if cmd == "" {
			out[key] = def
			continue
		}
		for _, o := range order {
			c, l, _ := strings.Cut(o, "\x00")
			if c == cmd && counts[c][l] > bestN {
				best, bestN = l, counts[c][l]
			}
		}
		out[key] = best
	}
	return out
}

// Pack returns the engine's pack.
func (e *Engine) Pack() *knowledge.Pack { return e.pack }

// Options returns the options in effect, defaults filled in.
func (e *Engine) Options() Options { return e.opts }

// findSafetyNode returns the node a topic intent about code safety leads to,
// else the first node of topic code_safety, else nil.
func (e *Engine) findSafetyNode() *knowledge.Node {
	for _, in := range e.pack.Intents {
		if intentKind(&in) != knowledge.KindTopic {
			continue
		}
		if n := e.nodes[in.Target]; n != nil && n.Topic == TopicCodeSafety {
			return n
		}
	}
	for i := range e.pack.Nodes {
		if e.pack.Nodes[i].Topic == TopicCodeSafety {
			return &e.pack.Nodes[i]
		}
	}
	return nil
}

func (e *Engine) label(key string) string { return e.labels[key] }

func (e *Engine) topicOf(id string) string {
	if n := e.nodes[id]; n != nil {
		return n.Topic
	}
	return ""
}

// intentKind returns the intent's kind, topic when unset.
func intentKind(in *knowledge.Intent) string {
	if in.Kind == "" {
		return knowledge.KindTopic
	}
	return in.Kind
}

// Step runs one turn: the state before, what the user did, and it returns the
// state after, the replies to send and a trace. It never mutates st, does no
// I/O and reads the time only from in.Time.
//
// The rules, in order:
//   - group/room: the one-to-one notice, state untouched;
//   - follow: the start node, slots, history and the wait for a person cleared;
//   - postback go=<node> enters the node, cmd=<command> runs the command
//     (restart, back, handoff, resume), no=<node> declines a confirmation;
//     anything else is a stale button: the notice and the current question
//     again;
//   - text that looks like a code or a password ([code], [password],
//     [recovery_code], 6-8 digits, a recovery code): the code-safety warning
//     and the code-safety node;
//   - a new conversation's first text goes where it leads (a greeting or a
//     miss shows the welcome);
//   - back after IdleAfter mid-flow: asked whether to continue or start over,
//     unless the text is confidently a topic or a command;
//   - after a confirmation (State.Pending), yes goes to the node asked about,
//     no apologises; other text is read as usual;
//   - a typed button label acts like the tap;
//   - otherwise the facts the text states are remembered (State.Slots), and
//     the best reading at or above the threshold acts: an expected answer
//     (near-ties included), a command, a topic from anywhere; "yes" follows
//     Node.Next; a stated fact that answers the current question answers it;
//     plain thanks mid-step are thanked back; a partial reading of a weighty
//     node (Node.Confirm) is confirmed first; someone waiting for a person
//     gets a short acknowledgement for anything but a clear new need; not
//     understood: ask again with the likely options, then offer a person.
//
// Moving to a node skips the questions whose answers are known (Node.Asks,
// Node.Routes), never sends the step the user is on again whole, and offers
// a way back after a side question. Entering a node applies its facts,
// records the node left in History and sends its messages with its choices
// as quick replies on the last bubble (at most MaxReplies bubbles and
// MaxQuickReplies buttons).
func (e *Engine) Step(st State, in Input) Result {
	t := &turn{e: e, st: cloneState(st), now: in.Time, staff: in.Staff}
	t.trace.FromNode = st.Node
	t.trace.FromTopic = e.topicOf(st.Node)
	if in.Kind == InputGroup {
		// A group or room is not this user's one-to-one conversation: leave
		// the state as it was.
		t.trace.Reason = ReasonGroup
		t.replies = []Reply{{Text: e.pack.Text(knowledge.TextGroup)}}
		t.trace.ToNode = st.Node
		t.trace.ToTopic = t.trace.FromTopic
		return Result{State: t.st, Replies: t.replies, Trace: t.trace}
	}
	t.forgetUnknownNodes()
	if t.st.Node == e.handoff.ID {
		t.st.Waiting = true // a state saved before Waiting existed
	}

	switch in.Kind {
	case InputFollow:
		t.st.Waiting = false
		t.st.Pending = ""
		t.restart(ReasonStart)
	case InputPostback:
		t.postback(in.Data)
	case InputText:
		t.text(in.Text)
	default: // InputNonText and anything unknown
		t.nonText()
	}

	t.st.LastSeen = in.Time
	t.st.PackID = e.pack.ID
	t.st.PackVersion = e.pack.Version
	t.trace.ToNode = t.st.Node
	t.trace.ToTopic = e.topicOf(t.st.Node)
	if t.topic != "" {
		t.trace.ToTopic = t.topic
	}
	return Result{State: t.st, Replies: t.replies, Trace: t.trace}
}

// cloneState copies st so that Step never aliases the caller's slices and maps.
func cloneState(st State) State {
	out := st
	if st.History != nil {
		out.History = append([]string(nil), st.History...)
	}
	if st.Slots != nil {
		out.Slots = make(map[string]string, len(st.Slots))
		for k, v := range st.Slots {
			out.Slots[k] = v
		}
	}
	return out
}
