package mapping_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/sandbox"
)

// TestMappedHeadersRecordedRedacted: the values of headers and query
// parameters a route's map: computes (often credentials taken from the caller) are recorded
// redacted, and the recording still replays.
func TestMappedHeadersRecordedRedacted(t *testing.T) {
	dir := t.TempDir()
	srv, up := startAPI(t, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Record, Dir: dir}, "test", nil)})
	const req = `{"to":"x","tenant":"acme"}`
	want, err := invoke(t, srv, "api.v1.Api/Send", req)
	if err != nil {
		t.Fatal(err)
	}
	up.mu.Lock()
	sent := up.header.Get("X-Tenant")
	up.mu.Unlock()
	if sent != "acme" {
		t.Fatalf("the upstream got X-Tenant %q", sent)
	}
	srv.Shutdown(t, 5e9)

	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var har struct {
		Log struct {
			Entries []sandbox.Entry `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(b, &har); err != nil || len(har.Log.Entries) != 1 {
		t.Fatalf("HAR: %v, %d entries", err, len(har.Log.Entries))
	}
	found := false
	for _, h := range har.Log.Entries[0].Request.Headers {
		if h.Name == "X-Tenant" {
			found = true
			if h.Value != "[REDACTED]" {
				t.Errorf("X-Tenant recorded as %q", h.Value)
			}
		}
	}
	if !found {
		t.Error("X-Tenant not recorded at all")
	}
	// The query values map: computes (dry, to) likewise, in the URL too.
	e := har.Log.Entries[0].Request
	for _, q := range e.QueryString {
		if q.Value != "[REDACTED]" {
			t.Errorf("query %s recorded as %q", q.Name, q.Value)
		}
	}
	if len(e.QueryString) != 2 || strings.Contains(e.URL, "to=x") {
		t.Errorf("query recorded as %v in %s", e.QueryString, e.URL)
	}

	rep, _ := startAPI(t, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Replay, Dir: dir}, "test", nil)})
	if got, err := invoke(t, rep, "api.v1.Api/Send", req); err != nil || got != want {
		t.Errorf("replayed %s, %v; recorded %s", got, err, want)
	}
}
