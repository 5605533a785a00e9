package policy

import (
	"context"
	"math"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/state"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// limiter is one rate-limit policy of a route: the token buckets live in
// the state store, the wait queue's bound is per replica.
type limiter struct {
	scope     string
	direction string
	rate      float64
	burst     int
	maxWait   time.Duration // <0: until the deadline
	queue     int64
	waiting   *atomic.Int64
	store     state.Store
	pm        *policyMetrics
	key       string
	inbound   bool
}

// limiterFor returns a route's outbound (per upstream) or inbound (per
// caller) rate limiter, nil when off.
func (p *Set) limiterFor(rp *routePolicy, inbound bool) *limiter {
	c, own, dir := rp.cfg.RateLimit, rp.own != nil && rp.own.RateLimit != nil, "outbound"
	if inbound {
		c, own, dir = rp.cfg.InboundRateLimit, rp.own != nil && rp.own.InboundRateLimit != nil, "inbound"
	}
	if c == nil || c.Off {
		return nil
	}
	l := &limiter{scope: rp.scope(own), direction: dir, rate: c.Rate, burst: c.Burst, maxWait: -1, queue: int64(c.Queue), store: p.store, pm: p.pm}
	if l.burst == 0 {
		l.burst = int(math.Ceil(c.Rate))
	}
	if l.queue == 0 {
		l.queue = config.DefaultRateLimitQueue
	}
	switch {
	case c.MaxWait != nil:
		l.maxWait = *c.MaxWait
	case inbound:
		l.maxWait = 0
	}
	key := dir + ":" + l.scope
	p.mu.Lock()
	if p.queues[key] == nil {
		p.queues[key] = &atomic.Int64{}
	}
	l.waiting = p.queues[key]
	p.mu.Unlock()
	l.key, l.inbound = key, inbound
	return l
}

// limitMiddleware returns a route's outbound (per upstream) or inbound (per
// caller) rate limit, nil when off.
func (p *Set) limitMiddleware(rp *routePolicy, inbound bool) bridge.Middleware {
	l := p.limiterFor(rp, inbound)
	if l == nil {
		return nil
	}
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, call *bridge.Call) (proto.Message, error) {
			if err := l.takeFor(ctx, call); err != nil {
				return nil, err
			}
			return next(ctx, call)
		}
	}
}

// takeFor takes a token from the call's bucket.
func (l *limiter) takeFor(ctx context.Context, call *bridge.Call) error {
	bucket := "rl:" + l.key
	if l.inbound {
		bucket += ":" + callerKey(call)
	}
	return l.take(ctx, bucket, call)
}

// callerKey names the caller for inbound limits: its identity, or its
// peer's IP address when the route is open.
func callerKey(c *bridge.Call) string {
	if c.Identity != "" {
		return "id:" + c.Identity
	}
	if a := c.Peer.Addr; a != nil {
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			host = a.String()
		}
		return "ip:" + host
	}
	return "anonymous"
}

// take waits for a token, or refuses the call with RESOURCE_EXHAUSTED.
func (l *limiter) take(ctx context.Context, bucket string, c *bridge.Call) error {
	maxWait := l.maxWait
	if deadline, ok := ctx.Deadline(); ok && (maxWait < 0 || time.Until(deadline) < maxWait) {
		maxWait = max(time.Until(deadline), 0)
	}
	if maxWait < 0 {
		maxWait = 24 * time.Hour
	}
	if l.waiting.Add(1) > l.queue {
		l.waiting.Add(-1)
		return l.refuse(c, time.Duration(float64(time.Second)/l.rate), "queue full")
	}
	defer l.waiting.Add(-1)
	wait, ok, err := l.store.Reserve(ctx, bucket, l.rate, l.burst, maxWait)
	if err != nil {
		// The store is down: let the call through rather than refuse all.
		l.pm.stateErrors.WithLabelValues("limit").Inc()
		return nil
	}
	if !ok {
		return l.refuse(c, wait, "no token in time")
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) refuse(c *bridge.Call, retry time.Duration, why string) error {
	l.pm.limited.WithLabelValues(l.scope, l.direction).Inc()
	meta := map[string]string{"scope": l.scope, "direction": l.direction, "method": c.Route.Name(), "rate": strconv.FormatFloat(l.rate, 'g', -1, 64)}
	return bridge.Error(codes.ResourceExhausted, reason.RateLimited, meta,
		"rate limit of "+l.scope+" ("+l.direction+") exceeded: "+why,
		&errdetails.RetryInfo{RetryDelay: durationpb.New(retry.Round(time.Millisecond))})
}

// QueueDepths returns how many calls wait for a rate-limit token now, by
// limit ("outbound:upstream:NAME", "inbound:route:METHOD", ...).
func (p *Set) QueueDepths() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.queues))
	for k, q := range p.queues {
		out[k] = q.Load()
	}
	return out
}
