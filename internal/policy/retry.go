package policy

import (
	"context"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// defaultRetryOn are the failures on which idempotent methods are retried.
var defaultRetryOn = []string{"UNAVAILABLE", "DEADLINE_EXCEEDED", "UPSTREAM_HTTP_429", "UPSTREAM_HTTP_500", "UPSTREAM_HTTP_502", "UPSTREAM_HTTP_503", "UPSTREAM_HTTP_504"}

// retrier retries a route's failed attempts.
type retrier struct {
	attempts   int
	initial    time.Duration
	max        time.Duration
	multiplier float64
	budget     time.Duration
	perAttempt time.Duration
	on         matcher
	idempotent bool
}

// retryMiddleware returns the route's retry policy, nil when off.
func retryMiddleware(rp *routePolicy) bridge.Middleware {
	rt := newRetrier(rp)
	if rt == nil || (rt.attempts <= 1 && rt.perAttempt == 0) {
		return nil
	}
	return rt.middleware
}

// newRetrier returns the route's retry policy, nil when off.
func newRetrier(rp *routePolicy) *retrier {
	c := rp.cfg.Retry
	if c == nil || c.Off {
		return nil
	}
	rt := &retrier{attempts: c.Attempts, initial: c.InitialBackoff, max: c.MaxBackoff, multiplier: c.Multiplier,
		budget: c.Budget, perAttempt: c.PerAttemptTimeout, idempotent: rp.idempotent}
	if rt.attempts == 0 {
		rt.attempts = config.DefaultRetryAttempts
	}
	if rt.initial == 0 {
		rt.initial = config.DefaultRetryInitialBackoff
	}
	if rt.max == 0 {
		rt.max = max(config.DefaultRetryMaxBackoff, rt.initial)
	}
	if rt.multiplier == 0 {
		rt.multiplier = config.DefaultRetryMultiplier
	}
	on := c.On
	if len(on) == 0 {
		on = defaultRetryOn
	}
	rt.on = newMatcher(on)
	return rt
}

func (rt *retrier) middleware(next bridge.Handler) bridge.Handler {
	return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
		start := time.Now()
		bo := httpx.Backoff(rt.initial, rt.max, rt.multiplier)
		for n := 1; ; n++ {
			resp, err := rt.attempt(ctx, c, next)
			if err == nil || n >= rt.attempts || ctx.Err() != nil || !rt.retryable(err) {
				return resp, err
			}
			wait, ok := rt.wait(ctx, err, bo.NextBackOff(), start)
			if !ok {
				return nil, err
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, err
			case <-t.C:
			}
		}
	}
}

// wait is how long to wait before the next attempt: the backoff, or the
// delay the upstream asked for (Retry-After, RetryInfo) when longer. false
// when that wait would pass the deadline or the budget: the call then
// fails at once with the last attempt's status.
func (rt *retrier) wait(ctx context.Context, err error, backoff time.Duration, start time.Time) (time.Duration, bool) {
	wait := backoff
	if d, ok := retryDelay(status.Convert(err)); ok && d > wait {
		wait = d
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
		return 0, false
	}
	if rt.budget > 0 && time.Since(start)+wait > rt.budget {
		return 0, false
	}
	return wait, true
}

// attempt runs one attempt, bounded by the per-attempt timeout.
func (rt *retrier) attempt(ctx context.Context, c *bridge.Call, next bridge.Handler) (proto.Message, error) {
	if rt.perAttempt > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt.perAttempt)
		defer cancel()
	}
	return next(ctx, c)
}

// retryable says whether a failed attempt may be retried: any listed
// failure for idempotent methods; for others only a failure proving the
// request was not processed. Policy rejections are final.
func (rt *retrier) retryable(err error) bool {
	switch errorReason(status.Convert(err)) {
	case reason.CircuitOpen, reason.RateLimited:
		return false
	}
	if rt.idempotent && rt.on.match(err) {
		return true
	}
	return bridge.IsNotSent(err)
}
