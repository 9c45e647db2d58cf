package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/todoku/todoku/staffhours"
)

// Config is every setting of the service. Each one is an environment
// variable and also a flag of the same meaning; a flag given on the command
// line wins over the environment. Build it with BindFlags.
type Config struct {
	ChannelSecret    string
	ChannelToken     string
	LineAPIBaseURL   string
	LineDataBaseURL  string // the Messaging API's data host (rich menu images)
	DatabaseURL      string
	Addr             string
	LogLevel         string
	LogFormat        string
	Workers          int
	DBMaxConns       int // 0: PoolSize's rule
	IdleTimeout      time.Duration
	MaxEventAge      time.Duration // 0: answer every event
	RetentionDays    int
	DeleteOnUnfollow bool
	PackID           string

	ConsoleAddr        string        // "" serves the console on Addr
	ConsoleSessionIdle time.Duration // a console sign-in ends after this long without a request
	StaffHours         *staffhours.Hours
	AdminUser          string
	AdminPassword      string

	redactor *strings.Replacer // the secrets' values, for Redact; nil: none set
}

// setting is one configuration variable: an environment variable and a flag
// (the README's table and the deployments tests read this table). A secret
// is never printed, and can instead be read from the file that NAME_FILE or
// -flag-file names, as Kubernetes and Docker mount secrets.
type setting struct {
	env, flag, def, help string
	secret               bool
}

var settings = []setting{
	{"LINE_CHANNEL_SECRET", "line-channel-secret", "", "LINE channel secret (checks webhook signatures); unset: LINE not connected, /callback answers 503", true},
	{"LINE_CHANNEL_ACCESS_TOKEN", "line-channel-access-token", "", "LINE channel access token (long-lived or v2.1) for the Messaging API", true},
	{"LINE_API_BASE_URL", "line-api-base-url", "https://api.line.me", "Messaging API base URL (tests point it at a fake)", false},
	{"LINE_API_DATA_BASE_URL", "line-api-data-base-url", "https://api-data.line.me", "Messaging API data host (rich menu images; tests point it at a fake)", false},
	{"DATABASE_URL", "database-url", "", "postgres://... selects PostgreSQL; unset means SQLite at ./data/todoku.db; sqlite:PATH picks another file", true},
	{"ADDR", "addr", ":8080", "HTTP listen address", false},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error", false},
	{"LOG_FORMAT", "log-format", "auto", "json, text, or auto (JSON unless stderr is a terminal)", false},
	{"WORKERS", "workers", "8", "event-processing workers (one user's events always run in order)", false},
	{"DB_MAX_CONNS", "db-max-conns", "0", "PostgreSQL connections per process; 0 means 2×WORKERS+8 (each busy worker holds two). Size max_connections for all replicas", false},
	{"IDLE_TIMEOUT", "idle-timeout", "30m", "after this long without a message, ask whether to continue or start over", false},
	{"MAX_EVENT_AGE", "max-event-age", "24h", "an event older than this when it is processed (a redelivery days late) is not answered but logged as missed for staff and counted; 0 answers every event", false},
	{"RETENTION_DAYS", "retention-days", "365", "conversations older than this are deleted daily (0 keeps everything)", false},
	{"DELETE_ON_UNFOLLOW", "delete-on-unfollow", "false", "delete everything stored about a user when they block the account", false},
	{"PACK", "pack", "microsoft-ja", "id of the knowledge pack that answers users", false},
	{"CONSOLE_ADDR", "console-addr", "", "serve the staff console and its API on this address of their own, so that only /callback faces the internet; unset: on ADDR", false},
	{"CONSOLE_SESSION_IDLE", "console-session-idle", "1h", "a console sign-in ends after this long without a request", false},
	{"STAFF_HOURS", "staff-hours", "", "when a person answers, e.g. `Mon-Fri 10:00-18:00 Asia/Tokyo` (several parts separated by commas); unset: always", false},
	{"TODOKU_ADMIN_USER", "admin-user", "admin", "name of the console admin account created at the first start when there is none", false},
	{"TODOKU_ADMIN_PASSWORD", "admin-password", "", "its password; unset: a one-time password is generated and printed once to the log", true},
}

// fileSuffix names the variable (and flag) that reads a secret from a file.
const fileSuffix = "_FILE"

// maxSecretFile bounds a secret file: a mistaken path to a large file fails
// instead of being read.
const maxSecretFile = 64 << 10

// Flags is the settings one command takes, bound to its flag set.
type Flags struct {
	fs    *flag.FlagSet
	used  []setting
	vals  map[string]*string // by variable name: the flag's value
	files map[string]*string // secrets: the -flag-file value
	defs  map[string]string
}

// BindFlags registers the named settings on fs (every setting when none is
// named). A flag's default is the built-in one, never the environment's
// value, so that usage and flag errors cannot print a secret; Config
// overlays the environment after parsing.
func BindFlags(fs *flag.FlagSet, names ...string) *Flags {
	f := &Flags{fs: fs, vals: map[string]*string{}, files: map[string]*string{}, defs: map[string]string{}}
	for _, s := range settings {
		if len(names) > 0 && !contains(names, s.env) {
			continue
		}
		f.used = append(f.used, s)
		f.defs[s.env] = s.def
		if s.secret {
			f.vals[s.env] = fs.String(s.flag, "", s.help+" ($"+s.env+"; secret: prefer -"+s.flag+"-file)")
			f.files[s.env] = fs.String(s.flag+"-file", "", "read "+s.env+" from this file ($"+s.env+fileSuffix+")")
			continue
		}
		f.vals[s.env] = fs.String(s.flag, s.def, s.help+" ($"+s.env+")")
	}
	for _, n := range names {
		if _, ok := f.defs[n]; !ok {
			panic("app: BindFlags: unknown setting " + n)
		}
	}
	return f
}

// Default changes a setting's default for this command (`chat` logs at warn).
func (f *Flags) Default(env, def string) {
	if _, ok := f.defs[env]; !ok {
		panic("app: Default: unbound setting " + env)
	}
	f.defs[env] = def
	if fl := f.fs.Lookup(settingByEnv(env).flag); fl != nil {
		fl.DefValue = def
		_ = fl.Value.Set(def)
	}
}

// Config returns the configuration once fs has parsed the command line: for
// each bound setting, the flag if given, else the environment (lookup; an
// empty value counts as unset), else the default. A setting this command
// did not bind keeps its default. Errors name settings, never a secret's
// value.
func (f *Flags) Config(lookup func(string) (string, bool)) (*Config, error) {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	raw := map[string]string{}
	for _, s := range settings {
		raw[s.env] = s.def
	}
	env := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	for _, s := range f.used {
		v, err := f.value(s, given, env)
		if err != nil {
			return nil, err
		}
		raw[s.env] = v
	}
	return configFrom(raw)
}

// value resolves one setting: -flag, -flag-file, $NAME, $NAME_FILE, default.
func (f *Flags) value(s setting, given map[string]bool, env func(string) string) (string, error) {
	switch {
	case s.secret && given[s.flag] && given[s.flag+"-file"]:
		return "", fmt.Errorf("give -%s or -%s-file, not both", s.flag, s.flag)
	case given[s.flag]:
		return *f.vals[s.env], nil
	case s.secret && given[s.flag+"-file"]:
		return readSecret("-"+s.flag+"-file", *f.files[s.env])
	}
	v := env(s.env)
	if s.secret {
		file := env(s.env + fileSuffix)
		switch {
		case v != "" && file != "":
			return "", fmt.Errorf("%s and %s%s are both set: set one of them", s.env, s.env, fileSuffix)
		case file != "":
			return readSecret(s.env+fileSuffix, file)
		}
	}
	if v != "" {
		return v, nil
	}
	return f.defs[s.env], nil
}

// ConfigFrom is the configuration from these variables alone, every other
// setting at its default (for programs that build the service themselves,
// such as the benchmarks).
func ConfigFrom(env map[string]string) (*Config, error) {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return BindFlags(fs).Config(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

// readSecret reads a secret from a file, without the line end that editors
// and `echo` leave. Errors name the file, not its content.
func readSecret(from, path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s: reading %s: %w", from, path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s: %s is larger than %d KiB: not a secret file", from, path, maxSecretFile>>10)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s: %s is empty", from, path)
	}
	return v, nil
}

// Variables lists every environment variable the configuration reads, the
// secrets' _FILE variants included (to start a process with none of them).
func Variables() []string {
	var names []string
	for _, s := range settings {
		names = append(names, s.env)
		if s.secret {
			names = append(names, s.env+fileSuffix)
		}
	}
	return names
}

func settingByEnv(env string) setting {
	for _, s := range settings {
		if s.env == env {
			return s
		}
	}
	panic("app: unknown setting " + env)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// configFrom checks and converts the raw settings.
func configFrom(raw map[string]string) (*Config, error) {
	c := &Config{
		ChannelSecret:   raw["LINE_CHANNEL_SECRET"],
		ChannelToken:    raw["LINE_CHANNEL_ACCESS_TOKEN"],
		LineAPIBaseURL:  strings.TrimRight(raw["LINE_API_BASE_URL"], "/"),
		LineDataBaseURL: strings.TrimRight(raw["LINE_API_DATA_BASE_URL"], "/"),
		DatabaseURL:     raw["DATABASE_URL"],
		Addr:            raw["ADDR"],
		LogLevel:        raw["LOG_LEVEL"],
		LogFormat:       raw["LOG_FORMAT"],
		PackID:          raw["PACK"],
	}
	var err error
	if c.Workers, err = strconv.Atoi(raw["WORKERS"]); err != nil || c.Workers < 1 || c.Workers > 1024 {
		return nil, fmt.Errorf("WORKERS must be a whole number from 1 to 1024, got %q", raw["WORKERS"])
	}
	if c.DBMaxConns, err = strconv.Atoi(raw["DB_MAX_CONNS"]); err != nil || c.DBMaxConns < 0 {
		return nil, fmt.Errorf("DB_MAX_CONNS must be a whole number (0 for 2×WORKERS+8), got %q", raw["DB_MAX_CONNS"])
	}
	if c.DBMaxConns != 0 && c.DBMaxConns < 2*c.Workers+2 {
		return nil, fmt.Errorf("DB_MAX_CONNS=%d is too small for WORKERS=%d: each busy worker holds two connections, so it needs at least %d", c.DBMaxConns, c.Workers, 2*c.Workers+2)
	}
	if c.IdleTimeout, err = time.ParseDuration(raw["IDLE_TIMEOUT"]); err != nil || c.IdleTimeout <= 0 {
		return nil, fmt.Errorf("IDLE_TIMEOUT must be a positive duration like 30m, got %q", raw["IDLE_TIMEOUT"])
	}
	if c.MaxEventAge, err = time.ParseDuration(raw["MAX_EVENT_AGE"]); err != nil || c.MaxEventAge < 0 {
		return nil, fmt.Errorf("MAX_EVENT_AGE must be a duration like 24h (0 answers every event), got %q", raw["MAX_EVENT_AGE"])
	}
	if c.RetentionDays, err = strconv.Atoi(raw["RETENTION_DAYS"]); err != nil || c.RetentionDays < 0 {
		return nil, fmt.Errorf("RETENTION_DAYS must be a whole number of days (0 keeps everything), got %q", raw["RETENTION_DAYS"])
	}
	if c.DeleteOnUnfollow, err = strconv.ParseBool(raw["DELETE_ON_UNFOLLOW"]); err != nil {
		return nil, fmt.Errorf("DELETE_ON_UNFOLLOW must be true or false, got %q", raw["DELETE_ON_UNFOLLOW"])
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return nil, err
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		return nil, fmt.Errorf("LOG_FORMAT must be json, text or auto, got %q", c.LogFormat)
	}
	c.ConsoleAddr, c.AdminUser, c.AdminPassword = raw["CONSOLE_ADDR"], raw["TODOKU_ADMIN_USER"], raw["TODOKU_ADMIN_PASSWORD"]
	if c.ConsoleSessionIdle, err = time.ParseDuration(raw["CONSOLE_SESSION_IDLE"]); err != nil || c.ConsoleSessionIdle < time.Minute {
		return nil, fmt.Errorf("CONSOLE_SESSION_IDLE must be a duration of a minute or more like 1h, got %q", raw["CONSOLE_SESSION_IDLE"])
	}
	if c.StaffHours, err = staffhours.Parse(raw["STAFF_HOURS"]); err != nil {
		return nil, err
	}
	if c.ChannelSecret != "" && c.ChannelToken == "" {
		return nil, errors.New("LINE_CHANNEL_SECRET is set but LINE_CHANNEL_ACCESS_TOKEN is not: set both, or neither")
	}
	c.redactor = newRedactor(c.ChannelSecret, c.ChannelToken, c.DatabaseURL, c.AdminPassword)
	return c, nil
}

// LineConnected reports whether LINE credentials are configured.
func (c *Config) LineConnected() bool { return c.ChannelSecret != "" && c.ChannelToken != "" }

// PoolSize is the PostgreSQL connection bound of one process: DB_MAX_CONNS,
// or 2×WORKERS+8. A worker holds at most two connections at once (its chat's
// advisory lock and its turn), and a few more serve webhook accepts (which
// wait for a free one rather than fail), the sweep and the retention job.
// Nothing holds one connection while waiting for another except a worker,
// so the bound cannot deadlock.
func (c *Config) PoolSize() int {
	if c.DBMaxConns > 0 {
		return c.DBMaxConns
	}
	return 2*c.Workers + 8
}

// minRedact is the shortest value Redact replaces: a shorter one would
// garble every message it occurs in.
const minRedact = 4

// newRedactor replaces the secrets' values, and a database URL's password
// (in the user part or the query: the driver quotes a URL it cannot parse
// with its query intact), by [redacted]. nil when there is nothing to hide.
func newRedactor(secret, token, dbURL, adminPassword string) *strings.Replacer {
	values := []string{secret, token, adminPassword}
	if u, err := url.Parse(dbURL); err == nil {
		if pw, ok := u.User.Password(); ok {
			values = append(values, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
		if pw := u.Query().Get("password"); pw != "" {
			values = append(values, pw, url.QueryEscape(pw))
		}
	} else if dbURL != "" {
		values = append(values, dbURL) // unparsable: hide all of it
	}
	var pairs []string
	for _, v := range values {
		if len(v) >= minRedact && !contains(pairs, v) {
			pairs = append(pairs, v, "[redacted]")
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// Redact returns s with every secret of the configuration replaced: for
// errors and anything else that is printed or logged.
func (c *Config) Redact(s string) string {
	if c == nil || c.redactor == nil {
		return s
	}
	return c.redactor.Replace(s)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", s)
	}
	return l, nil
}

// NewLogger builds the process logger: JSON unless w is a terminal (or as
// LOG_FORMAT says). Every attribute and message passes through Redact, so a
// secret that reaches an error (a driver quoting the database URL) is not
// written; message texts are never passed to it.
func NewLogger(c *Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.redactor != nil {
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			switch a.Value.Kind() {
			case slog.KindString:
				a.Value = slog.StringValue(c.Redact(a.Value.String()))
			case slog.KindAny:
				switch v := a.Value.Any().(type) {
				case error:
					a.Value = slog.StringValue(c.Redact(v.Error()))
				case fmt.Stringer:
					if _, level := v.(slog.Level); !level {
						a.Value = slog.StringValue(c.Redact(v.String()))
					}
				}
			}
			return a
		}
	}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
