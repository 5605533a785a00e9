package wirejson

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestPlainPrefixExhaustive(t *testing.T) {
	ref := func(s []byte) int {
		for i, c := range s {
			if c < ' ' || c == '"' || c == '\\' || c >= 0x80 {
				return i
			}
		}
		return len(s)
	}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				s := make([]byte, n)
				for i := range s {
					s[i] = 'a' + byte(i%26)
				}
				s[pos] = byte(c)
				if got, want := plainPrefix(s), ref(s); got != want {
					t.Fatalf("%q: %d, want %d", s, got, want)
				}
				if got, want := indexNeedEscape(string(s)), ref(s); got != want && c < 0x80 {
					t.Fatalf("indexNeedEscape(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}

// TestPlainPrefixMixed checks words with several flagged bytes, where the
// SWAR tests' borrows could flag a later lane: the first flagged byte must
// still be found exactly.
func TestPlainPrefixMixed(t *testing.T) {
	interesting := []byte{0, 1, 0x1f, ' ', '!', '"', '#', '[', '\\', ']', 0x7f, 0x80, 0xc3, 0xff, 'a'}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		s := make([]byte, rng.IntN(24))
		for i := range s {
			s[i] = interesting[rng.IntN(len(interesting))]
		}
		want := len(s)
		for i, c := range s {
			if c < ' ' || c == '"' || c == '\\' || c >= 0x80 {
				want = i
				break
			}
		}
		if got := plainPrefix(s); got != want {
			t.Fatalf("%q: %d, want %d", s, got, want)
		}
	}
}

// TestIntegerFastPath checks parseInt and parseUint, whose plain-digits
// path skips the general one, against the general one (intText and
// strconv) at the edges of each size.
func TestIntegerFastPath(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"4294967295", "4294967296", "999999999999999999", "-999999999999999999", "1000000000000000000",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "1e3", "1.0", "-1.5e1", "0.0", "12E-1"} {
		for _, bits := range []int{32, 64} {
			var buf [32]byte
			txt, ok := intText(buf[:0], []byte(s))
			wantI, errI := strconv.ParseInt(string(txt), 10, bits)
			wantU, errU := strconv.ParseUint(string(txt), 10, bits)
			gotI, okI := parseInt([]byte(s), bits)
			gotU, okU := parseUint([]byte(s), bits)
			if okI != (ok && errI == nil) || (okI && gotI != wantI) {
				t.Errorf("parseInt(%q, %d) = %d, %v; want %d, %v", s, bits, gotI, okI, wantI, ok && errI == nil)
			}
			if okU != (ok && errU == nil) || (okU && gotU != wantU) {
				t.Errorf("parseUint(%q, %d) = %d, %v; want %d, %v", s, bits, gotU, okU, wantU, ok && errU == nil)
			}
		}
	}
}
