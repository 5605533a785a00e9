package async

import "testing"

func TestHostAllowed(t *testing.T) {
	allowed := []string{"hooks.example.com", "*.partner.example", "127.0.0.1"}
	for host, want := range map[string]bool{
		"hooks.example.com":      true,
		"HOOKS.example.com.":     true,
		"a.partner.example":      true,
		"b.a.partner.example":    true,
		"partner.example":        false,
		"evilpartner.example":    false,
		"127.0.0.1":              true,
		"169.254.169.254":        false,
		"hooks.example.com.evil": false,
	} {
		if got := hostAllowed(allowed, host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	if hostAllowed(nil, "hooks.example.com") {
		t.Error("an empty list allows a host")
	}
}
