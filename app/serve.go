package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/todoku/todoku/bot/webhook"
)

// shutdownTimeout bounds the graceful drain on SIGTERM. Anything not finished
// by then stays in the inbox and is processed at the next start.
const shutdownTimeout = 25 * time.Second

// Serve runs the service on ln until ctx ends: the workers, the retention
// job, the sweep that ends idle conversations and the HTTP server. Then it stops accepting webhooks, drains the
// workers and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	// The workers outlive the request context: on SIGTERM the HTTP server
	// stops first, then the workers drain.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if err := a.Workers.Start(workCtx); err != nil {
		return err
	}
	stopRetention := a.startRetention(ctx)
	defer stopRetention()
	stopSweep := a.startIdleSweep(workCtx)
	defer stopSweep()
	if err := a.ensureAdmin(workCtx); err != nil {
		return err
	}

	servers := []*http.Server{{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}}
	listeners := []net.Listener{ln}
	if a.Config.ConsoleAddr != "" {
		cln, err := net.Listen("tcp", a.Config.ConsoleAddr)
		if err != nil {
			return err
		}
		servers = append(servers, &http.Server{Handler: a.Console.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second})
		listeners = append(listeners, cln)
		a.Log.Info("console listening", slog.String("addr", cln.Addr().String()))
	}
	pack := a.Engine.Pack()
	a.Log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("pack", pack.ID), slog.String("pack_version", pack.Version))
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: no new webhooks, draining work")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			a.Log.Warn("http shutdown", slog.Any("error", err))
		}
	}
	if err := a.Workers.Shutdown(sctx); err != nil {
		a.Log.Warn("workers shutdown", slog.Any("error", err))
	}
	a.Log.Info("stopped")
	return nil
}

// Handler is the HTTP side: POST /callback, /healthz, /readyz, /metrics,
// and the console unless CONSOLE_ADDR gives it a listener of its own.
func (a *App) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	secret := ""
	if a.Config.LineConnected() {
		secret = a.Config.ChannelSecret
	}
	webhook.New(webhook.Config{ChannelSecret: secret, Inbox: a.DB, Notify: a.Workers.Notify, Logger: a.Log, Metrics: a.Metrics}).Register(r)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := a.DB.Ready(ctx); err != nil {
			// The cause goes to the log (redacted), not to whoever asks.
			a.Log.Warn("not ready", slog.Any("error", err))
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{})))
	if a.Config.ConsoleAddr == "" {
		a.Console.Register(r)
	}
	return r
}
