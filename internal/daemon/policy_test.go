package daemon

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/router"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// script is what the "scripted" adapter answers; n counts the endpoint's
// calls in the test (from 1).
type script func(ctx context.Context, c *Call, n int) (proto.Message, error)

var (
	currentScript atomic.Pointer[script]
	scriptCalls   atomic.Int32
)

type scriptedAdapter struct{}

func init() {
	RegisterAdapter("scripted", func(*Upstream, *Env) (Adapter, error) { return scriptedAdapter{}, nil })
}

func (scriptedAdapter) Bind(*Route) (Endpoint, error) { return scriptedEndpoint{}, nil }
func (scriptedAdapter) Close() error                  { return nil }

type scriptedEndpoint struct{}

func (scriptedEndpoint) Unary(ctx context.Context, c *Call) (proto.Message, error) {
	n := int(scriptCalls.Add(1))
	return (*currentScript.Load())(ctx, c, n)
}

// streamScript is what the scripted adapter does for a stream; n counts
// the endpoint's calls in the test (from 1).
type streamScript func(ctx context.Context, c *Call, s Stream, n int) error

var currentStreamScript atomic.Pointer[streamScript]

func (scriptedEndpoint) Stream(ctx context.Context, c *Call, s Stream) error {
	f := currentStreamScript.Load()
	if f == nil {
		return status.Error(codes.Unimplemented, "no streams")
	}
	n := int(scriptCalls.Add(1))
	return (*f)(ctx, c, s, n)
}

// policyTable builds a table of the shop service served by the scripted
// adapter with the given upstream policies and routes: entries, open to
// every caller.
func policyTable(t *testing.T, upstreamPolicies, routes string, s script) *Table {
	t.Helper()
	currentScript.Store(&s)
	scriptCalls.Store(0)
	body := "auth: {open: true}\nupstreams:\n  shop:\n    kind: scripted\n    base_url: http://127.0.0.1:1\n"
	if upstreamPolicies != "" {
		body += "    policies:\n" + indent(upstreamPolicies, "      ")
	}
	if routes != "" {
		body += "routes:\n" + indent(routes, "  ")
	}
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tab, err := Build(context.Background(), cfg, discard())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { _ = tab.Close() })
	return tab
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// invoke calls a unary method of the table through its policy chain.
func invoke(ctx context.Context, tab *Table, method string, id int64, md metadata.MD) (*Call, proto.Message, error) {
	r := router.New(tab, discard(), nil)
	route, _ := r.Route("shop.v1.ShopService/" + method)
	in := route.Method.Input()
	req := dynamicpb.NewMessage(in)
	req.Set(in.Fields().Get(0), protoreflect.ValueOfInt64(id))
	c := &Call{Route: route, Request: req, Metadata: md, RequestID: "test", FrontDoor: "test"}
	if p, ok := peer.FromContext(ctx); ok {
		c.Peer = bridge.Peer{Addr: p.Addr}
	}
	resp, err := r.Unary(ctx, c)
	return c, resp, err
}

// failWith returns a script failing with err for the first n calls, then answering.
func failWith(n int, err error) script {
	return func(_ context.Context, c *Call, i int) (proto.Message, error) {
		if i <= n {
			return nil, err
		}
		return item(c.Route.Method, int64(i)), nil
	}
}

func upstreamErr(code codes.Code, reason string, details ...proto.Message) error {
	return bridge.Error(code, reason, map[string]string{"upstream": "shop"}, "upstream says no", details...)
}

func wantCode(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code || reasonOf(st) != reason {
		t.Fatalf("got %v / %q (%v), want %v / %q", st.Code(), reasonOf(st), err, code, reason)
	}
	return st
}

const fastRetry = "retry: {attempts: 4, initial_backoff: 1ms, max_backoff: 2ms}\n"

func TestRetryIdempotent(t *testing.T) {
	tab := policyTable(t, fastRetry, "- method: shop.v1.ShopService/GetItem\n  policies: {idempotent: true}\n",
		failWith(2, upstreamErr(codes.Internal, "UPSTREAM_HTTP_500")))
	c, resp, err := invoke(context.Background(), tab, "GetItem", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Attempts() != 3 || scriptCalls.Load() != 3 {
		t.Fatalf("attempts %d, calls %d, want 3", c.Attempts(), scriptCalls.Load())
	}
	if id := resp.ProtoReflect().Get(resp.ProtoReflect().Descriptor().Fields().ByName("id")).Int(); id != 3 {
		t.Fatalf("answer from call %d", id)
	}
}

func TestRetryGivesUpAfterAttempts(t *testing.T) {
	tab := policyTable(t, fastRetry, "- method: shop.v1.ShopService/GetItem\n  policies: {idempotent: true}\n",
		failWith(100, upstreamErr(codes.Unavailable, "UPSTREAM_UNAVAILABLE")))
	c, _, err := invoke(context.Background(), tab, "GetItem", 1, nil)
	wantCode(t, err, codes.Unavailable, "UPSTREAM_UNAVAILABLE")
	if c.Attempts() != 4 {
		t.Fatalf("attempts %d, want 4", c.Attempts())
	}
}

func TestRetryUnsafeOnlyWhenUnprocessed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		attempts int
	}{
		{"500 may have been processed", upstreamErr(codes.Internal, "UPSTREAM_HTTP_500"), 1},
		{"reset may have been processed", upstreamErr(codes.Unavailable, "UPSTREAM_UNAVAILABLE"), 1},
		{"not found is an answer", upstreamErr(codes.NotFound, "UPSTREAM_HTTP_404"), 1},
		{"503 was refused", bridge.NotSent(upstreamErr(codes.Unavailable, "UPSTREAM_HTTP_503")), 4},
		{"429 was refused", bridge.NotSent(upstreamErr(codes.ResourceExhausted, "UPSTREAM_HTTP_429")), 4},
		{"a bare 503 reason is not the mark", upstreamErr(codes.Unavailable, "UPSTREAM_HTTP_503"), 1},
		{"refused before sending", bridge.NotSent(upstreamErr(codes.Unavailable, "UPSTREAM_UNAVAILABLE")), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := policyTable(t, fastRetry, "", failWith(100, tc.err))
			c, _, err := invoke(context.Background(), tab, "Slow", 0, nil)
			if status.Code(err) != status.Code(tc.err) || c.Attempts() != tc.attempts {
				t.Fatalf("got %v after %d attempts, want %v after %d", err, c.Attempts(), status.Code(tc.err), tc.attempts)
			}
		})
	}
}

func TestRetryAfterBeyondDeadlineFailsAtOnce(t *testing.T) {
	busy := upstreamErr(codes.ResourceExhausted, "UPSTREAM_HTTP_429", &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Hour)})
	tab := policyTable(t, fastRetry, "", failWith(100, busy))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := invoke(ctx, tab, "Slow", 0, nil)
	st := wantCode(t, err, codes.ResourceExhausted, "UPSTREAM_HTTP_429")
	if d, ok := retryDelayOf(st); !ok || d != time.Hour {
		t.Fatalf("RetryInfo lost: %v", st.Details())
	}
	if c.Attempts() != 1 || ctx.Err() != nil {
		t.Fatalf("attempts %d, ctx %v: want one attempt and an early answer", c.Attempts(), ctx.Err())
	}
}

func TestRetryBudget(t *testing.T) {
	tab := policyTable(t, "retry: {attempts: 10, initial_backoff: 1h, budget: 1s}\n", "",
		failWith(100, upstreamErr(codes.Unavailable, "UPSTREAM_HTTP_503")))
	// Full jitter may draw a short wait; the budget cuts off any wait past
	// it, so the call ends long before an hour whatever is drawn.
	c, _, err := invoke(context.Background(), tab, "Slow", 0, nil)
	wantCode(t, err, codes.Unavailable, "UPSTREAM_HTTP_503")
	if c.Attempts() < 1 || c.Attempts() > 10 {
		t.Fatalf("attempts %d", c.Attempts())
	}
}

func TestBreakerOpensAndProbes(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	tab := policyTable(t, "circuit_breaker: {failures: 2, open_timeout: 20ms}\n", "",
		func(_ context.Context, c *Call, i int) (proto.Message, error) {
			if fail.Load() {
				return nil, upstreamErr(codes.Unavailable, "UPSTREAM_UNAVAILABLE")
			}
			return item(c.Route.Method, 1), nil
		})
	for range 2 {
		_, _, err := invoke(context.Background(), tab, "GetItem", 1, nil)
		wantCode(t, err, codes.Unavailable, "UPSTREAM_UNAVAILABLE")
	}
	c, _, err := invoke(context.Background(), tab, "GetItem", 1, nil)
	wantCode(t, err, codes.Unavailable, reason.CircuitOpen)
	if c.Attempts() != 0 || scriptCalls.Load() != 2 {
		t.Fatalf("open circuit reached the upstream: attempts %d, calls %d", c.Attempts(), scriptCalls.Load())
	}
	if bs := tab.CircuitBreakers(); len(bs) != 1 || bs[0].Scope != "upstream:shop" || bs[0].State != "open" {
		t.Fatalf("breakers %+v", bs)
	}
	waitState(t, tab, "half-open")
	fail.Store(false)
	if _, _, err := invoke(context.Background(), tab, "Slow", 0, nil); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if bs := tab.CircuitBreakers(); bs[0].State != "closed" {
		t.Fatalf("after a good probe: %+v", bs)
	}
}

// waitState polls until the breaker reaches state (it moves on its own clock).
func waitState(t *testing.T, tab *Table, state string) {
	t.Helper()
	for range 1000 {
		if tab.CircuitBreakers()[0].State == state {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("breaker never became %s: %+v", state, tab.CircuitBreakers())
}

func TestBreakerIgnoresAnswers(t *testing.T) {
	tab := policyTable(t, "circuit_breaker: {failures: 1}\n", "", failWith(100, upstreamErr(codes.NotFound, "UPSTREAM_HTTP_404")))
	for range 3 {
		_, _, err := invoke(context.Background(), tab, "GetItem", 1, nil)
		wantCode(t, err, codes.NotFound, "UPSTREAM_HTTP_404")
	}
}

func TestRouteBreakerOfItsOwn(t *testing.T) {
	tab := policyTable(t, "circuit_breaker: {failures: 5}\n",
		"- method: shop.v1.ShopService/Slow\n  policies:\n    circuit_breaker: {failures: 1}\n",
		failWith(100, upstreamErr(codes.Internal, "UPSTREAM_HTTP_500")))
	for range 2 {
		_, _, _ = invoke(context.Background(), tab, "Slow", 0, nil)
	}
	bs := tab.CircuitBreakers()
	if len(bs) != 2 || bs[0].Scope != "route:shop.v1.ShopService/Slow" || bs[0].State != "open" || bs[1].State != "closed" {
		t.Fatalf("breakers %+v", bs)
	}
}

func TestFallbackStatic(t *testing.T) {
	tab := policyTable(t, "circuit_breaker: {failures: 1}\n",
		"- method: shop.v1.ShopService/GetItem\n  policies:\n    fallback: {static: {id: \"42\", name: spare}}\n",
		failWith(100, upstreamErr(codes.Unavailable, "UPSTREAM_UNAVAILABLE")))
	for i := range 2 { // the second is refused by the open circuit
		c, resp, err := invoke(context.Background(), tab, "GetItem", 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ResponseHeader().Get("x-protobridge-fallback"); len(got) != 1 || got[0] != "static" {
			t.Fatalf("call %d: header %v", i, got)
		}
		if name := resp.ProtoReflect().Get(resp.ProtoReflect().Descriptor().Fields().ByName("name")).String(); name != "spare" {
			t.Fatalf("response %v", resp)
		}
	}
	if scriptCalls.Load() != 1 {
		t.Fatalf("upstream calls %d, want 1 (then open)", scriptCalls.Load())
	}
}

func TestFallbackStaticChecked(t *testing.T) {
	body := "auth: {open: true}\nupstreams:\n  shop: {kind: scripted, base_url: http://127.0.0.1:1}\nroutes:\n- method: shop.v1.ShopService/GetItem\n  policies:\n    fallback: {static: {nope: 1}}\n"
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(context.Background(), cfg, discard())
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Pos.Line != 8 || !strings.Contains(ps[0].Msg, "shop.v1.Item") {
		t.Fatalf("got %v", err)
	}
}

func TestFallbackStale(t *testing.T) {
	var fail atomic.Bool
	tab := policyTable(t, "fallback: {stale: true}\n", "", func(_ context.Context, c *Call, i int) (proto.Message, error) {
		if fail.Load() {
			return nil, upstreamErr(codes.Unavailable, "UPSTREAM_UNAVAILABLE")
		}
		return item(c.Route.Method, int64(100+i)), nil
	})
	if _, _, err := invoke(context.Background(), tab, "GetItem", 7, nil); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	c, resp, err := invoke(context.Background(), tab, "GetItem", 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ResponseHeader().Get("x-protobridge-fallback"); len(got) != 1 || got[0] != "stale" {
		t.Fatalf("header %v", got)
	}
	if id := resp.ProtoReflect().Get(resp.ProtoReflect().Descriptor().Fields().ByName("id")).Int(); id != 101 {
		t.Fatalf("stale answer %v", resp)
	}
	// Another request has no good response to fall back on.
	_, _, err = invoke(context.Background(), tab, "GetItem", 8, nil)
	wantCode(t, err, codes.Unavailable, "UPSTREAM_UNAVAILABLE")
	// Answers are not failures: no fallback.
	currentScript.Store(ptr(failWith(100, upstreamErr(codes.NotFound, "UPSTREAM_HTTP_404"))))
	_, _, err = invoke(context.Background(), tab, "GetItem", 7, nil)
	wantCode(t, err, codes.NotFound, "UPSTREAM_HTTP_404")
}

func ptr[T any](v T) *T { return &v }

func TestOutboundRateLimit(t *testing.T) {
	tab := policyTable(t, "rate_limit: {rate: 0.001, burst: 2, max_wait: 10ms}\n", "", failWith(0, nil))
	for range 2 {
		if _, _, err := invoke(context.Background(), tab, "GetItem", 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	c, _, err := invoke(context.Background(), tab, "Slow", 1, nil)
	st := wantCode(t, err, codes.ResourceExhausted, reason.RateLimited)
	if d, ok := retryDelayOf(st); !ok || d < time.Minute {
		t.Fatalf("RetryInfo %v", st.Details())
	}
	if c.Attempts() != 0 || scriptCalls.Load() != 2 {
		t.Fatalf("limited call reached the upstream")
	}
}

func TestOutboundRateLimitWaitsWithinDeadline(t *testing.T) {
	// 1000/s: the second call waits about a millisecond for its token.
	tab := policyTable(t, "rate_limit: {rate: 1000, burst: 1}\n", "", failWith(0, nil))
	for range 3 {
		if _, _, err := invoke(context.Background(), tab, "GetItem", 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A deadline shorter than the wait is refused at once.
	slow := policyTable(t, "rate_limit: {rate: 0.01, burst: 1}\n", "", failWith(0, nil))
	_, _, _ = invoke(context.Background(), slow, "GetItem", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, err := invoke(ctx, slow, "GetItem", 1, nil)
	wantCode(t, err, codes.ResourceExhausted, reason.RateLimited)
}

func TestRateLimitQueueBound(t *testing.T) {
	tab := policyTable(t, "rate_limit: {rate: 0.1, burst: 1, queue: 1}\n", "", failWith(0, nil))
	_, _, _ = invoke(context.Background(), tab, "GetItem", 1, nil) // takes the only token
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, _, err := invoke(ctx, tab, "GetItem", 1, nil); done <- err }()
	waitFor(t, func() bool { return tab.QueueDepths()["outbound:upstream:shop"] == 1 })
	_, _, err := invoke(context.Background(), tab, "GetItem", 1, nil)
	wantCode(t, err, codes.ResourceExhausted, reason.RateLimited)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued call: %v", err)
	}
}

func TestInboundRateLimitPerCaller(t *testing.T) {
	tab := policyTable(t, "inbound_rate_limit: {rate: 0.001, burst: 1}\n", "", failWith(0, nil))
	// The table is open, so callers are told apart by their peer address.
	from := func(ip string) context.Context {
		return peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1234}})
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if _, _, err := invoke(from(ip), tab, "GetItem", 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := invoke(from("10.0.0.1"), tab, "Slow", 1, nil)
	st := wantCode(t, err, codes.ResourceExhausted, reason.RateLimited)
	if d, ok := retryDelayOf(st); !ok || d <= 0 {
		t.Fatalf("RetryInfo %v", st.Details())
	}
}

func TestCache(t *testing.T) {
	tab := policyTable(t, "", "- method: shop.v1.ShopService/GetItem\n  policies: {idempotent: true, cache: {ttl: 1h}}\n", func(_ context.Context, c *Call, i int) (proto.Message, error) {
		if i == 3 {
			return nil, upstreamErr(codes.NotFound, "UPSTREAM_HTTP_404")
		}
		return item(c.Route.Method, int64(i)), nil
	})
	_, first, err := invoke(context.Background(), tab, "GetItem", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, again, err := invoke(context.Background(), tab, "GetItem", 1, nil)
	if err != nil || !proto.Equal(first, again) || scriptCalls.Load() != 1 || c.Attempts() != 0 {
		t.Fatalf("second call: %v, %v vs %v, %d calls", err, again, first, scriptCalls.Load())
	}
	if got := c.ResponseHeader().Get("x-protobridge-cache"); len(got) != 1 || got[0] != "hit" {
		t.Fatalf("header %v", got)
	}
	if _, _, err := invoke(context.Background(), tab, "GetItem", 2, nil); err != nil { // another key
		t.Fatal(err)
	}
	// Errors are not cached by default.
	for range 2 {
		_, _, _ = invoke(context.Background(), tab, "GetItem", 3, nil)
	}
	if scriptCalls.Load() != 4 {
		t.Fatalf("calls %d, want 4", scriptCalls.Load())
	}
}

func TestCacheNeedsIdempotentRoute(t *testing.T) {
	body := "auth: {open: true}\nupstreams:\n  shop: {kind: scripted, base_url: http://127.0.0.1:1}\nroutes:\n- method: shop.v1.ShopService/Slow\n  policies: {cache: {}}\n"
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), cfg, discard()); err == nil || !strings.Contains(err.Error(), "not idempotent") {
		t.Fatalf("got %v", err)
	}
}

func TestSingleflight(t *testing.T) {
	release := make(chan struct{})
	tab := policyTable(t, "", "- method: shop.v1.ShopService/GetItem\n  policies: {idempotent: true, dedup: {}}\n", func(_ context.Context, c *Call, i int) (proto.Message, error) {
		<-release
		return item(c.Route.Method, int64(i)), nil
	})
	const n = 8
	var wg sync.WaitGroup
	resps := make([]proto.Message, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, resps[i], _ = invoke(context.Background(), tab, "GetItem", 1, nil)
		}()
	}
	// Every caller is parked in the dedup middleware's select, waiting for
	// the shared call (a caller merely passing through the middleware, say
	// still hashing its request, would join after the call ended).
	waitFor(t, func() bool {
		buf := make([]byte, 1<<20)
		waiting := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, " [select") && strings.Contains(g, "flightMiddleware.func1.1(") {
				waiting++
			}
		}
		return waiting == n
	})
	close(release)
	wg.Wait()
	if scriptCalls.Load() != 1 {
		t.Fatalf("calls %d, want 1", scriptCalls.Load())
	}
	for i, r := range resps {
		if r == nil {
			t.Fatalf("caller %d got nothing", i)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	tab := policyTable(t, "dedup: {}\n", "", func(_ context.Context, c *Call, i int) (proto.Message, error) {
		return item(c.Route.Method, int64(i)), nil
	})
	md := metadata.Pairs("idempotency-key", "k1")
	_, first, err := invoke(context.Background(), tab, "Slow", 5, md)
	if err != nil {
		t.Fatal(err)
	}
	c, replay, err := invoke(context.Background(), tab, "Slow", 5, md)
	if err != nil || !proto.Equal(first, replay) || scriptCalls.Load() != 1 {
		t.Fatalf("replay: %v %v, calls %d", err, replay, scriptCalls.Load())
	}
	if got := c.ResponseHeader().Get("x-protobridge-replay"); len(got) != 1 {
		t.Fatalf("header %v", c.ResponseHeader())
	}
	_, _, err = invoke(context.Background(), tab, "Slow", 6, md)
	wantCode(t, err, codes.FailedPrecondition, reason.IdempotencyKeyReused)
	// Without a key, or with another, the call runs.
	for _, m := range []metadata.MD{nil, metadata.Pairs("idempotency-key", "k2")} {
		if _, _, err := invoke(context.Background(), tab, "Slow", 5, m); err != nil {
			t.Fatal(err)
		}
	}
	if scriptCalls.Load() != 3 {
		t.Fatalf("calls %d, want 3", scriptCalls.Load())
	}
}

func TestIdempotencyKeyUnprocessedNotStored(t *testing.T) {
	tab := policyTable(t, "dedup: {}\n", "", failWith(1, bridge.NotSent(upstreamErr(codes.Unavailable, "UPSTREAM_HTTP_503"))))
	md := metadata.Pairs("idempotency-key", "k1")
	_, _, err := invoke(context.Background(), tab, "Slow", 5, md)
	wantCode(t, err, codes.Unavailable, "UPSTREAM_HTTP_503")
	if _, _, err := invoke(context.Background(), tab, "Slow", 5, md); err != nil {
		t.Fatalf("retry under the same key: %v", err)
	}
	// A processed failure is stored and replayed.
	tab = policyTable(t, "dedup: {}\n", "", failWith(1, upstreamErr(codes.InvalidArgument, "UPSTREAM_HTTP_400")))
	for range 2 {
		_, _, err = invoke(context.Background(), tab, "Slow", 5, md)
		wantCode(t, err, codes.InvalidArgument, "UPSTREAM_HTTP_400")
	}
	if scriptCalls.Load() != 1 {
		t.Fatalf("calls %d", scriptCalls.Load())
	}
}

func TestIdempotencyKeyInProgress(t *testing.T) {
	release := make(chan struct{})
	tab := policyTable(t, "dedup: {}\n", "", func(_ context.Context, c *Call, i int) (proto.Message, error) {
		<-release
		return item(c.Route.Method, 1), nil
	})
	md := metadata.Pairs("idempotency-key", "k1")
	done := make(chan error)
	go func() { _, _, err := invoke(context.Background(), tab, "Slow", 5, md); done <- err }()
	waitFor(t, func() bool { return scriptCalls.Load() == 1 })
	_, _, err := invoke(context.Background(), tab, "Slow", 5, md)
	st := wantCode(t, err, codes.Aborted, reason.IdempotencyKeyInProgress)
	if _, ok := retryDelayOf(st); !ok {
		t.Fatal("no RetryInfo")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPolicyConfigProblems(t *testing.T) {
	body := `upstreams:
  shop:
    kind: scripted
    base_url: http://127.0.0.1:1
    policies:
      retry: {attempts: 3, bogus: 1}
      rate_limit: {rate: 0}
routes:
- method: shop.v1.ShopService/GetItem
  policies:
    cache: {errors: [NOPE]}
    retry: {on: [lower]}
state: {backend: etcd}
`
	_, err := LoadConfig(writeConfig(t, body))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v", err)
	}
	want := []string{
		`:9: unknown key "bogus"`,
		`:10: rate_limit: rate must be a positive`,
		`:14: cache: errors: "NOPE" is not a gRPC code name`,
		`:15: retry.on: "lower" is neither`,
		`:16: state: backend "etcd" is not known`,
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
}
