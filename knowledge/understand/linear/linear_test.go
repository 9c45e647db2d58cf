package linear

import (
	"math"
	"slices"
	"testing"
)

// xor-free toy data: class c has features {c, 10+c} and a shared noise
// feature 20.
func toy() []Example {
	var ex []Example
	for range 5 {
		for c := range int32(3) {
			ex = append(ex, Example{Features: []int32{c, 10 + c, 20}, Class: c})
		}
	}
	return ex
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	a := Train(toy(), 21, 3, Options{Seed: 1})
	b := Train(toy(), 21, 3, Options{Seed: 1})
	if !slices.Equal(a.w, b.w) || !slices.Equal(a.b, b.b) {
		t.Fatal("two trainings with the same seed differ")
	}
	for c := range int32(3) {
		z := make([]float64, 3)
		a.Scores([]int32{c, 20}, z)
		Softmax(z, nil, 1)
		if best := slices.Index(z, slices.Max(z)); best != int(c) || z[c] < 0.6 {
			t.Errorf("class %d: probabilities %v", c, z)
		}
	}
}

func TestSoftmaxMask(t *testing.T) {
	z := []float64{1, 5, 2}
	Softmax(z, []bool{true, false, true}, 1)
	if z[1] != 0 || math.Abs(z[0]+z[2]-1) > 1e-12 || z[2] <= z[0] {
		t.Fatalf("masked softmax = %v", z)
	}
	z = []float64{1, 2}
	Softmax(z, nil, 0.5)
	if want := 1 / (1 + math.Exp(-2)); math.Abs(z[1]-want) > 1e-12 {
		t.Fatalf("softmax at temperature 0.5 = %v, want %v", z, want)
	}
}
