package soap_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
)

// TestBodyCutOff: a reply whose body the connection cuts off after the
// headers (closed before the announced length, or reset) is a transport
// failure — UNAVAILABLE, UPSTREAM_UNAVAILABLE, saying the body was cut
// off — not a reply that does not decode.
func TestBodyCutOff(t *testing.T) {
	ok := `<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse>`
	for name, reset := range map[string]bool{"closed": false, "reset": true} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, envelope11(ok)[:60])
				w.(http.Flusher).Flush()
				if !reset {
					panic(http.ErrAbortHandler)
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0)
					_ = conn.Close()
				}
			})
			ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL}, "Add")
			_, err := call(t, ep, r, `{"int_a": 1}`)
			code, info, _ := statusParts(t, err)
			msg := status.Convert(err).Message()
			if code != codes.Unavailable || info.Reason != "UPSTREAM_UNAVAILABLE" || !strings.Contains(msg, "cut off after 60 bytes") || bridge.IsNotSent(err) {
				t.Errorf("got %v %s %q", code, info.Reason, msg)
			}
		})
	}
}
