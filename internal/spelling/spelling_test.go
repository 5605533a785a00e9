package spelling

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"listen", "listn", 1}, {"timout", "timeout", 1}, {"kitten", "sitting", 3}, {"Ünï", "Uni", 2}, {"abc", "", 3}, {"tiemout", "timeout", 1}, {"lsiten", "listen", 1}, {"ab", "ba", 1}, {"ca", "abc", 3}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
