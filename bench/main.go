// Command bench measures todoku against the LINE SDK's own echo bot, under
// load and under faults, on this machine only (every request goes to
// 127.0.0.1, every loop is bounded in count and time).
//
//	go run ./bench load     -spawn todoku -db postgres -rate 1000 -duration 20s
//	go run ./bench load     -target http://127.0.0.1:8080/callback -pid 1234 -fake-addr 127.0.0.1:18081
//	go run ./bench compare  [-duration 20s] [-rate 1000] [-window 256]
//	go run ./bench faults   [-db postgres] [-pg-restart private|system]
//	go run ./bench console  [-n 60] [-db URL]
//
// See bench/README.md for the latest figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/todoku/todoku/bench/loadgen"
	"github.com/todoku/todoku/bot/linefake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "load":
		err = cmdLoad(ctx, args[1:], stdout, stderr)
	case "compare":
		err = cmdCompare(ctx, args[1:], stdout, stderr)
	case "faults":
		err = cmdFaults(ctx, args[1:], stdout, stderr)
	case "console":
		err = cmdConsole(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		usage(stderr)
		return 2
	}
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: go run ./bench COMMAND [flags]

commands:
  load     send signed webhook load to one target and report (table and JSON)
  compare  the same load on the SDK's echo bot, todoku on SQLite and todoku on
           Postgres, in turn; every figure with its ratio to the echo bot
  faults   LINE API 429/500/slow, expired reply tokens, SIGKILL and restart
           (and, with -pg-restart, a PostgreSQL restart) under load
  console  the staff console's list and search on PostgreSQL with 100,000
           conversations and 1,000,000 messages it seeds: p50 and p95

Run 'go run ./bench COMMAND -h' for the flags.
`)
}

// loadFlags are the flags every command shares to shape the load.
type loadFlags struct {
	rate       float64
	window     int
	conc       int
	events     int
	duration   time.Duration
	users      int
	batch      int
	postbacks  float64
	stickers   float64
	dup        float64
	redeliver  bool
	drain      time.Duration
	seed       uint64
	jsonOut    string
	workers    int
	direct     bool
	keepLogDir string
}

func (lf *loadFlags) register(fs *flag.FlagSet, rate float64, duration time.Duration) {
	fs.Float64Var(&lf.rate, "rate", rate, "events per second (0: as fast as -window allows)")
	fs.IntVar(&lf.window, "window", 256, "max events sent and not yet answered when -rate is 0 (closed loop)")
	fs.IntVar(&lf.conc, "concurrency", 256, "max webhook requests in flight")
	fs.IntVar(&lf.events, "events", 0, "stop after this many events (0: no count bound)")
	fs.DurationVar(&lf.duration, "duration", duration, "stop sending after this long")
	fs.IntVar(&lf.users, "users", 1000, "distinct LINE users")
	fs.IntVar(&lf.batch, "batch", 5, "events per request: 1 to this many")
	fs.Float64Var(&lf.postbacks, "postbacks", 0.2, "share of postback events (button taps)")
	fs.Float64Var(&lf.stickers, "stickers", 0.05, "share of sticker messages")
	fs.Float64Var(&lf.dup, "dup", 0, "share of acknowledged requests redelivered once more (e.g. 0.1)")
	fs.BoolVar(&lf.redeliver, "redeliver", false, "re-send requests not answered 2xx, as LINE's redelivery does")
	fs.DurationVar(&lf.drain, "drain", 60*time.Second, "max wait for answers after the last send")
	fs.Uint64Var(&lf.seed, "seed", 1, "random seed (users, texts, batches)")
	fs.StringVar(&lf.jsonOut, "json", "-", "write the results as JSON to this file (-: stdout, after the table; empty: none)")
	fs.IntVar(&lf.workers, "workers", 0, "todoku's WORKERS (0: its default)")
	fs.BoolVar(&lf.direct, "direct", false, "todoku calls the fake over plain HTTP instead of https://api.line.me through the TLS proxy")
	fs.StringVar(&lf.keepLogDir, "logs", "", "keep the targets' logs in this directory (default: a temporary one, removed)")
}

func (lf *loadFlags) config() loadgen.Config {
	return loadgen.Config{
		Rate: lf.rate, Window: lf.window, Concurrency: lf.conc, Events: lf.events, Duration: lf.duration,
		Users: lf.users, MaxBatch: lf.batch, Mix: loadgen.Mix{Postback: lf.postbacks, Sticker: lf.stickers},
		Seed: lf.seed, Duplicates: lf.dup, Redeliver: lf.redeliver, Drain: lf.drain,
	}
}

func writeJSON(stdout io.Writer, path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// workDir makes the directory for binaries, SQLite files and logs.
func workDir(keep string) (string, func(), error) {
	if keep != "" {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return "", nil, err
		}
		return keep, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "todoku-bench-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// echoExpects is what the SDK's echo bot answers: texts and stickers.
func echoExpects(kind string) bool {
	return kind == loadgen.KindText || kind == loadgen.KindSticker
}

// runTarget starts t against a fresh rig, sends the load, and reports.
// during, if set, runs alongside the load (fault injection).
func runTarget(ctx context.Context, t *target, lc loadgen.Config, during func(ctx context.Context, start time.Time, r *rig, t *target)) (loadgen.Result, error) {
	r, err := newRig("")
	if err != nil {
		return loadgen.Result{}, err
	}
	defer r.Close()
	if t.Kind == kindEcho {
		r.Tracker.Expect = echoExpects
	}
	if err := t.Start(ctx, r); err != nil {
		return loadgen.Result{}, err
	}
	lc.URL, lc.Secret, lc.Tracker = t.URL(), Secret, r.Tracker
	pid0 := t.PID()
	cpu0, _ := loadgen.ProcCPU(pid0)
	if during != nil {
		lc.During = func(c context.Context, start time.Time) { during(c, start, r, t) }
	}
	st, err := loadgen.Run(ctx, lc)
	res := loadgen.Result{Name: t.Name, Processed: -1}
	if st != nil {
		res.Stats = *st
	}
	if pid := t.PID(); pid > 0 {
		res.PeakRSSKiB, _ = loadgen.PeakRSS(pid)
		if cpu1, err := loadgen.ProcCPU(pid); err == nil && pid == pid0 {
			res.CPUSeconds = cpu1 - cpu0
		}
	}
	res.Pushes = len(r.Fake.Where(func(c linefake.Call) bool { return linefake.IsPush(c) && c.Accepted() }))
	if serr := t.Stop(); serr != nil {
		fmt.Fprintf(os.Stderr, "bench: stop %s: %v\n", t.Name, serr)
	}
	if err != nil {
		return res, err
	}
	if t.Kind == kindTodoku {
		res.Processed = processed(ctx, t.DBURL)
	}
	return res, nil
}
