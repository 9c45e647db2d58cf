package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/user"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/todoku/todoku/app"
	"github.com/todoku/todoku/storage"
)

// Exit codes of the admin commands.
const (
	exitOK       = 0
	exitError    = 1 // the database or the server failed
	exitUsage    = 2 // bad flags or arguments
	exitNotFound = 3 // user delete: nothing was stored about that id
)

// runAdmin dispatches `todoku admin purge|user ...`.
func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		adminUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "purge":
		return runPurge(ctx, args[1:], stdin, stdout, stderr)
	case "user":
		return runUser(ctx, args[1:], stdin, stdout, stderr)
	}
	if code, ok := runStaffCommand(ctx, args[0], args[1:], stdin, stdout, stderr); ok {
		return code
	}
	fmt.Fprintf(stderr, "todoku admin: unknown command %q\n\n", args[0])
	adminUsage(stderr)
	return exitUsage
}

func adminUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  todoku admin purge --older-than AGE [--dry-run] [--actor NAME]
      delete conversations (and their messages), processed inbox events, delivered
      outbox rows and sessions older than AGE (90d, 36h, 1h30m), and users left
      with nothing; --dry-run only counts
  todoku admin user delete [--actor NAME] LINE_USER_ID
      delete everything stored about one user (exit 3 if nothing was found)
`)
	staffUsage(w)
	fmt.Fprint(w, `
"todoku purge" and "todoku user" are the same as "admin purge" and "admin
user". Each run leaves an audit record (actor, time, subject; never content).
The database is DATABASE_URL (or --database-url, or a file named by
DATABASE_URL_FILE).
`)
}

// adminFlags is the flag set of an admin command: the database and the actor.
type adminFlags struct {
	fs    *flag.FlagSet
	cf    *app.Flags
	actor *string
}

func newAdminFlags(name string, stderr io.Writer) adminFlags {
	fs := newFlagSet(name, stderr)
	return adminFlags{
		fs:    fs,
		cf:    app.BindFlags(fs, "DATABASE_URL"),
		actor: fs.String("actor", defaultActor(), "who is acting, for the audit record"),
	}
}

// defaultActor is "cli:" and the operating-system user.
func defaultActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return "cli:" + name
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (`user delete U123 --actor x`), and returns the
// positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// openDB builds the command's configuration (the database from
// --database-url or DATABASE_URL) and opens and migrates the database. When
// ok is false the problem has been printed and code is the exit code.
func (f adminFlags) openDB(ctx context.Context, stderr io.Writer) (db *storage.DB, cfg *app.Config, code int, ok bool) {
	cfg, code, ok = configFromEnv(f.fs, f.cf, stderr)
	if !ok {
		return nil, nil, code, false
	}
	db, err := app.OpenDB(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		printErr(stderr, cfg, f.fs.Name(), err)
		return nil, nil, exitError, false
	}
	return db, cfg, 0, true
}

// parseAge reads a purge age: Nd (days), Nw (weeks), or a Go duration
// (36h, 90m, 1h30m). It must be positive and at most 100 years.
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("--older-than %q: want a positive age such as 90d, 2w, 36h or 1h30m", s)
	if s == "" {
		return 0, bad
	}
	const day = 24 * time.Hour
	const maxAge = 100 * 365 * day
	var d time.Duration
	if unit := s[len(s)-1]; unit == 'd' || unit == 'w' {
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || n <= 0 || n > int64(maxAge/day) {
			return 0, bad
		}
		d = time.Duration(n) * day
		if unit == 'w' {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 || d > maxAge {
		return 0, bad
	}
	return d, nil
}

// runPurge is `todoku purge` / `todoku admin purge`.
func runPurge(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	f := newAdminFlags("purge", stderr)
	olderThan := f.fs.String("older-than", "", "delete what is older than this: 90d, 2w, 36h, 1h30m (required)")
	dryRun := f.fs.Bool("dry-run", false, "only count what would be deleted")
	f.fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: todoku purge --older-than AGE [--dry-run] [--actor NAME] [--database-url URL]")
		f.fs.PrintDefaults()
	}
	pos, err := parseInterleaved(f.fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "todoku purge: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	if *olderThan == "" {
		fmt.Fprintln(stderr, "todoku purge: --older-than is required (for example --older-than 90d)")
		return exitUsage
	}
	age, err := parseAge(*olderThan)
	if err != nil {
		fmt.Fprintln(stderr, "todoku purge:", err)
		return exitUsage
	}
	if strings.TrimSpace(*f.actor) == "" {
		fmt.Fprintln(stderr, "todoku purge: --actor must not be empty")
		return exitUsage
	}
	db, cfg, code, ok := f.openDB(ctx, stderr)
	if !ok {
		return code
	}
	defer db.Close()
	before := db.Now().UTC().Add(-age)

	var r storage.PurgeReport
	if *dryRun {
		r, err = db.PurgeCounts(ctx, before)
	} else {
		r, err = db.Purge(ctx, before, *f.actor)
	}
	if err != nil {
		printErr(stderr, cfg, "purge", err)
		return exitError
	}
	verb := "deleted"
	if *dryRun {
		verb = "would delete (dry run, nothing deleted)"
	}
	fmt.Fprintf(stdout, "%s everything older than %s (%s ago):\n", verb, before.Format(time.RFC3339), *olderThan)
	printReport(stdout, r)
	if !*dryRun {
		fmt.Fprintf(stdout, "audit record written (actor %s)\n", *f.actor)
		reclaim(ctx, db, cfg, "purge", stderr)
	}
	return exitOK
}

// reclaim makes the deleted rows unreadable in the database files
// (storage.DB.Reclaim). The deletion itself has succeeded either way, so a
// failure is a note, not an error.
func reclaim(ctx context.Context, db *storage.DB, cfg *app.Config, cmd string, stderr io.Writer) {
	if err := db.Reclaim(ctx); err != nil {
		printErr(stderr, cfg, cmd, fmt.Errorf("note: the rows are deleted, but %w", err))
	}
}

// printReport writes the counts by table.
func printReport(w io.Writer, r storage.PurgeReport) {
	for _, row := range []struct {
		table string
		n     int64
	}{
		{"conversations", r.Conversations},
		{"messages", r.Messages},
		{"inbox_events", r.InboxEvents},
		{"outbox", r.OutboxRows},
		{"sessions", r.Sessions},
		{"users", r.Users},
	} {
		fmt.Fprintf(w, "  %-14s %8d\n", row.table, row.n)
	}
}

// runUser is `todoku user delete ID` / `todoku admin user delete ID`.
func runUser(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "delete" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			adminUsage(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, "usage: todoku user delete [--actor NAME] [--database-url URL] LINE_USER_ID")
		return exitUsage
	}
	f := newAdminFlags("user delete", stderr)
	f.fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: todoku user delete [--actor NAME] [--database-url URL] LINE_USER_ID")
		f.fs.PrintDefaults()
	}
	pos, err := parseInterleaved(f.fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "todoku user delete: give exactly one LINE user id (U followed by 32 hex digits)")
		return exitUsage
	}
	id := pos[0]
	if err := checkUserID(id); err != nil {
		fmt.Fprintln(stderr, "todoku user delete:", err)
		return exitUsage
	}
	if !lineUserID(id) {
		fmt.Fprintf(stderr, "todoku user delete: note: %q is not shaped like a LINE user id (U and 32 hex digits); deleting it anyway\n", id)
	}
	if strings.TrimSpace(*f.actor) == "" {
		fmt.Fprintln(stderr, "todoku user delete: --actor must not be empty")
		return exitUsage
	}
	db, cfg, code, ok := f.openDB(ctx, stderr)
	if !ok {
		return code
	}
	defer db.Close()
	found, err := db.DeleteUser(ctx, id, *f.actor)
	if err != nil {
		printErr(stderr, cfg, "user delete", err)
		return exitError
	}
	if !found {
		fmt.Fprintf(stdout, "nothing was stored about %s; the request is in the audit log (actor %s)\n", id, *f.actor)
		return exitNotFound
	}
	fmt.Fprintf(stdout, "deleted everything stored about %s; audit record written (actor %s)\n", id, *f.actor)
	reclaim(ctx, db, cfg, "user delete", stderr)
	return exitOK
}

// checkUserID rejects ids that cannot be a LINE user, group or room id.
func checkUserID(id string) error {
	if id == "" {
		return errors.New("the user id is empty")
	}
	if len(id) > 100 {
		return errors.New("the user id is too long (a LINE user id is 33 characters)")
	}
	for _, r := range id {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("the user id %q contains spaces or control characters", id)
		}
	}
	return nil
}

// lineUserID reports whether id looks like a LINE id: U (user), C (group)
// or R (room) followed by 32 lower-case hex digits.
func lineUserID(id string) bool {
	if len(id) != 33 || !strings.ContainsRune("UCR", rune(id[0])) {
		return false
	}
	for _, r := range id[1:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// runHealth is `todoku health`: GET /healthz on the local server, exit 0 on
// 200 and 1 otherwise. The container image's HEALTHCHECK runs it (the image
// has no shell or curl).
func runHealth(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("health", stderr)
	cf := app.BindFlags(fs, "ADDR")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	cfg, code, ok := parseConfig(fs, cf, args, stderr)
	if !ok {
		return code
	}
	u, err := healthURL(cfg.Addr)
	if err != nil {
		fmt.Fprintln(stderr, "todoku health:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintln(stderr, "todoku health:", err)
		return exitError
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "todoku health: unhealthy:", err)
		return exitError
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "todoku health: unhealthy: %s answered %d\n", u, res.StatusCode)
		return exitError
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}

// healthURL turns a listen address into the /healthz URL to check: a
// missing or wildcard host becomes 127.0.0.1.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("ADDR %q: want host:port or :port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("ADDR %q: the port must be a number from 1 to 65535", addr)
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
