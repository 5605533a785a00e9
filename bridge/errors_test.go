package bridge

import (
	"testing"
	"time"
)

// TestParseRetryAfterClamps: waits too large for a time.Duration (or for
// int64) are clamped to a century, never overflowed into a negative or
// zero wait.
func TestParseRetryAfterClamps(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"30":                            30 * time.Second,
		"0":                             0,
		"9223372036854775807":           maxRetryAfter,
		"9223372036854775808":           maxRetryAfter,
		"99999999999999999999":          maxRetryAfter,
		"9223372036":                    maxRetryAfter, // fits int64 seconds, overflows nanoseconds
		"Fri, 31 Dec 9999 23:59:59 GMT": maxRetryAfter,
		"Sat, 28 Nov 2026 11:00:00 GMT": 0,
	} {
		got, ok := ParseRetryAfter(in, now)
		if !ok || got != want {
			t.Errorf("%q: got %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "soon", "-3", "-9223372036854775809"} {
		if d, ok := ParseRetryAfter(bad, now); ok {
			t.Errorf("%q accepted as %v", bad, d)
		}
	}
}
