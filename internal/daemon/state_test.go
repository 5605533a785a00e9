package daemon

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/bridge/reason"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// TestRedisDownFailsOpenExceptIdempotency points the state at a port where
// nothing listens: cache and rate limits let calls through, idempotency
// keys fail closed.
func TestRedisDownFailsOpenExceptIdempotency(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	_ = lis.Close()
	s := failWith(0, nil)
	currentScript.Store(&s)
	scriptCalls.Store(0)
	body := "auth: {open: true}\nstate: {backend: redis, address: 127.0.0.1:" + strconv.Itoa(port) + "}\n" +
		"upstreams:\n  shop:\n    kind: scripted\n    base_url: http://127.0.0.1:1\n    policies: {dedup: {}, rate_limit: {rate: 0.001, burst: 1}}\n" +
		"routes:\n- method: shop.v1.ShopService/GetItem\n  policies: {idempotent: true, cache: {}}\n"
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Build(context.Background(), cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = tab.Close()
		// go-redis keeps redialling in the background for up to a second
		// after a failed dial; let it notice the closed pool.
		waitFor(t, func() bool {
			buf := make([]byte, 1<<20)
			return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "pool.(*ConnPool).tryDial")
		})
	}()
	for range 2 {
		if _, _, err := invoke(context.Background(), tab, "GetItem", 1, nil); err != nil {
			t.Fatalf("with Redis down: %v", err)
		}
	}
	_, _, err = invoke(context.Background(), tab, "Slow", 1, metadata.Pairs("idempotency-key", "k"))
	wantCode(t, err, codes.Unavailable, reason.StateUnavailable)
	if scriptCalls.Load() != 2 {
		t.Fatalf("upstream calls %d, want 2", scriptCalls.Load())
	}
}
