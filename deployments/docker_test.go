package deployments_test

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dockerFacts is what the runtime stage of the Dockerfile declares.
type dockerFacts struct {
	BuildImage  string // the build stage's image, ARGs expanded
	BuildStage  string
	RuntimeFrom string
	Copied      map[string]string // runtime COPY --from=<build stage>: source -> destination
	UID         int
	Expose      []int
	Volumes     []string
	Env         map[string]string
	Entrypoint  []string
	Cmd         []string
	Healthcheck []string
	HealthOpts  []string
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func dockerfile(t *testing.T) dockerFacts {
	t.Helper()
	ins := parseDockerfile(t)
	f := dockerFacts{Copied: map[string]string{}, Env: map[string]string{}, UID: -1}
	globalArgs := map[string]string{}
	stages := 0
	for _, in := range ins {
		switch {
		case in.Stage < 0 && in.Cmd == "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			globalArgs[k] = v
		case in.Cmd == "FROM":
			stages++
			fields := strings.Fields(in.Args)
			image := argRef.ReplaceAllStringFunc(fields[0], func(m string) string {
				return globalArgs[argRef.FindStringSubmatch(m)[1]]
			})
			if in.Stage == 0 {
				if len(fields) != 3 || !strings.EqualFold(fields[1], "AS") {
					t.Fatalf("Dockerfile:%d: the build stage needs a name (FROM image AS build)", in.Line)
				}
				f.BuildImage, f.BuildStage = image, fields[2]
			} else {
				f.RuntimeFrom = image
			}
		case in.Stage < 1:
			// build stage: checked through dockerGoBuild
		case in.Cmd == "COPY":
			words := strings.Fields(in.Args)
			from := ""
			for len(words) > 0 && strings.HasPrefix(words[0], "--") {
				if v, ok := strings.CutPrefix(words[0], "--from="); ok {
					from = v
				}
				words = words[1:]
			}
			if from == f.BuildStage && len(words) == 2 {
				f.Copied[words[0]] = words[1]
			}
		case in.Cmd == "USER":
			uid, _, _ := strings.Cut(in.Args, ":")
			n, err := strconv.Atoi(uid)
			if err != nil {
				t.Fatalf("Dockerfile:%d: USER must be numeric (Kubernetes runAsNonRoot cannot check a name), got %q", in.Line, in.Args)
			}
			f.UID = n
		case in.Cmd == "EXPOSE":
			for _, p := range strings.Fields(in.Args) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("Dockerfile:%d: EXPOSE %q", in.Line, p)
				}
				f.Expose = append(f.Expose, n)
			}
		case in.Cmd == "VOLUME":
			f.Volumes = append(f.Volumes, execForm(t, in, in.Args)...)
		case in.Cmd == "ENV":
			words, err := shellWords(in.Args)
			if err != nil {
				t.Fatalf("Dockerfile:%d: %v", in.Line, err)
			}
			for _, w := range words {
				k, v, ok := strings.Cut(w, "=")
				if !ok {
					t.Fatalf("Dockerfile:%d: write ENV as KEY=value, got %q", in.Line, w)
				}
				f.Env[k] = v
			}
		case in.Cmd == "ENTRYPOINT":
			f.Entrypoint = execForm(t, in, in.Args)
		case in.Cmd == "CMD":
			f.Cmd = execForm(t, in, in.Args)
		case in.Cmd == "HEALTHCHECK":
			words := strings.Fields(in.Args)
			for len(words) > 0 && strings.HasPrefix(words[0], "--") {
				f.HealthOpts = append(f.HealthOpts, words[0])
				words = words[1:]
			}
			if len(words) < 2 || words[0] != "CMD" {
				t.Fatalf("Dockerfile:%d: HEALTHCHECK [options] CMD [...] expected, got %q", in.Line, in.Args)
			}
			f.Healthcheck = execForm(t, in, strings.Join(words[1:], " "))
		}
	}
	if stages != 2 {
		t.Fatalf("Dockerfile: want 2 stages (build, runtime), got %d", stages)
	}
	return f
}

// goVersionOf returns the "go" directive of go.mod.
func goVersionOf(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	f := dockerfile(t)
	b := dockerGoBuild(t, parseDockerfile(t))

	// The build image's Go must be able to build the module without fetching
	// a toolchain (the official image sets GOTOOLCHAIN=local).
	img, tag, _ := strings.Cut(f.BuildImage, ":")
	if img != "golang" {
		t.Errorf("build stage image = %q, want golang:<version>", f.BuildImage)
	}
	mod := goVersionOf(t)
	modMinor := strings.Join(strings.Split(mod, ".")[:2], ".")
	tagVersion, _, _ := strings.Cut(tag, "-") // 1.26, 1.26.8, 1.26-bookworm
	if tagVersion != modMinor && tagVersion != mod {
		t.Errorf("build image golang:%s does not match go.mod's go %s: set ARG GO_VERSION=%s", tag, mod, modMinor)
	}

	// The build line: static, reproducible paths, version stamped.
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("Dockerfile:%d: go build without CGO_ENABLED=0 (env %q)", b.Line, b.Env)
	}
	if !slices.Contains(b.Args, "-trimpath") {
		t.Errorf("Dockerfile:%d: go build without -trimpath", b.Line)
	}
	ldflags := ""
	for i, a := range b.Args {
		if a == "-ldflags" && i+1 < len(b.Args) {
			ldflags = b.Args[i+1]
		}
	}
	for _, want := range []string{"-s", "-w", "-X main.version=$VERSION"} {
		if !strings.Contains(" "+ldflags+" ", " "+want+" ") {
			t.Errorf("Dockerfile:%d: -ldflags %q lacks %q", b.Line, ldflags, want)
		}
	}
	if got := b.Args[len(b.Args)-1]; got != "./cmd/todoku" {
		t.Errorf("Dockerfile:%d: go build builds %q, want ./cmd/todoku", b.Line, got)
	}
	if b.Output == "" {
		t.Fatalf("Dockerfile:%d: go build without -o", b.Line)
	}

	// Runtime stage.
	if strings.HasPrefix(f.RuntimeFrom, "golang") {
		t.Errorf("runtime image %q is the build image", f.RuntimeFrom)
	}
	bin, ok := f.Copied[b.Output]
	if !ok {
		t.Fatalf("the runtime stage does not COPY --from=%s %s (copied: %v)", f.BuildStage, b.Output, f.Copied)
	}
	if f.UID <= 0 {
		t.Errorf("runtime USER = %d, want a numeric non-root user", f.UID)
	}
	if !slices.Equal(f.Entrypoint, []string{bin}) {
		t.Errorf("ENTRYPOINT = %q, want [%q]", f.Entrypoint, bin)
	}
	if !slices.Equal(f.Cmd, []string{"serve"}) {
		t.Errorf("CMD = %q, want [serve]", f.Cmd)
	}
	if len(f.Healthcheck) < 2 || f.Healthcheck[0] != bin {
		t.Errorf("HEALTHCHECK runs %q, want the binary %s", f.Healthcheck, bin)
	}
	if len(f.HealthOpts) == 0 {
		t.Errorf("HEALTHCHECK without --interval/--timeout options")
	}
	_, port, err := splitHostPort(f.Env["ADDR"])
	if err != nil {
		t.Fatalf("ENV ADDR: %v", err)
	}
	if !slices.Equal(f.Expose, []int{port}) {
		t.Errorf("EXPOSE %v, ADDR %q: want the listening port exposed", f.Expose, f.Env["ADDR"])
	}
	// The SQLite default lives in a declared volume.
	dbPath, ok := strings.CutPrefix(f.Env["DATABASE_URL"], "sqlite:")
	if !ok {
		t.Fatalf("ENV DATABASE_URL = %q, want sqlite:/<volume>/todoku.db", f.Env["DATABASE_URL"])
	}
	if !slices.Contains(f.Volumes, path.Dir(dbPath)) {
		t.Errorf("DATABASE_URL %s is not in a VOLUME %v", dbPath, f.Volumes)
	}
	if f.Copied["/out/data"] != path.Dir(dbPath) {
		t.Errorf("the volume directory %s is not created owned by the runtime user", path.Dir(dbPath))
	}
	settings := settingNames(t)
	for k := range f.Env {
		if !settings[k] {
			t.Errorf("Dockerfile ENV %s is not a setting of app/config.go", k)
		}
	}
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, errors.New("no port in " + strconv.Quote(addr))
	}
	p, err := strconv.Atoi(addr[i+1:])
	return addr[:i], p, err
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return p
}

// TestStaticBinary builds ./cmd/todoku with the Dockerfile's own go build
// line and checks that the result runs on a distroless/static image: no
// dynamic loader, no shared libraries, stripped, no build paths; and that the
// binary knows every subcommand the deployment files run.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux; the ELF checks need a linux build")
	}
	b := dockerGoBuild(t, parseDockerfile(t))
	const version = "v0.0.0-deploytest"
	bin := filepath.Join(t.TempDir(), "todoku")
	args := []string{"build"}
	for _, a := range b.Args {
		switch a {
		case b.Output:
			a = bin
		default:
			a = strings.NewReplacer("${VERSION}", version, "$VERSION", version).Replace(a)
		}
		args = append(args, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(t), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), b.Env...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Dockerfile:%d: %s %s: %v\n%s", b.Line, strings.Join(b.Env, " "), strings.Join(cmd.Args, " "), err, out)
	}
	t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: not static", p.Type)
		}
	}
	for _, s := range []string{".interp", ".dynamic", ".symtab"} {
		if f.Section(s) != nil {
			t.Errorf("binary has a %s section (want static and stripped)", s)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary imports shared libraries %q (%v)", libs, err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	if data := readFile(t, bin); bytes.Contains(data, []byte(abs+"/")) {
		t.Errorf("binary contains the build directory %s: -trimpath not in effect", abs)
	}

	run := func(env []string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}, env...)
		c.Dir = t.TempDir()
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run(nil, "version")
	if err != nil || !strings.Contains(out, version) {
		t.Errorf("todoku version = %q, %v; want it to print %s (-X main.version)", out, err, version)
	}

	// Every subcommand the Dockerfile, compose.yaml and the manifests run.
	help, _ := run(nil, "help")
	var missing []string
	for _, c := range usedSubcommands(t) {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(c) + `\s`).MatchString(help) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("cmd/todoku has no subcommand %q, which the deployment files run (Dockerfile CMD/HEALTHCHECK, compose.yaml, k8s args); `todoku help` says:\n%s", missing, help)
	}

	// The HEALTHCHECK contract: `todoku health` GETs /healthz on ADDR's port
	// at 127.0.0.1 and exits 0 only on 200.
	hc := dockerfile(t).Healthcheck
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		status int
		down   bool
		wantOK bool
	}{
		{"healthy", http.StatusOK, false, true},
		{"unhealthy", http.StatusServiceUnavailable, false, false},
		{"down", 0, true, false},
	} {
		t.Run("health/"+tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			if tc.down {
				srv.Close()
			}
			out, err := run([]string{"ADDR=" + addr}, hc[1:]...)
			if ok := err == nil; ok != tc.wantOK {
				t.Errorf("todoku %s with /healthz %s: exit ok = %v (%v), want %v\n%s", strings.Join(hc[1:], " "), tc.name, ok, err, tc.wantOK, out)
			}
		})
	}
	srv.Close()
}

// usedSubcommands lists the todoku subcommands the deployment files run.
func usedSubcommands(t *testing.T) []string {
	t.Helper()
	f := dockerfile(t)
	var cmds []string
	addFirst := func(args []string) {
		if len(args) > 0 && !slices.Contains(cmds, args[0]) {
			cmds = append(cmds, args[0])
		}
	}
	addFirst(f.Cmd)
	if len(f.Healthcheck) > 1 {
		addFirst(f.Healthcheck[1:])
	}
	for _, s := range loadCompose(t).Services {
		if s.Image == todokuImage {
			addFirst(s.Command)
		}
	}
	base := loadDir(t, filepath.Join("k8s", "base"))
	for _, d := range base.Deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			addFirst(c.Args)
		}
	}
	for _, j := range base.Jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			addFirst(c.Args)
		}
	}
	if !slices.Contains(cmds, "migrate") || !slices.Contains(cmds, "serve") {
		t.Fatalf("deployment files run %q; want serve and migrate among them", cmds)
	}
	return cmds
}

// dockerignore is a .dockerignore matcher with Docker's semantics: patterns
// are relative to the context root, * and ? stay within one path element, **
// spans any number, a pattern that matches a directory excludes everything
// under it, later patterns win and ! re-includes.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
}

func parseDockerignore(t *testing.T, data string) dockerignore {
	t.Helper()
	var d dockerignore
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		line = strings.TrimPrefix(line, "!")
		line = strings.TrimPrefix(path.Clean("/"+line), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(?:.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		d = append(d, struct {
			re     *regexp.Regexp
			negate bool
		}{regexp.MustCompile(re.String()), neg})
	}
	return d
}

// excluded reports whether a context-relative slash path is left out.
func (d dockerignore) excluded(p string) bool {
	out := false
	for _, pat := range d {
		for q := p; q != "." && q != "/" && q != ""; q = path.Dir(q) {
			if pat.re.MatchString(q) {
				out = !pat.negate
				break
			}
		}
	}
	return out
}

// TestDockerignore checks that the build context keeps every file the Go
// build of ./cmd/todoku reads (sources and go:embed files of the module's own
// packages, go.mod, go.sum) and leaves out git data, local databases and
// env files.
func TestDockerignore(t *testing.T) {
	d := parseDockerignore(t, string(readFile(t, filepath.Join(root, ".dockerignore"))))

	for _, tc := range []struct {
		path string
		want bool
	}{
		{".git/HEAD", true},
		{"data/todoku.db", true},
		{"data/todoku.db-wal", true},
		{"storage/x/test.db", true},
		{".env", true},
		{"deployments/local.env", true},
		{"go.mod", false},
		{"cmd/todoku/main.go", false},
		{"deployments/Dockerfile", false},
		{"knowledge/packs/microsoft-ja.yaml", false},
	} {
		if got := d.excluded(tc.path); got != tc.want {
			t.Errorf(".dockerignore excludes %s = %v, want %v", tc.path, got, tc.want)
		}
	}

	cmd := exec.Command(goTool(t), "list", "-e", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}}|{{.}}{{end}}{{range .EmbedFiles}}|{{.}}{{end}}{{end}}{{end}}`,
		"./cmd/todoku")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if parts[0] == "" {
			continue
		}
		rel, err := filepath.Rel(abs, parts[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range parts[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(needed) < 4 {
		t.Fatalf("go list found only %q for ./cmd/todoku", needed)
	}
	t.Logf("%d files needed by go build ./cmd/todoku", len(needed))
	for _, f := range needed {
		if d.excluded(f) {
			t.Errorf(".dockerignore excludes %s, which go build ./cmd/todoku needs", f)
		}
	}
}
