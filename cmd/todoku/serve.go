package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/bot/lineapi"
	"github.com/todoku/todoku/bot/metrics"
	"github.com/todoku/todoku/bot/webhook"
	"github.com/todoku/todoku/storage"
)

// shutdownTimeout bounds the graceful drain on SIGTERM. Anything not finished
// by then stays in the inbox and is processed at the next start.
const shutdownTimeout = 25 * time.Second

func runServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	cfg, _, err := parseConfig("serve", args, stderr)
	if err != nil {
		return flagExit(err)
	}
	log := newLogger(cfg, os.Stderr)
	slog.SetDefault(log)
	setGCPercent()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("serve failed", slog.Any("error", err))
		return 1
	}
	return 0
}

// serveGOGC is the garbage collector's target for `todoku serve` unless
// GOGC is set. About 90 MB of the live heap is the Japanese tokenizer's
// dictionary, which every collection marks again; collecting at twice
// the live heap (Go's default, 100) made the collector a tenth of the
// process's CPU under load. At 200 it runs half as often: todoku's CPU per
// event fell 8-10% in runs side by side (bench/README.md), for about
// 100 MB more heap at the peak.
const serveGOGC = 200

func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGOGC)
	}
}

// serve runs the server until ctx is cancelled. If ready is not nil it gets
// the bound address once the server listens (for tests).
func serve(ctx context.Context, cfg *Config, log *slog.Logger, ready chan<- string) error {
	eng, err := newEngine(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	limitPool(db, cfg.Workers, cfg.DBMaxConns)

	var sender bot.Sender = offlineSender{}
	if cfg.LineConnected() {
		c, err := lineapi.New(lineapi.Config{AccessToken: cfg.ChannelToken, BaseURL: cfg.LineAPIBaseURL, Logger: log})
		if err != nil {
			return err
		}
		sender = c
		log.Info("LINE connected", slog.String("api", cfg.LineAPIBaseURL))
	} else {
		log.Warn("LINE is not connected: LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are unset; POST /callback answers 503 until they are set")
	}

	proc := bot.NewProcessor(eng, db, sender)
	proc.Logger = log
	proc.IdleTimeout = cfg.IdleTimeout
	wireDeleteOnUnfollow(cfg, proc, db, log)
	workers := bot.NewWorkers(proc, cfg.Workers)
	// The workers outlive the request context: on SIGTERM the HTTP server
	// stops first, then the workers drain.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if err := workers.Start(workCtx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	stopRetention := startRetention(ctx, cfg, db, log)
	defer stopRetention()

	router := newRouter(cfg, log, db, workers)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("pack", eng.Pack().ID), slog.String("pack_version", eng.Pack().Version), slog.String("version", version))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: no new webhooks, draining work")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", slog.Any("error", err))
	}
	if err := workers.Shutdown(sctx); err != nil {
		log.Warn("workers shutdown", slog.Any("error", err))
	}
	log.Info("stopped")
	return nil
}

func newRouter(cfg *Config, log *slog.Logger, db *storage.DB, workers *bot.Workers) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	secret := ""
	if cfg.LineConnected() {
		secret = cfg.ChannelSecret
	}
	webhook.New(webhook.Config{ChannelSecret: secret, Inbox: db, Notify: workers.Notify, Logger: log}).Register(r)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ready(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "error": err.Error()})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})))
	return r
}

// offlineSender is the Sender while LINE is not connected: no webhook can
// arrive then, so it only ever sees work left from an earlier run, which it
// reports as failed (visible to staff) instead of pretending to deliver.
type offlineSender struct{}

func (offlineSender) Send(context.Context, bot.Outgoing) (bot.Delivery, error) {
	return bot.Delivery{}, errors.New("LINE is not connected (no channel access token)")
}

func (offlineSender) ShowLoading(context.Context, string, int) error { return nil }
