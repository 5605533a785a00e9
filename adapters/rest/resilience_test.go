package rest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestBodyResetAfterHeaders: a connection reset after the reply's headers
// and part of its body is a transport failure (UNAVAILABLE,
// UPSTREAM_UNAVAILABLE, "cut off"), not NotSent (the request was
// processed), and never "does not decode as JSON"; chunked or not.
func TestBodyResetAfterHeaders(t *testing.T) {
	for name, length := range map[string]string{"content-length": "100", "chunked": ""} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if length != "" {
					w.Header().Set("Content-Length", length)
				}
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"name": "books/1", "ti`)
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0)
					_ = conn.Close()
				}
			}))
			defer srv.Close()
			r := newRoute(testUpstream(srv.URL), "GetBook", get("/v1/x"), "")
			ep := bindRoute(t, r)
			_, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
			reason, _ := errorInfo(err)
			msg := status.Convert(err).Message()
			if status.Code(err) != codes.Unavailable || reason != "UPSTREAM_UNAVAILABLE" || !strings.Contains(msg, "cut off") || strings.Contains(msg, "decode") || bridge.IsNotSent(err) {
				t.Fatalf("got %v (%s)", err, reason)
			}
		})
	}
}

// TestEventLimitOverSendLimit: a stream's max_event_bytes over what the
// front door can send (Env.MaxSendBytes) is refused at bind: such an event
// could never reach the caller, so it is never buffered.
func TestEventLimitOverSendLimit(t *testing.T) {
	u := testUpstream("http://127.0.0.1:1")
	a, err := New(u, &bridge.Env{MaxSendBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for n, ok := range map[uint64]bool{1 << 10: true, 1<<10 + 1: false} {
		r := newRoute(u, "Events", withResponseBody(get("/v1/events"), "book"), "")
		r.Options.Stream = &pbv1.StreamRoute{MaxEventBytes: n}
		_, err := a.Bind(r)
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "over server.max_send_bytes")) {
			t.Errorf("max_event_bytes %d: %v", n, err)
		}
	}
}
