// Package app is todoku wired from one Config: the database, the dialog
// engine over the configured pack, the LINE client, the pipeline and its
// workers, the HTTP routes and the retention job. `todoku serve`, `todoku
// chat` and the benchmarks all build this one value; the other commands use
// its configuration and OpenDB.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/lineapi"
	"github.com/todoku/todoku/bot/metrics"
	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/dialog"
	"github.com/todoku/todoku/dialog/route"
	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand"
	"github.com/todoku/todoku/storage"
)

// App is the running service's parts, built by New.
type App struct {
	Config    *Config
	Log       *slog.Logger
	DB        *storage.DB
	Engine    *route.Router // the packs of the default pack's language, one answering each turn
	Processor *bot.Processor
	Workers   *bot.Workers
	Console   *console.Console
	Metrics   *metrics.Metrics

	retention *retentionJob // nil when RETENTION_DAYS is 0
}

// Options replace parts New would otherwise build from the Config.
type Options struct {
	// Logger defaults to NewLogger on stderr.
	Logger *slog.Logger
	// Sender defaults to the Messaging API when LINE is configured, and to
	// one that fails every delivery when it is not. `chat` records instead.
	Sender bot.Sender
	// Clock drives the retention schedule (tests advance a fake one).
	Clock clockwork.Clock
	// Engine defaults to the packs of PACK's language, with IDLE_TIMEOUT.
	// Building it trains the understanding on the pack's examples, so tests
	// that build many apps share one.
	Engine *route.Router
}

// New builds the service: it opens and migrates the database, loads the
// pack, and wires the pipeline. Nothing runs until Serve; Close
// releases the database.
func New(ctx context.Context, cfg *Config, opt Options) (*App, error) {
	log := opt.Logger
	if log == nil {
		log = NewLogger(cfg, os.Stderr)
	}
	db, err := OpenDB(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	eng := opt.Engine
	if eng == nil {
		if eng, err = newEngine(cfg); err != nil {
			db.Close()
			return nil, err
		}
	}
	m := metrics.New()
	sender := opt.Sender
	if sender == nil {
		if sender, err = newSender(cfg, log, m); err != nil {
			db.Close()
			return nil, err
		}
	}
	proc := bot.NewProcessor(eng, db, sender)
	proc.Logger = log
	proc.Metrics = m
	if c, ok := sender.(*lineapi.Client); ok {
		proc.Profiles = c
	}
	proc.IdleTimeout = cfg.IdleTimeout
	proc.MaxEventAge = cfg.MaxEventAge
	if h := cfg.StaffHours; h != nil {
		proc.Staff = func(at time.Time) dialog.Staff {
			if h.Open(at) {
				return dialog.Staff{OnDuty: true}
			}
			return dialog.Staff{Next: h.NextOpen(at)}
		}
	}
	if cfg.DeleteOnUnfollow {
		log.Info("DELETE_ON_UNFOLLOW: everything about a user is deleted when they block the account")
		proc.OnUnfollow = func(ctx context.Context, userID string) error {
			_, err := db.ForgetUser(ctx, userID, actorUnfollow)
			return err
		}
	}
	a := &App{Config: cfg, Log: log, DB: db, Engine: eng, Processor: proc, Workers: bot.NewWorkers(proc, cfg.Workers), Metrics: m}
	idle := cfg.ConsoleSessionIdle
	if a.Console, err = console.New(console.Config{DB: db, Submit: a.Workers.Submit, Logger: log, SessionIdle: idle, StaffHours: cfg.StaffHours}); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.RetentionDays > 0 {
		clock := opt.Clock
		if clock == nil {
			clock = clockwork.NewRealClock()
		}
		a.retention = newRetentionJob(db, cfg.RetentionDays, log, clock)
	}
	return a, nil
}

// ensureAdmin creates the console's first admin account when there is
// none: TODOKU_ADMIN_USER with TODOKU_ADMIN_PASSWORD, or with a one-time
// password printed once to the log (to be changed at the first sign-in).
func (a *App) ensureAdmin(ctx context.Context) error {
	name := a.Config.AdminUser
	if name == "" {
		name = "admin"
	}
	created, generated, err := a.Console.Accounts().EnsureAdmin(ctx, name, a.Config.AdminPassword)
	switch {
	case err != nil:
		return fmt.Errorf("console admin account: %w", err)
	case created && generated != "":
		a.Log.Warn("created the console admin account with a one-time password, shown only now: sign in and change it",
			slog.String("user", name), slog.String("one_time_password", generated))
	case created:
		a.Log.Info("created the console admin account from TODOKU_ADMIN_PASSWORD", slog.String("user", name))
	}
	return nil
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

// OpenDB opens the configured database, applies pending migrations and
// bounds the PostgreSQL pool (Config.PoolSize; SQLite has one connection).
func OpenDB(ctx context.Context, cfg *Config, log *slog.Logger) (*storage.DB, error) {
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if db.Dialect() == storage.Postgres {
		if sqlDB, err := db.Gorm().DB(); err == nil {
			sqlDB.SetMaxOpenConns(cfg.PoolSize())
		}
	}
	v, _ := db.Version(ctx)
	log.Info("database ready", slog.String("dialect", db.Dialect()), slog.Int("schema_version", v))
	return db, nil
}

// newEngine loads the embedded packs of the configured pack's language,
// builds a dialog engine over each and the router that picks one per turn,
// the configured pack being the default (the others' understanding is
// trained when first needed).
func newEngine(cfg *Config) (*route.Router, error) {
	packs, err := knowledge.Embedded()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(packs, func(p *knowledge.Pack) bool { return p.ID == cfg.PackID })
	if i < 0 {
		_, err := knowledge.EmbeddedPack(cfg.PackID) // says which packs there are
		return nil, err
	}
	lang := packs[i].Language
	var engines []*dialog.Engine
	for _, pack := range packs {
		if pack.Language != lang {
			continue
		}
		var u dialog.Understander = &lazyReader{pack: pack}
		if pack.ID == cfg.PackID {
			u = understand.New(pack)
		}
		eng, err := dialog.New(pack, u, dialog.Options{
			IdleAfter: cfg.IdleTimeout,
			Threshold: understand.DefaultThreshold,
		})
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", pack.ID, err)
		}
		engines = append(engines, eng)
	}
	return route.New(engines, cfg.PackID)
}

// lazyReader trains a pack's understanding model on the first text that
// pack reads: most conversations never leave the default pack, so the
// others' training (a fraction of a second each) is not paid at every
// start of serve or chat.
type lazyReader struct {
	pack *knowledge.Pack
	once sync.Once
	m    *understand.Matcher
}

func (l *lazyReader) Read(q knowledge.Query) knowledge.Reading {
	l.once.Do(func() { l.m = understand.New(l.pack) })
	return l.m.Read(q)
}

// newSender is the Messaging API client, or offlineSender while LINE is not
// connected.
func newSender(cfg *Config, log *slog.Logger, m *metrics.Metrics) (bot.Sender, error) {
	if !cfg.LineConnected() {
		log.Warn("LINE is not connected: LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are unset; POST /callback answers 503 until they are set")
		return offlineSender{}, nil
	}
	c, err := lineapi.New(lineapi.Config{AccessToken: cfg.ChannelToken, BaseURL: cfg.LineAPIBaseURL, Logger: log, Metrics: m})
	if err != nil {
		return nil, err
	}
	log.Info("LINE connected", slog.String("api", cfg.LineAPIBaseURL))
	return c, nil
}

// offlineSender is the Sender while LINE is not connected: no webhook can
// arrive then, so it only ever sees work left from an earlier run, which it
// reports as failed (visible to staff) instead of pretending to deliver.
type offlineSender struct{}

func (offlineSender) Send(context.Context, bot.Outgoing) (bot.Delivery, error) {
	return bot.Delivery{}, errors.New("LINE is not connected (no channel access token)")
}

func (offlineSender) ShowLoading(context.Context, string, int) error { return nil }
