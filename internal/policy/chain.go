// Package policy builds each route's middleware chain — authentication and
// allow rules, rate limits, validation, cache, dedup and idempotency
// records, fallback, timeout, retries, circuit breaker — and holds the
// state a route table's routes share (breakers, queues, the state store).
package policy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/state"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// Set holds what a table's routes share: the authenticator, the state
// store, circuit breakers, rate-limit queues and in-flight calls. One per
// route table; a reload starts afresh (the Redis store's state survives it).
type Set struct {
	auth   *auth.Authenticator
	store  state.Store
	tel    *telemetry.Telemetry
	tracer trace.Tracer
	group  singleflight.Group
	pm     *policyMetrics

	mu       sync.Mutex
	breakers map[string]*breaker
	queues   map[string]*atomic.Int64
}

// New builds the policy state of a route table from its config.
func New(cfg *config.Config, tel *telemetry.Telemetry, log *slog.Logger) (*Set, error) {
	if cfg.Auth.MTLS != nil && (cfg.Server.TLS == nil || cfg.Server.TLS.ClientAuth == "" || cfg.Server.TLS.ClientAuth == "none") {
		return nil, errors.New("auth.mtls needs server.tls with client_auth: require or request")
	}
	a, err := auth.New(cfg.Auth, cfg.BaseDir, log)
	if err != nil {
		return nil, err
	}
	store, err := state.New(cfg.State, cfg.BaseDir)
	if err != nil {
		a.Close()
		return nil, err
	}
	return &Set{auth: a, store: store, tel: tel, tracer: tel.Tracer(), pm: policyMetricsOf(tel.M()),
		breakers: map[string]*breaker{}, queues: map[string]*atomic.Int64{}}, nil
}

// Chain is what a route's calls run through.
type Chain struct {
	// Unary and Stream are the route's handlers, endpoint included.
	Unary  bridge.Handler
	Stream bridge.StreamHandler
	// Guard is the route's authentication, for front doors that list
	// routes to a caller (only those it may call).
	Guard *auth.Guard
	// Warnings are policies set on the route that cannot apply to it (a
	// cache on a stream), for check to print.
	Warnings []string
}

// Chain wraps a route's endpoint with its middleware, outermost first:
// authentication and allow rules, inbound rate limit, validation, cache,
// dedup, fallback, the timeout, extra, retries, outbound rate limit,
// circuit breaker, then the attempt counter next to the endpoint.
// upstream and own are the upstream's and the route's policies blocks
// (nil when absent). Streams get what applies at stream open: the guard,
// the inbound rate limit, the route's timeout, retries of an open that
// sent nothing, the outbound rate limit and the circuit breaker.
func (p *Set) Chain(r *bridge.Route, upstream, own *config.PolicyConfig, ep bridge.Endpoint, extra ...bridge.Middleware) (*Chain, error) {
	rp := resolvePolicy(r, upstream, own)
	guard, err := p.auth.Guard(r.Open, rp.cfg.Allow)
	if err != nil {
		return nil, err
	}
	if r.Method.IsStreamingClient() || r.Method.IsStreamingServer() {
		return p.streamChain(r, rp, guard, ep)
	}
	cache, err := p.cacheMiddleware(rp)
	if err != nil {
		return nil, err
	}
	fallback, err := p.fallbackMiddleware(rp)
	if err != nil {
		return nil, err
	}
	validate, err := validateMiddleware(rp)
	if err != nil {
		return nil, err
	}
	mws := []bridge.Middleware{guard.Middleware, p.span("inbound_rate_limit", p.limitMiddleware(rp, true)),
		p.span("validate", validate), p.span("cache", cache), p.span("dedup", p.dedupMiddleware(rp)),
		p.span("fallback", fallback), timeoutMiddleware}
	mws = append(mws, extra...)
	mws = append(mws, p.span("retry", retryMiddleware(rp)), p.span("rate_limit", p.limitMiddleware(rp, false)),
		p.span("circuit_breaker", p.breakerMiddleware(rp)), p.attemptMiddleware)
	return &Chain{Unary: bridge.Chain(ep.Unary, mws...), Stream: guard.Stream(ep.Stream), Guard: guard}, nil
}

// span gives a policy that is set a span (protobridge.policy.<name>)
// around what it does and what it calls, when tracing is on.
func (p *Set) span(name string, m bridge.Middleware) bridge.Middleware {
	if m == nil || !p.tel.Tracing() {
		return m
	}
	return func(next bridge.Handler) bridge.Handler {
		h := m(next)
		return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
			ctx, sp := p.tracer.Start(ctx, "protobridge.policy."+name)
			resp, err := h(ctx, c)
			if err != nil {
				sp.SetStatus(otelcodes.Error, status.Code(err).String())
			}
			sp.End()
			return resp, err
		}
	}
}

// attemptMiddleware sits next to the endpoint: it counts attempts on the
// call and records each attempt's duration, outcome and span.
func (p *Set) attemptMiddleware(next bridge.Handler) bridge.Handler {
	m, tracing := p.tel.M(), p.tel.Tracing()
	return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
		n := c.CountAttempt()
		var span trace.Span = noop.Span{}
		if tracing {
			ctx, span = p.tracer.Start(ctx, "protobridge.upstream", trace.WithAttributes(
				attribute.String("protobridge.method", c.Route.Name()),
				attribute.String("protobridge.upstream", c.Route.Upstream.Name),
				attribute.String("protobridge.front_door", c.FrontDoor),
				attribute.Int("protobridge.attempt", n)))
		}
		start := time.Now()
		resp, err := next(ctx, c)
		code := status.Code(StatusError(ctx, err))
		if err != nil {
			span.SetStatus(otelcodes.Error, code.String())
		}
		span.End()
		if m != nil {
			m.ObserveAttempt(c.Route.Name(), c.Route.Upstream.Name, code, time.Since(start))
		}
		return resp, err
	}
}

// timeoutMiddleware bounds the call by the route's (or upstream's) timeout;
// the caller's deadline, when sooner, wins.
func timeoutMiddleware(next bridge.Handler) bridge.Handler {
	return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
		d := c.Route.Timeout
		if d <= 0 && c.Route.Upstream != nil {
			d = c.Route.Upstream.Timeout
		}
		if d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return next(ctx, c)
	}
}

// StatusError makes sure what reaches a caller is a gRPC status: context
// errors become DEADLINE_EXCEEDED or CANCELLED, anything else INTERNAL.
func StatusError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return bridge.Wrap(err, codes.DeadlineExceeded, reason.DeadlineExceeded, nil, "deadline exceeded")
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return bridge.Wrap(err, codes.Canceled, reason.Cancelled, nil, "call cancelled")
	}
	return bridge.Wrap(err, codes.Internal, reason.Internal, nil, "%v", err)
}

// Auth is the inbound authenticator of the set's routes.
func (p *Set) Auth() *auth.Authenticator { return p.auth }

// Close releases the policy state (connections to shared stores, JWKS
// refreshes).
func (p *Set) Close() error {
	p.auth.Close()
	return p.store.Close()
}
