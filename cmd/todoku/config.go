package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the service. Each one is an environment
// variable and also a flag of the same meaning; a flag given on the command
// line wins over the environment.
type Config struct {
	ChannelSecret    string
	ChannelToken     string
	LineAPIBaseURL   string
	DatabaseURL      string
	Addr             string
	LogLevel         string
	LogFormat        string
	Workers          int
	DBMaxConns       int // 0: 2×Workers+8
	IdleTimeout      time.Duration
	RetentionDays    int
	DeleteOnUnfollow bool
	PackID           string
}

// setting describes one configuration variable, for flags and the README table.
type setting struct {
	env, flag, def, help string
	secret               bool
}

var settings = []setting{
	{"LINE_CHANNEL_SECRET", "line-channel-secret", "", "LINE channel secret (checks webhook signatures); unset: LINE not connected, /callback answers 503", true},
	{"LINE_CHANNEL_ACCESS_TOKEN", "line-channel-access-token", "", "LINE channel access token (long-lived or v2.1) for the Messaging API", true},
	{"LINE_API_BASE_URL", "line-api-base-url", "https://api.line.me", "Messaging API base URL (tests point it at a fake)", false},
	{"DATABASE_URL", "database-url", "", "postgres://... selects PostgreSQL; unset means SQLite at ./data/todoku.db; sqlite:PATH picks another file", true},
	{"ADDR", "addr", ":8080", "HTTP listen address", false},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error", false},
	{"LOG_FORMAT", "log-format", "auto", "json, text, or auto (JSON unless stderr is a terminal)", false},
	{"WORKERS", "workers", "8", "event-processing workers (one user's events always run in order)", false},
	{"DB_MAX_CONNS", "db-max-conns", "0", "PostgreSQL connections per process; 0 means 2×WORKERS+8 (each busy worker holds two). Size max_connections for all replicas", false},
	{"IDLE_TIMEOUT", "idle-timeout", "30m", "after this long without a message, ask whether to continue or start over", false},
	{"RETENTION_DAYS", "retention-days", "365", "conversations older than this are deleted daily (0 keeps everything)", false},
	{"DELETE_ON_UNFOLLOW", "delete-on-unfollow", "false", "delete everything stored about a user when they block the account", false},
	{"PACK", "pack", "microsoft-ja", "id of the knowledge pack that answers users", false},
}

// parseConfig reads the environment, then the flags in args.
func parseConfig(name string, args []string, stderr io.Writer) (*Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok {
			def = v
		}
		vals[s.env] = fs.String(s.flag, def, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, fs, err // the flag package has printed it
	}
	c, err := configFrom(vals)
	if err != nil {
		fmt.Fprintf(stderr, "todoku %s: %v\n", name, err)
		return nil, fs, err
	}
	return c, fs, nil
}

// configFrom checks and converts the raw settings.
func configFrom(vals map[string]*string) (*Config, error) {
	c := &Config{
		ChannelSecret:  *vals["LINE_CHANNEL_SECRET"],
		ChannelToken:   *vals["LINE_CHANNEL_ACCESS_TOKEN"],
		LineAPIBaseURL: strings.TrimRight(*vals["LINE_API_BASE_URL"], "/"),
		DatabaseURL:    *vals["DATABASE_URL"],
		Addr:           *vals["ADDR"],
		LogLevel:       *vals["LOG_LEVEL"],
		LogFormat:      *vals["LOG_FORMAT"],
		PackID:         *vals["PACK"],
	}
	var err error
	if c.Workers, err = strconv.Atoi(*vals["WORKERS"]); err != nil || c.Workers < 1 || c.Workers > 1024 {
		return nil, fmt.Errorf("WORKERS must be a whole number from 1 to 1024, got %q", *vals["WORKERS"])
	}
	if c.DBMaxConns, err = strconv.Atoi(*vals["DB_MAX_CONNS"]); err != nil || c.DBMaxConns < 0 {
		return nil, fmt.Errorf("DB_MAX_CONNS must be a whole number (0 for 2×WORKERS+8), got %q", *vals["DB_MAX_CONNS"])
	}
	if c.DBMaxConns != 0 && c.DBMaxConns < 2*c.Workers+2 {
		return nil, fmt.Errorf("DB_MAX_CONNS=%d is too small for WORKERS=%d: each busy worker holds two connections, so it needs at least %d", c.DBMaxConns, c.Workers, 2*c.Workers+2)
	}
	if c.IdleTimeout, err = time.ParseDuration(*vals["IDLE_TIMEOUT"]); err != nil || c.IdleTimeout <= 0 {
		return nil, fmt.Errorf("IDLE_TIMEOUT must be a positive duration like 30m, got %q", *vals["IDLE_TIMEOUT"])
	}
	if c.RetentionDays, err = strconv.Atoi(*vals["RETENTION_DAYS"]); err != nil || c.RetentionDays < 0 {
		return nil, fmt.Errorf("RETENTION_DAYS must be a whole number of days (0 keeps everything), got %q", *vals["RETENTION_DAYS"])
	}
	if c.DeleteOnUnfollow, err = strconv.ParseBool(*vals["DELETE_ON_UNFOLLOW"]); err != nil {
		return nil, fmt.Errorf("DELETE_ON_UNFOLLOW must be true or false, got %q", *vals["DELETE_ON_UNFOLLOW"])
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return nil, err
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		return nil, fmt.Errorf("LOG_FORMAT must be json, text or auto, got %q", c.LogFormat)
	}
	if c.ChannelSecret != "" && c.ChannelToken == "" {
		return nil, fmt.Errorf("LINE_CHANNEL_SECRET is set but LINE_CHANNEL_ACCESS_TOKEN is not: set both, or neither")
	}
	return c, nil
}

// LineConnected reports whether LINE credentials are configured.
func (c *Config) LineConnected() bool { return c.ChannelSecret != "" && c.ChannelToken != "" }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", s)
	}
	return l, nil
}

// newLogger builds the process logger: JSON when stderr is not a terminal.
// Message texts, tokens and secrets are never passed to it.
func newLogger(c *Config, w *os.File) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
