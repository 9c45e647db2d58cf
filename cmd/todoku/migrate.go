package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/todoku/todoku/storage"
)

func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	cfg, _, err := parseConfig("migrate", args, stderr)
	if err != nil {
		return flagExit(err)
	}
	log := newLogger(cfg, os.Stderr)
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "todoku migrate:", err)
		return 1
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "todoku migrate:", err)
		return 1
	}
	fmt.Fprintf(stdout, "database %s: schema version %d\n", db.Dialect(), v)
	return 0
}

// openDB opens the configured database and applies pending migrations.
func openDB(ctx context.Context, cfg *Config, log *slog.Logger) (*storage.DB, error) {
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	v, _ := db.Version(ctx)
	log.Info("database ready", slog.String("dialect", db.Dialect()), slog.Int("schema_version", v))
	return db, nil
}
