package understand

import (
	"os"
	"strings"
	"testing"
)

func TestProbeDbg(t *testing.T) {
	p, m := newRealMatcher(t)
	for _, s := range strings.Split(os.Getenv("P"), "|") {
		ms := m.Understand(s, nil)
		top := ""
		if len(ms) > 0 && ms[0].Score >= DefaultThreshold {
			top = topicOf(p, ms[0].Intent) + "/" + ms[0].Intent
		}
		if len(ms) > 2 {
			ms = ms[:2]
		}
		t.Logf("%-30s %-30s %v", s, top, ms)
	}
}
