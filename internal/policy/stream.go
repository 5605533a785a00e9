package policy

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/internal/auth"
)

// streamChain is the chain of a streaming route: what applies when a
// stream opens. The guard and the inbound rate limit admit the caller; the
// route's timeout bounds the whole stream; each open attempt takes an
// outbound token and asks the circuit breaker, and an attempt that failed
// before anything passed between caller and upstream (no message either
// way, no header) is retried as a unary call would be: always when the
// failure proves nothing was sent, else when the method is idempotent and
// the failure is on the retry list. The breaker counts an attempt as good
// once its first message or header reaches the caller, and as its error
// when it ends before that. Policies that cannot apply to a stream (cache,
// dedup, fallback, validation of client streams) are reported as warnings.
func (p *Set) streamChain(r *bridge.Route, rp *routePolicy, guard *auth.Guard, ep bridge.Endpoint) (*Chain, error) {
	var warn []string
	for name, set := range map[string]bool{
		"cache":    rp.cfg.Cache != nil && !rp.cfg.Cache.Off,
		"dedup":    rp.cfg.Dedup != nil && !rp.cfg.Dedup.Off,
		"fallback": rp.cfg.Fallback != nil && !rp.cfg.Fallback.Off,
	} {
		if set {
			warn = append(warn, fmt.Sprintf("policies.%s does not apply to streaming method %s (only auth, rate limits, timeout, retry of the stream's open and circuit breaker do)", name, r.Name()))
		}
	}
	inbound, outbound := p.limiterFor(rp, true), p.limiterFor(rp, false)
	b := p.breakerFor(rp)
	retry := newRetrier(rp)
	open := func(next bridge.StreamHandler) bridge.StreamHandler {
		return func(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
			if inbound != nil {
				if err := inbound.takeFor(ctx, c); err != nil {
					return err
				}
			}
			if d := c.Route.Timeout; d > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
			var bo interface{ NextBackOff() time.Duration }
			start := time.Now()
			for n := 1; ; n++ {
				w := &watchedStream{Stream: s}
				err := p.streamAttempt(ctx, c, w, next, outbound, b)
				if err == nil || retry == nil || w.touched.Load() || n >= retry.attempts || ctx.Err() != nil || !retry.retryable(err) {
					return err
				}
				if bo == nil {
					bo = httpx.Backoff(retry.initial, retry.max, retry.multiplier)
				}
				wait, ok := retry.wait(ctx, err, bo.NextBackOff(), start)
				if !ok {
					return err
				}
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return err
				case <-t.C:
				}
			}
		}
	}
	return &Chain{Stream: bridge.ChainStream(ep.Stream, guard.Stream, open), Guard: guard, Warnings: warn}, nil
}

// streamAttempt opens the stream once: an outbound token, the breaker's
// permission, then the endpoint.
func (p *Set) streamAttempt(ctx context.Context, c *bridge.Call, w *watchedStream, next bridge.StreamHandler, outbound *limiter, b *breaker) (err error) {
	c.CountAttempt()
	if m := p.tel.M(); m != nil {
		defer func() { m.CountAttempt(c.Route.Name(), c.Route.Upstream.Name, status.Code(StatusError(ctx, err))) }()
	}
	if outbound != nil {
		if err := outbound.takeFor(ctx, c); err != nil {
			return err
		}
	}
	if b != nil {
		done, err := b.allow(c)
		if err != nil {
			return err
		}
		var once atomic.Bool
		report := func(err error) {
			if once.CompareAndSwap(false, true) {
				done(err)
			}
		}
		w.onOpen = func() { report(nil) }
		defer func() {
			if p := recover(); p != nil {
				report(errPanicked)
				panic(p)
			}
			report(nil)
		}()
		err = next(ctx, c, w)
		if !w.opened.Load() {
			report(err)
		}
		return err
	}
	return next(ctx, c, w)
}

// watchedStream records whether anything passed on a stream: touched once
// a message went either way or a header was set (an attempt past that
// cannot be repeated), opened once the caller got a message or header.
type watchedStream struct {
	bridge.Stream
	touched, opened atomic.Bool
	onOpen          func()
}

func (w *watchedStream) open() {
	w.touched.Store(true)
	if w.opened.CompareAndSwap(false, true) && w.onOpen != nil {
		w.onOpen()
	}
}

func (w *watchedStream) Send(m proto.Message) error {
	w.open()
	return w.Stream.Send(m)
}

func (w *watchedStream) SetHeader(md metadata.MD) error {
	w.open()
	return w.Stream.SetHeader(md)
}

func (w *watchedStream) Recv() (proto.Message, error) {
	w.touched.Store(true)
	return w.Stream.Recv()
}
