package state

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protobridge/protobridge/internal/config"
)

// silentServer accepts connections and reads what is sent without ever
// answering, as a stopped (SIGSTOP) Redis does; it counts the bytes.
func silentServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				close(done)
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				got.Add(n)
			}()
		}
	}()
	t.Cleanup(func() { _ = lis.Close(); <-done })
	return lis.Addr().String(), &got
}

// TestSilentRedisFailsFastAfterOneTimeout: an operation against a Redis
// that never answers fails within the per-operation bound; the next ones,
// for a while, fail at once without sending anything, so a call making
// several pays the bound once. A caller giving up does not mark the store
// down.
func TestSilentRedisFailsFastAfterOneTimeout(t *testing.T) {
	addr, sent := silentServer(t)
	s, err := newRedisStore(config.StateConfig{Backend: "redis", Address: addr}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	s.now = func() time.Time { return now }
	ctx := context.Background()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Get(cancelled, "k"); err == nil {
		t.Fatal("Get with a cancelled context succeeded")
	}
	if s.downUntil.Load() != 0 {
		t.Fatal("a caller's cancellation marked the store down")
	}

	done := make(chan error, 1)
	go func() { _, _, err := s.Get(ctx, "k"); done <- err }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("first Get: %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Get against a silent Redis hung")
	}
	before := sent.Load()
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second Get: %v, want ErrUnavailable", err)
	}
	if err := s.Set(ctx, "k", nil, time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set: %v", err)
	}
	if _, err := s.Add(ctx, "k", nil, time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Add: %v", err)
	}
	if _, _, err := s.Reserve(ctx, "k", 1, 1, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Reserve: %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Delete: %v", err)
	}
	if sent.Load() != before {
		t.Fatal("operations while marked down reached Redis")
	}
	// Once the pause is over, Redis is tried again.
	now = now.Add(redisDownFor + time.Millisecond)
	if _, _, err := s.Get(ctx, "k"); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get after the pause: %v, want a timeout", err)
	}
}
