package policy

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
)

// startRedis runs a throwaway redis-server on a free loopback port with a
// password and no persistence, and returns its address and password file.
// Without redis-server the test is skipped, except in CI, where it fails.
func startRedis(t *testing.T) (addr, passwordFile string) {
	t.Helper()
	addr, passwordFile, _ = startRedisProc(t)
	return addr, passwordFile
}

// startRedisProc is startRedis also returning the server's process id.
func startRedisProc(t *testing.T) (addr, passwordFile string, pid int) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed; make test installs the Debian package redis-server")
		}
		t.Skip("redis-server is not installed: apt-get install -y redis-server (or make deps)")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	_ = lis.Close()
	const password = "redis-test-secret"
	dir := t.TempDir()
	passwordFile = filepath.Join(dir, "redis.password")
	if err := os.WriteFile(passwordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--requirepass", password, "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: password})
	defer rdb.Close()
	deadline := time.Now().Add(lifetime)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer PING")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, passwordFile, cmd.Process.Pid
}

// TestSharedStateAcrossReplicas runs two bridges against one Redis: a rate
// limit holds across both, an idempotent call made on one is replayed by
// the other, and a cached reply is shared.
func TestSharedStateAcrossReplicas(t *testing.T) {
	t.Parallel()
	addr, pwFile := startRedis(t)
	up := newUpstream(t)
	extra := fmt.Sprintf(`routes:
- method: fault.v1.FaultService/GetItem
  policies:
    rate_limit: {rate: 0.001, burst: 2, max_wait: 0s}
    cache: {ttl: 1h}
state:
  backend: redis
  address: %s
  password: {file: %s}
`, addr, pwFile)
	a := startBridge(t, config(up.srv.URL, "dedup: {}\n", extra))
	b := startBridge(t, config(up.srv.URL, "dedup: {}\n", extra))

	// Idempotency key: the create runs once, on a; b replays it.
	first := a.call(ctx(t), t, "CreateItem", 7, "idempotency-key", "order-1")
	first.want(t, codes.OK, "", 1)
	replay := b.call(ctx(t), t, "CreateItem", 7, "idempotency-key", "order-1")
	replay.want(t, codes.OK, "", 0)
	if replay.field("name") != first.field("name") || len(replay.header.Get("x-protobridge-replay")) != 1 {
		t.Fatalf("replay %q (header %v), first %q", replay.field("name"), replay.header, first.field("name"))
	}
	b.call(ctx(t), t, "CreateItem", 8, "idempotency-key", "order-1").want(t, codes.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED", 0)
	if up.count() != 1 {
		t.Fatalf("upstream requests %d, want 1", up.count())
	}

	// Cache: a's reply is b's hit.
	a.call(ctx(t), t, "GetItem", 1).want(t, codes.OK, "", 1)
	hit := b.call(ctx(t), t, "GetItem", 1)
	hit.want(t, codes.OK, "", 0)
	if got := hit.header.Get("x-protobridge-cache"); len(got) != 1 || got[0] != "hit" {
		t.Fatalf("cache header %v", hit.header)
	}

	// Rate limit: a burst of 2 shared by both replicas; the cache hit took
	// no token, as the outbound limit counts attempts.
	a.call(ctx(t), t, "GetItem", 2).want(t, codes.OK, "", 1)
	b.call(ctx(t), t, "GetItem", 3).want(t, codes.ResourceExhausted, "RATE_LIMITED", 0)
	a.call(ctx(t), t, "GetItem", 4).want(t, codes.ResourceExhausted, "RATE_LIMITED", 0)
	if up.count() != 3 {
		t.Fatalf("upstream requests %d, want 3", up.count())
	}
}

// TestHungRedisFailsOpenQuickly stops redis-server (SIGSTOP: connections
// open but nothing answers, unlike a refused port) under a bridge with a
// cache, a rate limit and idempotency records. Cache and rate limit fail
// open, idempotency records fail closed with UNAVAILABLE STATE_UNAVAILABLE,
// and no call waits for the route timeout: a caller with a 3 s deadline is
// served, each call ends well within the 20 s route timeout (the bounds
// are hang detection, not speed), and the durations are logged.
func TestHungRedisFailsOpenQuickly(t *testing.T) {
	t.Parallel()
	addr, pwFile, pid := startRedisProc(t)
	up := newUpstream(t)
	extra := fmt.Sprintf(`routes:
- method: fault.v1.FaultService/GetItem
  policies:
    rate_limit: {rate: 1000, burst: 1000}
    cache: {ttl: 1h}
state:
  backend: redis
  address: %s
  password: {file: %s}
`, addr, pwFile)
	b := startBridge(t, config(up.srv.URL, "dedup: {}\n", extra))
	// Pooled connections to a live Redis first, as in production.
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.OK, "", 1)
	b.call(ctx(t), t, "CreateItem", 1, "idempotency-key", "warm").want(t, codes.OK, "", 1)

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	const hang = 10 * time.Second // far below the 20 s route timeout
	timed := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		d := time.Since(start)
		t.Logf("%s with Redis stopped: %v", name, d)
		if d > hang {
			t.Errorf("%s took %v with Redis stopped: it waited on Redis", name, d)
		}
	}
	for i := range 3 {
		timed(fmt.Sprintf("cached, rate-limited GetItem #%d", i+1), func() {
			b.call(ctx(t), t, "GetItem", int64(10+i)).want(t, codes.OK, "", 1)
		})
	}
	timed("GetItem with a 3 s deadline", func() {
		c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		b.call(c, t, "GetItem", 20).want(t, codes.OK, "", 1)
	})
	timed("CreateItem with an idempotency key", func() {
		b.call(ctx(t), t, "CreateItem", 2, "idempotency-key", "order-2").want(t, codes.Unavailable, "STATE_UNAVAILABLE", 0)
	})
	timed("CreateItem with an idempotency key and a 3 s deadline", func() {
		c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		b.call(c, t, "CreateItem", 3, "idempotency-key", "order-3").want(t, codes.Unavailable, "STATE_UNAVAILABLE", 0)
	})
	if up.count() != 2+4 {
		t.Errorf("upstream requests %d, want 6", up.count())
	}

	// Once Redis answers again, idempotency records work again.
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(lifetime)
	for i := 0; ; i++ {
		r := b.call(ctx(t), t, "CreateItem", 4, "idempotency-key", fmt.Sprintf("after-%d", i))
		if r.err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idempotency records still fail after SIGCONT: %v", r.err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
