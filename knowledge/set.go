package knowledge

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// serviceRules checks what a pack says about its service: a known kind, a
// button label that fits, names that are not empty.
func (v *validator) serviceRules() {
	p := v.p
	if p.Kind != "" {
		v.addf("kind", "unknown kind %q (a pack has none; a part is kind: %s)", p.Kind, KindPart)
	}
	if p.Label != "" && Graphemes(p.Label) > MaxLabel {
		v.addf("label", "label %q is %d characters; at most %d", p.Label, Graphemes(p.Label), MaxLabel)
	}
	for _, list := range []struct {
		field string
		words []string
	}{{"names", p.Names}, {"context_names", p.ContextNames}, {"other_names", p.OtherNames}, {"hedges", p.Hedges}} {
		for i, w := range list.words {
			if nameKey(w) == "" {
				v.addf(fmt.Sprintf("%s[%d]", list.field, i), "%s: entry %d is empty", list.field, i+1)
			}
		}
	}
	if (len(p.Names) > 0 || len(p.ContextNames) > 0) && p.Routing == nil {
		v.addf("names", "names need routing data (routing:, usually from a part) to be read")
	}
}

// ValidateSet checks packs that serve together (one language): one pack per
// service, each with a label; every service button names a pack of the set
// (or other); no name claimed by two services; and nothing in one pack that
// names another service of the set, since the router sends such text to
// that service: an example, keyword or synonym naming it would never be
// read here, or would pull that service's users in. Problems carry the file
// they are in.
func ValidateSet(packs []*Pack) []Problem {
	var probs []Problem
	add := func(p *Pack, path, format string, args ...any) {
		file := p.fileOf(path)
		if file == "" {
			file = p.File
		}
		line := 0
		for q := path; q != "" && line == 0; q = parentPath(q) {
			line = p.Lines[q]
		}
		probs = append(probs, Problem{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	services := map[string]*Pack{}
	for _, p := range packs {
		if other, dup := services[p.Service]; dup {
			add(p, "service", "service %q is served by pack %q too; a set has one pack per service", p.Service, other.ID)
			continue
		}
		services[p.Service] = p
	}
	if len(packs) > 1 {
		for _, p := range packs {
			if p.Label == "" {
				add(p, "service", "pack %q has no label (its button when the bot asks which service)", p.ID)
			}
		}
	}

	owner := map[string]string{}  // name key -> service
	strong := map[string]string{} // the same for Names only
	for _, p := range packs {
		for _, w := range p.Names {
			if k := nameKey(w); strong[k] == "" {
				strong[k] = p.Service
			}
		}
		for _, f := range []struct {
			field string
			words []string
		}{{"names", p.Names}, {"context_names", p.ContextNames}} {
			field := f.field
			for i, w := range f.words {
				k := nameKey(w)
				if s, ok := owner[k]; !ok {
					owner[k] = p.Service
				} else if s != p.Service {
					add(p, fmt.Sprintf("%s[%d]", field, i), "name %q is also a name of service %q", w, s)
				}
			}
		}
	}
	for _, p := range packs {
		for i, w := range p.OtherNames {
			if s, ok := owner[nameKey(w)]; ok {
				add(p, fmt.Sprintf("other_names[%d]", i), "%q is a name of service %q, which has a pack", w, s)
			}
		}
	}

	namer := NewNamer(packs, nil)
	for _, p := range packs {
		other := func(text string) string {
			for _, m := range namer.Find(text) {
				if !m.Negated && m.Service != p.Service && m.Service != ServiceOther {
					return m.Service
				}
			}
			return ""
		}
		// A keyword or synonym naming another service pulls its text in;
		// a mailbox (a context name) may be where this service's code goes.
		word := func(w string) string {
			k := nameKey(w)
			if _, mailbox := owner[k]; mailbox && strong[k] == "" {
				return "" // a context name as a whole: where a code may go
			}
			for _, name := range sortedKeys(strong) {
				if s := strong[name]; s != p.Service && containsName(k, name) {
					return s
				}
			}
			return ""
		}
		for i, in := range p.Intents {
			for j, ex := range in.Examples {
				if s := other(ex); s != "" {
					add(p, fmt.Sprintf("intents[%d].examples[%d]", i, j), "intent %q: example %q names service %q; such text goes to that service's pack", in.ID, ex, s)
				}
			}
			for j, kw := range in.Keywords {
				if s := word(kw); s != "" {
					add(p, fmt.Sprintf("intents[%d].keywords[%d]", i, j), "intent %q: keyword %q names service %q", in.ID, kw, s)
				}
			}
		}
		for i, q := range p.Questions {
			for j, a := range q.Answers {
				for k, ex := range a.Examples {
					if s := other(ex); s != "" {
						add(p, fmt.Sprintf("questions[%d].answers[%d].examples[%d]", i, j, k), "question %q: example %q names service %q", q.ID, ex, s)
					}
				}
			}
		}
		for i, g := range p.Synonyms {
			for j, w := range g {
				if s := word(w); s != "" {
					add(p, fmt.Sprintf("synonyms[%d][%d]", i, j), "synonym %q names service %q", w, s)
				}
			}
		}
		for i, n := range p.Nodes {
			offered := map[string]bool{}
			for j, c := range n.Choices {
				if c.Service != "" && c.Service != ServiceOther && services[c.Service] == nil {
					add(p, fmt.Sprintf("nodes[%d].choices[%d].service", i, j), "node %q: choice %q: no pack serves %q", n.ID, c.Label, c.Service)
				}
				offered[c.Service] = true
			}
			if len(offered) > 1 || (len(offered) == 1 && !offered[""]) {
				// A step offering services offers every one of the set.
				for _, q := range packs {
					if !offered[q.Service] && services[q.Service] == q {
						add(p, fmt.Sprintf("nodes[%d].choices", i), "node %q offers services but not %q (pack %s)", n.ID, q.Service, q.ID)
					}
				}
			}
		}
	}
	sort.SliceStable(probs, func(i, j int) bool {
		if probs[i].File != probs[j].File {
			return probs[i].File < probs[j].File
		}
		return probs[i].Line < probs[j].Line
	})
	return probs
}

// FileResult is what `kb validate` finds in one file.
type FileResult struct {
	Path string
	// Pack is the pack (merged with its parts) or the part, when the file
	// could be decoded.
	Pack *Pack
	// Users lists, for a part, the packs validated with it.
	Users []string
	// Problems are the file's, each with the file it is in when that is
	// a part the pack uses.
	Problems []Problem
	// Err is an unreadable file or malformed YAML (a *SyntaxError).
	Err error
}

// ValidateFiles reads, parses and validates packs and parts for
// `todoku kb validate`. A pack's parts are taken from the files given, else
// from the embedded ones; a part is checked by validating every pack that
// uses it (given or embedded) with it. The packs given, with the embedded
// packs of the same languages that they do not replace, are then checked as
// sets (ValidateSet): the problems in the files given come second.
func ValidateFiles(paths []string) ([]FileResult, []Problem) {
	results := make([]FileResult, len(paths))
	parts, err := embeddedParts()
	if err != nil {
		parts = map[string]partFile{}
	}
	for i, path := range paths {
		results[i].Path = path
		data, err := os.ReadFile(path)
		if err != nil {
			results[i].Err = err
			continue
		}
		p, probs, err := parse(data, path)
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i].Pack, results[i].Problems = p, probs
		if p.Kind == KindPart {
			parts[p.ID] = partFile{part: p, file: path}
		}
	}
	given := map[string]bool{}
	probsOf := map[*Pack][]Problem{}
	var packs []*Pack
	for i := range results {
		if p := results[i].Pack; p != nil && p.Kind != KindPart {
			probs := complete(p, parts)
			results[i].Problems = append(results[i].Problems, probs...)
			probsOf[p] = probs
			given[p.ID] = true
			packs = append(packs, p)
		}
	}
	var embedded []*Pack
	for _, l := range loadEach(packFiles, "packs", parts) {
		if l.pack != nil && !given[l.pack.ID] {
			embedded = append(embedded, l.pack)
			probsOf[l.pack] = l.problems
		}
	}
	for i := range results {
		part := results[i].Pack
		if part == nil || part.Kind != KindPart {
			continue
		}
		for _, q := range append(slices.Clone(packs), embedded...) {
			if !slices.Contains(q.Uses, part.ID) {
				continue
			}
			results[i].Users = append(results[i].Users, q.ID)
			for _, pr := range probsOf[q] {
				if pr.File == part.File {
					results[i].Problems = append(results[i].Problems, pr)
				}
			}
		}
	}
	for i := range results {
		results[i].Problems = dedupe(results[i].Problems)
		sortProblems(results[i].Problems)
	}

	byLang := map[string][]*Pack{}
	for _, q := range append(embedded, packs...) {
		byLang[q.Language] = append(byLang[q.Language], q)
	}
	var set []Problem
	for _, lang := range sortedKeys(byLang) {
		if !slices.ContainsFunc(byLang[lang], func(q *Pack) bool { return given[q.ID] }) && !slices.ContainsFunc(results, func(r FileResult) bool {
			return r.Pack != nil && r.Pack.Kind == KindPart && r.Pack.Language == lang
		}) {
			continue
		}
		for _, pr := range ValidateSet(byLang[lang]) {
			if slices.Contains(paths, pr.File) {
				set = append(set, pr)
			}
		}
	}
	return results, dedupe(set)
}

func dedupe(ps []Problem) []Problem {
	seen := map[Problem]bool{}
	var out []Problem
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// containsName reports whether name stands as a word in s (MS is not in SMS).
func containsName(s, name string) bool {
	for from := 0; ; {
		i := strings.Index(s[from:], name)
		if i < 0 {
			return false
		}
		if nameBoundary(s, nil, from+i, from+i+len(name)) {
			return true
		}
		from += i + 1
	}
}
