package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/todoku/todoku/app"
)

func runServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	cf := app.BindFlags(fs)
	cfg, code, ok := parseConfig(fs, cf, args, stderr)
	if !ok {
		return code
	}
	log := app.NewLogger(cfg, stderr)
	slog.SetDefault(log)
	setGCPercent()
	log.Info("starting", slog.String("version", version))
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("serve failed", slog.Any("error", err))
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg *app.Config, log *slog.Logger) error {
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
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

// newFlagSet is a command's flag set: errors and usage go to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
