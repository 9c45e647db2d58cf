package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/todoku/todoku/bench/loadgen"
)

// Phase names of compare.
const (
	phaseMax  = "max"  // closed loop: -window events unanswered, requests of 1 to -batch events
	phaseLow  = "low"  // closed loop as most accounts see it: 8 senders, one event per request
	phaseRate = "rate" // -rate events/s offered
)

// compareReport is compare's JSON output.
type compareReport struct {
	Started time.Time                   `json:"started"`
	Machine machineInfo                 `json:"machine"`
	Command string                      `json:"command"`
	Load    map[string]string           `json:"load"`
	Phases  map[string][]loadgen.Result `json:"phases"`
	// Rounds has every run when -rounds > 1: phase -> target -> runs in
	// order. Phases then holds each target's median run.
	Rounds map[string]map[string][]loadgen.Result `json:"rounds,omitempty"`
	Checks []check                                `json:"checks"`
}

type check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	OK   bool   `json:"ok"`
}

type machineInfo struct {
	CPUs      int    `json:"cpus"`
	MemTotal  string `json:"mem_total"`
	LoadAvg   string `json:"loadavg_before"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

func machine() machineInfo {
	m := machineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
			}
		}
	}
	return m
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf loadFlags
	lf.register(fs, 400, 20*time.Second)
	pg := fs.String("pg", DefaultPGAdmin, "Postgres admin URL (loopback); a fresh database is made for the run and dropped after")
	phases := fs.String("phases", phaseMax+","+phaseLow+","+phaseRate, "which runs: max (closed loop, -window unanswered events), low (closed loop, 8 senders of one event per request) and rate (-rate events/s)")
	skip := fs.String("skip", "", "comma-separated targets to leave out: echo, sqlite, postgres")
	rounds := fs.Int("rounds", 1, "run the targets in turn this many times per phase; each figure is then a target's median run, and the events/s ratio the median of the rounds' ratios (each round's runs are minutes apart at most, so a shared machine's drift cancels out)")
	// The echo bot answers texts and stickers only: the compared load has no postbacks.
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1, got %d", *rounds)
	}
	if !flagSet(fs, "postbacks") {
		lf.postbacks = 0
	}
	if !flagSet(fs, "drain") {
		// A target that falls behind the offered rate answers its backlog
		// afterwards: give it time, so unanswered means lost, not late.
		lf.drain = 240 * time.Second
	}
	dir, cleanup, err := workDir(lf.keepLogDir)
	if err != nil {
		return err
	}
	defer cleanup()

	rep := compareReport{Started: time.Now().UTC(), Machine: machine(), Command: "go run ./bench compare " + strings.Join(args, " "),
		Phases: map[string][]loadgen.Result{}, Rounds: map[string]map[string][]loadgen.Result{}}
	rep.Load = map[string]string{
		"users": fmt.Sprint(lf.users), "events_per_request": fmt.Sprintf("1-%d", lf.batch),
		"mix":      fmt.Sprintf("texts %.0f%%, stickers %.0f%%, postbacks %.0f%%", 100*(1-lf.stickers-lf.postbacks), 100*lf.stickers, 100*lf.postbacks),
		"duration": lf.duration.String(), "window": fmt.Sprint(lf.window), "rate": fmt.Sprint(lf.rate), "dup": fmt.Sprint(lf.dup),
	}
	fmt.Fprintf(stderr, "building todoku and %s ...\n", echoModule)
	bins, err := build(ctx, dir, true)
	if err != nil {
		return err
	}
	skipped := map[string]bool{}
	for _, s := range strings.Split(*skip, ",") {
		skipped[strings.TrimSpace(s)] = true
	}

	n := 0
	for _, phase := range strings.Split(*phases, ",") {
		lc := lf.config()
		switch phase {
		case phaseMax:
			lc.Rate = 0
		case phaseLow:
			lc.Rate, lc.Window, lc.Concurrency, lc.MaxBatch = 0, 8, 8, 1
		case phaseRate:
			lc.Window = 0
			if lc.Rate <= 0 {
				return fmt.Errorf("phase rate needs -rate > 0")
			}
		default:
			return fmt.Errorf("unknown phase %q", phase)
		}
		runs := map[string][]loadgen.Result{}
		var order []string
		for round := range *rounds {
			for _, kind := range []string{"echo", "sqlite", "postgres"} {
				if skipped[kind] {
					continue
				}
				n++
				t := &target{LogPath: filepath.Join(dir, fmt.Sprintf("%s-%s-%d.log", phase, kind, round+1)), Workers: lf.workers, Direct: lf.direct}
				drop := func() {}
				switch kind {
				case "echo":
					t.Name, t.Kind, t.Bin = "echo_bot (SDK)", kindEcho, bins.Echo
				default:
					t.Name, t.Kind, t.Bin = "todoku/"+kind, kindTodoku, bins.Todoku
					t.DBURL, drop, err = targetDB(ctx, kind, *pg, dir, fmt.Sprintf("%s-%d", phase, n))
					if err != nil {
						return err
					}
				}
				fmt.Fprintf(stderr, "%s (round %d of %d): %s ...\n", phase, round+1, *rounds, t.Name)
				res, err := runTarget(ctx, t, lc, nil)
				drop()
				if err != nil {
					return fmt.Errorf("%s on %s: %w", phase, t.Name, err)
				}
				fmt.Fprintf(stderr, "  %s\n", loadgen.Line(&res))
				if round == 0 {
					order = append(order, t.Name)
				}
				runs[t.Name] = append(runs[t.Name], res)
			}
		}
		// The representative run is the median by what the phase's target
		// is about: events/s at max, the ack p99 at the offered rate.
		by := func(r loadgen.Result) float64 { return r.EventsPerSec }
		if phase == phaseRate {
			by = func(r loadgen.Result) float64 { return float64(r.Ack.P99) }
		}
		var results []loadgen.Result
		for _, name := range order {
			results = append(results, medianRun(runs[name], by))
		}
		if *rounds > 1 {
			rep.Rounds[phase] = runs
		}
		rep.Phases[phase] = results
		title := fmt.Sprintf("max: as fast as a window of %d unanswered events allows, %s", lf.window, lf.duration)
		switch phase {
		case phaseLow:
			title = fmt.Sprintf("low: 8 senders, one event per request, each waiting for its answer, %s", lf.duration)
		case phaseRate:
			title = fmt.Sprintf("rate: %.0f events/s offered for %s", lf.rate, lf.duration)
		}
		fmt.Fprintf(stdout, "\n## %s\n\n", title)
		base := -1
		if len(results) > 0 && results[0].Name == "echo_bot (SDK)" {
			base = 0
		}
		loadgen.Table(stdout, results, base)
		if *rounds > 1 {
			fmt.Fprintf(stdout, "\n%d rounds, each run in order: events/s (ack p99); the table shows each target's median run by %s:\n",
				*rounds, map[bool]string{true: "ack p99", false: "events/s"}[phase == phaseRate])
			for _, name := range order {
				fmt.Fprintf(stdout, "  %-18s", name)
				for _, r := range runs[name] {
					fmt.Fprintf(stdout, " %6.0f (%.1f ms)", r.EventsPerSec, float64(r.Ack.P99)/1e6)
				}
				fmt.Fprintln(stdout)
			}
		}
	}
	rep.Checks = checks(rep.Phases, rep.Rounds, lf.rate)
	fmt.Fprintln(stdout, "\n## targets")
	for _, c := range rep.Checks {
		verdict := "FAIL"
		if c.OK {
			verdict = "ok"
		}
		fmt.Fprintf(stdout, "%-4s %s: want %s, got %s\n", verdict, c.Name, c.Want, c.Got)
	}
	fmt.Fprintln(stdout)
	return writeJSON(stdout, lf.jsonOut, rep)
}

func find(results []loadgen.Result, name string) *loadgen.Result {
	for i := range results {
		if results[i].Name == name {
			return &results[i]
		}
	}
	return nil
}

// checks evaluates issue 10's targets on what was measured: events/s
// against the echo bot at max and low (>= 0.9 on Postgres, >= 0.8 on
// SQLite), ack p99 at the offered rate at most twice the echo bot's, peak
// RSS under that load at most 200 MiB, and nothing lost or answered twice.
// With several rounds (rounds[phase] set), each ratio is the median of the
// rounds' ratios, and lost/dup count in every run.
func checks(phases map[string][]loadgen.Result, rounds map[string]map[string][]loadgen.Result, rate float64) []check {
	const echoName = "echo_bot (SDK)"
	var out []check
	for _, phase := range []string{phaseMax, phaseLow} {
		m := phases[phase]
		for _, target := range []struct {
			name string
			want float64
		}{{"todoku/postgres", 0.9}, {"todoku/sqlite", 0.8}} {
			echo, td := find(m, echoName), find(m, target.name)
			if echo == nil || td == nil || echo.EventsPerSec <= 0 {
				continue
			}
			r := td.EventsPerSec / echo.EventsPerSec
			got := fmt.Sprintf("%.2f× (%.0f vs %.0f)", r, td.EventsPerSec, echo.EventsPerSec)
			if rr := rounds[phase]; rr != nil {
				es, ts := rr[echoName], rr[target.name]
				var ratios []float64
				for i := range min(len(es), len(ts)) {
					if es[i].EventsPerSec > 0 {
						ratios = append(ratios, ts[i].EventsPerSec/es[i].EventsPerSec)
					}
				}
				r = median(ratios)
				got = fmt.Sprintf("%.2f× (median of the rounds' ratios %s)", r, fmtRatios(ratios))
			}
			out = append(out, check{Name: fmt.Sprintf("%s events/s vs echo bot (%s phase)", target.name, phase),
				Want: fmt.Sprintf(">= %.2f×", target.want), Got: got, OK: r >= target.want})
		}
	}
	if rr := phases[phaseRate]; rr != nil {
		echo := find(rr, echoName)
		for _, name := range []string{"todoku/postgres", "todoku/sqlite"} {
			td := find(rr, name)
			if td == nil {
				continue
			}
			if echo != nil && echo.Ack.P99 > 0 {
				out = append(out, check{Name: fmt.Sprintf("%s ack p99 at %.0f events/s vs echo bot", name, rate), Want: "<= 2.00×",
					Got: fmt.Sprintf("%.2f× (%.1f ms vs %.1f ms)", float64(td.Ack.P99)/float64(echo.Ack.P99), float64(td.Ack.P99)/1e6, float64(echo.Ack.P99)/1e6),
					OK:  td.Ack.N > 0 && td.Ack.P99 <= 2*echo.Ack.P99})
			}
			if td.PeakRSSKiB > 0 {
				out = append(out, check{Name: fmt.Sprintf("%s peak RSS at %.0f events/s", name, rate), Want: "<= 200 MiB",
					Got: fmt.Sprintf("%d MiB", td.PeakRSSKiB/1024), OK: td.PeakRSSKiB <= 200*1024})
			}
		}
	}
	for _, phase := range []string{phaseMax, phaseLow, phaseRate} {
		for _, r := range phases[phase] {
			lost, dup := r.Lost, r.Dup
			if runs := rounds[phase][r.Name]; runs != nil {
				lost, dup = 0, 0
				for _, x := range runs {
					lost, dup = lost+x.Lost, dup+x.Dup
				}
			}
			out = append(out, check{Name: phase + " " + r.Name + " lost/dup", Want: "0/0",
				Got: fmt.Sprintf("%d/%d", lost, dup), OK: lost == 0 && dup == 0})
		}
	}
	return out
}

// medianRun is the run with the median value of by (the lower middle one
// of an even count).
func medianRun(runs []loadgen.Result, by func(loadgen.Result) float64) loadgen.Result {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b loadgen.Result) int { return cmp.Compare(by(a), by(b)) })
	return sorted[(len(sorted)-1)/2]
}

// median is the middle of xs (the mean of the two middle ones of an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(parts, ", ")
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
