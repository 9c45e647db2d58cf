package dialog

import (
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoku/todoku/knowledge"
)

// answerMargin: an expected answer wins over a slightly better command or
// topic reading, because the user is most likely answering the question just
// asked ("いいえ" on "did you check the junk folder?").
const answerMargin = 0.1

// safetyMargin: a confident code-safety reading ("someone asked me for my
// code") wins near-ties, since missing a scam warning costs far more than an
// unneeded one.
const safetyMargin = 0.05

// localMargin: a reading that continues the current thread (another node of
// the current topic, or one the current buttons lead to) wins near-ties over
// one that jumps elsewhere: "もう一回送っても大丈夫？" after the recovery form
// was refused is about sending the form again, not about resending a code.
const localMargin = 0.12

// localFactor scales the threshold for a reading that leads where one of
// the current buttons leads: the user most likely takes one of the steps
// just offered, in words (その間Outlookのメールは見れますか after the 30 days
// and its button 期間中にできること), so a little less confidence is needed.
const localFactor = 0.8

// onTopicFactor scales the threshold for an expected answer in a text that
// restates the current node's topic (see onTopicAnswer).
const onTopicFactor = 0.6

// handoffStay: on the handoff node, a topic reading under this score is about
// the wait for a person, and the user stays there.
const handoffStay = 0.95

// maxTypedLabel bounds the texts compared with button labels (LINE labels
// have at most 20 characters; a little slack for spaces and punctuation).
const maxTypedLabel = 24

// maxLikely is how many "did you mean" options a reprompt offers.
const maxLikely = 3

// turn is the working state of one Step.
type turn struct {
	e       *Engine
	st      State
	now     time.Time
	staff   Staff
	replies []Reply
	trace   Trace
	// topic, when set, is the topic the reply is about while the user
	// stays on their node (a confirmation, a waiting acknowledgement).
	topic string
	// learned are the facts set this turn, by name.
	learned map[string]bool
}

type actionKind int

// Kinds in order of precedence when scores tie.
const (
	actNone actionKind = iota
	actAnswer
	actCommand
	actTopic
)

// action is what a reading of free text would make the engine do.
type action struct {
	kind    actionKind
	intent  string
	score   float64
	next    string // actAnswer, actTopic
	command string // actCommand
	answer  string // actAnswer: the expect's answer (already_done counts as no)
}

// maxSkips bounds how many questions in a row are skipped because their
// answers are known.
const maxSkips = 4

// node returns the current node, nil for a new conversation.
func (t *turn) node() *knowledge.Node { return t.e.nodes[t.st.Node] }

// forgetUnknownNodes drops nodes the pack no longer has (a state saved under
// an older pack version), so the conversation carries on from what exists.
func (t *turn) forgetUnknownNodes() {
	if t.st.Node != "" && t.e.nodes[t.st.Node] == nil {
		t.st.Node = ""
		t.st.Paused = false
	}
	if p := t.e.nodes[t.st.Pending]; t.st.Pending != "" && (p == nil || p.Confirm == "") {
		t.st.Pending = ""
	}
	if len(t.st.History) == 0 {
		return
	}
	kept := t.st.History[:0]
	for _, id := range t.st.History {
		if t.e.nodes[id] != nil {
			kept = append(kept, id)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	t.st.History = kept
}

// enter moves to node id and sends its messages, with any system texts in
// front. push records the node left in History (for 戻る).
func (t *turn) enter(id, reason string, push bool, system ...string) {
	e := t.e
	n := e.nodes[id]
	if push && t.st.Node != id {
		t.pushHistory()
	}
	t.st.Node = id
	t.st.Paused = false
	t.st.Pending = ""
	t.st.Misses = 0
	t.applySets(n)
	if n.ID == e.handoff.ID {
		t.st.Waiting = true
	}
	t.trace.Reason = reason
	switch n.Terminal {
	case knowledge.TerminalResolved:
		t.trace.Resolved = true
	case knowledge.TerminalHandoff:
		t.trace.Handoff = true
	}
	t.replies = t.nodeReplies(n, system...)
}

// goTo moves to node id as the user's choice or answer: questions whose
// answer is already known are skipped (their expect followed), the handoff
// node is acknowledged rather than repeated while the user waits, and the
// step the user is on is not sent again.
func (t *turn) goTo(id, reason string) {
	e := t.e
	if id == e.handoff.ID {
		t.handoff(reason)
		return
	}
	id, skipped := t.skipKnown(id)
	if id == e.handoff.ID {
		t.handoff(reason)
		return
	}
	if id == t.st.Node {
		t.sameStep()
		return
	}
	for _, s := range skipped {
		if s != t.st.Node {
			t.pushHistory()
			t.st.Node = s
		}
	}
	var system []string
	if len(skipped) > 0 {
		t.trace.Skipped = skipped
		system = append(system, e.pack.Text(knowledge.TextKnownSkip))
	}
	t.enter(id, reason, true, system...)
}

// pushHistory records the current node in History, bounded.
func (t *turn) pushHistory() {
	if t.st.Node == "" {
		return
	}
	t.st.History = append(t.st.History, t.st.Node)
	if over := len(t.st.History) - t.e.opts.MaxHistory; over > 0 {
		t.st.History = append([]string(nil), t.st.History[over:]...)
	}
}

// skipKnown follows, from node id, the routes whose fact holds and the
// expects of questions whose answer is already known, and returns where that
// leads and the nodes skipped. Each node's facts are set first (email_check
// sets method=email, which forgets what was said of the SMS number).
func (t *turn) skipKnown(id string) (string, []string) {
	var skipped []string
	for len(skipped) < maxSkips {
		n := t.e.nodes[id]
		t.applySets(n)
		next, ok := t.route(n)
		if !ok {
			next, ok = t.knownAnswer(n)
		}
		if !ok || next == id || next == t.e.start.ID || slices.Contains(skipped, next) {
			break
		}
		skipped = append(skipped, id)
		id = next
	}
	return id, skipped
}

// route returns where the first of node n's routes whose fact holds leads.
func (t *turn) route(n *knowledge.Node) (string, bool) {
	for _, r := range n.Routes {
		if t.st.Slots[r.Fact] == r.Value && t.e.nodes[r.Next] != nil {
			return r.Next, true
		}
	}
	return "", false
}

// knownAnswer returns where node n's expect leads for the answer its
// question already has in the session's facts.
func (t *turn) knownAnswer(n *knowledge.Node) (string, bool) {
	if n == nil || n.Asks == "" {
		return "", false
	}
	q := t.e.questions[n.Asks]
	if q == nil || q.Fact == "" {
		return "", false
	}
	v, ok := t.st.Slots[q.Fact]
	if !ok {
		return "", false
	}
	for _, a := range q.Answers {
		if a.Value != v {
			continue
		}
		for _, x := range n.Expects {
			if x.Answer == a.Answer && t.e.nodes[x.Next] != nil {
				return x.Next, true
			}
		}
	}
	return "", false
}

// applySets records the facts and slots node n sets.
func (t *turn) applySets(n *knowledge.Node) {
	for _, k := range slices.Sorted(maps.Keys(n.Sets)) {
		t.setFact(k, n.Sets[k])
	}
}

// setFact records one fact (or slot). A fact that changes value forgets the
// facts that depend on it (the number was fine, but that was for SMS).
func (t *turn) setFact(name, value string) {
	old, had := t.st.Slots[name]
	if had && old == value {
		return
	}
	if t.st.Slots == nil {
		t.st.Slots = make(map[string]string)
	}
	t.st.Slots[name] = value
	if t.learned == nil {
		t.learned = make(map[string]bool)
	}
	t.learned[name] = true
	if t.e.facts[name] != nil {
		t.trace.Facts = append(t.trace.Facts, name+"="+value)
	}
	if had && old != value {
		for _, f := range t.e.pack.Facts {
			if f.DependsOn == name {
				delete(t.st.Slots, f.ID)
			}
		}
	}
}

// learn records the facts a reading found with enough confidence; only
// facts and values the pack declares count.
func (t *turn) learn(facts []knowledge.Fact) {
	for _, f := range facts {
		spec := t.e.facts[f.Name]
		if f.Score < t.e.opts.Threshold || spec == nil || !slices.Contains(spec.Values, f.Value) {
			continue
		}
		t.setFact(f.Name, f.Value)
	}
}

// answerFact records the fact the answer to node n's question means.
func (t *turn) answerFact(n *knowledge.Node, answer string) {
	if n == nil || n.Asks == "" {
		return
	}
	q := t.e.questions[n.Asks]
	if q == nil || q.Fact == "" {
		return
	}
	for _, a := range q.Answers {
		if a.Answer == answer && a.Value != "" {
			t.setFact(q.Fact, a.Value)
			return
		}
	}
}

// handoff goes to the handoff node, or, for someone already waiting for a
// person, acknowledges briefly with when staff answer.
func (t *turn) handoff(reason string) {
	t.waitingReply(reason, knowledge.TextWaiting)
}

// waitingReply acknowledges someone waiting for a person with text key
// (when the pack has it), else sends the handoff node.
func (t *turn) waitingReply(reason, key string) {
	e := t.e
	if t.st.Waiting {
		if w := e.pack.Text(key); w != "" {
			if t.st.Node == "" {
				t.st.Node = e.start.ID // a state from an older pack: its node is gone
			}
			t.st.Misses = 0
			t.st.Paused = false
			t.st.Pending = ""
			t.trace.Reason = ReasonWaiting
			t.trace.Handoff = true
			t.topic = e.handoff.Topic
			t.replies = []Reply{{Text: t.render(w), QuickReplies: capQuickReplies(t.currentQuickReplies())}}
			return
		}
	}
	t.enter(e.handoff.ID, reason, true)
	t.trace.Handoff = true
}

// sameStep answers a reading that leads to the step the user is on: the
// step is not sent again whole. A step of three or more bubbles sends its
// first (the main point: どのくらいで返事来るの？ after the refused form) and
// its question after a short note; a shorter one its question only; the
// main menu, which is no step to try, its last bubble (no second greeting).
func (t *turn) sameStep() {
	n := t.node()
	t.st.Misses = 0
	t.st.Paused = false
	t.st.Pending = ""
	t.trace.Reason = ReasonSame
	t.replies = t.replies[:0]
	menu := n.ID == t.e.start.ID
	if s := t.e.pack.Text(knowledge.TextSameStep); s != "" && !menu {
		t.replies = append(t.replies, Reply{Text: t.render(s)})
	}
	if len(n.Messages) > 2 && !menu {
		t.replies = append(t.replies, t.message(n.Messages[0]))
	}
	if len(n.Messages) > 0 {
		t.replies = append(t.replies, t.message(n.Messages[len(n.Messages)-1]))
	}
	if len(t.replies) > 0 {
		t.replies[len(t.replies)-1].QuickReplies = capQuickReplies(t.currentQuickReplies())
	}
}

// say sends system texts without moving; quick replies go on the last one.
func (t *turn) say(reason string, qrs []QuickReply, keys ...string) {
	t.trace.Reason = reason
	t.replies = t.replies[:0]
	for _, k := range keys {
		t.replies = append(t.replies, Reply{Text: t.render(t.e.pack.Text(k))})
	}
	if len(t.replies) > 0 && len(qrs) > 0 {
		t.replies[len(t.replies)-1].QuickReplies = capQuickReplies(qrs)
	}
}

func (t *turn) restart(reason string) {
	t.st.Slots = nil
	t.st.History = nil
	t.enter(t.e.start.ID, reason, false)
}

// confirm asks whether the user means weighty node n (「〜のことでしょうか？」)
// instead of going there on a partial reading; はい goes there.
func (t *turn) confirm(n *knowledge.Node, a action) {
	e := t.e
	if t.st.Node == "" {
		t.st.Node = e.start.ID
	}
	t.st.Pending = n.ID
	t.st.Misses = 0
	t.st.Paused = false
	t.trace.Reason = ReasonConfirm
	t.trace.Intent, t.trace.Score = a.intent, a.score
	t.topic = n.Topic
	yes, no := e.label(TextLabelYes), e.label(TextLabelNo)
	t.replies = []Reply{{Text: t.render(n.Confirm), QuickReplies: []QuickReply{
		{Label: yes, Data: knowledge.PostbackNodePrefix + n.ID, DisplayText: yes},
		{Label: no, Data: PostbackDeny + n.ID, DisplayText: no},
	}}}
}

// deny answers いいえ to a confirmation: a short apology and the buttons of
// the step the user is on.
func (t *turn) deny() {
	if t.st.Node == "" {
		t.st.Node = t.e.start.ID
	}
	t.st.Pending = ""
	t.st.Misses = 0
	t.say(ReasonDeny, t.currentQuickReplies(), knowledge.TextConfirmNo)
}

// back returns to the previous node; with no history it shows the start.
func (t *turn) back() {
	h := t.st.History
	for len(h) > 0 {
		prev := h[len(h)-1]
		h = h[:len(h)-1]
		if prev != t.st.Node {
			if len(h) == 0 {
				h = nil
			}
			t.st.History = h
			t.enter(prev, ReasonCommand, false)
			return
		}
	}
	t.st.History = nil
	t.enter(t.e.start.ID, ReasonCommand, false)
}

// onDetour reports whether the user is on a side question: the node before
// this one is of another topic, other than the start node's.
func (t *turn) onDetour() bool {
	h := t.st.History
	if len(h) == 0 {
		return false
	}
	prev, cur := t.e.nodes[h[len(h)-1]], t.node()
	return prev != nil && cur != nil && prev.ID != t.e.start.ID && prev.Topic != cur.Topic
}

// offerReturn adds a button back to step from, when the user just left it
// mid-flow for a question of another topic (30日も待つの？ in the SMS
// checklist): the side question is answered and the user can come back.
func (t *turn) offerReturn(from *knowledge.Node) {
	e := t.e
	if from == nil || from.Terminal != "" || from.ID == e.start.ID || from.ID == e.pack.Fallback || len(t.replies) == 0 {
		return
	}
	to := t.node()
	if t.trace.Reason != ReasonIntent || to.Terminal == knowledge.TerminalHandoff || !t.onDetour() || t.st.History[len(t.st.History)-1] != from.ID || leadsTo(from, to.ID) {
		return
	}
	last := &t.replies[len(t.replies)-1]
	last.QuickReplies = capQuickReplies(appendUnique(last.QuickReplies, e.commandQuickReply(knowledge.CommandResume, TextLabelReturn)))
}

// closes reports whether node id is a closing: resolved, of the start
// node's topic (thanks, goodbye).
func (e *Engine) closes(id string) bool {
	n := e.nodes[id]
	return n != nil && n.Terminal == knowledge.TerminalResolved && n.Topic == e.start.Topic
}

// expects reports whether node n lists answer among its expects.
func expects(n *knowledge.Node, answer string) bool {
	for _, x := range n.Expects {
		if x.Answer == answer {
			return true
		}
	}
	return false
}

// leadsTo reports whether one of node n's buttons, expects or next leads
// to node id: going there carries on n's thread (その番号はもう解約しました on
// the number question is its own "no").
func leadsTo(n *knowledge.Node, id string) bool {
	for _, c := range n.Choices {
		if c.Next == id {
			return true
		}
	}
	for _, x := range n.Expects {
		if x.Next == id {
			return true
		}
	}
	return n.Next == id
}

// command runs one of the Command* constants; false when unknown.
func (t *turn) command(cmd string) bool {
	switch cmd {
	case knowledge.CommandRestart:
		t.restart(ReasonCommand)
	case knowledge.CommandBack:
		t.back()
	case knowledge.CommandHandoff:
		t.handoff(ReasonCommand)
	case knowledge.CommandResume:
		if !t.st.Paused && t.onDetour() {
			// "続きをお願いします" after a side question (a code-safety
			// warning, the 30 days) returns to where the user was.
			t.back()
			return true
		}
		id := t.st.Node
		if id == "" {
			id = t.e.start.ID
		}
		t.enter(id, ReasonCommand, false)
	default:
		return false
	}
	return true
}

func (t *turn) postback(data string) {
	switch {
	case strings.HasPrefix(data, knowledge.PostbackNodePrefix):
		if id := strings.TrimPrefix(data, knowledge.PostbackNodePrefix); t.e.nodes[id] != nil {
			t.goTo(id, ReasonChoice)
			return
		}
	case strings.HasPrefix(data, knowledge.PostbackCommandPrefix):
		if t.command(strings.TrimPrefix(data, knowledge.PostbackCommandPrefix)) {
			return
		}
	case strings.HasPrefix(data, PostbackDeny):
		if t.st.Pending != "" && t.e.pack.Text(knowledge.TextConfirmNo) != "" {
			t.deny()
			return
		}
	}
	t.stale()
}

// stale answers a button this pack does not know by asking the current
// question again.
func (t *turn) stale() {
	id := t.st.Node
	if id == "" {
		id = t.e.start.ID
	}
	t.enter(id, ReasonStale, false, t.e.pack.Text(knowledge.TextStaleButton))
}

func (t *turn) nonText() {
	if t.st.Node == "" {
		t.enter(t.e.start.ID, ReasonNonText, false, t.e.pack.Text(knowledge.TextNonText))
		return
	}
	t.say(ReasonNonText, t.currentQuickReplies(), knowledge.TextNonText)
}

// warnSafety answers something that looks like a code or a password.
func (t *turn) warnSafety() {
	if s := t.e.safety; s != nil && s.ID != t.st.Node {
		t.enter(s.ID, ReasonSafety, true, t.e.pack.Text(knowledge.TextCodeSafety))
		return
	}
	if t.st.Node == "" {
		t.enter(t.e.start.ID, ReasonSafety, false, t.e.pack.Text(knowledge.TextCodeSafety))
		return
	}
	// Already on the safety node (or the pack has none): the warning alone,
	// under the current question's buttons.
	t.st.Misses = 0
	t.say(ReasonSafety, t.currentQuickReplies(), knowledge.TextCodeSafety)
}

func (t *turn) text(s string) {
	e := t.e
	if looksSecret(s) {
		t.warnSafety()
		return
	}
	if t.st.Node == "" {
		t.firstText(s)
		return
	}
	if t.st.Pending != "" && t.pendingAnswer(s) {
		return
	}
	t.st.Pending = ""
	idle := t.idle()
	if !idle {
		if data, ok := t.typedLabel(s); ok {
			t.postback(data)
			if t.trace.Reason == ReasonChoice || t.trace.Reason == ReasonCommand {
				t.trace.Intent = "label"
				t.trace.Score = 1
			}
			return
		}
	}
	n := t.node()
	r := e.read(s, n, t.st.Paused)
	if !t.st.Paused {
		t.learn(r.Facts)
	}
	matches := r.Matches
	a := e.decide(n, t.st.Paused, matches)
	if !idle && !t.st.Paused && a.kind == actTopic && a.next == e.start.ID && n.ID != e.start.ID && n.Terminal == "" {
		// どうしたらいい, 教えてください in the middle of a step ask about
		// that step, not for the main menu (最初から is a command, and a
		// user back after a pause is asked first).
		a.next = n.ID
	}
	if !idle && !t.st.Paused && (a.kind == actNone || (a.kind == actTopic && a.next == n.ID)) {
		// A fact stated this turn that answers the question asked
		// (大学のアドレスで、もう使えない) is the answer.
		if next, ok := t.knownAnswer(n); ok && t.learned[e.questions[n.Asks].Fact] {
			a = action{kind: actAnswer, next: next, intent: a.intent, score: a.score}
		}
	}
	if t.st.Waiting && a.kind == actTopic && e.pack.Text(knowledge.TextWaitingThanks) != "" {
		if e.closes(a.next) {
			// Thanks while waiting for a person: thanks back, and the
			// person is still coming.
			t.waitingReply(ReasonIntent, knowledge.TextWaitingThanks)
			t.trace.Intent, t.trace.Score = a.intent, a.score
			return
		}
	}
	if a.kind == actTopic && a.intent == IntentThanks && !t.st.Waiting && !idle && !t.st.Paused && e.pack.Text(knowledge.TextThanks) != "" && expects(n, AnswerDone) {
		t.st.Misses = 0
		t.say(ReasonThanks, t.currentQuickReplies(), knowledge.TextThanks)
		t.trace.Intent, t.trace.Score = a.intent, a.score
		return
	}
	if t.st.Waiting && (a.kind == actNone || (n.ID == e.handoff.ID && a.kind == actTopic && a.score < handoffStay)) {
		// Someone waiting for a person (まだですか, いつ連絡来る？) asks
		// about the wait: a short acknowledgement. A clear topic or a
		// command still moves on.
		t.handoff(ReasonIntent)
		t.traceBest(matches)
		return
	}
	if idle && a.kind != actCommand && a.kind != actTopic {
		t.st.Paused = true
		t.say(ReasonIdle, t.pausedQuickReplies(), knowledge.TextIdleResume)
		t.traceBest(matches)
		return
	}
	if a.kind == actNone && !idle && !t.st.Paused {
		a = t.resume(s, n)
	}
	if a.kind == actNone {
		t.miss(n, matches)
		return
	}
	t.act(a)
}

// pendingAnswer reads text after a confirmation question: yes goes to the
// node asked about, no apologises; anything else is read as usual (false).
func (t *turn) pendingAnswer(s string) bool {
	e := t.e
	p := e.nodes[t.st.Pending]
	if p == nil {
		return false
	}
	if data, ok := t.typedLabel(s); ok && (data == knowledge.PostbackNodePrefix+p.ID || data == PostbackDeny+p.ID) {
		t.postback(data)
		return true
	}
	r := e.readQuery(knowledge.Query{Text: s, Expects: []string{AnswerYes, AnswerNo}, Question: p.Confirm})
	var best knowledge.Match
	for _, m := range r.Matches {
		if m.Score > best.Score {
			best = m
		}
	}
	if best.Score < e.opts.Threshold {
		return false
	}
	switch best.Intent {
	case AnswerYes:
		t.goTo(p.ID, ReasonAnswer)
	case AnswerNo:
		if e.pack.Text(knowledge.TextConfirmNo) == "" {
			return false
		}
		t.deny()
	default:
		return false
	}
	t.trace.Intent, t.trace.Score = best.Intent, best.Score
	return true
}

// resume reads text not understood on the fallback node (the answer to an
// off-topic question) as a reply to the step before the digression: people
// go back to what they were doing (じゃあ元の話だけど、番号は合ってます).
func (t *turn) resume(s string, n *knowledge.Node) action {
	e := t.e
	if n == nil || n.ID != e.pack.Fallback || len(t.st.History) == 0 {
		return action{}
	}
	prev := e.nodes[t.st.History[len(t.st.History)-1]]
	if prev == nil || prev.ID == e.start.ID || prev.ID == n.ID || prev.Terminal != "" {
		return action{}
	}
	a := e.decide(prev, false, e.read(s, prev, false).Matches)
	if a.kind == actTopic && a.next == e.start.ID {
		return action{}
	}
	return a
}

// firstText handles a new user's first message: people often type their
// problem straight away, so go where it leads; only a greeting or a miss
// shows the welcome menu.
func (t *turn) firstText(s string) {
	e := t.e
	r := e.readQuery(knowledge.Query{Text: s, Expects: e.expectsFor(e.start, false)})
	t.learn(r.Facts)
	a := e.decide(e.start, false, r.Matches)
	if a.kind == actNone {
		t.enter(e.start.ID, ReasonStart, false)
		t.st.Misses = 1
		t.traceBest(r.Matches)
		return
	}
	t.act(a)
}

func (t *turn) act(a action) {
	e := t.e
	switch a.kind {
	case actAnswer:
		t.answerFact(t.node(), a.answer)
		t.goTo(a.next, ReasonAnswer)
	case actTopic:
		if n := e.nodes[a.next]; n.Confirm != "" && a.score < e.opts.Sure && n.ID != t.st.Node {
			t.confirm(n, a)
			return
		}
		from := t.node()
		t.goTo(a.next, ReasonIntent)
		t.offerReturn(from)
	case actCommand:
		t.command(a.command)
	}
	t.trace.Intent = a.intent
	t.trace.Score = a.score
}

// miss answers text that was not understood well enough to act on.
func (t *turn) miss(n *knowledge.Node, matches []knowledge.Match) {
	e := t.e
	t.st.Misses++
	if t.st.Misses >= 2 {
		qrs := []QuickReply{
			e.commandQuickReply(knowledge.CommandHandoff, TextLabelHandoff),
			e.commandQuickReply(knowledge.CommandRestart, TextLabelRestart),
		}
		qrs = appendUnique(qrs, t.currentQuickReplies()...)
		t.say(ReasonOffer, qrs, knowledge.TextOfferHuman)
	} else {
		qrs := t.likely(n, matches)
		qrs = appendUnique(qrs, t.currentQuickReplies()...)
		t.say(ReasonReprompt, qrs, knowledge.TextReprompt)
	}
	t.traceBest(matches)
}

// traceBest records the best candidate reading, even one too weak to act on,
// so that analytics can show what almost matched.
func (t *turn) traceBest(matches []knowledge.Match) {
	if len(matches) > 0 {
		t.trace.Intent = matches[0].Intent
		t.trace.Score = matches[0].Score
	}
}

// likely turns the best readings into buttons, labelled like the buttons the
// user has seen: the current node's choices, else the main menu's.
func (t *turn) likely(n *knowledge.Node, matches []knowledge.Match) []QuickReply {
	e := t.e
	floor := e.opts.Threshold / 3
	var out []QuickReply
	for _, m := range matches {
		if len(out) == maxLikely {
			break
		}
		if m.Score < floor {
			continue
		}
		a := e.actionFor(n, t.st.Paused, m)
		if (a.kind != actAnswer && a.kind != actTopic) || a.next == t.st.Node {
			continue
		}
		label := ""
		if n != nil {
			for _, c := range n.Choices {
				if c.Next == a.next {
					label = c.Label
					break
				}
			}
		}
		if label == "" {
			label = e.menu[a.next]
		}
		if label == "" {
			continue
		}
		out = appendUnique(out, QuickReply{Label: label, Data: knowledge.PostbackNodePrefix + a.next, DisplayText: label})
	}
	return out
}

// idle reports whether the user comes back mid-flow after IdleAfter.
func (t *turn) idle() bool {
	e := t.e
	if e.opts.IdleAfter < 0 || t.st.Paused || t.st.LastSeen.IsZero() || t.now.IsZero() {
		return false
	}
	n := t.node()
	if n == nil || n.ID == e.start.ID || n.Terminal != "" {
		return false
	}
	return t.now.Sub(t.st.LastSeen) > e.opts.IdleAfter
}

// currentQuickReplies are the buttons of the question the user is on.
func (t *turn) currentQuickReplies() []QuickReply {
	if t.st.Paused {
		return t.pausedQuickReplies()
	}
	n := t.node()
	if n == nil {
		n = t.e.start
	}
	qrs := choiceQuickReplies(n.Choices)
	if len(qrs) == 0 {
		qrs = []QuickReply{
			t.e.commandQuickReply(knowledge.CommandRestart, TextLabelRestart),
			t.e.commandQuickReply(knowledge.CommandHandoff, TextLabelHandoff),
		}
	}
	return qrs
}

func (t *turn) pausedQuickReplies() []QuickReply {
	return []QuickReply{
		t.e.commandQuickReply(knowledge.CommandResume, TextLabelResume),
		t.e.commandQuickReply(knowledge.CommandRestart, TextLabelRestart),
	}
}

// typedLabel finds a button whose label the user typed instead of tapping it.
func (t *turn) typedLabel(s string) (string, bool) {
	if utf8.RuneCountInString(s) > maxTypedLabel {
		return "", false
	}
	key := labelKey(s)
	if key == "" {
		return "", false
	}
	e := t.e
	var lists [2][]typedButton
	if t.st.Paused {
		lists[0] = e.pausedTyped
	} else {
		lists[0] = e.typed[t.st.Node]
	}
	lists[1] = e.commandTyped
	for _, l := range lists {
		for _, b := range l {
			if b.key == key {
				return b.data, true
			}
		}
	}
	return "", false
}

// read reads text on node n: with the question the node asks and the
// answers it expects (unless paused: the question then is whether to go on).
func (e *Engine) read(text string, n *knowledge.Node, paused bool) knowledge.Reading {
	q := knowledge.Query{Text: text, Expects: e.expectsFor(n, paused)}
	if n != nil && !paused {
		q.Node, q.Asks = n.ID, n.Asks
		if len(n.Messages) > 0 {
			q.Question = n.Messages[len(n.Messages)-1].Text
		}
	}
	return e.readQuery(q)
}

// readQuery asks the understander.
func (e *Engine) readQuery(q knowledge.Query) knowledge.Reading { return e.u.Read(q) }

// expectsFor lists the answer intents node n accepts, for the understander.
func (e *Engine) expectsFor(n *knowledge.Node, paused bool) []string {
	if paused {
		return []string{AnswerYes}
	}
	if n == nil {
		return nil
	}
	out := make([]string, 0, len(n.Expects)+2)
	hasYes, hasNo, hasDone := false, false, false
	for _, x := range n.Expects {
		out = append(out, x.Answer)
		hasYes = hasYes || x.Answer == AnswerYes
		hasNo = hasNo || x.Answer == AnswerNo
		hasDone = hasDone || x.Answer == AnswerAlreadyDone
	}
	if n.Next != "" && !hasYes {
		out = append(out, AnswerYes)
	}
	if hasNo && !hasDone && e.intents[AnswerAlreadyDone] != nil && e.alreadyDoneIsNo(n) {
		out = append(out, AnswerAlreadyDone)
	}
	return out
}

// alreadyDoneIsNo reports whether "I already did that" answers node n's
// question as its no: where the question asks whether a step worked (no
// question declared, or one that settles no fact), or where the question
// lists already_done among its answers (もう見た on the junk folder). On a
// question about the user's situation (is the number right?) it says
// nothing.
func (e *Engine) alreadyDoneIsNo(n *knowledge.Node) bool {
	q := e.questions[n.Asks]
	if q == nil || q.Fact == "" {
		return true
	}
	for _, a := range q.Answers {
		if a.Answer == AnswerAlreadyDone {
			return true
		}
	}
	return false
}

// decide picks what to do with the readings of free text: the best reading
// at or above the threshold that can be acted on here, a code-safety topic
// then an expected answer winning near-ties. actNone means not understood.
func (e *Engine) decide(n *knowledge.Node, paused bool, matches []knowledge.Match) action {
	var best, answer, safety, local, need action
	for _, m := range matches {
		if m.Score < e.opts.Threshold*localFactor {
			continue
		}
		a := e.actionFor(n, paused, m)
		if a.kind == actNone {
			continue
		}
		if m.Score < e.opts.Threshold {
			// Under the threshold only a reading that takes one of the
			// current buttons in words counts (see localFactor).
			if a.kind == actTopic && !paused && e.offers(n, a.next) && (local.kind == actNone || a.score > local.score) {
				local = a
			}
			continue
		}
		if a.kind == actAnswer && (answer.kind == actNone || a.score > answer.score) {
			answer = a
		}
		if a.kind == actTopic && !paused && e.continues(n, a.next) && (local.kind == actNone || a.score > local.score) {
			local = a
		}
		if a.kind == actTopic && e.topicOf(a.next) == TopicCodeSafety && (safety.kind == actNone || a.score > safety.score) {
			safety = a
		}
		if best.kind == actNone || a.score > best.score || (a.score == best.score && a.kind < best.kind) {
			best = a
		}
		if a.intent != IntentThanks && !(a.kind == actTopic && e.closes(a.next)) && (need.kind == actNone || a.score > need.score) {
			need = a
		}
	}
	if best.intent == IntentThanks && need.kind != actNone {
		// Thanks carry no need: わかりました、ありがとうございます。でもやっぱり
		// 人に相談したいです asks for a person; 届きました！ありがとう says
		// it arrived.
		best = need
	}
	if safety.kind != actNone && safety.score >= best.score-safetyMargin {
		return safety
	}
	if answer.kind != actNone && answer.score >= best.score-answerMargin {
		return answer
	}
	if best.kind == actTopic && n != nil && best.next == n.ID {
		if a := e.onTopicAnswer(n, matches); a.kind != actNone {
			return a
		}
	}
	if local.kind != actNone && local.score >= best.score-localMargin {
		return local
	}
	return best
}

// offers reports whether one of node n's buttons leads to node next; not
// for the main menu (a first message comes before it is seen, and its
// buttons are every topic).
func (e *Engine) offers(n *knowledge.Node, next string) bool {
	if n == nil || next == n.ID || n.ID == e.start.ID {
		return false
	}
	for _, c := range n.Choices {
		if c.Next == next {
			return true
		}
	}
	return false
}

// continues reports whether going to node next carries on the thread of node
// n: next is another node of n's topic, or one of n's buttons leads there.
func (e *Engine) continues(n *knowledge.Node, next string) bool {
	if n == nil || next == n.ID {
		return false
	}
	if t := e.nodes[next]; t != nil && t.Topic == n.Topic {
		return true
	}
	for _, c := range n.Choices {
		if c.Next == next {
			return true
		}
	}
	return false
}

// onTopicAnswer reads "迷惑メールにもないです" on the junk-folder question: the
// text confidently names the topic of the node the user is already on, so
// sending that node again would loop; the part that answers its question
// then decides, if one expected answer clearly stands out.
func (e *Engine) onTopicAnswer(n *knowledge.Node, matches []knowledge.Match) action {
	var first, second action
	for _, m := range matches {
		a := e.actionFor(n, false, m)
		if a.kind != actAnswer {
			continue
		}
		switch {
		case first.kind == actNone || a.score > first.score:
			first, second = a, first
		case second.kind == actNone || a.score > second.score:
			second = a
		}
	}
	if first.kind == actNone || first.score < e.opts.Threshold*onTopicFactor {
		return action{}
	}
	if second.kind != actNone && first.score-second.score < answerMargin {
		return action{}
	}
	return first
}

// actionFor says what one reading would do on node n, ignoring its score.
func (e *Engine) actionFor(n *knowledge.Node, paused bool, m knowledge.Match) action {
	in := e.intents[m.Intent]
	if in == nil {
		return action{}
	}
	a := action{intent: in.ID, score: m.Score}
	switch intentKind(in) {
	case knowledge.KindAnswer:
		if paused {
			if in.ID == AnswerYes {
				a.kind, a.command = actCommand, knowledge.CommandResume
				return a
			}
			return action{}
		}
		if n == nil {
			return action{}
		}
		for _, x := range n.Expects {
			if x.Answer == in.ID && e.nodes[x.Next] != nil {
				a.kind, a.next, a.answer = actAnswer, x.Next, x.Answer
				return a
			}
		}
		if in.ID == AnswerYes && e.nodes[n.Next] != nil {
			a.kind, a.next, a.answer = actAnswer, n.Next, AnswerYes
			return a
		}
		if in.ID == AnswerAlreadyDone && e.alreadyDoneIsNo(n) {
			for _, x := range n.Expects {
				if x.Answer == AnswerNo && e.nodes[x.Next] != nil {
					a.kind, a.next, a.answer = actAnswer, x.Next, AnswerNo
					return a
				}
			}
		}
	case knowledge.KindCommand:
		switch in.Command {
		case knowledge.CommandRestart, knowledge.CommandBack, knowledge.CommandHandoff, knowledge.CommandResume:
			a.kind, a.command = actCommand, in.Command
			return a
		}
	case knowledge.KindTopic:
		if e.nodes[in.Target] != nil {
			a.kind, a.next = actTopic, in.Target
			return a
		}
	}
	return action{}
}
