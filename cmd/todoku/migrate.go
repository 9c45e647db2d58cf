package main

import (
	"context"
	"fmt"
	"io"

	"github.com/todoku/todoku/app"
)

func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("migrate", stderr)
	cf := app.BindFlags(fs, "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT")
	cfg, code, ok := parseConfig(fs, cf, args, stderr)
	if !ok {
		return code
	}
	db, err := app.OpenDB(ctx, cfg, app.NewLogger(cfg, stderr))
	if err != nil {
		printErr(stderr, cfg, "migrate", err)
		return 1
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		printErr(stderr, cfg, "migrate", err)
		return 1
	}
	fmt.Fprintf(stdout, "database %s: schema version %d\n", db.Dialect(), v)
	return 0
}
