package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// storedResult is a call's outcome as the state store keeps it: a cache
// entry, or an idempotency record (pending while the first call runs).
type storedResult struct {
	Pending  bool   `json:"p,omitempty"`
	Hash     string `json:"h,omitempty"`
	Response []byte `json:"r,omitempty"`
	// Status is a google.rpc.Status in protobuf form, for a failure.
	Status []byte `json:"s,omitempty"`
}

func newStoredResult(hash string, resp proto.Message, err error) ([]byte, error) {
	r := storedResult{Hash: hash}
	var merr error
	if err != nil {
		r.Status, merr = proto.Marshal(status.Convert(err).Proto())
	} else {
		r.Response, merr = proto.Marshal(resp)
	}
	if merr != nil {
		return nil, merr
	}
	return json.Marshal(r)
}

// result returns the stored reply as a message of type out, or its failure.
func (r *storedResult) result(out protoreflect.MessageDescriptor) (proto.Message, error) {
	if r.Status != nil {
		sp := &spb.Status{}
		if err := proto.Unmarshal(r.Status, sp); err != nil {
			return nil, err
		}
		return nil, status.FromProto(sp).Err()
	}
	m := dynamicpb.NewMessage(out)
	if err := proto.Unmarshal(r.Response, m); err != nil {
		return nil, err
	}
	return m, nil
}

// cacheMiddleware returns the route's cache, nil when off or when the
// method is not idempotent (an error when the route itself asks for a cache).
func (p *Set) cacheMiddleware(rp *routePolicy) (bridge.Middleware, error) {
	c := rp.cfg.Cache
	if c == nil || c.Off {
		return nil, nil
	}
	if !rp.idempotent {
		if rp.own != nil && rp.own.Cache != nil {
			return nil, fmt.Errorf("policies cache: the method is not idempotent (set idempotent: true or option idempotency_level)")
		}
		return nil, nil
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = config.DefaultCacheTTL
	}
	keep := map[codes.Code]bool{}
	for _, e := range c.Errors {
		code, _ := bridge.CodeByName(e)
		keep[code] = true
	}
	name, out := rp.r.Name(), rp.r.Method.Output()
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, call *bridge.Call) (proto.Message, error) {
			key, err := rp.requestKey("cache", call)
			if err != nil {
				return next(ctx, call)
			}
			b, ok, err := p.store.Get(ctx, key)
			if err != nil {
				p.pm.stateErrors.WithLabelValues("cache").Inc()
			}
			if ok {
				var r storedResult
				if json.Unmarshal(b, &r) == nil {
					if resp, rerr := r.result(out); rerr == nil || r.Status != nil {
						p.pm.cache.WithLabelValues(name, "hit").Inc()
						call.SetHeader(headerCache, "hit")
						return resp, rerr
					}
				}
			}
			p.pm.cache.WithLabelValues(name, "miss").Inc()
			resp, err := next(ctx, call)
			if len(call.ResponseHeader().Get(headerFallback)) > 0 || (err != nil && !keep[status.Code(err)]) {
				return resp, err
			}
			if v, merr := newStoredResult("", resp, err); merr == nil {
				if serr := p.store.Set(ctx, key, v, ttl); serr != nil {
					p.pm.stateErrors.WithLabelValues("cache").Inc()
				}
			}
			return resp, err
		}
	}, nil
}

// dedupMiddleware returns the route's dedup, nil when off: concurrent
// identical calls share one call for idempotent methods; idempotency keys
// for the others.
func (p *Set) dedupMiddleware(rp *routePolicy) bridge.Middleware {
	c := rp.cfg.Dedup
	if c == nil || c.Off {
		return nil
	}
	if rp.idempotent {
		return p.flightMiddleware(rp)
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = config.DefaultDedupTTL
	}
	return p.idempotencyMiddleware(rp, ttl)
}

// sharedResult is the outcome of a call shared by concurrent callers.
type sharedResult struct {
	resp     proto.Message
	err      error
	header   metadata.MD
	attempts int
}

// flightMiddleware lets concurrent identical calls share one call
// (singleflight). The call runs on the first caller's context; a caller
// whose shared call ended with the first caller's cancellation or deadline
// while its own context lives makes the call itself.
func (p *Set) flightMiddleware(rp *routePolicy) bridge.Middleware {
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, call *bridge.Call) (proto.Message, error) {
			key, err := rp.requestKey("flight", call)
			if err != nil {
				return next(ctx, call)
			}
			leader := false
			ch := p.group.DoChan(key, func() (any, error) {
				leader = true
				shared := &bridge.Call{Route: call.Route, Request: call.Request, Metadata: call.Metadata, FrontDoor: call.FrontDoor, Peer: call.Peer,
					Identity: call.Identity, Claims: call.Claims, Preauthenticated: true, RequestID: call.RequestID}
				resp, err := next(ctx, shared)
				return &sharedResult{resp: resp, err: err, header: shared.ResponseHeader(), attempts: shared.Attempts()}, nil
			})
			var res *sharedResult
			select {
			case r := <-ch:
				res = r.Val.(*sharedResult)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if leader {
				for range res.attempts {
					call.CountAttempt()
				}
			} else if c := status.Code(res.err); (c == codes.Canceled || c == codes.DeadlineExceeded) && ctx.Err() == nil {
				return next(ctx, call)
			}
			for k, vs := range res.header {
				call.SetHeader(k, vs...)
			}
			if res.err != nil {
				return nil, res.err
			}
			if leader {
				return res.resp, nil
			}
			return proto.Clone(res.resp), nil
		}
	}
}

// idempotencyMiddleware runs a call carrying an idempotency-key once per
// caller and key, and replays its stored result.
func (p *Set) idempotencyMiddleware(rp *routePolicy, ttl time.Duration) bridge.Middleware {
	out, name := rp.r.Method.Output(), rp.r.Name()
	meta := func(k string) map[string]string { return map[string]string{"method": name, "idempotency_key": k} }
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, call *bridge.Call) (proto.Message, error) {
			vals := call.Metadata.Get(idempotencyKeyHeader)
			if len(vals) == 0 {
				return next(ctx, call)
			}
			ik := vals[0]
			if ik == "" || len(ik) > maxIdempotencyKeySize || len(vals) > 1 {
				return nil, bridge.Errorf(codes.InvalidArgument, reason.BadIdempotencyKey, map[string]string{"method": name},
					"idempotency-key must be one value of 1 to %d characters", maxIdempotencyKeySize)
			}
			body, err := proto.MarshalOptions{Deterministic: true}.Marshal(call.Request)
			if err != nil {
				return nil, bridge.Errorf(codes.Internal, reason.Internal, nil, "cannot encode the request: %v", err)
			}
			sum := sha256.Sum256(body)
			hash := hex.EncodeToString(sum[:])
			keySum := sha256.Sum256([]byte(name + "\x00" + call.Identity + "\x00" + ik))
			key := "idem:" + hex.EncodeToString(keySum[:])
			pending, _ := json.Marshal(storedResult{Pending: true, Hash: hash})
			claimed, err := p.store.Add(ctx, key, pending, min(pendingTTL(ctx, call.Route), ttl))
			if err != nil {
				return nil, p.stateUnavailable(name)
			}
			if !claimed {
				return p.replay(ctx, call, key, hash, out, meta(ik))
			}
			resp, err := next(ctx, call)
			// The record must outlive the caller's cancellation.
			sctx := context.WithoutCancel(ctx)
			if err != nil && (unprocessed(err) || ctx.Err() != nil) {
				if derr := p.store.Delete(sctx, key); derr != nil {
					p.pm.stateErrors.WithLabelValues("idempotency").Inc()
				}
				return nil, err
			}
			if v, merr := newStoredResult(hash, resp, err); merr == nil {
				if serr := p.store.Set(sctx, key, v, ttl); serr != nil {
					p.pm.stateErrors.WithLabelValues("idempotency").Inc()
				}
			}
			return resp, err
		}
	}
}

// replay answers a call whose idempotency key another call has claimed.
func (p *Set) replay(ctx context.Context, call *bridge.Call, key, hash string, out protoreflect.MessageDescriptor, meta map[string]string) (proto.Message, error) {
	b, ok, err := p.store.Get(ctx, key)
	if err != nil {
		return nil, p.stateUnavailable(call.Route.Name())
	}
	var r storedResult
	if !ok || json.Unmarshal(b, &r) != nil || r.Pending {
		if ok && r.Hash != "" && r.Hash != hash {
			return nil, bridge.Errorf(codes.FailedPrecondition, reason.IdempotencyKeyReused, meta, "idempotency-key was used with a different request")
		}
		return nil, bridge.Error(codes.Aborted, reason.IdempotencyKeyInProgress, meta, "a call with this idempotency-key is in progress",
			&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
	}
	if r.Hash != hash {
		return nil, bridge.Errorf(codes.FailedPrecondition, reason.IdempotencyKeyReused, meta, "idempotency-key was used with a different request")
	}
	call.SetHeader(headerReplay, "true")
	return r.result(out)
}

func (p *Set) stateUnavailable(method string) error {
	p.pm.stateErrors.WithLabelValues("idempotency").Inc()
	return bridge.Errorf(codes.Unavailable, reason.StateUnavailable, map[string]string{"method": method}, "the idempotency record store is unavailable")
}

// pendingTTL bounds how long a claimed idempotency key stays pending should
// the replica die mid-call: the call's deadline or its timeout, plus slack.
func pendingTTL(ctx context.Context, r *bridge.Route) time.Duration {
	const slack = 5 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		return time.Until(deadline) + slack
	}
	d := r.Timeout
	if d <= 0 && r.Upstream != nil {
		d = r.Upstream.Timeout
	}
	if d <= 0 {
		d = bridge.DefaultUpstreamTimeout
	}
	return d + slack
}
