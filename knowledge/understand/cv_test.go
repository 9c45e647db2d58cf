package understand

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/todoku/todoku/knowledge"
)

// cvResult counts how the held-out examples of a cross-validation read.
type cvResult struct {
	pass, low, wrong, total int // Understand at DefaultThreshold
	top1                    int // Understand's best reading right, whatever its score
	modelTop1               int
	modelNLL                float64    // mean negative log likelihood of the model
	bins                    [10][2]int // model's best probability by tenth: readings, right ones
}

// crossValidate estimates accuracy on unseen phrasings from the pack itself:
// the examples of topic and command intents are split into folds; each fold
// is removed from the pack in turn and its examples are understood by a
// matcher (and model) built from the rest.
func crossValidate(p *knowledge.Pack, folds int) cvResult {
	var r cvResult
	for f := range folds {
		cp := *p
		cp.Intents = make([]knowledge.Intent, len(p.Intents))
		type heldOut struct{ text, topic string }
		var held []heldOut
		for i, in := range p.Intents {
			cp.Intents[i] = in
			cp.Intents[i].Examples = nil
			for j, ex := range in.Examples {
				if j%folds == f && in.Kind != knowledge.KindAnswer {
					held = append(held, heldOut{ex, topicOf(p, in.ID)})
					continue
				}
				cp.Intents[i].Examples = append(cp.Intents[i].Examples, ex)
			}
		}
		m := New(&cp)
		for _, h := range held {
			if h.topic == "" {
				continue
			}
			r.total++
			ms := m.Understand(h.text, nil)
			if len(ms) > 0 && topicOf(p, ms[0].Intent) == h.topic {
				r.top1++
			}
			switch {
			case len(ms) == 0 || ms[0].Score < DefaultThreshold:
				r.low++
			case topicOf(p, ms[0].Intent) == h.topic:
				r.pass++
			default:
				r.wrong++
			}
			mp := m.model.predict(m, h.text, "", nil)
			right, pr := 0, 1e-6
			if len(mp) > 0 && topicOf(p, mp[0].Intent) == h.topic {
				right = 1
				r.modelTop1++
			}
			for _, x := range mp {
				if topicOf(p, x.Intent) == h.topic {
					pr += x.Score
				}
			}
			r.modelNLL -= math.Log(min(1, pr))
			if len(mp) > 0 {
				b := min(9, int(10*mp[0].Score))
				r.bins[b][0]++
				r.bins[b][1] += right
			}
		}
	}
	r.modelNLL /= float64(r.total)
	return r
}

// reliability renders the model's reliability table: for each tenth of its
// best probability, how many of those readings were right.
func (r cvResult) reliability() string {
	var b strings.Builder
	for i, bin := range r.bins {
		if bin[0] > 0 {
			fmt.Fprintf(&b, " %.1f–%.1f: %d/%d", float64(i)/10, float64(i+1)/10, bin[1], bin[0])
		}
	}
	return b.String()
}

// TestCrossValidation reports how well understanding generalises from the
// pack's examples to phrasings it has not seen (5-fold cross-validation),
// and how well the model's probabilities are calibrated.
func TestCrossValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five matchers")
	}
	p, _ := newRealMatcher(t)
	r := crossValidate(p, 5)
	pct := func(n int) float64 { return 100 * float64(n) / float64(r.total) }
	t.Logf("cross-validation: %d/%d = %.1f%% right, %.1f%% below threshold, %.1f%% wrong; best reading right %.1f%%",
		r.pass, r.total, pct(r.pass), pct(r.low), pct(r.wrong), pct(r.top1))
	t.Logf("model alone: best reading right %.1f%%, NLL %.3f; reliability:%s", pct(r.modelTop1), r.modelNLL, r.reliability())
	// Floors well under the measured figures (73% right, 15% wrong; the
	// model's best reading 75% right, of its readings at 0.9 or more 90%):
	// they catch a broken matcher or model, not a worse pack.
	if pct(r.pass) < 60 || pct(r.wrong) > 25 || pct(r.modelTop1) < 65 {
		t.Fatalf("cross-validation: %d right, %d wrong, model %d right of %d", r.pass, r.wrong, r.modelTop1, r.total)
	}
	if hi := r.bins[9]; hi[0] > 0 && float64(hi[1]) < 0.75*float64(hi[0]) {
		t.Fatalf("the model's readings at 0.9 or more are right %d of %d times: not calibrated", hi[1], hi[0])
	}
}
