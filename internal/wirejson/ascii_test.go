package wirejson

import (
	"math/rand/v2"
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
