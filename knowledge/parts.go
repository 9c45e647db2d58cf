package knowledge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KindPart is Pack.Kind for a shared part: texts, nodes, intents,
// questions, facts, synonyms and routing data that every pack of a language
// has in common (the system texts, handoff, out-of-scope, the answer and
// command intents), written once. A pack takes parts in with Uses; a part is
// stored and versioned like a pack.
const KindPart = "part"

// PlaceholderService in a part's texts and messages becomes the name of
// the pack that uses it (Pack.Name).
const PlaceholderService = "{service}"

// merge takes part into p: every node, intent, question, fact, source and
// text whose id p does not have itself, the part's synonym groups that share
// no word with p's, and the names and routing data p leaves unset.
// {service} becomes p.Name, and p.Version names the part too. The
// paths of what came from the part map to its lines and file, so that
// problems in it are reported where they are.
func merge(p, part *Pack, file string) {
	if p.Files == nil {
		p.Files = map[string]string{}
	}
	if p.Lines == nil {
		p.Lines = map[string]int{}
	}
	moved := func(from, to string) {
		for path, line := range part.Lines {
			if path == from || strings.HasPrefix(path, from+".") || strings.HasPrefix(path, from+"[") {
				p.Lines[to+strings.TrimPrefix(path, from)] = line
			}
		}
		p.Files[to] = file
	}
	name := p.Name
	fill := func(s string) string { return strings.ReplaceAll(s, PlaceholderService, name) }

	first := len(p.Nodes) // the part's nodes start here
	for i, n := range part.Nodes {
		if p.Node(n.ID) != nil {
			continue
		}
		n.Messages = slices.Clone(n.Messages)
		for j := range n.Messages {
			n.Messages[j].Text = fill(n.Messages[j].Text)
		}
		n.Confirm = fill(n.Confirm)
		moved(fmt.Sprintf("nodes[%d]", i), fmt.Sprintf("nodes[%d]", len(p.Nodes)))
		p.Nodes = append(p.Nodes, n)
	}
	for i, in := range part.Intents {
		if p.Intent(in.ID) != nil {
			continue
		}
		moved(fmt.Sprintf("intents[%d]", i), fmt.Sprintf("intents[%d]", len(p.Intents)))
		p.Intents = append(p.Intents, in)
	}
	for i, q := range part.Questions {
		if p.Question(q.ID) != nil {
			continue
		}
		moved(fmt.Sprintf("questions[%d]", i), fmt.Sprintf("questions[%d]", len(p.Questions)))
		p.Questions = append(p.Questions, q)
	}
	for i, f := range part.Facts {
		if p.Fact(f.ID) != nil {
			continue
		}
		moved(fmt.Sprintf("facts[%d]", i), fmt.Sprintf("facts[%d]", len(p.Facts)))
		p.Facts = append(p.Facts, f)
	}
	for i, s := range part.Sources {
		if slices.ContainsFunc(p.Sources, func(x Source) bool { return x.ID == s.ID }) {
			continue
		}
		moved(fmt.Sprintf("sources[%d]", i), fmt.Sprintf("sources[%d]", len(p.Sources)))
		p.Sources = append(p.Sources, s)
	}
	own := map[string]bool{}
	for _, g := range p.Synonyms {
		for _, w := range g {
			own[w] = true
		}
	}
	for i, g := range part.Synonyms {
		if slices.ContainsFunc(g, func(w string) bool { return own[w] }) {
			continue // the pack folds these words its own way
		}
		moved(fmt.Sprintf("synonyms[%d]", i), fmt.Sprintf("synonyms[%d]", len(p.Synonyms)))
		p.Synonyms = append(p.Synonyms, g)
	}
	for k, t := range part.Texts {
		if _, ok := p.Texts[k]; ok {
			continue
		}
		if p.Texts == nil {
			p.Texts = map[string]string{}
		}
		p.Texts[k] = fill(t)
		moved("texts."+k, "texts."+k)
	}
	for i, t := range part.RequiredTopics {
		if !slices.Contains(p.RequiredTopics, t) {
			moved(fmt.Sprintf("required_topics[%d]", i), fmt.Sprintf("required_topics[%d]", len(p.RequiredTopics)))
			p.RequiredTopics = append(p.RequiredTopics, t)
		}
	}
	for i, n := range part.OtherNames {
		moved(fmt.Sprintf("other_names[%d]", i), fmt.Sprintf("other_names[%d]", len(p.OtherNames)))
		p.OtherNames = append(p.OtherNames, n)
	}
	if p.Routing == nil && part.Routing != nil {
		p.Routing = part.Routing
		moved("routing", "routing")
	}
	if len(p.Hedges) == 0 && len(part.Hedges) > 0 {
		p.Hedges = part.Hedges
		moved("hedges", "hedges")
	}
	prune(p, first)
	p.Parts = append(p.Parts, part.ID+" "+part.Version)
	// The version recorded with every turn names exactly what answered.
	p.Version += "+" + part.ID + "." + part.Version
	p.idx = buildIndex(p)
}

// resolve merges into p the parts it uses, looked up by id in parts, and
// returns the problems of a use that names no part (or a pack).
func resolve(p *Pack, parts map[string]partFile) []Problem {
	var probs []Problem
	for i, id := range p.Uses {
		path := fmt.Sprintf("uses[%d]", i)
		pf, ok := parts[id]
		if !ok {
			probs = append(probs, Problem{Line: p.Lines[path], Path: path, Msg: fmt.Sprintf("uses unknown part %q", id)})
			continue
		}
		if pf.part.Language != "" && p.Language != "" && pf.part.Language != p.Language {
			probs = append(probs, Problem{Line: p.Lines[path], Path: path,
				Msg: fmt.Sprintf("part %q is in %q; the pack is in %q", id, pf.part.Language, p.Language)})
		}
		merge(p, pf.part, pf.file)
	}
	return probs
}

// partFile is a parsed part and the file it came from.
type partFile struct {
	part *Pack
	file string
}

// fileOf returns the file a path's item came from ("" for the pack's own).
func (p *Pack) fileOf(path string) string {
	for path != "" {
		if f, ok := p.Files[path]; ok {
			return f
		}
		path = parentPath(path)
	}
	return ""
}

// prune leaves out the part's nodes (from index first on) that nothing in
// the pack leads to: a pack uses what it needs of a part.
func prune(p *Pack, first int) {
	index := map[string]int{}
	for i, n := range p.Nodes {
		if _, ok := index[n.ID]; !ok {
			index[n.ID] = i
		}
	}
	seen := reachable(p, index)
	kept := p.Nodes[:first:first]
	newIndex := map[int]int{}
	for i := first; i < len(p.Nodes); i++ {
		if seen[i] {
			newIndex[i] = len(kept)
			kept = append(kept, p.Nodes[i])
		}
	}
	if len(kept) == len(p.Nodes) {
		return
	}
	// Renumber the kept nodes' paths; drop those of the pruned ones.
	lines, files := map[string]int{}, map[string]string{}
	for path, line := range p.Lines {
		if q, ok := renumber(path, first, newIndex); ok {
			lines[q] = line
		}
	}
	for path, file := range p.Files {
		if q, ok := renumber(path, first, newIndex); ok {
			files[q] = file
		}
	}
	p.Nodes, p.Lines, p.Files = kept, lines, files
}

// renumber maps a path under nodes[i], i >= first, to the node's new index;
// false for a pruned node's path.
func renumber(path string, first int, newIndex map[int]int) (string, bool) {
	rest, ok := strings.CutPrefix(path, "nodes[")
	if !ok {
		return path, true
	}
	j := strings.IndexByte(rest, ']')
	i, err := strconv.Atoi(rest[:max(j, 0)])
	if j < 0 || err != nil || i < first {
		return path, true
	}
	to, ok := newIndex[i]
	return fmt.Sprintf("nodes[%d]", to) + rest[j+1:], ok
}
