package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/todoku/todoku/bench/loadgen"
)

// fault is one scenario: inject runs during the load, from faultAt on.
type fault struct {
	name   string
	about  string
	inject func(ctx context.Context, f *faultRun) error
}

type faultRun struct {
	r      *rig
	t      *target
	length time.Duration
	pg     *privatePG // for pg-restart=private
	system bool       // pg-restart=system
	log    io.Writer
}

// sleepCtx waits d or until ctx ends; the fault must be undone either way.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

var faults = []fault{
	{"line-429", "the Messaging API answers 429 to every call", func(ctx context.Context, f *faultRun) error {
		f.r.Fake.FailFor(http.StatusTooManyRequests, f.length)
		sleepCtx(ctx, f.length)
		return nil
	}},
	{"line-500", "the Messaging API answers 500 to every call", func(ctx context.Context, f *faultRun) error {
		f.r.Fake.FailFor(http.StatusInternalServerError, f.length)
		sleepCtx(ctx, f.length)
		return nil
	}},
	{"line-slow", "the Messaging API takes 2 s to answer every call", func(ctx context.Context, f *faultRun) error {
		f.r.Fake.SetDelay(2 * time.Second)
		sleepCtx(context.WithoutCancel(ctx), f.length)
		f.r.Fake.SetDelay(0)
		return nil
	}},
	{"token-expiry", "every reply token is refused as expired: fallback to push with X-Line-Retry-Key", func(ctx context.Context, f *faultRun) error {
		f.r.Fake.ExpireTokens(true)
		sleepCtx(context.WithoutCancel(ctx), f.length)
		f.r.Fake.ExpireTokens(false)
		return nil
	}},
	{"kill", "todoku killed with SIGKILL mid-load, restarted 3 s later", func(ctx context.Context, f *faultRun) error {
		f.t.Kill()
		fmt.Fprintln(f.log, "    todoku killed (SIGKILL)")
		time.Sleep(3 * time.Second)
		if err := f.t.Start(context.WithoutCancel(ctx), f.r); err != nil {
			return err
		}
		fmt.Fprintln(f.log, "    todoku restarted")
		return nil
	}},
	{"pg-restart", "PostgreSQL stopped for 5 s and started again while the load goes on", func(ctx context.Context, f *faultRun) error {
		down := 5 * time.Second
		if f.system {
			if err := systemPGCtl(context.WithoutCancel(ctx), "stop"); err != nil {
				return err
			}
			fmt.Fprintln(f.log, "    postgres stopped")
			time.Sleep(down)
			err := systemPGCtl(context.WithoutCancel(ctx), "start")
			fmt.Fprintln(f.log, "    postgres started")
			return err
		}
		if err := f.pg.ctl(context.WithoutCancel(ctx), "stop"); err != nil {
			return err
		}
		fmt.Fprintln(f.log, "    postgres stopped")
		time.Sleep(down)
		err := f.pg.ctl(context.WithoutCancel(ctx), "start")
		fmt.Fprintln(f.log, "    postgres started")
		return err
	}},
}

type faultResult struct {
	Fault  string         `json:"fault"`
	About  string         `json:"about"`
	DB     string         `json:"db"`
	Result loadgen.Result `json:"result"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
}

func cmdFaults(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf loadFlags
	lf.register(fs, 100, 30*time.Second)
	db := fs.String("db", "postgres", "todoku's database: postgres (a fresh database on -pg) or sqlite")
	pg := fs.String("pg", DefaultPGAdmin, "Postgres admin URL (loopback)")
	at := fs.Duration("at", 5*time.Second, "when the fault starts, after the load starts")
	length := fs.Duration("for", 10*time.Second, "how long a LINE API fault lasts")
	only := fs.String("only", "", "comma-separated faults to run (default: all but pg-restart)")
	pgRestart := fs.String("pg-restart", "", "also restart PostgreSQL under load: private (a throwaway cluster of its own, disturbs nobody) or system (the machine's cluster via pg_ctlcluster: disturbs every other user)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !flagSet(fs, "dup") {
		lf.dup = 0.1
	}
	if !flagSet(fs, "redeliver") {
		lf.redeliver = true
	}
	if !flagSet(fs, "drain") {
		lf.drain = 120 * time.Second
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	switch *pgRestart {
	case "", "private", "system":
	default:
		return fmt.Errorf("-pg-restart must be private or system")
	}
	if *pgRestart != "" && *db != "postgres" {
		return fmt.Errorf("-pg-restart needs -db postgres")
	}
	dir, cleanup, err := workDir(lf.keepLogDir)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintln(stderr, "building todoku ...")
	bins, err := build(ctx, dir, false)
	if err != nil {
		return err
	}

	var out []faultResult
	for i, f := range faults {
		if len(want) > 0 && !want[f.name] {
			continue
		}
		if len(want) == 0 && f.name == "pg-restart" && *pgRestart == "" {
			continue
		}
		if f.name == "pg-restart" && *pgRestart == "" {
			return fmt.Errorf("pg-restart needs -pg-restart private or system")
		}
		fr := &faultRun{length: *length, log: stderr, system: *pgRestart == "system"}
		admin := *pg
		if f.name == "pg-restart" && *pgRestart == "private" {
			fmt.Fprintln(stderr, "starting a private PostgreSQL cluster ...")
			p, err := startPrivatePG(ctx)
			if err != nil {
				return err
			}
			fr.pg = p
			admin = p.AdminURL()
		}
		dbURL, drop, err := targetDB(ctx, *db, admin, dir, fmt.Sprintf("fault-%d", i))
		if err != nil {
			if fr.pg != nil {
				fr.pg.Close()
			}
			return err
		}
		t := &target{Name: "todoku/" + *db, Kind: kindTodoku, Bin: bins.Todoku, DBURL: dbURL,
			LogPath: filepath.Join(dir, "fault-"+f.name+".log"), Workers: lf.workers, Direct: lf.direct}
		fmt.Fprintf(stderr, "%s: %s (at +%s) ...\n", f.name, f.about, *at)
		var injectErr error
		res, err := runTarget(ctx, t, lf.config(), func(c context.Context, start time.Time, r *rig, t *target) {
			fr.r, fr.t = r, t
			sleepCtx(c, time.Until(start.Add(*at)))
			if c.Err() != nil {
				return
			}
			fmt.Fprintf(stderr, "    fault on at +%s\n", time.Since(start).Round(100*time.Millisecond))
			injectErr = f.inject(c, fr)
			fmt.Fprintf(stderr, "    fault off at +%s\n", time.Since(start).Round(100*time.Millisecond))
		})
		drop()
		if fr.pg != nil {
			fr.pg.Close()
		}
		fres := faultResult{Fault: f.name, About: f.about, DB: *db, Result: res}
		switch {
		case err != nil:
			fres.Error = err.Error()
		case injectErr != nil:
			fres.Error = "inject: " + injectErr.Error()
		default:
			fres.OK = res.Lost == 0 && res.Dup == 0 && res.Acked > 0 && (res.Processed < 0 || res.Processed >= res.Acked)
		}
		verdict := "ok  "
		if !fres.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "%s %-13s %s", verdict, f.name, loadgen.Line(&res))
		if fres.Error != "" {
			fmt.Fprintf(stdout, " error=%q", fres.Error)
		}
		fmt.Fprintln(stdout)
		out = append(out, fres)
	}
	return writeJSON(stdout, lf.jsonOut, out)
}
