package knowledge

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// packFiles holds the packs shipped in the binary, and the parts they use.
//
//go:embed packs/*.yaml packs/parts/*.yaml
var packFiles embed.FS

// Embedded loads and validates every pack embedded in the binary, in file
// name order, with the parts it uses, and checks the packs of each language
// as a set (ValidateSet). It fails, naming the file, if any pack does not
// load, two packs share an id or a set has a problem. Each call parses
// afresh, so callers own the result.
func Embedded() ([]*Pack, error) {
	parts, err := embeddedParts()
	if err != nil {
		return nil, err
	}
	packs, err := loadFS(packFiles, "packs", parts)
	if err != nil {
		return nil, err
	}
	byLang := map[string][]*Pack{}
	for _, p := range packs {
		byLang[p.Language] = append(byLang[p.Language], p)
	}
	for _, lang := range sortedKeys(byLang) {
		if probs := ValidateSet(byLang[lang]); len(probs) > 0 {
			return nil, fmt.Errorf("knowledge: the %s packs do not work together:\n%s", lang, strings.TrimSuffix(FormatProblems("", probs), "\n"))
		}
	}
	return packs, nil
}

// EmbeddedPack returns the embedded pack with the given id.
func EmbeddedPack(id string) (*Pack, error) {
	packs, err := Embedded()
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(packs))
	for _, p := range packs {
		if p.ID == id {
			return p, nil
		}
		ids = append(ids, p.ID)
	}
	return nil, fmt.Errorf("knowledge: no embedded pack %q (have %s)", id, strings.Join(ids, ", "))
}

// embeddedParts parses the parts embedded in the binary, by id.
func embeddedParts() (map[string]partFile, error) {
	names, err := fs.Glob(packFiles, "packs/parts/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	parts := make(map[string]partFile, len(names))
	for _, name := range names {
		data, err := fs.ReadFile(packFiles, name)
		if err != nil {
			return nil, fmt.Errorf("knowledge: %s: %w", name, err)
		}
		p, probs, err := parse(data, name)
		if err == nil && len(probs) > 0 {
			err = &ValidationError{Name: name, Problems: probs}
		}
		if err != nil {
			return nil, fmt.Errorf("knowledge: part %s does not load:\n%w", name, err)
		}
		if p.Kind != KindPart {
			return nil, fmt.Errorf("knowledge: %s is in packs/parts but is not a part (kind: %s)", name, KindPart)
		}
		if other, dup := parts[p.ID]; dup {
			return nil, fmt.Errorf("knowledge: parts %s and %s have the same id %q", other.file, name, p.ID)
		}
		parts[p.ID] = partFile{part: p, file: name}
	}
	return parts, nil
}

// loaded is one file of loadEach.
type loaded struct {
	name     string
	pack     *Pack // nil when it did not decode
	problems []Problem
	err      error
}

// loadEach parses and validates every *.yaml file in dir of fsys, sorted by
// name, with parts.
func loadEach(fsys fs.FS, dir string, parts map[string]partFile) []loaded {
	names, _ := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	sort.Strings(names)
	out := make([]loaded, 0, len(names))
	for _, name := range names {
		l := loaded{name: name}
		data, err := fs.ReadFile(fsys, name)
		if err == nil {
			var probs []Problem
			l.pack, probs, err = parse(data, name)
			if err == nil {
				l.problems = append(probs, complete(l.pack, parts)...)
				sortProblems(l.problems)
			}
		}
		l.err = err
		out = append(out, l)
	}
	return out
}

// loadFS loads every *.yaml file in dir of fsys, sorted by name, with parts.
func loadFS(fsys fs.FS, dir string, parts map[string]partFile) ([]*Pack, error) {
	packs := []*Pack{}
	seen := map[string]string{}
	for _, l := range loadEach(fsys, dir, parts) {
		err := l.err
		if err == nil && len(l.problems) > 0 {
			err = &ValidationError{Name: l.name, Problems: l.problems}
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !strings.HasPrefix(err.Error(), l.name) {
				err = fmt.Errorf("%s: %w", l.name, err)
			}
			return nil, fmt.Errorf("knowledge: pack %s does not load:\n%w", l.name, err)
		}
		if other, ok := seen[l.pack.ID]; ok {
			return nil, fmt.Errorf("knowledge: packs %s and %s have the same id %q", other, l.name, l.pack.ID)
		}
		seen[l.pack.ID] = l.name
		packs = append(packs, l.pack)
	}
	return packs, nil
}
