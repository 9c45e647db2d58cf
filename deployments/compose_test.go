package deployments_test

import (
	"bufio"
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// todokuImage is the image compose.yaml builds from deployments/Dockerfile.
const todokuImage = "todoku:local"

// composeFile is the part of the Compose specification compose.yaml uses.
// Decoding is strict, so a misspelt key fails the test.
type composeFile struct {
	Name     string                    `yaml:"name"`
	XTodoku  map[string]any            `yaml:"x-todoku"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	EnvFile     []struct {
		Path     string `yaml:"path"`
		Required *bool  `yaml:"required"`
	} `yaml:"env_file"`
	Ports       []string `yaml:"ports"`
	Volumes     []string `yaml:"volumes"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Restart     string   `yaml:"restart"`
	ReadOnly    bool     `yaml:"read_only"`
	Tmpfs       []string `yaml:"tmpfs"`
	CapDrop     []string `yaml:"cap_drop"`
	SecurityOpt []string `yaml:"security_opt"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, "compose.yaml")))
	dec.KnownFields(true)
	var c composeFile
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// readEnvFile reads KEY=value lines as docker compose does (no quotes used).
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			t.Fatalf("%s:%d: want KEY=value, got %q", path, n, line)
		}
		if _, dup := env[k]; dup {
			t.Fatalf("%s:%d: %s set twice", path, n, k)
		}
		env[k] = v
	}
	return env
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgres", "migrate", "todoku"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("compose.yaml: no service %q", name)
		}
	}

	pg := c.Services["postgres"]
	if !strings.HasPrefix(pg.Image, "postgres:16") {
		t.Errorf("postgres image = %q, want postgres:16", pg.Image)
	}
	if pg.Healthcheck == nil || !strings.Contains(strings.Join(pg.Healthcheck.Test, " "), "pg_isready") {
		t.Errorf("postgres needs a pg_isready health check, got %+v", pg.Healthcheck)
	}
	dataVolume := false
	for _, v := range pg.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		if dst == "/var/lib/postgresql/data" {
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("postgres volume %q is not a declared named volume", src)
			}
			dataVolume = true
		}
	}
	if !dataVolume {
		t.Errorf("postgres data (/var/lib/postgresql/data) is not on a volume: %q", pg.Volumes)
	}

	df := dockerfile(t)
	settings := settingNames(t)
	for _, tc := range []struct {
		service   string
		command   string
		dependsOn map[string]string
	}{
		{"migrate", "migrate", map[string]string{"postgres": "service_healthy"}},
		{"todoku", "serve", map[string]string{"postgres": "service_healthy", "migrate": "service_completed_successfully"}},
	} {
		s := c.Services[tc.service]
		if s.Image != todokuImage {
			t.Errorf("%s: image = %q, want %q", tc.service, s.Image, todokuImage)
		}
		if !slices.Equal(s.Command, []string{tc.command}) {
			t.Errorf("%s: command = %q, want [%s]", tc.service, s.Command, tc.command)
		}
		got := map[string]string{}
		for k, v := range s.DependsOn {
			got[k] = v.Condition
		}
		if len(got) != len(tc.dependsOn) {
			t.Errorf("%s: depends_on = %v, want %v", tc.service, got, tc.dependsOn)
		}
		for k, v := range tc.dependsOn {
			if got[k] != v {
				t.Errorf("%s: depends_on %s condition = %q, want %q", tc.service, k, got[k], v)
			}
		}
		if s.Build == nil {
			t.Fatalf("%s: no build section", tc.service)
		}
		// The build context is the module root and the Dockerfile is this one.
		ctx := filepath.Clean(s.Build.Context)
		if _, err := os.Stat(filepath.Join(ctx, "go.mod")); err != nil {
			t.Errorf("%s: build context %q is not the module root: %v", tc.service, s.Build.Context, err)
		}
		if got := filepath.Join(ctx, s.Build.Dockerfile); got != filepath.Join(root, "deployments", "Dockerfile") {
			t.Errorf("%s: dockerfile %q resolves to %s, want deployments/Dockerfile", tc.service, s.Build.Dockerfile, got)
		}
		if len(s.EnvFile) == 0 || s.EnvFile[0].Path != "example.env" {
			t.Errorf("%s: env_file = %+v, want example.env first", tc.service, s.EnvFile)
		}
		for _, ef := range s.EnvFile {
			if ef.Required != nil && !*ef.Required {
				continue // optional local overrides
			}
			for k := range readEnvFile(t, ef.Path) {
				if !settings[k] {
					t.Errorf("%s sets %s, which is not a setting of app/config.go", ef.Path, k)
				}
			}
		}
		for k := range s.Environment {
			if !settings[k] {
				t.Errorf("%s: environment %s is not a setting of app/config.go", tc.service, k)
			}
		}
	}

	// The published port is the one the image listens on.
	todoku := c.Services["todoku"]
	if len(todoku.Ports) != 1 {
		t.Fatalf("todoku ports = %q, want one", todoku.Ports)
	}
	parts := strings.Split(todoku.Ports[0], ":")
	if cp, err := strconv.Atoi(parts[len(parts)-1]); err != nil || !slices.Contains(df.Expose, cp) {
		t.Errorf("todoku publishes container port %q; the image exposes %v", todoku.Ports[0], df.Expose)
	}
	if parts[0] != "8080" {
		t.Errorf("todoku port %q: want localhost:8080", todoku.Ports[0])
	}

	// example.env: LINE credentials empty, DATABASE_URL pointing at the
	// compose PostgreSQL with its user, password and database.
	env := readEnvFile(t, "example.env")
	for _, k := range []string{"LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"} {
		v, ok := env[k]
		if !ok || v != "" {
			t.Errorf("example.env: %s = %q (present %v), want present and empty", k, v, ok)
		}
	}
	u, err := url.Parse(env["DATABASE_URL"])
	if err != nil {
		t.Fatalf("example.env DATABASE_URL: %v", err)
	}
	pass, _ := u.User.Password()
	if u.Scheme != "postgres" || u.Hostname() != "postgres" || u.Port() != "5432" ||
		u.User.Username() != pg.Environment["POSTGRES_USER"] || pass != pg.Environment["POSTGRES_PASSWORD"] ||
		strings.TrimPrefix(u.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("example.env DATABASE_URL %q does not match the postgres service %v", env["DATABASE_URL"], pg.Environment)
	}
	for _, k := range []string{"LOG_LEVEL"} {
		if _, ok := env[k]; !ok {
			t.Errorf("example.env: %s missing", k)
		}
	}
}
