// Package flowgraph draws a knowledge pack's flow with the traffic it had:
// nodes in lanes by topic, transitions as arrows whose width and label say
// how many conversations took them, dead ends and drop-off nodes marked.
// It is pure: a pack and counts in, SVG out; the console and `todoku kb
// graph` draw the same picture.
package flowgraph

import (
	"cmp"
	"slices"

	"github.com/todoku/todoku/knowledge"
)

// Edge is a transition between two nodes; From "" is the conversation's
// first step.
type Edge struct{ From, To string }

// Traffic is what conversations did on a pack in a period.
type Traffic struct {
	// Edges counts the conversations that went From → To.
	Edges map[Edge]int
	// DropOff counts the conversations abandoned while on each node.
	DropOff map[string]int
}

// Entry is the id of the drawing's first node, where conversations begin.
const Entry = ""

// node is one box of the drawing.
type node struct {
	id      string
	topic   string
	excerpt string // the beginning of its first message
	kind    string // knowledge.Terminal*, or "" (kindDeadEnd: no way on)
	reached int    // conversations that arrived (the sum of the edges in)
	stayed  int    // conversations that stayed on it for a turn (not understood, same step)
	dropOff int
	layer   int // column
	row     int // row within its lane
	lane    int
	x, y    float64
}

const kindDeadEnd = "dead_end"

// edge is one arrow.
type edge struct {
	from, to *node
	static   bool // the pack has it (a button, an answer, a route)
	n        int  // conversations that took it
}

// lane is a topic's band of nodes.
type lane struct {
	topic string
	rows  int
	y, h  float64
}

// Graph is a pack's flow laid out in lanes (topics) and columns (steps
// from the start).
type Graph struct {
	pack  string
	nodes []*node
	byID  map[string]*node
	edges []*edge
	lanes []*lane
	cols  int
	maxN  int // the busiest edge's count
}

// Layout places the pack's nodes and the traffic's transitions. Columns
// are the fewest steps from the start along the pack's buttons, answers and
// routes; lanes are topics, in the order the flow first reaches them.
// Transitions from or to nodes the pack no longer has are left out.
func Layout(p *knowledge.Pack, t Traffic) *Graph {
	g := &Graph{pack: p.ID, byID: map[string]*node{}}
	entry := &node{id: Entry, topic: Entry}
	g.add(entry)
	for i := range p.Nodes {
		n := &p.Nodes[i]
		g.add(&node{id: n.ID, topic: n.Topic, excerpt: excerpt(n), kind: n.Terminal})
	}

	// Arrows: the pack's own ways on, then what conversations did.
	type key = Edge
	edges := map[key]*edge{}
	link := func(from, to string) *edge {
		a, b := g.byID[from], g.byID[to]
		if a == nil || b == nil {
			return nil
		}
		e := edges[key{from, to}]
		if e == nil {
			e = &edge{from: a, to: b}
			edges[key{from, to}] = e
			g.edges = append(g.edges, e)
		}
		return e
	}
	link(Entry, p.Start).static = true
	for i := range p.Nodes {
		n := &p.Nodes[i]
		ways := nexts(n)
		for _, to := range ways {
			if e := link(n.ID, to); e != nil && to != n.ID {
				e.static = true
			}
		}
		if len(ways) == 0 && n.Terminal == "" {
			g.byID[n.ID].kind = kindDeadEnd
		}
	}
	for k, c := range t.Edges {
		if c <= 0 {
			continue
		}
		if k.From == k.To {
			if n := g.byID[k.To]; n != nil {
				n.stayed += c
			}
			continue
		}
		if e := link(k.From, k.To); e != nil {
			e.n += c
			e.to.reached += c
		}
	}
	for id, c := range t.DropOff {
		if n := g.byID[id]; n != nil {
			n.dropOff += c
		}
	}
	// Map iteration above is unordered: sort the arrows for a stable drawing.
	pos := map[string]int{}
	for i, n := range g.nodes {
		pos[n.id] = i
	}
	slices.SortFunc(g.edges, func(a, b *edge) int {
		return cmp.Or(cmp.Compare(pos[a.from.id], pos[b.from.id]), cmp.Compare(pos[a.to.id], pos[b.to.id]))
	})
	for _, e := range g.edges {
		g.maxN = max(g.maxN, e.n)
	}

	g.layers(p)
	g.place()
	return g
}

func (g *Graph) add(n *node) {
	g.nodes = append(g.nodes, n)
	g.byID[n.id] = n
}

// nexts lists the nodes a node's buttons, answers and routes lead to, in
// the pack's order, each once.
func nexts(n *knowledge.Node) []string {
	var out []string
	add := func(id string) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	choices := func(cs []knowledge.Choice) {
		for _, c := range cs {
			add(c.Next)
		}
	}
	for _, m := range n.Messages {
		if m.Buttons != nil {
			choices(m.Buttons.Actions)
		}
		if m.Card != nil {
			choices(m.Card.Actions)
		}
	}
	choices(n.Choices)
	for _, e := range n.Expects {
		add(e.Next)
	}
	for _, r := range n.Routes {
		add(r.Next)
	}
	add(n.Next)
	return out
}

// layers gives every node its column: breadth first from the entry over
// the pack's own ways on; nodes these do not reach but text does (intents'
// targets, the handoff, the fallback) start at the third column.
func (g *Graph) layers(p *knowledge.Pack) {
	const unset = -1
	for _, n := range g.nodes {
		n.layer = unset
	}
	out := map[*node][]*node{}
	for _, e := range g.edges {
		if e.static {
			out[e.from] = append(out[e.from], e.to)
		}
	}
	anywhere := []string{p.Handoff, p.Fallback}
	for _, in := range p.Intents {
		if in.Kind == "" || in.Kind == knowledge.KindTopic {
			anywhere = append(anywhere, in.Target)
		}
	}
	level := []*node{g.byID[Entry]}
	for d := 0; len(level) > 0; d++ {
		var next []*node
		for _, n := range level {
			if n.layer == unset {
				n.layer = d
				next = append(next, out[n]...)
			}
		}
		level = next
	}
	// What the flow's own ways do not reach, text reaches from anywhere.
	level = nil
	for _, id := range anywhere {
		if m := g.byID[id]; m != nil && m.layer == unset {
			level = append(level, m)
		}
	}
	for d := 2; len(level) > 0; d++ {
		var next []*node
		for _, n := range level {
			if n.layer == unset {
				n.layer = d
				next = append(next, out[n]...)
			}
		}
		level = next
	}
	for _, n := range g.nodes {
		if n.layer == unset {
			n.layer = 2 // reachable only in ways the pack does not draw (戻る, 最初から)
		}
		g.cols = max(g.cols, n.layer+1)
	}
}

// place puts topics in lanes and stacks a lane's nodes of one column in
// rows. Lanes follow the flow depth first: a topic comes right under the
// one whose buttons lead on to it (further right), so that most arrows
// stay short.
func (g *Graph) place() {
	first := map[string]int{} // a topic's first column
	for _, n := range g.nodes {
		if c, ok := first[n.topic]; !ok || n.layer < c {
			first[n.topic] = n.layer
		}
	}
	lanes := map[string]*lane{}
	next := map[string][]string{} // topic → topics its nodes lead to, in order
	for _, e := range g.edges {
		a, b := e.from.topic, e.to.topic
		if e.static && a != b && !slices.Contains(next[a], b) {
			next[a] = append(next[a], b)
		}
	}
	var visit func(topic string)
	visit = func(topic string) {
		if lanes[topic] != nil {
			return
		}
		lanes[topic] = &lane{topic: topic}
		g.lanes = append(g.lanes, lanes[topic])
		for _, t := range next[topic] {
			if first[t] > first[topic] {
				visit(t)
			}
		}
	}
	visit(Entry)
	for _, n := range g.nodes {
		visit(n.topic)
	}
	idx := map[string]int{}
	for i, l := range g.lanes {
		idx[l.topic] = i
	}
	used := map[[2]int]int{} // lane, column → rows taken
	for _, n := range g.nodes {
		n.lane = idx[n.topic]
		k := [2]int{n.lane, n.layer}
		n.row = used[k]
		used[k]++
		l := g.lanes[n.lane]
		l.rows = max(l.rows, n.row+1)
	}
	y := float64(top)
	for _, l := range g.lanes {
		l.y = y
		l.h = float64(l.rows)*rowH + 2*lanePad
		y += l.h
	}
	for _, n := range g.nodes {
		n.x = left + float64(n.layer)*colW
		n.y = g.lanes[n.lane].y + lanePad + float64(n.row)*rowH
	}
}

// excerpt is the beginning of a node's first message, for its box.
func excerpt(n *knowledge.Node) string {
	if len(n.Messages) == 0 {
		return ""
	}
	return n.Messages[0].Text
}
