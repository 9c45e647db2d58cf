package knowledge

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedPacksValidate(t *testing.T) {
	names, err := fs.Glob(packFiles, "packs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Skip("no pack in knowledge/packs yet")
	}
	for _, name := range names {
		data, err := fs.ReadFile(packFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(data, name)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if probs := complete(p, nil); len(probs) > 0 {
			t.Errorf("%s has %d problems:\n%s", name, len(probs), FormatProblems(name, probs))
		}
	}
	packs, err := Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	if len(packs) != len(names) {
		t.Fatalf("Embedded returned %d packs, want %d", len(packs), len(names))
	}
	for _, p := range packs {
		t.Logf("%s %s: %d nodes, %d intents, %d synonym groups", p.ID, p.Version, len(p.Nodes), len(p.Intents), len(p.Synonyms))
		got, err := EmbeddedPack(p.ID)
		if err != nil || got.ID != p.ID {
			t.Fatalf("EmbeddedPack(%q) = %v, %v", p.ID, got, err)
		}
	}
	if _, err := EmbeddedPack("no-such-pack"); err == nil {
		t.Fatal("EmbeddedPack(no-such-pack) succeeded")
	}
}

func TestLoadFS(t *testing.T) {
	valid := readValid(t)
	other := strings.Replace(valid, "id: test-ja", "id: other-ja", 1)
	broken := strings.Replace(valid, "start: welcome", "start: nowhere", 1)

	fsys := fstest.MapFS{
		"packs/b.yaml": {Data: []byte(valid)},
		"packs/a.yaml": {Data: []byte(other)},
		"packs/readme": {Data: []byte("not a pack")},
	}
	packs, err := loadFS(fsys, "packs", nil)
	if err != nil {
		t.Fatalf("loadFS: %v", err)
	}
	if len(packs) != 2 || packs[0].ID != "other-ja" || packs[1].ID != "test-ja" {
		t.Fatalf("packs not loaded in file name order: %d packs", len(packs))
	}

	fsys["packs/c.yaml"] = &fstest.MapFile{Data: []byte(broken)}
	_, err = loadFS(fsys, "packs", nil)
	if err == nil || !strings.Contains(err.Error(), "packs/c.yaml:6: start: unknown node \"nowhere\"") {
		t.Fatalf("broken pack: err = %v", err)
	}

	delete(fsys, "packs/c.yaml")
	fsys["packs/c.yaml"] = &fstest.MapFile{Data: []byte(valid)}
	_, err = loadFS(fsys, "packs", nil)
	if err == nil || !strings.Contains(err.Error(), `packs packs/b.yaml and packs/c.yaml have the same id "test-ja"`) {
		t.Fatalf("duplicate id: err = %v", err)
	}
}

func BenchmarkEmbedded(b *testing.B) {
	for b.Loop() {
		if _, err := Embedded(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNodeLookup(b *testing.B) {
	packs, err := Embedded()
	if err != nil || len(packs) == 0 {
		b.Fatalf("Embedded: %v", err)
	}
	p := packs[0]
	last := p.Nodes[len(p.Nodes)-1].ID
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if p.Node(last) == nil {
				b.Fatal("not found")
			}
		}
	})
	scan := *p
	scan.idx = nil
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if scan.Node(last) == nil {
				b.Fatal("not found")
			}
		}
	})
}
