// Package linear is a multinomial logistic regression over sparse binary
// features: the classifier the understander trains at pack load from the
// pack's own examples. Training is deterministic (a seeded order, no
// goroutines) and takes well under a second for ten thousand examples.
package linear

import (
	"math"
	"math/rand/v2"
)

// Example is one training text: the ids of its features (each counts once),
// its class and how much it weighs (1 when 0).
type Example struct {
	Features []int32
	Class    int32
	Weight   float32
}

// Options tune training. Zero values mean the defaults.
type Options struct {
	Epochs int     // passes over the examples; default 12
	Rate   float64 // AdaGrad learning rate; default 0.5
	L2     float64 // weight decay per example seen, scaled by the rate; default 1e-4
	Seed   uint64  // seed of the example order
}

// Model scores feature sets against classes. It is read-only after Train
// and safe for concurrent use.
type Model struct {
	classes int
	w       []float32 // feature × class
	b       []float32 // class bias
}

// Classes returns the number of classes.
func (m *Model) Classes() int { return m.classes }

// Train fits a model with features in [0, features) and classes in
// [0, classes) by AdaGrad on the softmax cross-entropy, L2-regularised.
// Each example's features are scaled by 1/√n so that long and short texts
// weigh alike.
func Train(examples []Example, features, classes int, opt Options) *Model {
	if opt.Epochs <= 0 {
		opt.Epochs = 12
	}
	if opt.Rate <= 0 {
		opt.Rate = 0.5
	}
	if opt.L2 < 0 {
		opt.L2 = 0
	} else if opt.L2 == 0 {
		opt.L2 = 1e-4
	}
	m := &Model{classes: classes, w: make([]float32, features*classes), b: make([]float32, classes)}
	// AdaGrad with one accumulator per feature (and one for the biases):
	// one square root per feature and example, not per weight.
	gw := make([]float32, features)
	gb := float32(0)
	// last[f] is the step at which feature f's weights were last decayed;
	// decay is applied lazily when a feature is next seen.
	last := make([]int32, features)
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	p := make([]float64, classes)
	g := make([]float32, classes)
	active := make([]int, 0, classes)
	step := int32(0)
	decay := 1 - opt.Rate*opt.L2
	rate := float32(opt.Rate)
	for range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			ex := &examples[i]
			if len(ex.Features) == 0 {
				continue
			}
			step++
			scale := float32(1 / math.Sqrt(float64(len(ex.Features))))
			for _, f := range ex.Features {
				if n := step - 1 - last[f]; n > 0 {
					d := float32(math.Pow(decay, float64(n)))
					row := m.w[int(f)*classes : int(f+1)*classes]
					for c := range row {
						row[c] *= d
					}
				}
				last[f] = step
			}
			m.logits(ex.Features, scale, p)
			softmax(p)
			wt := ex.Weight
			if wt == 0 {
				wt = 1
			}
			// Classes the model already all but rules out contribute
			// next to nothing: skip them.
			active = active[:0]
			norm := float32(0)
			for c := range classes {
				gc := float32(p[c]) * wt
				if int32(c) == ex.Class {
					gc -= wt
				}
				if gc > -1e-4 && gc < 1e-4 {
					continue
				}
				g[c] = gc
				active = append(active, c)
				norm += gc * gc
			}
			if len(active) == 0 {
				continue
			}
			gb += norm
			lb := rate / float32(math.Sqrt(float64(gb)))
			for _, c := range active {
				m.b[c] -= lb * g[c]
			}
			norm *= scale * scale
			for _, f := range ex.Features {
				gw[f] += norm
				lf := rate * scale / float32(math.Sqrt(float64(gw[f])))
				row := m.w[int(f)*classes : int(f+1)*classes]
				for _, c := range active {
					row[c] -= lf * g[c]
				}
			}
		}
	}
	for f := range features {
		if n := step - last[f]; n > 0 {
			d := float32(math.Pow(decay, float64(n)))
			row := m.w[f*classes : (f+1)*classes]
			for c := range row {
				row[c] *= d
			}
		}
	}
	return m
}

// logits fills out with the raw class scores of a feature set.
func (m *Model) logits(features []int32, scale float32, out []float64) {
	for c := range out {
		out[c] = float64(m.b[c])
	}
	for _, f := range features {
		row := m.w[int(f)*m.classes : int(f+1)*m.classes]
		for c, w := range row {
			out[c] += float64(w * scale)
		}
	}
}

// Scores fills out (one entry per class) with the logits of a feature set;
// pass them to Softmax, masked, for probabilities.
func (m *Model) Scores(features []int32, out []float64) {
	scale := float32(1)
	if len(features) > 0 {
		scale = float32(1 / math.Sqrt(float64(len(features))))
	}
	m.logits(features, scale, out)
}

// Softmax turns logits into probabilities in place over the classes where
// allowed is true (all when allowed is nil); the others get 0. temp divides
// the logits first (1 leaves them as they are).
func Softmax(logits []float64, allowed []bool, temp float64) {
	mx := math.Inf(-1)
	for c, z := range logits {
		if allowed == nil || allowed[c] {
			mx = max(mx, z/temp)
		}
	}
	sum := 0.0
	for c, z := range logits {
		if allowed != nil && !allowed[c] {
			logits[c] = 0
			continue
		}
		logits[c] = math.Exp(z/temp - mx)
		sum += logits[c]
	}
	if sum == 0 {
		return
	}
	for c := range logits {
		logits[c] /= sum
	}
}

func softmax(p []float64) { Softmax(p, nil, 1) }
