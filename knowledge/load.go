package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SyntaxError is a pack that is not well-formed YAML (or not a YAML mapping):
// nothing could be decoded from it. Line is 0 when the YAML parser gave none.
type SyntaxError struct {
	Name string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return formatProblem(e.Name, Problem{Line: e.Line, Msg: e.Msg})
}

// ValidationError lists every problem found in a pack: fields that do not fit
// the model (from Parse) and broken rules (from Validate).
type ValidationError struct {
	Name     string
	Problems []Problem
}

// Error lists every problem as a "name:line: msg" line.
func (e *ValidationError) Error() string {
	return strings.TrimSuffix(FormatProblems(e.Name, e.Problems), "\n")
}

// Parse decodes a pack from YAML strictly: unknown fields and values of the
// wrong type are errors. It fills Pack.Lines with the line of every field and
// list item, keyed by paths like "nodes[3].choices[1].next", defaults
// Intent.Kind to KindTopic and builds the lookup index. It does not validate.
//
// The error is a *SyntaxError when the YAML is malformed and a
// *ValidationError when it is well-formed but does not fit the model. name is
// used in error messages (usually the file name).
func Parse(data []byte, name string) (*Pack, error) {
	p, probs, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Name: name, Problems: probs}
	}
	return p, nil
}

// Load parses and validates a pack. A pack with any problem is not returned;
// the error is then a *SyntaxError or a *ValidationError listing every
// problem, including those of the decoding step.
//
// The parts the pack uses (Pack.Uses) are the embedded ones; they are merged
// in before validation, and problems in them name the part's file.
func Load(data []byte, name string) (*Pack, error) {
	return load(data, name, nil)
}

// load is Load with the parts to use; nil means the embedded ones.
func load(data []byte, name string, parts map[string]partFile) (*Pack, error) {
	p, probs, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	probs = append(probs, complete(p, parts)...)
	if len(probs) > 0 {
		sortProblems(probs)
		return nil, &ValidationError{Name: name, Problems: probs}
	}
	return p, nil
}

// complete merges in the parts p uses (nil parts: the embedded ones) and
// validates the result.
func complete(p *Pack, parts map[string]partFile) []Problem {
	var probs []Problem
	if p.Kind == KindPart {
		return []Problem{{Line: p.Lines["kind"], Path: "kind", Msg: "this is a part, not a pack: packs take it in with uses"}}
	}
	if len(p.Uses) > 0 {
		if parts == nil {
			var err error
			if parts, err = embeddedParts(); err != nil {
				return []Problem{{Msg: err.Error()}}
			}
		}
		probs = append(probs, resolve(p, parts)...)
	}
	return append(probs, Validate(p)...)
}

// ValidateFile reads, parses and validates the pack at path for
// `todoku kb validate`. The error is only for an unreadable file or malformed
// YAML (a *SyntaxError, with its line); everything else is reported in the
// problems, sorted by line. The pack is returned whenever it could be decoded,
// even with problems, so that callers can show what they can.
func ValidateFile(path string) ([]Problem, *Pack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	p, probs, err := parse(data, path)
	if err != nil {
		return nil, nil, err
	}
	probs = append(probs, complete(p, nil)...)
	sortProblems(probs)
	return probs, p, nil
}

// FormatProblems renders problems as "name:line: msg" lines, one per problem,
// each ending in a newline ("name: msg" when the line is unknown).
func FormatProblems(name string, ps []Problem) string {
	var b strings.Builder
	for _, pr := range ps {
		b.WriteString(formatProblem(name, pr))
		b.WriteByte('\n')
	}
	return b.String()
}

func formatProblem(name string, pr Problem) string {
	if pr.File != "" {
		name = pr.File
	}
	if pr.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", name, pr.Line, pr.Msg)
	}
	return fmt.Sprintf("%s: %s", name, pr.Msg)
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// parse decodes data into a pack. Problems are fields that do not fit the
// model; the pack is then decoded as far as possible. err is a *SyntaxError.
func parse(data []byte, name string) (p *Pack, probs []Problem, err error) {
	defer func() {
		// yaml.v3 recovers its own errors; anything else is a bug in the
		// parser that malformed input must not turn into a crash.
		if r := recover(); r != nil {
			p, probs = nil, nil
			err = &SyntaxError{Name: name, Msg: fmt.Sprintf("cannot parse YAML: %v", r)}
		}
	}()

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &SyntaxError{Name: name, Line: 1, Msg: "empty pack: no YAML document"}
		}
		return nil, nil, yamlSyntaxError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, &SyntaxError{Name: name, Line: extra.Line, Msg: "more than one YAML document; a pack is one document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, yamlSyntaxError(name, data, err)
	}

	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, nil, &SyntaxError{Name: name, Line: doc.Line, Msg: "a pack must be a YAML mapping (id: ..., nodes: ...)"}
	}

	p = &Pack{}
	if err := doc.Decode(p); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, yamlSyntaxError(name, data, err)
		}
		for _, e := range te.Errors {
			pr := Problem{Msg: e}
			if m := lineRE.FindStringSubmatch(e); m != nil {
				pr.Line, _ = strconv.Atoi(m[1])
				pr.Msg = m[2]
			}
			probs = append(probs, pr)
		}
	}

	w := walker{lines: map[string]int{}, budget: 1 << 20}
	w.walk(doc, reflect.TypeOf(Pack{}), "")
	p.Lines = w.lines
	probs = append(probs, w.probs...)
	if len(probs) > 0 {
		// Give decoding problems the path of the field on their line.
		byLine := map[int]string{}
		for path, l := range p.Lines {
			if old, ok := byLine[l]; !ok || len(path) > len(old) || (len(path) == len(old) && path < old) {
				byLine[l] = path
			}
		}
		for i := range probs {
			if probs[i].Path == "" {
				probs[i].Path = byLine[probs[i].Line]
			}
		}
	}

	for i := range p.Intents {
		if p.Intents[i].Kind == "" {
			p.Intents[i].Kind = KindTopic
		}
	}
	p.idx = buildIndex(p)
	p.File = name
	sortProblems(probs)
	return p, probs, nil
}

func yamlSyntaxError(name string, data []byte, err error) *SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	se := &SyntaxError{Name: name, Msg: msg}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		se.Line, _ = strconv.Atoi(m[1])
		se.Msg = m[2]
		if !scannerProblems[se.Msg] {
			// yaml.v3 reports parser errors with the 0-based line of the
			// construct that failed (scanner errors are 1-based already).
			se.Line++
		}
		return se
	}
	// No line: a reader error (bad UTF-8, control character) or a problem
	// on the first line.
	se.Line = badByteLine(data)
	return se
}

// scannerProblems are the messages of yaml.v3's scanner, whose line numbers
// are 1-based; all other parse errors carry a 0-based line.
var scannerProblems = map[string]bool{
	"block sequence entries are not allowed in this context":       true,
	"could not find expected ':'":                                  true,
	"could not find expected directive name":                       true,
	"did not find expected alphabetic or numeric character":        true,
	"did not find expected comment or line break":                  true,
	"did not find expected digit or '.' character":                 true,
	"did not find expected hexdecimal number":                      true,
	"did not find expected version number":                         true,
	"did not find expected whitespace or line break":               true,
	"did not find expected whitespace":                             true,
	"did not find the expected '>'":                                true,
	"found a tab character that violates indentation":              true,
	"found a tab character where an indentation space is expected": true,
	"found an indentation indicator equal to 0":                    true,
	"found character that cannot start any token":                  true,
	"found extremely long version number":                          true,
	"found invalid Unicode character escape code":                  true,
	"found unexpected document indicator":                          true,
	"found unexpected end of stream":                               true,
	"found unexpected non-alphabetical character":                  true,
	"found unknown directive name":                                 true,
	"found unknown escape character":                               true,
	"mapping keys are not allowed in this context":                 true,
	"mapping values are not allowed in this context":               true,
}

// badByteLine returns the line of the first byte YAML cannot read (invalid
// UTF-8 or a control character), or 1.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		} else if r < 0x20 && r != '\t' && r != '\r' || r == 0x7F {
			return line
		}
		i += size
	}
	return 1
}

// walker records the line of every field and list item of a decoded YAML
// tree and reports mapping keys that are not fields of the model.
type walker struct {
	lines  map[string]int
	probs  []Problem
	budget int // nodes left to visit; bounds alias expansion
}

func (w *walker) set(path string, line int) {
	if _, ok := w.lines[path]; !ok {
		w.lines[path] = line
	}
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	w.budget--
	if n == nil || w.budget < 0 {
		return
	}
	if n.Kind == yaml.AliasNode {
		w.walk(n.Alias, t, path)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a type error, reported by the decoder
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" || k.Value == "<<" {
				w.walkMerge(v, t, path)
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				w.probs = append(w.probs, Problem{
					Line: k.Line,
					Path: join(path, k.Value),
					Msg:  fmt.Sprintf("unknown field %q in %s", k.Value, typeLabel(t)),
				})
				continue
			}
			fp := join(path, k.Value)
			w.set(fp, k.Line)
			w.walk(v, ft, fp)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			ip := path + "[" + strconv.Itoa(i) + "]"
			w.set(ip, c.Line)
			w.walk(c, t.Elem(), ip)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			w.set(kp, k.Line)
			w.walk(v, t.Elem(), kp)
		}
	}
}

// walkMerge handles "<<: *anchor" and "<<: [*a, *b]" merge keys.
func (w *walker) walkMerge(v *yaml.Node, t reflect.Type, path string) {
	w.budget--
	if w.budget < 0 {
		return
	}
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v == nil {
		return
	}
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			w.walkMerge(c, t, path)
		}
		return
	}
	w.walk(v, t, path)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// typeLabel names a model type for messages: "node", "choice", "pack".
func typeLabel(t reflect.Type) string {
	return strings.ToLower(t.Name())
}

// yamlFields maps the YAML names of t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// packIndex maps ids to positions in Pack.Nodes and Pack.Intents. When ids
// repeat (an invalid pack) the first one wins, like the linear scan.
type packIndex struct {
	nodes   map[string]int
	intents map[string]int
}

func buildIndex(p *Pack) *packIndex {
	idx := &packIndex{
		nodes:   make(map[string]int, len(p.Nodes)),
		intents: make(map[string]int, len(p.Intents)),
	}
	for i, n := range p.Nodes {
		if _, ok := idx.nodes[n.ID]; !ok {
			idx.nodes[n.ID] = i
		}
	}
	for i, in := range p.Intents {
		if _, ok := idx.intents[in.ID]; !ok {
			idx.intents[in.ID] = i
		}
	}
	return idx
}
