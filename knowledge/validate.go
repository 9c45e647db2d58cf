package knowledge

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// LINE Messaging API limits that packs are checked against.
const (
	// MaxNodeMessages is the most messages a node may send: LINE allows 5 a
	// turn and the engine may put one system text (a reprompt, a warning) in front.
	MaxNodeMessages = 4
	// MaxQuickReplies is the most quick-reply buttons LINE shows on a message.
	MaxQuickReplies = 13
	// MaxLabel is the longest button label, in characters.
	MaxLabel = 20
	// MaxText is the longest text message, in UTF-16 code units.
	MaxText = 5000
	// MaxPostbackData is the longest postback data, in bytes.
	MaxPostbackData = 300
	// MaxURI is the longest URI of a URI action, in characters.
	MaxURI = 1000
	// MaxButtonsActions is the most actions of a buttons template.
	MaxButtonsActions = 4
	// MaxButtonsTitle is the longest buttons template title, in characters.
	MaxButtonsTitle = 40
	// MaxButtonsText is the longest buttons template text without a title.
	MaxButtonsText = 160
	// MaxButtonsTextWithTitle is the longest buttons template text with a title.
	MaxButtonsTextWithTitle = 60
	// MaxAltText is the longest alternative text of a template message.
	MaxAltText = 1500
)

// Topics that the pack's entry nodes must have.
const (
	TopicWelcome    = "welcome"
	TopicHandoff    = "handoff"
	TopicOutOfScope = "out_of_scope"
)

// Problem is one thing wrong with a pack: where (its line in the YAML source
// and its path, e.g. "nodes[3].choices[1].next") and what.
type Problem struct {
	File string // the file it is in when not the pack's own (a part's)
	Line int    // 1-based line in the source; 0 when unknown
	Path string // YAML path of the offending field; "" when not tied to one
	Msg  string
}

// String renders the problem as "line 12 (nodes[3].next): msg".
func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Path != "":
		return fmt.Sprintf("line %d (%s): %s", p.Line, p.Path, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	case p.Path != "":
		return fmt.Sprintf("%s: %s", p.Path, p.Msg)
	}
	return p.Msg
}

// SlotValues lists the values a node may set for the slots the engine knows
// (Node.Sets); packs may use other slots freely.
var SlotValues = map[string][]string{
	"method":     {"email", "sms", "call", "app"},
	"has_access": {"yes", "no"},
}

var commands = map[string]bool{
	CommandRestart: true,
	CommandBack:    true,
	CommandHandoff: true,
	CommandResume:  true,
}

// Validate checks a pack against every rule (ids, targets, reachability, dead
// ends, required topics and texts, LINE's limits) and returns every problem,
// sorted by line; none means the pack is valid. Lines come from Pack.Lines.
func Validate(p *Pack) []Problem {
	if p == nil {
		return []Problem{{Msg: "no pack"}}
	}
	v := &validator{p: p, nodes: map[string]int{}, intents: map[string]int{}}
	v.pack()
	v.intentRules()
	v.factRules()
	v.nodeRules()
	v.questionRules()
	v.placeholders()
	v.richMenu()
	v.sourceRules()
	v.serviceRules()
	v.reachability()
	sortProblems(v.probs)
	return v.probs
}

type validator struct {
	p       *Pack
	probs   []Problem
	nodes   map[string]int // id -> index of first node with it
	intents map[string]int // id -> index of first intent with it
}

func (v *validator) addf(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{File: v.p.fileOf(path), Line: v.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// line finds the line of path, or of its closest ancestor that has one.
func (v *validator) line(path string) int {
	if v.p.Lines == nil {
		return 0
	}
	for path != "" {
		if l, ok := v.p.Lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 1 // a field missing at the top of the file
}

func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func (v *validator) hasNode(id string) bool {
	_, ok := v.nodes[id]
	return ok
}

func (v *validator) pack() {
	p := v.p
	for i, n := range p.Nodes {
		if _, ok := v.nodes[n.ID]; !ok && n.ID != "" {
			v.nodes[n.ID] = i
		}
	}
	for i, in := range p.Intents {
		if _, ok := v.intents[in.ID]; !ok && in.ID != "" {
			v.intents[in.ID] = i
		}
	}

	required := []struct{ key, val string }{
		{"id", p.ID}, {"service", p.Service}, {"language", p.Language}, {"version", p.Version},
		{"start", p.Start}, {"handoff", p.Handoff}, {"fallback", p.Fallback},
	}
	for _, r := range required {
		if strings.TrimSpace(r.val) == "" {
			v.addf(r.key, "missing required field %q", r.key)
		}
	}
	entries := []struct{ key, id, topic string }{
		{"start", p.Start, TopicWelcome},
		{"handoff", p.Handoff, TopicHandoff},
		{"fallback", p.Fallback, TopicOutOfScope},
	}
	for _, e := range entries {
		if e.id == "" {
			continue
		}
		i, ok := v.nodes[e.id]
		if !ok {
			v.addf(e.key, "%s: unknown node %q", e.key, e.id)
			continue
		}
		if t := p.Nodes[i].Topic; t != e.topic {
			v.addf(e.key, "%s node %q has topic %q; it must be %q", e.key, e.id, t, e.topic)
		}
	}

	for _, k := range RequiredTexts {
		if strings.TrimSpace(p.Texts[k]) == "" {
			if _, ok := p.Texts[k]; ok {
				v.addf("texts."+k, "text %q is empty", k)
			} else {
				v.addf("texts", "missing text %q (texts.%s)", k, k)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Texts)) {
		t := p.Texts[k]
		if strings.TrimSpace(t) == "" && !contains(RequiredTexts, k) {
			v.addf("texts."+k, "text %q is empty", k)
		}
		if n := utf16Len(t); n > MaxText {
			v.addf("texts."+k, "text %q is %d UTF-16 units long; LINE allows %d", k, n, MaxText)
		}
	}

	for i, topic := range p.RequiredTopics {
		found := false
		for _, n := range p.Nodes {
			if n.Topic == topic {
				found = true
				break
			}
		}
		if !found {
			v.addf(fmt.Sprintf("required_topics[%d]", i), "required topic %q has no node", topic)
		}
	}

	for i, g := range p.Synonyms {
		path := fmt.Sprintf("synonyms[%d]", i)
		if len(g) < 2 {
			v.addf(path, "synonym group %v needs at least 2 words", g)
		}
		for j, w := range g {
			if strings.TrimSpace(w) == "" {
				v.addf(fmt.Sprintf("%s[%d]", path, j), "synonym group %d has an empty word", i)
			}
		}
	}
}

func (v *validator) intentRules() {
	type where struct {
		intent int
		path   string
	}
	examples := map[string]where{}
	for i, in := range v.p.Intents {
		path := fmt.Sprintf("intents[%d]", i)
		name := fmt.Sprintf("intent %q", in.ID)
		if in.ID == "" {
			name = fmt.Sprintf("intent #%d", i+1)
			v.addf(path+".id", "%s has no id", name)
		} else if first := v.intents[in.ID]; first != i {
			v.addf(path+".id", "duplicate intent id %q (first at line %d)", in.ID, v.line(fmt.Sprintf("intents[%d]", first)))
		}

		switch in.Kind {
		case KindTopic, "":
			if in.Target == "" {
				v.addf(path+".target", "topic %s has no target", name)
			} else if !v.hasNode(in.Target) {
				v.addf(path+".target", "%s: target: unknown node %q", name, in.Target)
			}
			if in.Command != "" {
				v.addf(path+".command", "topic %s must not set command (only command intents do)", name)
			}
		case KindAnswer:
			if in.Target != "" {
				v.addf(path+".target", "answer %s must not set target (the node's expects say where answers lead)", name)
			}
			if in.Command != "" {
				v.addf(path+".command", "answer %s must not set command (only command intents do)", name)
			}
		case KindCommand:
			if in.Command == "" {
				v.addf(path+".command", "command %s has no command", name)
			} else if !commands[in.Command] {
				v.addf(path+".command", "%s: unknown command %q (want restart, back, handoff or resume)", name, in.Command)
			}
			if in.Target != "" {
				v.addf(path+".target", "command %s must not set target", name)
			}
		default:
			v.addf(path+".kind", "%s: unknown kind %q (want topic, answer or command)", name, in.Kind)
		}

		if len(in.Examples) == 0 {
			v.addf(path+".examples", "%s has no examples", name)
		}
		for j, ex := range in.Examples {
			ep := fmt.Sprintf("%s.examples[%d]", path, j)
			key := strings.TrimSpace(ex)
			if key == "" {
				v.addf(ep, "%s: example %d is empty", name, j+1)
				continue
			}
			first, seen := examples[key]
			switch {
			case !seen:
				examples[key] = where{i, ep}
			case first.intent == i:
				v.addf(ep, "%s: example %q is listed twice (first at line %d)", name, key, v.line(first.path))
			default:
				v.addf(ep, "%s: example %q is also an example of intent %q (line %d); the matcher cannot tell them apart", name, key, v.p.Intents[first.intent].ID, v.line(first.path))
			}
		}
		for j, kw := range in.Keywords {
			if strings.TrimSpace(kw) == "" {
				v.addf(fmt.Sprintf("%s.keywords[%d]", path, j), "%s: keyword %d is empty", name, j+1)
			}
		}
	}
}

func (v *validator) nodeRules() {
	for i := range v.p.Nodes {
		n := &v.p.Nodes[i]
		path := fmt.Sprintf("nodes[%d]", i)
		name := fmt.Sprintf("node %q", n.ID)
		if n.ID == "" {
			name = fmt.Sprintf("node #%d", i+1)
			v.addf(path+".id", "%s has no id", name)
		} else if first := v.nodes[n.ID]; first != i {
			v.addf(path+".id", "duplicate node id %q (first at line %d)", n.ID, v.line(fmt.Sprintf("nodes[%d]", first)))
		}
		if strings.TrimSpace(n.Topic) == "" {
			v.addf(path+".topic", "%s has no topic", name)
		}
		switch n.Terminal {
		case "", TerminalResolved, TerminalHandoff:
		default:
			v.addf(path+".terminal", "%s: unknown terminal kind %q (want resolved or handoff)", name, n.Terminal)
		}

		if len(n.Messages) == 0 {
			v.addf(path+".messages", "%s has no messages", name)
		}
		if len(n.Messages) > MaxNodeMessages {
			v.addf(fmt.Sprintf("%s.messages[%d]", path, MaxNodeMessages), "%s has %d messages; at most %d (LINE sends 5 a turn, one is kept for a system text)", name, len(n.Messages), MaxNodeMessages)
		}
		for j, m := range n.Messages {
			v.message(fmt.Sprintf("%s.messages[%d]", path, j), fmt.Sprintf("%s: message %d", name, j+1), m)
		}

		if len(n.Choices) > MaxQuickReplies {
			v.addf(fmt.Sprintf("%s.choices[%d]", path, MaxQuickReplies), "%s has %d choices; LINE shows at most %d quick replies", name, len(n.Choices), MaxQuickReplies)
		}
		labels := map[string]int{}
		for j, c := range n.Choices {
			cp := fmt.Sprintf("%s.choices[%d]", path, j)
			v.choice(cp, fmt.Sprintf("%s: choice %d", name, j+1), c)
			if c.Label == "" {
				continue
			}
			if first, ok := labels[c.Label]; ok {
				v.addf(cp+".label", "%s: choice %d has the same label %q as choice %d", name, j+1, c.Label, first+1)
			} else {
				labels[c.Label] = j
			}
		}

		answers := map[string]int{}
		for j, e := range n.Expects {
			ep := fmt.Sprintf("%s.expects[%d]", path, j)
			switch in := v.intent(e.Answer); {
			case e.Answer == "":
				v.addf(ep+".answer", "%s: expect %d has no answer", name, j+1)
			case in == nil:
				v.addf(ep+".answer", "%s: expects unknown answer intent %q", name, e.Answer)
			case in.Kind != KindAnswer:
				v.addf(ep+".answer", "%s: expects %q, which is a %s intent, not an answer", name, e.Answer, kindOrTopic(in.Kind))
			}
			if e.Answer != "" {
				if first, ok := answers[e.Answer]; ok {
					v.addf(ep+".answer", "%s: expect %d repeats answer %q of expect %d", name, j+1, e.Answer, first+1)
				} else {
					answers[e.Answer] = j
				}
			}
			if e.Next == "" {
				v.addf(ep+".next", "%s: expect %d has no next", name, j+1)
			} else if !v.hasNode(e.Next) {
				v.addf(ep+".next", "%s: expect %q: unknown node %q", name, e.Answer, e.Next)
			}
		}

		for _, k := range slices.Sorted(maps.Keys(n.Sets)) {
			val := n.Sets[k]
			sp := path + ".sets." + k
			allowed, known := SlotValues[k]
			if f := v.p.Fact(k); f != nil {
				allowed, known = f.Values, true
			}
			switch {
			case strings.TrimSpace(k) == "":
				v.addf(path+".sets", "%s sets a slot with no name", name)
			case strings.TrimSpace(val) == "":
				v.addf(sp, "%s: slot %q has no value", name, k)
			case known && !contains(allowed, val):
				v.addf(sp, "%s: slot %s cannot be %q (want %s)", name, k, val, strings.Join(allowed, ", "))
			}
		}

		if n.Next != "" && !v.hasNode(n.Next) {
			v.addf(path+".next", "%s: next: unknown node %q", name, n.Next)
		}
		if n.Asks != "" && v.p.Question(n.Asks) == nil {
			v.addf(path+".asks", "%s: asks: unknown question %q", name, n.Asks)
		}
		for j, r := range n.Routes {
			rp := fmt.Sprintf("%s.routes[%d]", path, j)
			switch f := v.p.Fact(r.Fact); {
			case f == nil:
				v.addf(rp+".fact", "%s: route %d: unknown fact %q", name, j+1, r.Fact)
			case !contains(f.Values, r.Value):
				v.addf(rp+".value", "%s: route %d: fact %s cannot be %q (want %s)", name, j+1, r.Fact, r.Value, strings.Join(f.Values, ", "))
			}
			if !v.hasNode(r.Next) || r.Next == n.ID {
				v.addf(rp+".next", "%s: route %d: unknown node %q", name, j+1, r.Next)
			}
		}
		if n.Asks != "" && len(n.Expects) == 0 {
			v.addf(path+".asks", "%s asks %q but expects no answer", name, n.Asks)
		}
		if n.Confirm != "" && utf16Len(n.Confirm) > MaxText {
			v.addf(path+".confirm", "%s: confirm is %d UTF-16 units long; LINE allows %d", name, utf16Len(n.Confirm), MaxText)
		}

		if n.Terminal == "" && len(n.Choices) == 0 && len(n.Expects) == 0 && n.Next == "" && !hasButtonWayOn(n) {
			v.addf(path, "%s is a dead end: not terminal, and no choices, expects or next", name)
		}
	}
}

// questionRules checks the questions and their answer examples: unique ids,
// answers that are answer intents, examples that say one answer only, and
// a node that asks each question.
func (v *validator) questionRules() {
	asked := map[string]bool{}
	for _, n := range v.p.Nodes {
		asked[n.Asks] = true
	}
	ids := map[string]int{}
	for i, q := range v.p.Questions {
		path := fmt.Sprintf("questions[%d]", i)
		name := fmt.Sprintf("question %q", q.ID)
		switch first, dup := ids[q.ID]; {
		case strings.TrimSpace(q.ID) == "":
			name = fmt.Sprintf("question #%d", i+1)
			v.addf(path+".id", "%s has no id", name)
		case dup:
			v.addf(path+".id", "duplicate question id %q (first at line %d)", q.ID, v.line(fmt.Sprintf("questions[%d]", first)))
		default:
			ids[q.ID] = i
			if !asked[q.ID] {
				v.addf(path+".id", "%s is asked by no node (set asks: %s on the node that asks it)", name, q.ID)
			}
		}
		var fact *FactSpec
		if q.Fact != "" {
			if fact = v.p.Fact(q.Fact); fact == nil {
				v.addf(path+".fact", "%s: unknown fact %q", name, q.Fact)
			}
		}
		if len(q.Answers) == 0 {
			v.addf(path+".answers", "%s has no answers", name)
		}
		answers := map[string]int{}
		examples := map[string]string{} // example → answer
		for j, a := range q.Answers {
			ap := fmt.Sprintf("%s.answers[%d]", path, j)
			switch in := v.intent(a.Answer); {
			case a.Answer == "":
				v.addf(ap+".answer", "%s: answer %d has no answer intent", name, j+1)
			case in == nil:
				v.addf(ap+".answer", "%s: unknown answer intent %q", name, a.Answer)
			case in.Kind != KindAnswer:
				v.addf(ap+".answer", "%s: %q is a %s intent, not an answer", name, a.Answer, kindOrTopic(in.Kind))
			}
			if first, dup := answers[a.Answer]; dup && a.Answer != "" {
				v.addf(ap+".answer", "%s: answer %q is listed twice (first at line %d)", name, a.Answer, v.line(fmt.Sprintf("%s.answers[%d]", path, first)))
			}
			answers[a.Answer] = j
			switch {
			case a.Value != "" && q.Fact == "":
				v.addf(ap+".value", "%s: answer %q has a value but the question settles no fact", name, a.Answer)
			case a.Value != "" && fact != nil && !contains(fact.Values, a.Value):
				v.addf(ap+".value", "%s: fact %s cannot be %q (want %s)", name, q.Fact, a.Value, strings.Join(fact.Values, ", "))
			case len(a.Examples) == 0 && a.Value == "":
				// An answer with a value maps the answer to the fact; its
				// examples are optional.
				v.addf(ap+".examples", "%s: answer %q has no examples", name, a.Answer)
			}
			for k, ex := range a.Examples {
				ep := fmt.Sprintf("%s.examples[%d]", ap, k)
				key := strings.TrimSpace(ex)
				switch other, seen := examples[key]; {
				case key == "":
					v.addf(ep, "%s: answer %q: example %d is empty", name, a.Answer, k+1)
				case seen && other == a.Answer:
					v.addf(ep, "%s: answer %q: example %q is listed twice", name, a.Answer, key)
				case seen:
					v.addf(ep, "%s: example %q is an example of both %q and %q", name, key, other, a.Answer)
				default:
					examples[key] = a.Answer
				}
			}
		}
	}
}

// factRules checks the facts vocabulary: ids and values unique and
// non-empty, dependencies on declared facts.
func (v *validator) factRules() {
	seen := map[string]int{}
	for i, f := range v.p.Facts {
		path := fmt.Sprintf("facts[%d]", i)
		if strings.TrimSpace(f.ID) == "" {
			v.addf(path+".id", "fact #%d has no id", i+1)
		} else if first, ok := seen[f.ID]; ok {
			v.addf(path+".id", "duplicate fact id %q (first at line %d)", f.ID, v.line(fmt.Sprintf("facts[%d]", first)))
		} else {
			seen[f.ID] = i
		}
		if len(f.Values) == 0 {
			v.addf(path+".values", "fact %q has no values", f.ID)
		}
		vals := map[string]bool{}
		for j, val := range f.Values {
			switch {
			case strings.TrimSpace(val) == "":
				v.addf(fmt.Sprintf("%s.values[%d]", path, j), "fact %q: value %d is empty", f.ID, j+1)
			case vals[val]:
				v.addf(fmt.Sprintf("%s.values[%d]", path, j), "fact %q: value %q is listed twice", f.ID, val)
			}
			vals[val] = true
		}
		if f.DependsOn != "" && (f.DependsOn == f.ID || v.p.Fact(f.DependsOn) == nil) {
			v.addf(path+".depends_on", "fact %q depends on unknown fact %q", f.ID, f.DependsOn)
		}
		for _, val := range slices.Sorted(maps.Keys(f.Examples)) {
			ep := path + ".examples." + val
			if !vals[val] {
				v.addf(ep, "fact %q: examples for %q, which is not one of its values", f.ID, val)
			}
			for k, ex := range f.Examples[val] {
				if strings.TrimSpace(ex) == "" {
					v.addf(fmt.Sprintf("%s[%d]", ep, k), "fact %q: example %d of %q is empty", f.ID, k+1, val)
				}
			}
		}
	}
}

// placeholders checks that node messages and texts use only the engine's
// placeholders, and that the texts each one needs exist.
func (v *validator) placeholders() {
	used := map[string]bool{}
	check := func(path, s string, allowNext bool) {
		for rest := s; ; {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				return
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				return
			}
			ph := rest[i : i+j+1]
			rest = rest[i+j+1:]
			switch {
			case ph == PlaceholderNext && allowNext:
			case PlaceholderTexts[ph] != nil:
				used[ph] = true
			default:
				v.addf(path, "unknown placeholder %s (want %s or %s)", ph, PlaceholderGreeting, PlaceholderStaff)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(v.p.Texts)) {
		check("texts."+k, v.p.Texts[k], k == TextStaffOffDuty)
	}
	for i, n := range v.p.Nodes {
		for j, m := range n.Messages {
			check(fmt.Sprintf("nodes[%d].messages[%d].text", i, j), m.Text, false)
		}
		if n.Confirm != "" {
			check(fmt.Sprintf("nodes[%d].confirm", i), n.Confirm, false)
		}
	}
	for _, ph := range slices.Sorted(maps.Keys(used)) {
		for _, k := range PlaceholderTexts[ph] {
			if strings.TrimSpace(v.p.Texts[k]) == "" {
				v.addf("texts", "missing text %q (texts.%s), needed by %s", k, k, ph)
			}
		}
	}
	if used[PlaceholderStaff] && v.p.Texts[TextStaffOffDuty] != "" && !strings.Contains(v.p.Texts[TextStaffOffDuty], PlaceholderNext) {
		v.addf("texts."+TextStaffOffDuty, "text %q must say when staff come back (%s)", TextStaffOffDuty, PlaceholderNext)
	}
}

func hasButtonWayOn(n *Node) bool {
	for _, m := range n.Messages {
		for _, a := range m.Actions() {
			if a.Next != "" || a.Command != "" {
				return true
			}
		}
	}
	return false
}

func (v *validator) intent(id string) *Intent {
	if i, ok := v.intents[id]; ok {
		return &v.p.Intents[i]
	}
	return nil
}

func kindOrTopic(k string) string {
	if k == "" {
		return KindTopic
	}
	return k
}

func (v *validator) message(path, name string, m Message) {
	if strings.TrimSpace(m.Text) == "" {
		v.addf(path, "%s has empty text", name)
	}
	if n := utf16Len(m.Text); n > MaxText {
		v.addf(path+".text", "%s is %d UTF-16 units long; LINE allows %d", name, n, MaxText)
	}
	v.card(path, name, m)
	b := m.Buttons
	if b == nil {
		return
	}
	bp := path + ".buttons"
	switch n := len(b.Actions); {
	case n == 0:
		v.addf(bp+".actions", "%s: buttons have no actions (1 to %d)", name, MaxButtonsActions)
	case n > MaxButtonsActions:
		v.addf(fmt.Sprintf("%s.actions[%d]", bp, MaxButtonsActions), "%s: buttons have %d actions; at most %d", name, n, MaxButtonsActions)
	}
	if n := utf16Len(b.Title); n > MaxButtonsTitle {
		v.addf(bp+".title", "%s: buttons title is %d characters; at most %d", name, n, MaxButtonsTitle)
	}
	limit := MaxButtonsText
	if b.Title != "" {
		limit = MaxButtonsTextWithTitle
	}
	if n := utf16Len(m.Text); n > limit {
		if b.Title != "" {
			v.addf(path+".text", "%s: buttons text is %d characters; at most %d with a title", name, n, limit)
		} else {
			v.addf(path+".text", "%s: buttons text is %d characters; at most %d", name, n, limit)
		}
	}
	if strings.TrimSpace(b.AltText) == "" {
		v.addf(bp+".alt_text", "%s: buttons have no alt_text", name)
	} else if n := utf16Len(b.AltText); n > MaxAltText {
		v.addf(bp+".alt_text", "%s: buttons alt_text is %d characters; at most %d", name, n, MaxAltText)
	}
	for k, a := range b.Actions {
		v.choice(fmt.Sprintf("%s.actions[%d]", bp, k), fmt.Sprintf("%s: button %d", name, k+1), a)
	}
}

func (v *validator) choice(path, name string, c Choice) {
	if c.Label == "" {
		v.addf(path+".label", "%s has no label", name)
	} else if n := Graphemes(c.Label); n > MaxLabel {
		v.addf(path+".label", "%s: label %q is %d characters; at most %d", name, c.Label, n, MaxLabel)
	}
	set := 0
	for _, s := range []string{c.Next, c.Command, c.URI, c.Service} {
		if s != "" {
			set++
		}
	}
	switch {
	case set == 0:
		v.addf(path, "%s sets none of next, command, uri, service (exactly one is needed)", name)
	case set > 1:
		v.addf(path, "%s sets more than one of next, command, uri, service (exactly one is allowed)", name)
	}
	if c.Next != "" && !v.hasNode(c.Next) {
		v.addf(path+".next", "%s: unknown node %q", name, c.Next)
	}
	if c.Command != "" && !commands[c.Command] {
		v.addf(path+".command", "%s: unknown command %q (want restart, back, handoff or resume)", name, c.Command)
	}
	if c.URI != "" {
		u, err := url.Parse(c.URI)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			v.addf(path+".uri", "%s: uri %q is not an https URL", name, c.URI)
		}
		if n := utf8.RuneCountInString(c.URI); n > MaxURI {
			v.addf(path+".uri", "%s: uri is %d characters; at most %d", name, n, MaxURI)
		}
	}
	if n := len(c.PostbackData()); n > MaxPostbackData {
		field := ".next"
		if c.Next == "" {
			field = ".command"
		}
		v.addf(path+field, "%s: postback data is %d bytes; LINE allows %d", name, n, MaxPostbackData)
	}
}

// reachability reports nodes that nothing leads to (see reachable).
func (v *validator) reachability() {
	seen := reachable(v.p, v.nodes)
	for i, n := range v.p.Nodes {
		if n.ID == "" || seen[i] || v.nodes[n.ID] != i {
			continue // no id or a duplicate: reported already
		}
		v.addf(fmt.Sprintf("nodes[%d]", i), "node %q is unreachable: no choice, expect, next or topic intent leads to it from start", n.ID)
	}
}

// reachable marks the nodes something leads to. Roots are the start,
// handoff and fallback nodes and every topic intent's target; edges are
// choices, button actions, expects and next. index maps an id to the
// index of its first node.
func reachable(p *Pack, index map[string]int) []bool {
	seen := make([]bool, len(p.Nodes))
	var queue []int
	visit := func(id string) {
		if i, ok := index[id]; ok && !seen[i] {
			seen[i] = true
			queue = append(queue, i)
		}
	}
	visit(p.Start)
	visit(p.Handoff)
	visit(p.Fallback)
	for _, in := range p.Intents {
		if in.Kind == KindTopic || in.Kind == "" {
			visit(in.Target)
		}
	}
	if p.RichMenu != nil {
		for _, a := range p.RichMenu.Areas {
			visit(a.Next)
		}
	}
	for len(queue) > 0 {
		n := &p.Nodes[queue[0]]
		queue = queue[1:]
		for _, c := range n.Choices {
			visit(c.Next)
		}
		for _, m := range n.Messages {
			for _, a := range m.Actions() {
				visit(a.Next)
			}
		}
		for _, e := range n.Expects {
			visit(e.Next)
		}
		for _, r := range n.Routes {
			visit(r.Next)
		}
		visit(n.Next)
	}
	return seen
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// Graphemes approximates the number of user-perceived characters (grapheme
// clusters) in s, as LINE counts label lengths: combining marks, variation
// selectors, emoji modifiers, tags and zero-width-joined sequences do not
// start a new character, and a pair of regional indicators is one flag.
func Graphemes(s string) int {
	n := 0
	joined := false // previous rune was a ZWJ
	riOpen := false // previous rune was the first regional indicator of a pair
	prevCR := false
	for _, r := range s {
		switch {
		case r == '\n' && prevCR:
			// CR LF is one cluster.
		case joined:
			// the rune after a ZWJ joins the emoji before it
		case isExtend(r):
		case r >= 0x1F1E6 && r <= 0x1F1FF: // regional indicator
			if riOpen {
				riOpen = false
				joined, prevCR = false, false
				continue
			}
			n++
			riOpen = true
			joined, prevCR = false, false
			continue
		default:
			n++
		}
		riOpen = false
		joined = r == 0x200D
		prevCR = r == '\r'
	}
	return n
}

func isExtend(r rune) bool {
	switch {
	case r == 0x200D, r == 0x200C: // ZWJ, ZWNJ
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji skin-tone modifiers
		return true
	case r >= 0xE0020 && r <= 0xE007F: // tags
		return true
	case r == 0xFF9E, r == 0xFF9F: // halfwidth katakana voiced sound marks
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}
