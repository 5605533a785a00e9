package bridge

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

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
	_, _, err = invoke(context.Background(), tab, "Slow", 1, metadata.Pairs(idempotencyKeyHeader, "k"))
	wantCode(t, err, codes.Unavailable, reasonStateFailed)
	if scriptCalls.Load() != 2 {
		t.Fatalf("upstream calls %d, want 2", scriptCalls.Load())
	}
}

func TestMemoryStoreExpiryAndBound(t *testing.T) {
	m := newMemoryStore(2)
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	_ = m.Set(ctx, "a", []byte("1"), time.Minute)
	if ok, _ := m.Add(ctx, "a", []byte("2"), time.Minute); ok {
		t.Fatal("Add replaced a live value")
	}
	now = now.Add(2 * time.Minute)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("expired value served")
	}
	if ok, _ := m.Add(ctx, "a", []byte("2"), time.Minute); !ok {
		t.Fatal("Add refused over an expired value")
	}
	_ = m.Set(ctx, "b", nil, time.Minute)
	_ = m.Set(ctx, "c", nil, time.Minute)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("the store grew past its bound")
	}
}
