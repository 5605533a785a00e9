package bridge

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http/httptrace"
	"sync/atomic"
	"time"

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
func retryMiddleware(rp *routePolicy) Middleware {
	c := rp.cfg.Retry
	if c == nil || c.Off {
		return nil
	}
	rt := &retrier{attempts: c.Attempts, initial: c.InitialBackoff, max: c.MaxBackoff, multiplier: c.Multiplier,
		budget: c.Budget, perAttempt: c.PerAttemptTimeout, idempotent: rp.idempotent}
	if rt.attempts == 0 {
		rt.attempts = DefaultRetryAttempts
	}
	if rt.initial == 0 {
		rt.initial = DefaultRetryInitialBackoff
	}
	if rt.max == 0 {
		rt.max = max(DefaultRetryMaxBackoff, rt.initial)
	}
	if rt.multiplier == 0 {
		rt.multiplier = DefaultRetryMultiplier
	}
	on := c.On
	if len(on) == 0 {
		on = defaultRetryOn
	}
	rt.on = newMatcher(on)
	if rt.attempts <= 1 && rt.perAttempt == 0 {
		return nil
	}
	return rt.middleware
}

func (rt *retrier) middleware(next Handler) Handler {
	return func(ctx context.Context, c *Call) (proto.Message, error) {
		start := time.Now()
		for n := 1; ; n++ {
			resp, err := rt.attempt(ctx, c, next)
			if err == nil || n >= rt.attempts || ctx.Err() != nil || !rt.retryable(err) {
				return resp, err
			}
			wait := rt.backoff(n)
			if d, ok := retryDelay(status.Convert(err)); ok && d > wait {
				wait = d
			}
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
				return nil, err
			}
			if rt.budget > 0 && time.Since(start)+wait > rt.budget {
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

// attempt runs one attempt, bounded by the per-attempt timeout.
func (rt *retrier) attempt(ctx context.Context, c *Call, next Handler) (proto.Message, error) {
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
	case reasonCircuitOpen, reasonRateLimited:
		return false
	}
	if rt.idempotent && rt.on.match(err) {
		return true
	}
	return unprocessed(err)
}

// backoff draws the wait before retry n (n ≥ 1) with full jitter.
func (rt *retrier) backoff(n int) time.Duration {
	ceiling := float64(rt.initial) * math.Pow(rt.multiplier, float64(n-1))
	if ceiling > float64(rt.max) || math.IsInf(ceiling, 0) {
		ceiling = float64(rt.max)
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// notSentError marks a failed attempt that wrote no byte of its request:
// the HTTP transport looked for a connection and failed before the request
// headers were written (refused, DNS, TLS handshake).
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }

func (e *notSentError) Unwrap() error { return e.err }

// GRPCStatus returns the wrapped failure's status.
func (e *notSentError) GRPCStatus() *status.Status { return status.Convert(e.err) }

// traceSend watches each attempt's HTTP exchange (adapters build their
// requests on the call's context, so net/http reports to the trace) and
// marks failures that provably sent nothing.
func traceSend(next Handler) Handler {
	return func(ctx context.Context, c *Call) (proto.Message, error) {
		var dialed, wrote atomic.Bool
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GetConn:      func(string) { dialed.Store(true) },
			WroteHeaders: func() { wrote.Store(true) },
		})
		resp, err := next(ctx, c)
		if err != nil && dialed.Load() && !wrote.Load() {
			if _, ok := status.FromError(err); ok {
				err = &notSentError{err: err}
			}
		}
		return resp, err
	}
}
