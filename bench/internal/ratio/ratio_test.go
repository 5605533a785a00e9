package ratio

import (
	"math"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	for _, c := range []struct {
		num, den float64
		want     float64
		err      string
	}{
		{num: 1, den: 4, want: 0.25},
		{num: 0, den: 4, want: 0},
		{num: 3, den: 0, err: "denominator is zero"},
		{num: 3, den: Missing, err: "denominator is missing"},
		{num: Missing, den: 3, err: "numerator is missing"},
		{num: 3, den: math.Inf(1), err: "denominator is +Inf"},
		{num: 3, den: -1, err: "denominator is -1"},
	} {
		got, err := Of("P0 time a/b", c.num, c.den)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("Of(%v, %v) = %v, %v; want %v", c.num, c.den, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "P0 time a/b: ")):
			t.Errorf("Of(%v, %v) error = %v; want one naming the ratio and %q", c.num, c.den, err, c.err)
		case c.err != "" && !math.IsNaN(got):
			t.Errorf("Of(%v, %v) = %v with an error; want Missing", c.num, c.den, got)
		}
	}
}

func TestSet(t *testing.T) {
	var s Set
	if r := s.Of("a", 1, 2); r != 0.5 || s.Err() != nil {
		t.Fatalf("Of = %v, Err = %v", r, s.Err())
	}
	s.Of("b", 1, Get(nil, "ns/op"))
	s.Of("c", 1, 0)
	err := s.Err()
	if err == nil || !strings.Contains(err.Error(), "b: the denominator is missing") || !strings.Contains(err.Error(), "c: the denominator is zero") {
		t.Errorf("Err = %v; want both b and c", err)
	}
}

func TestMedian(t *testing.T) {
	if m := Median(nil); !math.IsNaN(m) {
		t.Errorf("Median(nil) = %v, want Missing", m)
	}
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("Median = %v", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("Median = %v", m)
	}
}
