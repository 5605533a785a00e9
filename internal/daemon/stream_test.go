package daemon

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/router"
)

// streamTable is policyTable for streams: the scripted adapter runs s for
// each stream opened.
func streamTable(t *testing.T, upstreamPolicies, routes string, s streamScript) *Table {
	t.Helper()
	currentStreamScript.Store(&s)
	t.Cleanup(func() { currentStreamScript.Store(nil) })
	return policyTable(t, upstreamPolicies, routes, failWith(0, nil))
}

// collected is the caller's side of a stream in these tests.
type collected struct{ sent []proto.Message }

func (c *collected) Recv() (proto.Message, error) { return nil, context.Canceled }
func (c *collected) Send(m proto.Message) error   { c.sent = append(c.sent, m); return nil }
func (c *collected) SetHeader(metadata.MD) error  { return nil }
func (c *collected) messages() int                { return len(c.sent) }

// watch opens shop.v1.ShopService/Watch through the router from peer ip.
func watch(ctx context.Context, tab *Table, ip string) (*Call, *collected, error) {
	r := router.New(tab, discard(), nil)
	route, _ := r.Route("shop.v1.ShopService/Watch")
	req := dynamicpb.NewMessage(route.Method.Input())
	req.Set(route.Method.Input().Fields().ByName("id"), protoreflect.ValueOfInt64(1))
	c := &Call{Route: route, Request: req, FrontDoor: "test", Peer: bridge.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}}}
	out := &collected{}
	err := r.Stream(ctx, c, out)
	return c, out, err
}

// sendTwo sends two items and ends the stream.
func sendTwo(_ context.Context, c *Call, s Stream, _ int) error {
	for i := range 2 {
		if err := s.Send(item(c.Route.Method, int64(i))); err != nil {
			return err
		}
	}
	return nil
}

func unavailable() error {
	return bridge.Errorf(codes.Unavailable, reason.UpstreamUnavailable, nil, "upstream shop is unavailable: connection refused")
}

func TestStreamOpenRetriedWhileNothingSent(t *testing.T) {
	tab := streamTable(t, fastRetry, "", func(ctx context.Context, c *Call, s Stream, n int) error {
		if n <= 2 {
			return bridge.NotSent(unavailable())
		}
		return sendTwo(ctx, c, s, n)
	})
	c, out, err := watch(context.Background(), tab, "10.0.0.1")
	if err != nil || out.messages() != 2 || c.Attempts() != 3 {
		t.Fatalf("got %v, %d messages after %d attempts; want OK, 2 after 3", err, out.messages(), c.Attempts())
	}
}

func TestStreamNotRetriedOnceSomethingPassed(t *testing.T) {
	tab := streamTable(t, fastRetry, "", func(ctx context.Context, c *Call, s Stream, n int) error {
		_ = s.Send(item(c.Route.Method, 1))
		return bridge.NotSent(unavailable())
	})
	c, out, err := watch(context.Background(), tab, "10.0.0.1")
	wantCode(t, err, codes.Unavailable, reason.UpstreamUnavailable)
	if c.Attempts() != 1 || out.messages() != 1 {
		t.Fatalf("%d attempts, %d messages; want 1 and 1: a stream that delivered must not be opened again", c.Attempts(), out.messages())
	}
}

func TestStreamUnsafeFailureNotRetried(t *testing.T) {
	tab := streamTable(t, fastRetry, "", func(context.Context, *Call, Stream, int) error { return unavailable() })
	c, _, err := watch(context.Background(), tab, "10.0.0.1")
	wantCode(t, err, codes.Unavailable, reason.UpstreamUnavailable)
	if c.Attempts() != 1 {
		t.Fatalf("%d attempts; a failure that may have reached a non-idempotent upstream is not repeated", c.Attempts())
	}
}

func TestStreamBreakerCountsFailedOpens(t *testing.T) {
	fail := true
	tab := streamTable(t, "circuit_breaker: {failures: 2, open_timeout: 1h}\n", "", func(ctx context.Context, c *Call, s Stream, n int) error {
		if fail {
			return unavailable()
		}
		return sendTwo(ctx, c, s, n)
	})
	for range 2 {
		_, _, err := watch(context.Background(), tab, "10.0.0.1")
		wantCode(t, err, codes.Unavailable, reason.UpstreamUnavailable)
	}
	fail = false
	_, _, err := watch(context.Background(), tab, "10.0.0.1")
	wantCode(t, err, codes.Unavailable, reason.CircuitOpen)
	if scriptCalls.Load() != 2 {
		t.Fatalf("the open circuit let a stream reach the upstream: %d opens", scriptCalls.Load())
	}
	if bs := tab.CircuitBreakers(); len(bs) != 1 || bs[0].State != "open" {
		t.Fatalf("breakers %+v", bs)
	}
}

func TestStreamBreakerIgnoresFailuresAfterOpen(t *testing.T) {
	tab := streamTable(t, "circuit_breaker: {failures: 1, open_timeout: 1h}\n", "", func(ctx context.Context, c *Call, s Stream, n int) error {
		_ = s.Send(item(c.Route.Method, 1))
		return unavailable() // the stream broke after it opened well
	})
	for range 3 {
		_, out, err := watch(context.Background(), tab, "10.0.0.1")
		wantCode(t, err, codes.Unavailable, reason.UpstreamUnavailable)
		if out.messages() != 1 {
			t.Fatalf("%d messages", out.messages())
		}
	}
	if bs := tab.CircuitBreakers(); len(bs) != 1 || bs[0].State != "closed" {
		t.Fatalf("breakers %+v: a stream that opened is a good open", bs)
	}
}

func TestStreamInboundRateLimit(t *testing.T) {
	tab := streamTable(t, "inbound_rate_limit: {rate: 0.001, burst: 1}\n", "", sendTwo)
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if _, _, err := watch(context.Background(), tab, ip); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := watch(context.Background(), tab, "10.0.0.1")
	wantCode(t, err, codes.ResourceExhausted, reason.RateLimited)
	if scriptCalls.Load() != 2 {
		t.Fatalf("%d opens, want 2", scriptCalls.Load())
	}
}

func TestStreamRouteTimeout(t *testing.T) {
	tab := streamTable(t, "", "- method: shop.v1.ShopService/Watch\n  timeout: 50ms\n", func(ctx context.Context, c *Call, s Stream, _ int) error {
		_ = s.Send(item(c.Route.Method, 1))
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, out, err := watch(ctx, tab, "10.0.0.1")
	wantCode(t, err, codes.DeadlineExceeded, reason.DeadlineExceeded)
	if out.messages() != 1 || ctx.Err() != nil {
		t.Fatalf("%d messages, caller's ctx %v: the route's timeout must end the stream", out.messages(), ctx.Err())
	}
}

func TestStreamPolicyThatCannotApplyIsAWarning(t *testing.T) {
	tab := streamTable(t, "", "- method: shop.v1.ShopService/Watch\n  policies: {dedup: {}}\n", sendTwo)
	var found bool
	for _, w := range tab.Warnings {
		found = found || strings.Contains(w.String(), "policies.dedup does not apply to streaming method shop.v1.ShopService/Watch")
	}
	if !found {
		t.Fatalf("warnings %v", tab.Warnings)
	}
}
