package deployments_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// root is the module root, relative to this package's directory (where go
// test runs).
const root = ".."

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setting is one row of app/config.go's settings table.
type setting struct {
	Env, Flag, Default, Help string
	Secret                   bool // also read from the file NAME_FILE names
}

// loadSettings reads the settings table from app/config.go's source
// (the deployments tests import no package of the service): the variables the binary reads.
func loadSettings(t *testing.T) []setting {
	t.Helper()
	path := filepath.Join(root, "app", "config.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []setting
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "settings" || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, e := range lit.Elts {
			row, ok := e.(*ast.CompositeLit)
			if !ok || len(row.Elts) < 4 {
				t.Fatalf("%s: unexpected settings row %T", path, e)
			}
			var s [4]string
			for i := range s {
				bl, ok := row.Elts[i].(*ast.BasicLit)
				if !ok || bl.Kind != token.STRING {
					t.Fatalf("%s: settings row field %d is not a string literal", path, i)
				}
				s[i], err = strconv.Unquote(bl.Value)
				if err != nil {
					t.Fatal(err)
				}
			}
			secret := false
			if len(row.Elts) > 4 {
				id, ok := row.Elts[4].(*ast.Ident)
				secret = ok && id.Name == "true"
			}
			out = append(out, setting{Env: s[0], Flag: s[1], Default: s[2], Help: s[3], Secret: secret})
		}
		return false
	})
	if len(out) == 0 {
		t.Fatalf("%s: no settings table found", path)
	}
	return out
}

func settingNames(t *testing.T) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, s := range loadSettings(t) {
		m[s.Env] = true
		if s.Secret {
			m[s.Env+"_FILE"] = true
		}
	}
	return m
}

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	Cmd   string // upper case: FROM, RUN, ...
	Args  string
	Line  int
	Stage int // index of the FROM it belongs to; -1 before the first FROM
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	path := "Dockerfile"
	lines := strings.Split(string(readFile(t, path)), "\n")
	var out []instruction
	stage := -1
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		start := i + 1
		text := l
		for strings.HasSuffix(text, `\`) {
			text = strings.TrimSuffix(text, `\`)
			i++
			if i >= len(lines) {
				t.Fatalf("%s:%d: continuation at end of file", path, start)
			}
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				text += `\` // comment lines inside a continuation are skipped
				continue
			}
			text += " " + next
		}
		cmd, args, _ := strings.Cut(text, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{Cmd: cmd, Args: strings.TrimSpace(args), Line: start, Stage: stage})
	}
	return out
}

// shellWords splits a command line the way a POSIX shell does for plain
// words, single and double quotes and backslash escapes. Expansions are left
// as written.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ';' || c == '&' || c == '|':
			return nil, fmt.Errorf("shell operator %q: keep the go build a single command", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// goBuild is the Dockerfile's `go build` command, split into its parts.
type goBuild struct {
	Env    []string // VAR=value assignments before `go`
	Args   []string // everything after `go build`
	Output string   // the -o value
	Line   int
}

// dockerGoBuild finds the RUN instruction of the build stage that runs
// `go build` and splits it.
func dockerGoBuild(t *testing.T, ins []instruction) goBuild {
	t.Helper()
	var found []goBuild
	for _, in := range ins {
		if in.Cmd != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		words, err := shellWords(in.Args)
		if err != nil {
			t.Fatalf("Dockerfile:%d: %v", in.Line, err)
		}
		for len(words) > 0 && strings.HasPrefix(words[0], "--") { // RUN --mount=...
			words = words[1:]
		}
		var b goBuild
		b.Line = in.Line
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
			b.Env = append(b.Env, words[0])
			words = words[1:]
		}
		if len(words) < 2 || words[0] != "go" || words[1] != "build" {
			t.Fatalf("Dockerfile:%d: want [VAR=value...] go build ..., got %q", in.Line, in.Args)
		}
		b.Args = words[2:]
		for i, a := range b.Args {
			if a == "-o" && i+1 < len(b.Args) {
				b.Output = b.Args[i+1]
			}
		}
		found = append(found, b)
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile: want exactly one RUN with go build, found %d", len(found))
	}
	return found[0]
}

// execForm decodes a Dockerfile exec-form argument list (a JSON array).
func execForm(t *testing.T, in instruction, args string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("Dockerfile:%d: %s must be in exec form (a JSON array), got %q: %v", in.Line, in.Cmd, args, err)
	}
	return v
}
