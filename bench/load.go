package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/todoku/todoku/bench/loadgen"
)

func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf loadFlags
	lf.register(fs, 1000, 20e9)
	targetURL := fs.String("target", "", "webhook URL of a server you started (loopback only); it must send to the fake at -fake-addr with token "+`"linefake-access-token"`+" and secret "+Secret)
	pid := fs.Int("pid", 0, "process id of the -target server, for its peak RSS")
	fakeAddr := fs.String("fake-addr", "127.0.0.1:18081", "where the fake Messaging API listens for a -target server")
	spawn := fs.String("spawn", "", "build and start the target: todoku or echo (instead of -target)")
	db := fs.String("db", "sqlite", "todoku's database with -spawn: sqlite or postgres (a fresh database on -pg)")
	pg := fs.String("pg", DefaultPGAdmin, "Postgres admin URL (loopback) for -db postgres")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lc := lf.config()

	var res loadgen.Result
	switch {
	case *targetURL != "" && *spawn != "":
		return errors.New("give -target or -spawn, not both")
	case *targetURL != "":
		u, err := url.Parse(*targetURL)
		if err != nil {
			return err
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			return fmt.Errorf("target host %q is not loopback: load is only ever sent to this machine", h)
		}
		r, err := newRig(*fakeAddr)
		if err != nil {
			return err
		}
		defer r.Close()
		fmt.Fprintf(stderr, "fake Messaging API at %s (LINE_API_BASE_URL); HTTPS_PROXY=%s with SSL_CERT_FILE=%s for https://api.line.me\n",
			r.FakeURL, r.ProxyURL, r.Proxy.CAFile)
		lc.URL, lc.Secret, lc.Tracker = *targetURL, Secret, r.Tracker
		var cpu0 float64
		if *pid > 0 {
			cpu0, _ = loadgen.ProcCPU(*pid)
		}
		st, err := loadgen.Run(ctx, lc)
		if err != nil {
			return err
		}
		res = loadgen.Result{Name: *targetURL, Stats: *st, Processed: -1}
		if *pid > 0 {
			res.PeakRSSKiB, _ = loadgen.PeakRSS(*pid)
			if cpu1, err := loadgen.ProcCPU(*pid); err == nil {
				res.CPUSeconds = cpu1 - cpu0
			}
		}
	case *spawn != "":
		dir, cleanup, err := workDir(lf.keepLogDir)
		if err != nil {
			return err
		}
		defer cleanup()
		bins, err := build(ctx, dir, *spawn == kindEcho)
		if err != nil {
			return err
		}
		t := &target{Name: *spawn, Kind: *spawn, LogPath: filepath.Join(dir, *spawn+".log"), Workers: lf.workers, Direct: lf.direct}
		switch *spawn {
		case kindEcho:
			t.Bin = bins.Echo
		case kindTodoku:
			t.Bin = bins.Todoku
			t.Name = "todoku/" + *db
			dbURL, drop, err := targetDB(ctx, *db, *pg, dir, "load")
			if err != nil {
				return err
			}
			defer drop()
			t.DBURL = dbURL
		default:
			return fmt.Errorf("-spawn must be todoku or echo, got %q", *spawn)
		}
		res, err = runTarget(ctx, t, lc, nil)
		if err != nil {
			return err
		}
	default:
		return errors.New("give -target URL (a server you started) or -spawn todoku|echo")
	}
	loadgen.Table(stdout, []loadgen.Result{res}, -1)
	return writeJSON(stdout, lf.jsonOut, res)
}

// targetDB returns a fresh database for todoku: a new SQLite file in dir, or
// a new database on the Postgres server of pgAdmin.
func targetDB(ctx context.Context, kind, pgAdmin, dir, name string) (string, func(), error) {
	switch kind {
	case "sqlite":
		path := filepath.Join(dir, name+".db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
		return path, func() {}, nil
	case "postgres":
		return freshDB(ctx, pgAdmin)
	}
	return "", nil, fmt.Errorf("database must be sqlite or postgres, got %q", kind)
}
