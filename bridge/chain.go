package bridge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// policies holds what a table's routes share: the authenticator, the state
// store, circuit breakers, rate-limit queues and in-flight calls. One per
// Table; a reload starts afresh (the Redis store's state survives it).
type policies struct {
	auth   *authenticator
	store  stateStore
	routes map[string]*PolicyConfig // routes: entries' policies, by method
	group  singleflight.Group

	mu       sync.Mutex
	pm       *policyMetrics
	breakers map[string]*breaker
	queues   map[string]*atomic.Int64
}

// newPolicies builds the policy state of a table from its config.
func newPolicies(cfg *Config) (*policies, error) {
	if cfg.Auth.MTLS != nil && (cfg.Server.TLS == nil || cfg.Server.TLS.ClientAuth == "" || cfg.Server.TLS.ClientAuth == "none") {
		return nil, errors.New("auth.mtls needs server.tls with client_auth: require or request")
	}
	auth, err := newAuthenticator(cfg.Auth, cfg.BaseDir)
	if err != nil {
		return nil, err
	}
	store, err := newStateStore(cfg.State, cfg.BaseDir)
	if err != nil {
		auth.close()
		return nil, err
	}
	p := &policies{auth: auth, store: store, routes: map[string]*PolicyConfig{},
		breakers: map[string]*breaker{}, queues: map[string]*atomic.Int64{}}
	for _, rc := range cfg.Routes {
		if rc != nil && rc.Policies != nil {
			p.routes[strings.TrimPrefix(rc.Method, "/")] = rc.Policies
		}
	}
	return p, nil
}

// chain wraps a route's endpoint with its middleware, outermost first:
// authentication and allow rules, inbound rate limit, validation, cache, dedup, fallback, the timeout,
// the options' middleware, retries, outbound rate limit, circuit breaker,
// then the send tracer and attempt counter next to the endpoint. Streams
// get authentication only.
func (p *policies) chain(r *Route, ep Endpoint, o options, tracer trace.Tracer) (Handler, StreamHandler, error) {
	p.mu.Lock()
	if p.pm == nil {
		p.pm = policyMetricsOf(o.metrics)
	}
	p.mu.Unlock()
	rp := resolvePolicy(r, p.routes[r.Name()])
	guard, err := p.auth.guardFor(rp)
	if err != nil {
		return nil, nil, err
	}
	cache, err := p.cacheMiddleware(rp)
	if err != nil {
		return nil, nil, err
	}
	fallback, err := p.fallbackMiddleware(rp)
	if err != nil {
		return nil, nil, err
	}
	validate, err := validateMiddleware(rp)
	if err != nil {
		return nil, nil, err
	}
	var mws []Middleware
	add := func(ms ...Middleware) {
		for _, m := range ms {
			if m != nil {
				mws = append(mws, m)
			}
		}
	}
	// With tracing on, each policy that is set gets a span
	// (protobridge.policy.<name>) around what it does and what it calls.
	span := func(name string, m Middleware) Middleware {
		if m == nil || o.tracer == nil {
			return m
		}
		return func(next Handler) Handler {
			h := m(next)
			return func(ctx context.Context, c *Call) (proto.Message, error) {
				ctx, sp := tracer.Start(ctx, "protobridge.policy."+name)
				resp, err := h(ctx, c)
				if err != nil {
					sp.SetStatus(otelcodes.Error, status.Code(err).String())
				}
				sp.End()
				return resp, err
			}
		}
	}
	retry, dedup := retryMiddleware(rp), p.dedupMiddleware(rp)
	// Watching whether a request left (an httptrace per attempt) only
	// matters to retries and idempotency records; other routes skip it.
	var sent Middleware
	if retry != nil || dedup != nil {
		sent = traceSend
	}
	add(guard.middleware, span("inbound_rate_limit", p.limitMiddleware(rp, true)), span("validate", validate), span("cache", cache),
		span("dedup", dedup), span("fallback", fallback), timeoutMiddleware)
	add(o.middleware...)
	add(span("retry", retry), span("rate_limit", p.limitMiddleware(rp, false)), span("circuit_breaker", p.breakerMiddleware(rp)),
		sent, attemptMiddleware(o.metrics, tracer))
	return Chain(ep.Unary, mws...), guard.stream(ep.Stream), nil
}

// Close releases the policy state (connections to shared stores, JWKS
// refreshes).
func (p *policies) Close() error {
	p.auth.close()
	return p.store.Close()
}
