package async

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestCallbackClientRefusesInternalAddresses: a callback reaches a
// loopback (or private, link-local) address only when callback_hosts
// lists that address itself, not through a listed name resolving to it.
func TestCallbackClientRefusesInternalAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	post := func(hosts []string, url string) error {
		resp, err := callbackClient(hosts).Post(url, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := post([]string{"127.0.0.1"}, srv.URL); err != nil {
		t.Errorf("the address listed itself: %v", err)
	}
	if err := post([]string{"localhost"}, "http://localhost"+port); err == nil || !strings.Contains(err.Error(), "is internal") {
		t.Errorf("a listed name resolving to loopback: %v", err)
	}
	if err := post([]string{"hooks.example.com"}, srv.URL); err == nil || !strings.Contains(err.Error(), "is internal") {
		t.Errorf("an unlisted loopback address: %v", err)
	}
}

// TestPublic: only public unicast addresses are public.
func TestPublic(t *testing.T) {
	for a, want := range map[string]bool{
		"93.184.215.14": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "192.168.1.1": false, "169.254.169.254": false, "100.100.100.200": false,
		"198.18.0.1": false, "0.0.0.0": false, "::1": false, "fd00::1": false, "fe80::1": false,
		"64:ff9b::a00:1": false, "2002:a00:1::1": false, "255.255.255.255": false,
	} {
		if got := public(netip.MustParseAddr(a)); got != want {
			t.Errorf("public(%s) = %v, want %v", a, got, want)
		}
	}
}
