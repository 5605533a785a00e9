package policy

import (
	"context"
	"errors"
	"sort"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// breaker is one circuit breaker, shared by the routes of its scope.
type breaker struct {
	scope string
	cb    *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// breakerMiddleware returns the route's circuit breaker, nil when off.
// Routes of an upstream share its breaker unless they configure their own.
func (p *Set) breakerMiddleware(rp *routePolicy) bridge.Middleware {
	b := p.breakerFor(rp)
	if b == nil {
		return nil
	}
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, call *bridge.Call) (proto.Message, error) {
			done, err := b.allow(call)
			if err != nil {
				return nil, err
			}
			defer func() {
				if p := recover(); p != nil {
					done(errPanicked)
					panic(p)
				}
			}()
			resp, err := next(ctx, call)
			done(err)
			return resp, err
		}
	}
}

// errPanicked is what the breaker counts for an attempt that panicked.
var errPanicked = bridge.Errorf(codes.Internal, reason.Internal, nil, "the adapter panicked")

// breakerFor returns the route's circuit breaker, nil when off.
func (p *Set) breakerFor(rp *routePolicy) *breaker {
	c := rp.cfg.CircuitBreaker
	if c == nil || c.Off {
		return nil
	}
	scope := rp.scope(rp.own != nil && rp.own.CircuitBreaker != nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.breakers[scope]
	if b == nil {
		b = newBreaker(scope, *c, p.pm)
		p.breakers[scope] = b
	}
	return b
}

// allow asks the breaker whether an attempt may go; the caller reports
// the attempt's outcome to done.
func (b *breaker) allow(call *bridge.Call) (done func(error), err error) {
	done, err = b.cb.Allow()
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		upstream := call.Route.Upstream.Name
		return nil, bridge.Errorf(codes.Unavailable, reason.CircuitOpen, map[string]string{"upstream": upstream, "method": call.Route.Name(), "breaker": b.scope},
			"circuit breaker for %s is open: upstream %s keeps failing", b.scope, upstream)
	}
	return done, err
}

func newBreaker(scope string, c config.BreakerPolicy, pm *policyMetrics) *breaker {
	failures := c.Failures
	if failures == 0 {
		failures = config.DefaultBreakerFailures
	}
	minRequests := c.MinRequests
	if minRequests == 0 {
		minRequests = config.DefaultBreakerMinRequests
	}
	st := gobreaker.Settings{
		Name:        scope,
		MaxRequests: max(c.HalfOpenRequests, 1),
		Interval:    c.Interval,
		Timeout:     c.OpenTimeout,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			if n.ConsecutiveFailures >= failures {
				return true
			}
			return c.FailureRatio > 0 && n.Requests >= minRequests && float64(n.TotalFailures) >= c.FailureRatio*float64(n.Requests)
		},
		IsSuccessful: func(err error) bool { return !breakerFailure(err) },
		IsExcluded: func(err error) bool {
			return status.Code(err) == codes.Canceled || errors.Is(err, context.Canceled)
		},
		OnStateChange: func(_ string, _, to gobreaker.State) { pm.breakerState(scope, to) },
	}
	if st.Interval == 0 {
		st.Interval = config.DefaultBreakerInterval
	}
	if st.Timeout == 0 {
		st.Timeout = config.DefaultBreakerOpenTimeout
	}
	pm.breakerState(scope, gobreaker.StateClosed)
	return &breaker{scope: scope, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
}

// breakerFailure says whether an attempt's failure counts against the
// upstream: it is down, slow or broken, not merely answering "no".
func breakerFailure(err error) bool {
	if err == nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.DataLoss:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// BreakerState is the state of one circuit breaker.
type BreakerState struct {
	// Scope names what the breaker guards: "upstream:NAME", or
	// "route:package.Service/Method" for a route with a breaker of its own.
	Scope string
	// State is "closed", "half-open" or "open".
	State string
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures uint32
}

// CircuitBreakers returns the state of the set's circuit breakers,
// sorted by scope.
func (p *Set) CircuitBreakers() []BreakerState {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]BreakerState, 0, len(p.breakers))
	for scope, b := range p.breakers {
		out = append(out, BreakerState{Scope: scope, State: b.cb.State().String(), ConsecutiveFailures: b.cb.Counts().ConsecutiveFailures})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out
}
