package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// routePolicy is a route's policies: its upstream's block with the route's
// merged over it.
type routePolicy struct {
	r *bridge.Route
	// cfg is the merged block; own is the route's own (nil when none).
	cfg config.PolicyConfig
	own *config.PolicyConfig
	// idempotent says the method may be retried on any retryable failure,
	// cached and deduplicated.
	idempotent bool
	perCaller  bool
}

// resolvePolicy merges a route's policies over its upstream's.
func resolvePolicy(r *bridge.Route, upstream, own *config.PolicyConfig) *routePolicy {
	rp := &routePolicy{r: r, own: own}
	if upstream != nil {
		rp.cfg = *upstream
	}
	if own != nil {
		mergeFields(reflect.ValueOf(&rp.cfg).Elem(), reflect.ValueOf(own).Elem())
	}
	rp.idempotent = r.Idempotent()
	if rp.cfg.Idempotent != nil {
		rp.idempotent = rp.idempotent || *rp.cfg.Idempotent
	}
	rp.perCaller = rp.cfg.PerCaller != nil && *rp.cfg.PerCaller
	return rp
}

// mergeFields sets every exported field of dst that src sets; blocks that
// both set are merged field by field.
func mergeFields(dst, src reflect.Value) {
	for i := 0; i < dst.NumField(); i++ {
		if !dst.Type().Field(i).IsExported() {
			continue
		}
		s, d := src.Field(i), dst.Field(i)
		if s.IsZero() {
			continue
		}
		if s.Kind() == reflect.Pointer && s.Elem().Kind() == reflect.Struct && !d.IsNil() {
			merged := reflect.New(s.Elem().Type())
			merged.Elem().Set(d.Elem())
			mergeFields(merged.Elem(), s.Elem())
			d.Set(merged)
			continue
		}
		d.Set(s)
	}
}

// scope names the state a policy block keys: the upstream's, or the
// route's when the route sets the block itself.
func (rp *routePolicy) scope(routeSets bool) string {
	if routeSets {
		return "route:" + rp.r.Name()
	}
	return "upstream:" + rp.r.Upstream.Name
}

// requestKey identifies a request for the cache, the stale fallback and
// dedup: the method, the caller when per_caller is set, and the request's
// deterministic protobuf bytes, hashed.
func (rp *routePolicy) requestKey(kind string, c *bridge.Call) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c.Request)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(rp.r.Name()))
	h.Write([]byte{0})
	if rp.perCaller {
		h.Write([]byte(c.Identity))
	}
	h.Write([]byte{0})
	h.Write(b)
	return kind + ":" + hex.EncodeToString(h.Sum(nil)), nil
}

// matcher matches failures by gRPC code or ErrorInfo reason.
type matcher struct {
	codes   map[codes.Code]bool
	reasons map[string]bool
}

func newMatcher(list []string) matcher {
	m := matcher{codes: map[codes.Code]bool{}, reasons: map[string]bool{}}
	for _, s := range list {
		if c, ok := bridge.CodeByName(s); ok {
			m.codes[c] = true
		} else {
			m.reasons[s] = true
		}
	}
	return m
}

func (m matcher) match(err error) bool {
	st := status.Convert(err)
	return m.codes[st.Code()] || m.reasons[errorReason(st)]
}

// errorReason returns the ErrorInfo reason of a status, "" without one.
func errorReason(st *status.Status) string {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// retryDelay returns the RetryInfo delay of a status.
func retryDelay(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// unprocessed reports whether a failure proves the upstream did not
// process the request: it answered 429 or 503, no byte of the request was
// written, or a policy refused the call before it left.
func unprocessed(err error) bool {
	if bridge.IsNotSent(err) {
		return true
	}
	switch errorReason(status.Convert(err)) {
	case reason.CircuitOpen, reason.RateLimited:
		return true
	}
	return false
}

// Response metadata the policies set, and the idempotency key they read.
const (
	headerFallback        = "x-protobridge-fallback"
	headerCache           = "x-protobridge-cache"
	headerReplay          = "x-protobridge-replay"
	idempotencyKeyHeader  = "idempotency-key"
	maxIdempotencyKeySize = 256
)
