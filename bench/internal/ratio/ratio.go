// Package ratio computes the figures of the BENCH lines. A ratio whose
// denominator is missing or zero is an error, never a number: a BENCH line
// must not print 0 (or Inf) for a comparison that was not measured.
package ratio

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Missing is the value of a measurement that was not taken (a median of no
// samples, a metric not reported). Median returns it for no samples.
var Missing = math.NaN()

// Of returns num ÷ den. It is an error when den is missing (NaN), zero,
// negative or infinite, or when num is missing, negative or infinite; what
// names the ratio in the error ("P1 time protobridge/vanguard-generated").
func Of(what string, num, den float64) (float64, error) {
	switch {
	case math.IsNaN(den):
		return Missing, fmt.Errorf("%s: the denominator is missing (nothing was measured)", what)
	case den == 0:
		return Missing, fmt.Errorf("%s: the denominator is zero", what)
	case den < 0 || math.IsInf(den, 0):
		return Missing, fmt.Errorf("%s: the denominator is %v", what, den)
	case math.IsNaN(num):
		return Missing, fmt.Errorf("%s: the numerator is missing (nothing was measured)", what)
	case num < 0 || math.IsInf(num, 0):
		return Missing, fmt.Errorf("%s: the numerator is %v", what, num)
	}
	return num / den, nil
}

// Set collects the ratios of one or more BENCH lines and their errors, so a
// caller computes them all, then checks Err once before printing.
type Set struct{ errs []error }

// Of is the package's Of; an error is kept for Err and the ratio is Missing.
func (s *Set) Of(what string, num, den float64) float64 {
	r, err := Of(what, num, den)
	if err != nil {
		s.errs = append(s.errs, err)
	}
	return r
}

// Err joins the errors of every ratio computed so far, or is nil.
func (s *Set) Err() error { return errors.Join(s.errs...) }

// Get returns m[key], or Missing when m has no such key (a nil m included).
func Get(m map[string]float64, key string) float64 {
	v, ok := m[key]
	if !ok {
		return Missing
	}
	return v
}

// Median returns the median of xs, or Missing when xs is empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return Missing
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
