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
// process's CPU under load, and at 200 it runs half as often.
const serveGOGC = 200

// serveMemLimit is the heap's soft limit for `todoku serve` unless
// GOMEMLIMIT is set: GOGC 200 alone let the heap grow to three times the
// live heap (about 330 MiB resident under load); near this limit the
// collector runs more often instead, so the process stays under 200 MiB
// resident (bench/README.md).
const serveMemLimit = 150 << 20

func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGOGC)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemLimit)
	}
}

// newFlagSet is a command's flag set: errors and usage go to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
