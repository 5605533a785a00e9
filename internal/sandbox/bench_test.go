package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/bridge"
)

// BenchmarkTransport compares one JSON exchange passed through, recorded
// (a HAR file of up to 100 exchanges rewritten per exchange) and replayed.
func BenchmarkTransport(b *testing.B) {
	reply := `{"items":[` + strings.Repeat(`{"sku":"BOLT-M6","quantity":12},`, 30) + `{"sku":"x"}]}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, reply)
	}))
	defer up.Close()
	dir := b.TempDir()
	run := func(b *testing.B, mode Mode) {
		wrap, err := New(Flags{Mode: mode, Dir: dir}, "b", nil).Transport(&bridge.Upstream{Name: "up"}, nil, "", bridge.NewRedactor())
		if err != nil {
			b.Fatal(err)
		}
		rt := http.RoundTripper(http.DefaultTransport)
		if wrap != nil {
			rt = wrap(rt)
		}
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, up.URL+"/v1/stock", strings.NewReader(`{"warehouse":"north"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
	b.Run("pass", func(b *testing.B) { run(b, Off) })
	b.Run("record", func(b *testing.B) { run(b, Record) })
	b.Run("replay", func(b *testing.B) { run(b, Replay) })
}
