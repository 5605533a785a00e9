package rest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
)

// TestPooledRequestBodies: request bodies transcoded into pooled buffers
// reach the upstream whole and each call's own while the buffers are
// reused, calls running side by side.
func TestPooledRequestBodies(t *testing.T) {
	var bad atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if want := fmt.Sprintf(`{"name":"%s"}`, strings.Repeat(r.Header.Get("X-Request-Id"), 4000)); string(b) != want {
			bad.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	defer up.Close()
	u := testUpstream(up.URL)
	u.MaxRequestBytes = 1 << 20
	r := newRoute(u, "CreateBook", post("/v1/books", "book"), "")
	ep := bindRoute(t, r)
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := range 50 {
				id := string(rune('a' + (w*50+i)%26))
				dyn := newMsg(t, r.Method.Input(), `{"book":{"name":"`+strings.Repeat(id, 4000)+`"}}`)
				wire, err := proto.Marshal(dyn)
				if err != nil {
					errs <- err
					return
				}
				call := &bridge.Call{Route: r, Request: bridge.NewWireMessage(r.Method.Input(), wire), RequestID: id}
				if _, err := ep.Unary(t.Context(), call); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("the upstream read %d bodies that were not their call's", n)
	}
}
