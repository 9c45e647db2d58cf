package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one target's run.
type Result struct {
	Name string `json:"name"`
	Stats
	// PeakRSSKiB is the target process's VmHWM at the end (0: unknown).
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	// Processed counts the events the target's database marked processed
	// (-1: not known, e.g. the echo bot keeps no inbox).
	Processed int `json:"processed"`
	// Pushes counts the pushes the fake accepted (fallbacks from reply).
	Pushes int `json:"pushes"`
	// CPUSeconds is the CPU time (user+system) the target process used
	// while the load ran; its database server's is not included.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// ProcCPU returns the CPU time (user+system, seconds) process pid used so far.
func ProcCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func parseStatCPU(stat string) (float64, error) {
	// The command name is in parentheses and may hold spaces: skip past it.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc stat")
	}
	return float64(ut+st) / clockTicks, nil
}

// PeakRSS reads VmHWM (peak resident set size, KiB) of process pid.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmHWM(f)
}

func parseVmHWM(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM line")
}

type row struct {
	name string
	val  func(r *Result) float64
	fmt  func(v float64) string
	// higherBetter is informational only; ratios are value/baseline.
}

func ms(v float64) string    { return strconv.FormatFloat(v, 'f', 1, 64) + " ms" }
func count(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func durMS(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

var rows = []row{
	{"events/s handled (reply received)", func(r *Result) float64 { return r.EventsPerSec }, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }},
	{"ack latency p50", func(r *Result) float64 { return durMS(r.Ack.P50) }, ms},
	{"ack latency p99", func(r *Result) float64 { return durMS(r.Ack.P99) }, ms},
	{"ack latency max", func(r *Result) float64 { return durMS(r.Ack.Max) }, ms},
	{"reply latency p50", func(r *Result) float64 { return durMS(r.Reply.P50) }, ms},
	{"reply latency p99", func(r *Result) float64 { return durMS(r.Reply.P99) }, ms},
	{"events sent", func(r *Result) float64 { return float64(r.Sent) }, count},
	{"events acked", func(r *Result) float64 { return float64(r.Acked) }, count},
	{"events replied", func(r *Result) float64 { return float64(r.Replied) }, count},
	{"errors (non-2xx, transport)", func(r *Result) float64 { return float64(r.Errors) }, count},
	{"lost (acked, never answered)", func(r *Result) float64 { return float64(r.Lost) }, count},
	{"duplicate replies", func(r *Result) float64 { return float64(r.Dup) }, count},
	{"server CPU per handled event", func(r *Result) float64 {
		if r.Replied == 0 {
			return 0
		}
		return r.CPUSeconds * 1000 / float64(r.Replied)
	}, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " ms" }},
	{"server peak RSS", func(r *Result) float64 { return float64(r.PeakRSSKiB) / 1024 }, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + " MiB" }},
}

// Table writes results side by side, one column per target. With baseline
// >= 0 every figure of the other targets carries its ratio to that column's.
func Table(w io.Writer, results []Result, baseline int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t", r.Name)
	}
	fmt.Fprintln(tw)
	for _, rw := range rows {
		fmt.Fprintf(tw, "%s\t", rw.name)
		for i := range results {
			v := rw.val(&results[i])
			cell := rw.fmt(v)
			if baseline >= 0 && i != baseline {
				if b := rw.val(&results[baseline]); b != 0 {
					cell += fmt.Sprintf(" (%.2f×)", v/b)
				}
			}
			fmt.Fprintf(tw, "%s\t", cell)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// Line is a one-line tally for fault runs.
func Line(r *Result) string {
	processed := "-"
	if r.Processed >= 0 {
		processed = strconv.Itoa(r.Processed)
	}
	return fmt.Sprintf("sent=%d acked=%d processed=%s replied=%d lost=%d dup=%d unacked=%d errors=%s redelivered=%d pushes=%d reply_p99=%s",
		r.Sent, r.Acked, processed, r.Replied, r.Lost, r.Dup, r.Unacked, r.ErrorsString(), r.Redelivered, r.Pushes,
		r.Reply.P99.Round(time.Millisecond))
}
