package mapping_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/router"
)

// TestCompositeKeepsItsTable: a composite call in flight when a reload
// swaps the route table runs its later steps on the table it started on
// (the old upstream), not on the new one.
func TestCompositeKeepsItsTable(t *testing.T) {
	arrived, swapped := make(chan struct{}), make(chan struct{})
	var once sync.Once
	upstream := func(prefix string, hold bool) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, _ := strings.CutPrefix(r.URL.Path, "/slow/")
			if hold && name == "a-x" {
				// Step a is in flight: the test swaps the table now.
				once.Do(func() { close(arrived) })
				<-swapped
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"name": prefix + name})
		}))
		t.Cleanup(s.Close)
		return s
	}
	old, cur := upstream("", true), upstream("NEW:", false)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api.proto"), []byte(apiProto), 0o600); err != nil {
		t.Fatal(err)
	}
	text := func(url string) string {
		return "server: {listen: 127.0.0.1:0}\ndescriptors: {import_paths: [" + dir + "], protos: [api.proto]}\nauth: {open: true}\nupstreams:\n  api: {kind: rest, base_url: " + url + "}\n" + apiRoutes
	}
	srv := daemontest.Start(t, daemontest.WriteConfig(t, text(old.URL)), daemontest.Options{})
	done := make(chan string, 1)
	go func() {
		got, err := invoke(t, srv, "api.v1.Api/Both", `{"name":"x"}`)
		if err != nil {
			got = err.Error()
		}
		done <- got
	}()
	<-arrived
	cfg, err := config.LoadConfig(daemontest.WriteConfig(t, text(cur.URL)))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := router.Build(context.Background(), cfg, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Router.Swap(tab)
	close(swapped)
	if got := <-done; got != `{"name":"a-x+c,b"}` {
		t.Errorf("a composite call that began on the old table got %s", got)
	}
	// Calls after the swap run on the new table.
	if got, err := invoke(t, srv, "api.v1.Api/Both", `{"name":"y"}`); err != nil || got != `{"name":"NEW:NEW:a-y+c,NEW:b"}` {
		t.Errorf("a call after the swap got %s, %v", got, err)
	}
}
