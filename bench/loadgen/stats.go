package loadgen

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0..100) of samples by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are less than or equal to it. It sorts samples in place and
// returns 0 for no samples.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	return sortedPercentile(samples, p)
}

func sortedPercentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	switch {
	case p <= 0:
		return sorted[0]
	case p >= 100:
		return sorted[n-1]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Latency summarises latency samples.
type Latency struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Summarize computes the latency summary of samples (sorted in place).
func Summarize(samples []time.Duration) Latency {
	slices.Sort(samples)
	return Latency{
		N:   len(samples),
		P50: sortedPercentile(samples, 50),
		P90: sortedPercentile(samples, 90),
		P99: sortedPercentile(samples, 99),
		Max: sortedPercentile(samples, 100),
	}
}
