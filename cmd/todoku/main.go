// Command todoku is the whole service in one binary: the LINE webhook server,
// a terminal simulator, database migrations and knowledge-pack tools.
//
//	todoku [serve]            run the HTTP server (the default)
//	todoku chat [--json]      talk to the bot in a terminal, or drive it from a script
//	todoku migrate            apply database migrations
//	todoku kb validate FILE   check a knowledge pack
//	todoku richmenu apply     publish the pack's rich menu (also `show`, `image`)
//	todoku purge --older-than 90d   delete old conversations (also `admin purge`)
//	todoku user delete ID     delete everything about one user (also `admin user delete`)
//	todoku health             check the local server's /healthz (exit 0 or 1)
//	todoku version            print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/todoku/todoku/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. run returns the process exit code.
type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server: webhook, health, metrics (the default)", runServe},
		{"chat", "talk to the bot in the terminal; --json for scripts (one JSON line per input line)", runChat},
		{"migrate", "apply pending database migrations and exit", runMigrate},
		{"kb", "knowledge packs: `kb validate FILE...`, `kb list`", runKB},
		{"richmenu", "the pack's rich menu on LINE: `richmenu apply [-pack ID] [-image FILE]`, `richmenu show`, `richmenu image -o FILE`", runRichMenu},
		{"purge", "delete data older than an age: `purge --older-than 90d [--dry-run]`", runPurge},
		{"user", "delete everything stored about a person: `user delete LINE_USER_ID`", runUser},
		{"admin", "operator commands: `admin purge`, `admin user delete`, console accounts (`admin create-user`, `set-password`, `disable`) and API tokens (`admin token create|revoke`)", runAdmin},
		{"health", "exit 0 if the local server's /healthz answers 200 (container HEALTHCHECK)", runHealth},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args, stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "todoku: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: todoku <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nEvery setting is an environment variable and a flag; `todoku serve -h` lists them.")
}

func runVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "todoku", version)
	return 0
}

// parseConfig parses a command's flags and builds its configuration from
// them and the environment. When ok is false the problem has been printed
// and code is the exit code (0 for -h).
func parseConfig(fs *flag.FlagSet, cf *app.Flags, args []string, stderr io.Writer) (cfg *app.Config, code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		return nil, flagExit(err), false // the flag package has printed it
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "todoku %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return nil, 2, false
	}
	return configFromEnv(fs, cf, stderr)
}

// configFromEnv is the configuration once fs has parsed the command line.
func configFromEnv(fs *flag.FlagSet, cf *app.Flags, stderr io.Writer) (cfg *app.Config, code int, ok bool) {
	cfg, err := cf.Config(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "todoku %s: %v\n", fs.Name(), err)
		return nil, 2, false
	}
	return cfg, 0, true
}

// flagExit turns a flag parsing error into an exit code (0 for -h).
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// printErr prints a command's error with every configured secret replaced
// (a database driver may quote the URL it was given).
func printErr(w io.Writer, cfg *app.Config, cmd string, err error) {
	fmt.Fprintf(w, "todoku %s: %s\n", cmd, cfg.Redact(err.Error()))
}
