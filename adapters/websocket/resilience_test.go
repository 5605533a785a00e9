package websocket

import (
	"strings"
	"testing"

	"github.com/protobridge/protobridge/bridge"
)

// TestReadLimitOverSendLimit: a route's read_limit over what the front
// door can send (Env.MaxSendBytes) is refused at bind: such a frame could
// never reach the caller, so it is never buffered. The default, the
// upstream's max_response_bytes, is within it.
func TestReadLimitOverSendLimit(t *testing.T) {
	for opts, ok := range map[string]bool{
		`websocket {read_limit: 4096}`: true,
		`websocket {read_limit: 4097}`: false,
		``:                             true,
	} {
		r := route(t, "Chat", "ws://127.0.0.1:1/chat", opts)
		r.Upstream.MaxResponseBytes = 4096
		a, err := New(r.Upstream, &bridge.Env{MaxSendBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Bind(r)
		_ = a.Close()
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "over server.max_send_bytes")) {
			t.Errorf("%q: %v", opts, err)
		}
	}
}
