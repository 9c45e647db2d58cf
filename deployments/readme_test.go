package deployments_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestReadmeListsEverySetting keeps README.md's variable table in step with
// the settings table of app/config.go: every variable has a row with
// its flag and its default.
func TestReadmeListsEverySetting(t *testing.T) {
	readme := string(readFile(t, "README.md"))
	rows := map[string]string{}
	for _, line := range strings.Split(readme, "\n") {
		if m := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	settings := loadSettings(t)
	for _, s := range settings {
		row, ok := rows[s.Env]
		if !ok {
			t.Errorf("README.md: no table row for %s (%s)", s.Env, s.Help)
			continue
		}
		cells := strings.Split(row, "|")
		if len(cells) < 5 {
			t.Errorf("README.md: row for %s has %d cells", s.Env, len(cells))
			continue
		}
		if got, want := strings.TrimSpace(cells[2]), "`--"+s.Flag+"`"; got != want {
			t.Errorf("README.md: %s flag %s, want %s", s.Env, got, want)
		}
		wantDef := "*(empty)*"
		if s.Default != "" {
			wantDef = "`" + s.Default + "`"
		}
		if got := strings.TrimSpace(cells[3]); got != wantDef {
			t.Errorf("README.md: %s default %s, want %s", s.Env, got, wantDef)
		}
	}
	known := settingNames(t)
	for env := range rows {
		if !known[env] {
			t.Errorf("README.md lists %s, which app/config.go does not read", env)
		}
	}
}
