// Package route decides, for every turn, which service's pack answers: the
// service the user names (Gmail, アップルID, ヤフー...), the one the
// conversation is about, or the default. It holds one dialog engine per
// pack of a language and, like the engine, is pure: no I/O, no clock.
//
// The service is recognised from the names each pack lists (see
// knowledge.Namer), at any turn: a service named that is not the current one
// switches packs, entering the new pack at the step of the same id or topic
// (「Googleの方も」 on Microsoft's SMS step is Google's SMS step); two named
// are asked about with buttons; a service no pack serves gets the pack's
// other_service node, never another service's advice. While the service is
// only assumed (nothing named yet), the first step into the flow says which
// service the advice is for and offers a button for each other one.
package route

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/knowledge"
)

// Texts the router uses, from the pack answering (usually from a part).
const (
	// TextServiceNote says which service the advice is for while the user
	// has not said; the other services' buttons follow. On the start node
	// (the main menu) TextServiceMenu says only that the buttons are there.
	TextServiceNote = "service_note"
	TextServiceMenu = "service_menu"
	// TextServiceSwitch goes in front of the first step after a switch.
	TextServiceSwitch = "service_switch"
	// TextWhichService asks which of the services named the user means.
	TextWhichService = "which_service"
)

// ReasonWhichService is the trace reason of a turn that asked which
// service the user means.
const ReasonWhichService = "which_service"

// maxBare is how long, in characters, what is left of a text without the
// service's name may be for the text to be only the name (です, も, は？).
const maxBare = 3

// NodeWhichService is the node asking which service, without a list of
// names to choose from ("ほかのサービスです").
const NodeWhichService = "which_service"

// Router steps the engine of the pack that answers each turn. It is
// immutable after New and safe for concurrent use.
type Router struct {
	def      string                    // default service
	engines  map[string]*dialog.Engine // by service
	services []string                  // in the order the packs were given
	byPack   map[string]string         // pack id -> service
	namer    *knowledge.Namer
}

// New builds a router over engines, one per service of one language;
// def is the pack id of the default (the service assumed until the user
// names one).
func New(engines []*dialog.Engine, def string) (*Router, error) {
	r := &Router{engines: map[string]*dialog.Engine{}, byPack: map[string]string{}}
	var packs []*knowledge.Pack
	for _, e := range engines {
		p := e.Pack()
		if _, dup := r.engines[p.Service]; dup {
			return nil, fmt.Errorf("route: two packs serve %q", p.Service)
		}
		if len(packs) > 0 && p.Language != packs[0].Language {
			return nil, fmt.Errorf("route: pack %s is in %q, pack %s in %q", p.ID, p.Language, packs[0].ID, packs[0].Language)
		}
		r.engines[p.Service] = e
		r.services = append(r.services, p.Service)
		r.byPack[p.ID] = p.Service
		packs = append(packs, p)
		if p.ID == def {
			r.def = p.Service
		}
	}
	if r.def == "" {
		return nil, errors.New("route: the default pack " + def + " is not among the packs")
	}
	r.namer = knowledge.NewNamer(packs, nil)
	// Buttons in the order the default pack's "which service?" step lists
	// the services, the rest after.
	order := map[string]int{}
	if n := r.engines[r.def].Pack().Node(NodeWhichService); n != nil {
		for i, c := range n.Choices {
			if c.Service != "" {
				order[c.Service] = i + 1
			}
		}
	}
	slices.SortStableFunc(r.services, func(a, b string) int { return rank(order, a) - rank(order, b) })
	return r, nil
}

// Pack returns the default pack.
func (r *Router) Pack() *knowledge.Pack { return r.engines[r.def].Pack() }

// Engine returns the engine of a service, or nil.
func (r *Router) Engine(service string) *dialog.Engine { return r.engines[service] }

// Step runs one turn in the pack that should answer it. See the package
// documentation for the rules.
func (r *Router) Step(st dialog.State, in dialog.Input) dialog.Result {
	cur := r.current(st)
	switch in.Kind {
	case dialog.InputFollow:
		return r.noted(dialog.State{}, r.engines[r.def].Step(st, in))
	case dialog.InputPostback:
		if svc, ok := strings.CutPrefix(in.Data, knowledge.PostbackServicePrefix); ok {
			return r.chosen(cur, svc, st, in)
		}
		if id, ok := strings.CutPrefix(in.Data, knowledge.PostbackNodePrefix); ok &&
			r.engines[cur].Pack().Node(id) == nil && r.engines[r.def].Pack().Node(id) != nil {
			// A button of the default pack's (the rich menu is the default
			// pack's) to a step this pack does not have: the default's.
			return r.engines[r.def].Step(dialog.State{LastSeen: st.LastSeen, Waiting: st.Waiting}, in)
		}
	case dialog.InputText:
		return r.text(cur, st, in)
	}
	return r.engines[cur].Step(st, in)
}

// current is the service of the pack that produced st, else the default.
func (r *Router) current(st dialog.State) string {
	if svc, ok := r.byPack[st.PackID]; ok {
		return svc
	}
	return r.def
}

// known reports whether the user named or chose the service of st.
func known(st dialog.State) bool { return st.Slots[knowledge.FactService] != "" }

func (r *Router) text(cur string, st dialog.State, in dialog.Input) dialog.Result {
	var named, strong []string
	other, notCur := false, false
	for _, m := range r.namer.Find(in.Text) {
		switch {
		case m.Negated:
			notCur = notCur || m.Service == cur
		case m.Service == knowledge.ServiceOther:
			other = true
		case r.engines[m.Service] != nil:
			named = append(named, m.Service)
			if m.Strong {
				strong = append(strong, m.Service)
			}
		}
	}
	if len(named) == 2 && len(strong) == 1 && strong[0] != cur && slices.Contains(named, cur) {
		// 「Googleの確認コードが…こちらはマイクロソフト専用ですか？」: the
		// service named with its codes or sign-in is meant; the current
		// one, named only, is what the user thinks this chat is for.
		named = strong
	}
	// Another service's pack reads the rest of the text: the name tells it
	// nothing (and 「Googleの方も」 would read as something). The current
	// pack reads it whole, as its examples are written.
	rest := in
	if len(named) == 1 {
		rest.Text = r.namer.Strip(in.Text)
	}
	switch {
	case len(named) == 1 && named[0] == cur:
		res := r.sameService(cur, withService(st, cur), in, rest)
		if !known(st) {
			res = learned(res, cur)
		}
		return res
	case len(named) == 1:
		return r.switchTo(named[0], st, rest)
	case len(named) > 1:
		return r.ask(cur, named, st, in)
	case other:
		return r.enter(cur, st, in, knowledge.NodeOtherService)
	case notCur:
		return r.enter(cur, st, in, NodeWhichService)
	}
	res := r.engines[cur].Step(st, in)
	if svc := learnedService(res.Trace); svc != "" && svc != cur && r.engines[svc] != nil {
		// The understander read a service the names did not catch.
		return r.switchTo(svc, st, in)
	}
	return r.noted(st, res)
}

// sameService answers a text naming the service the user is already in:
// read whole, as the pack's examples are written, or, when it says no more
// than the name (「Googleです」 to "which service?"), the step again.
func (r *Router) sameService(cur string, st dialog.State, in, rest dialog.Input) dialog.Result {
	if utf8.RuneCountInString(rest.Text) > maxBare {
		return r.engines[cur].Step(st, in)
	}
	at := st.Node
	if at == "" {
		at = r.engines[cur].Pack().Start
	}
	return r.engines[cur].Step(st, goTo(in, at))
}

// chosen answers a tap on a service button.
func (r *Router) chosen(cur, svc string, st dialog.State, in dialog.Input) dialog.Result {
	switch {
	case svc == knowledge.ServiceOther:
		return r.enter(cur, st, in, knowledge.NodeOtherService)
	case r.engines[svc] == nil:
		return r.engines[cur].Step(st, in) // a stale button
	case svc == cur:
		st = withService(st, cur)
		return r.engines[cur].Step(st, goTo(in, r.mapNode(cur, st.Node, cur)))
	}
	return r.switchTo(svc, st, in)
}

// enter steps service cur's engine into node id (if the pack has it) as if
// its button had been tapped; the reading of in is lost, which is the point.
func (r *Router) enter(cur string, st dialog.State, in dialog.Input, id string) dialog.Result {
	e := r.engines[cur]
	if e.Pack().Node(id) == nil {
		return e.Step(st, in)
	}
	res := e.Step(st, goTo(in, id))
	res.Trace.Reason = dialog.ReasonIntent
	return res
}

// switchTo answers in with service svc's pack, from the step of the same id
// or topic as the user's step in the pack they were in. A text in has the
// service's name stripped; empty, it only named the service.
func (r *Router) switchTo(svc string, st dialog.State, in dialog.Input) dialog.Result {
	e := r.engines[svc]
	fresh := dialog.State{Slots: map[string]string{knowledge.FactService: svc}, Waiting: st.Waiting}
	at := r.mapNode(r.current(st), st.Node, svc)
	var res dialog.Result
	switch {
	case in.Kind == dialog.InputText && in.Text != "":
		// Read as a new conversation's first message there: a question of
		// its own (「じゃあアマゾンのワンタイムパスワードは？」) goes where it
		// leads; one that says nothing else (「Googleの方も同じです」) gets
		// the step the user was on, there.
		res = e.Step(fresh, in)
		if st.Node == "" {
			return keepService(res, svc)
		}
		if res.Trace.ToNode == e.Pack().Start && at != e.Pack().Start {
			res = e.Step(fresh, goTo(in, at))
		}
	default:
		res = e.Step(fresh, goTo(in, at))
	}
	res.Trace.FromNode, res.Trace.FromTopic = st.Node, ""
	if n := r.engines[r.current(st)].Pack().Node(st.Node); n != nil {
		res.Trace.FromTopic = n.Topic
	}
	if at != e.Pack().Start {
		res.Replies = prefix(res.Replies, e.Pack().Text(TextServiceSwitch))
	}
	return keepService(res, svc)
}

// ask answers a text naming several services with the question which one,
// a button for each. The turn's topic is what the text was about.
func (r *Router) ask(cur string, named []string, st dialog.State, in dialog.Input) dialog.Result {
	e := r.engines[cur]
	probe := e.Step(st, in)
	out := st
	out.LastSeen = in.Time
	out.PackID, out.PackVersion = e.Pack().ID, e.Pack().Version
	var qrs []dialog.QuickReply
	for _, svc := range named {
		qrs = append(qrs, r.button(svc))
	}
	return dialog.Result{
		State:   out,
		Replies: []dialog.Reply{{Text: e.Pack().Text(TextWhichService), QuickReplies: qrs}},
		Trace: dialog.Trace{Reason: ReasonWhichService, FromNode: st.Node, FromTopic: probe.Trace.FromTopic,
			ToNode: st.Node, ToTopic: probe.Trace.ToTopic},
	}
}

// noted adds, while the service is only assumed, a line saying which
// service the advice is for and a button for each other service, to the
// first step into the flow (from a new conversation or the main menu).
func (r *Router) noted(st dialog.State, res dialog.Result) dialog.Result {
	if known(st) || known(res.State) || len(r.services) < 2 || len(res.Replies) == 0 {
		return res
	}
	e := r.engines[r.current(res.State)]
	p := e.Pack()
	note := p.Text(TextServiceNote)
	to := p.Node(res.Trace.ToNode)
	if to != nil && to.ID == p.Start && p.Text(TextServiceMenu) != "" {
		note = p.Text(TextServiceMenu)
	}
	if note == "" || to == nil || (st.Node != "" && st.Node != p.Start) ||
		to.Topic == knowledge.TopicHandoff || to.Topic == knowledge.TopicOutOfScope || to.ID == NodeWhichService {
		return res
	}
	last := &res.Replies[len(res.Replies)-1]
	var buttons []dialog.QuickReply
	for _, svc := range r.services {
		if svc != p.Service {
			buttons = append(buttons, r.button(svc))
		}
	}
	if len(last.QuickReplies)+len(buttons) > dialog.MaxQuickReplies {
		return res
	}
	replies := slices.Clone(res.Replies)
	switch n := len(replies); {
	case n < dialog.MaxReplies:
		replies = slices.Insert(replies, n-1, dialog.Reply{Text: note})
	case replies[n-2].Buttons == nil:
		replies[n-2].Text += "\n\n" + note
	default:
		return res
	}
	last = &replies[len(replies)-1]
	last.QuickReplies = append(slices.Clone(last.QuickReplies), buttons...)
	res.Replies = replies
	return res
}

// mapNode finds, in service to's pack, the step matching node id of
// service from's pack: the node of the same id, else the first node of the
// same topic (a topic intent's target first), else the start. The router's
// own steps (which service, other service) map to the start.
func (r *Router) mapNode(from, id, to string) string {
	dst := r.engines[to].Pack()
	if id == "" || id == NodeWhichService || id == knowledge.NodeOtherService {
		return dst.Start
	}
	if dst.Node(id) != nil {
		return id
	}
	src := r.engines[from].Pack().Node(id)
	if src == nil {
		return dst.Start
	}
	for _, in := range dst.Intents {
		if n := dst.Node(in.Target); n != nil && in.Kind == knowledge.KindTopic && n.Topic == src.Topic {
			return n.ID
		}
	}
	for _, n := range dst.Nodes {
		if n.Topic == src.Topic {
			return n.ID
		}
	}
	return dst.Start
}

// button is the quick reply that switches to service svc.
func (r *Router) button(svc string) dialog.QuickReply {
	p := r.engines[svc].Pack()
	label := p.Label
	if label == "" {
		label = p.Service
	}
	return dialog.QuickReply{Label: label, Data: knowledge.PostbackServicePrefix + svc, DisplayText: label}
}

func rank(order map[string]int, svc string) int {
	if i, ok := order[svc]; ok {
		return i
	}
	return len(order) + 1
}

// goTo is in as the tap of a button to node id.
func goTo(in dialog.Input, id string) dialog.Input {
	return dialog.Input{Kind: dialog.InputPostback, Data: knowledge.PostbackNodePrefix + id, Time: in.Time, Staff: in.Staff}
}

// withService returns st with the service recorded as named.
func withService(st dialog.State, svc string) dialog.State {
	if st.Slots[knowledge.FactService] == svc {
		return st
	}
	slots := maps.Clone(st.Slots)
	if slots == nil {
		slots = map[string]string{}
	}
	slots[knowledge.FactService] = svc
	st.Slots = slots
	return st
}

// keepService makes sure the state after a switch remembers the service
// (a restart in the same turn would have cleared it), and the trace says
// so.
func keepService(res dialog.Result, svc string) dialog.Result {
	res.State = withService(res.State, svc)
	return learned(res, svc)
}

// learned records in the trace that the turn settled the service.
func learned(res dialog.Result, svc string) dialog.Result {
	f := knowledge.FactService + "=" + svc
	if !slices.Contains(res.Trace.Facts, f) {
		res.Trace.Facts = append(slices.Clone(res.Trace.Facts), f)
	}
	return res
}

// learnedService is the service a turn's trace learned as a fact, if any.
func learnedService(tr dialog.Trace) string {
	for _, f := range tr.Facts {
		if v, ok := strings.CutPrefix(f, knowledge.FactService+"="); ok {
			return v
		}
	}
	return ""
}

// prefix puts text in front of replies when there is room for it.
func prefix(replies []dialog.Reply, text string) []dialog.Reply {
	if text == "" || len(replies) >= dialog.MaxReplies {
		return replies
	}
	return append([]dialog.Reply{{Text: text}}, replies...)
}
