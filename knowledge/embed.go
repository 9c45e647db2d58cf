package knowledge

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// packFiles holds the packs shipped in the binary.
//
//go:embed packs/*.yaml
var packFiles embed.FS

// Embedded loads and validates every pack embedded in the binary, in file
// name order. It fails, naming the file, if any pack does not load or two
// packs share an id. Each call parses afresh, so callers own the result.
func Embedded() ([]*Pack, error) {
	return loadFS(packFiles, "packs")
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

// loadFS loads every *.yaml file in dir of fsys, sorted by name.
func loadFS(fsys fs.FS, dir string) ([]*Pack, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	packs := make([]*Pack, 0, len(names))
	seen := map[string]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("knowledge: %s: %w", name, err)
		}
		p, err := Load(data, name)
		if err != nil {
			return nil, fmt.Errorf("knowledge: pack %s does not load:\n%w", name, err)
		}
		if other, ok := seen[p.ID]; ok {
			return nil, fmt.Errorf("knowledge: packs %s and %s have the same id %q", other, name, p.ID)
		}
		seen[p.ID] = name
		packs = append(packs, p)
	}
	return packs, nil
}
