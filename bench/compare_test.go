package main

import (
	"strings"
	"testing"

	"github.com/todoku/todoku/bench/loadgen"
)

func mkRun(name string, evs float64, lost int) loadgen.Result {
	r := loadgen.Result{Name: name}
	r.EventsPerSec, r.Lost = evs, lost
	return r
}

// TestChecksOverRounds: with several rounds the ratio is the median of
// each round's own ratio (not the ratio of unrelated medians), and a loss
// in any run fails, even when the median run lost nothing.
func TestChecksOverRounds(t *testing.T) {
	echo, pg := "echo_bot (SDK)", "todoku/postgres"
	runs := map[string][]loadgen.Result{
		echo: {mkRun(echo, 1000, 0), mkRun(echo, 2000, 0), mkRun(echo, 3000, 0)},
		pg:   {mkRun(pg, 900, 0), mkRun(pg, 1400, 2), mkRun(pg, 2100, 0)}, // ratios 0.90, 0.70, 0.70
	}
	evs := func(r loadgen.Result) float64 { return r.EventsPerSec }
	phases := map[string][]loadgen.Result{phaseMax: {medianRun(runs[echo], evs), medianRun(runs[pg], evs)}}
	cs := checks(phases, map[string]map[string][]loadgen.Result{phaseMax: runs}, 1000)
	got := map[string]check{}
	for _, c := range cs {
		got[c.Name] = c
	}
	ratio := got["todoku/postgres events/s vs echo bot (max phase)"]
	if ratio.OK || !strings.HasPrefix(ratio.Got, "0.70×") || !strings.Contains(ratio.Got, "0.90, 0.70, 0.70") {
		t.Errorf("ratio check %+v", ratio)
	}
	if c := got["max todoku/postgres lost/dup"]; c.OK || c.Got != "2/0" {
		t.Errorf("lost/dup check %+v: a loss in a run that is not the median must fail", c)
	}
	if c := got["max echo_bot (SDK) lost/dup"]; !c.OK {
		t.Errorf("echo lost/dup %+v", c)
	}

	// One round: the plain ratio of the two runs.
	cs = checks(map[string][]loadgen.Result{phaseMax: {mkRun(echo, 1000, 0), mkRun(pg, 920, 0)}}, nil, 1000)
	if !cs[0].OK || !strings.HasPrefix(cs[0].Got, "0.92×") {
		t.Errorf("one round: %+v", cs[0])
	}

	// The rate phase: ack p99 against the echo bot's, and peak RSS.
	e, p := mkRun(echo, 400, 0), mkRun(pg, 400, 0)
	e.Ack.N, e.Ack.P99 = 100, 4e6
	p.Ack.N, p.Ack.P99, p.PeakRSSKiB = 100, 9e6, 150*1024
	for _, c := range checks(map[string][]loadgen.Result{phaseRate: {e, p}}, nil, 400) {
		switch {
		case strings.Contains(c.Name, "ack p99") && (c.OK || !strings.HasPrefix(c.Got, "2.25×")):
			t.Errorf("ack p99 of 9 ms against 4 ms: %+v", c)
		case strings.Contains(c.Name, "RSS") && (!c.OK || c.Got != "150 MiB"):
			t.Errorf("RSS check %+v", c)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	r := medianRun([]loadgen.Result{mkRun("a", 5, 0), mkRun("b", 1, 0), mkRun("c", 3, 0), mkRun("d", 4, 0)},
		func(r loadgen.Result) float64 { return r.EventsPerSec })
	if r.Name != "c" {
		t.Errorf("medianRun of 1, 3, 4, 5 events/s picked %s (want the lower middle, 3)", r.Name)
	}
}
