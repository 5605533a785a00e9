package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"gopkg.in/yaml.v3"
)

// PolicyConfig holds the resilience and traffic policies of an upstream
// (`upstreams.NAME.policies`) or of a route (`routes[i].policies`). A
// route's block is merged over its upstream's key by key: a key the route
// sets wins, a key it leaves out keeps the upstream's value.
//
// Every policy is off until its block is present; an empty block such as
// `retry: {}` turns it on with the defaults given below, and `off: true` in
// a route's block turns off what its upstream turned on. Validation of
// requests against protovalidate rules is the exception: it is on unless
// `validate: false`.
//
// The order a call passes the policies in is fixed: authentication and
// allow rules, inbound rate limit, validation, cache, dedup, fallback, the
// route's timeout, retries, outbound rate limit, circuit breaker, and the
// upstream.
//
// Policy state lives in memory (per replica, lost on reload) unless
// `state:` selects Redis: then rate limits, cache entries, stale responses
// and idempotency records are shared by every replica pointing at it.
// Circuit breakers and dedup of concurrent calls stay per replica.
type PolicyConfig struct {
	// Idempotent marks the methods idempotent in addition to the proto's
	// `option idempotency_level = IDEMPOTENT` or `NO_SIDE_EFFECTS`.
	// Idempotent methods are retried on any retryable failure and may be
	// cached and deduplicated; other methods are retried only when the
	// failure proves the upstream did not process the request.
	Idempotent *bool `yaml:"idempotent"`
	// PerCaller adds the caller's identity to the keys of the cache, the
	// stale fallback and dedup, so callers never see each other's replies.
	// Default false: the upstream's reply does not depend on the caller.
	PerCaller *bool `yaml:"per_caller"`
	// Validate enforces the protovalidate (buf.validate) rules of the
	// request message before the upstream is called; a violation fails with
	// INVALID_ARGUMENT and a google.rpc.BadRequest listing the fields.
	// Default true.
	Validate *bool `yaml:"validate"`
	// Allow restricts the route to the callers matching at least one rule;
	// empty lets every authenticated caller in. A route's list replaces its
	// upstream's. Refused callers get PERMISSION_DENIED.
	Allow []AllowRule `yaml:"allow"`
	// Retry retries failed attempts with exponential backoff and full jitter.
	Retry *RetryPolicy `yaml:"retry"`
	// CircuitBreaker stops calling an upstream that keeps failing.
	CircuitBreaker *BreakerPolicy `yaml:"circuit_breaker"`
	// Fallback answers from a static response or the last good one when the
	// upstream fails or its circuit is open.
	Fallback *FallbackPolicy `yaml:"fallback"`
	// RateLimit bounds the calls sent to the upstream.
	RateLimit *RateLimitPolicy `yaml:"rate_limit"`
	// InboundRateLimit bounds the calls each caller may make, by caller
	// identity (the peer address when the route is open).
	InboundRateLimit *RateLimitPolicy `yaml:"inbound_rate_limit"`
	// Cache keeps the replies of idempotent methods.
	Cache *CachePolicy `yaml:"cache"`
	// Dedup shares one upstream call among concurrent identical calls of
	// idempotent methods, and runs calls of other methods that carry an
	// `idempotency-key` metadata value once, replaying the stored result.
	Dedup *DedupPolicy `yaml:"dedup"`
}

// AllowRule matches callers. Every condition given must hold.
type AllowRule struct {
	// Identities lists caller identities (an API key's id, a JWT's identity
	// claim, a client certificate's name); "*" matches any authenticated caller.
	Identities []string `yaml:"identities"`
	// Claims are JWT claims the caller's token must carry: the claim equals
	// the value, or is an array holding it. Callers without a JWT never match.
	Claims map[string]string `yaml:"claims"`
}

// RetryPolicy retries failed attempts. The wait before attempt n+1 is drawn
// uniformly from [0, min(max_backoff, initial_backoff·multiplier^(n-1))]
// (full jitter), and is at least the delay the upstream asked for in
// Retry-After or a google.rpc.RetryInfo. A retry that could not start before
// the caller's deadline, or past the budget, is not made: the call fails at
// once with the last attempt's status.
//
// Idempotent methods are retried on the statuses and reasons listed in On.
// Other methods are retried only when the failure proves the request was not
// processed: the upstream answered 429 or 503, or the connection failed
// before any byte of the request was written. Circuit-open and local
// rate-limit rejections are never retried.
type RetryPolicy struct {
	// Off turns retries off (for a route whose upstream has them on).
	Off bool `yaml:"off"`
	// Attempts is the most attempts per call, the first included (default 3).
	Attempts int `yaml:"attempts"`
	// InitialBackoff is the backoff cap before the first retry (default 1s).
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the backoff (default 60s).
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Multiplier grows the cap after each retry (default 2).
	Multiplier float64 `yaml:"multiplier"`
	// Budget bounds the time a call spends across all attempts and waits;
	// no retry starts past it (default: none, the deadline bounds it).
	Budget time.Duration `yaml:"budget"`
	// PerAttemptTimeout bounds each attempt; an attempt cut by it may be
	// retried (default: none, the route's timeout bounds the whole call).
	PerAttemptTimeout time.Duration `yaml:"per_attempt_timeout"`
	// On lists the gRPC code names (UNAVAILABLE) and ErrorInfo reasons
	// (UPSTREAM_HTTP_500) on which idempotent methods are retried. Default:
	// UNAVAILABLE, DEADLINE_EXCEEDED, UPSTREAM_HTTP_429, UPSTREAM_HTTP_500,
	// UPSTREAM_HTTP_502, UPSTREAM_HTTP_503, UPSTREAM_HTTP_504.
	On []string `yaml:"on"`
}

// BreakerPolicy is a circuit breaker (sony/gobreaker). It is per upstream,
// shared by the upstream's routes; a route with a circuit_breaker block of
// its own gets a breaker of its own. While open, calls fail at once with
// UNAVAILABLE and ErrorInfo reason CIRCUIT_OPEN; after OpenTimeout it lets
// HalfOpenRequests probes through, closing again when they all succeed and
// reopening on the first failure. Failures are attempts ending in
// UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN or DATA_LOSS; answers
// such as NOT_FOUND are successes, and cancelled calls do not count.
type BreakerPolicy struct {
	// Off turns the breaker off (for a route whose upstream has one).
	Off bool `yaml:"off"`
	// Failures is how many consecutive failures open the circuit (default 5).
	Failures uint32 `yaml:"failures"`
	// FailureRatio, when set (0-1), also opens the circuit when this share
	// of at least MinRequests attempts in the interval failed.
	FailureRatio float64 `yaml:"failure_ratio"`
	// MinRequests is the least attempts FailureRatio looks at (default 20).
	MinRequests uint32 `yaml:"min_requests"`
	// Interval is the closed state's counting window (default 60s).
	Interval time.Duration `yaml:"interval"`
	// OpenTimeout is how long the circuit stays open before probes (default 30s).
	OpenTimeout time.Duration `yaml:"open_timeout"`
	// HalfOpenRequests is how many probes may run while half-open (default 1).
	HalfOpenRequests uint32 `yaml:"half_open_requests"`
}

// FallbackPolicy answers for a failed upstream. The stale response is tried
// first, then the static one; the reply carries the response metadata
// `x-protobridge-fallback: stale` or `static`. Without a usable fallback
// the call fails with the upstream's status.
type FallbackPolicy struct {
	// Off turns fallbacks off (for a route whose upstream has them on).
	Off bool `yaml:"off"`
	// Static is a response in the output type's JSON form (protojson), as a
	// YAML mapping or a JSON string; it is checked against the output type
	// at load. It only fits routes of one output type, so set it on routes.
	Static any `yaml:"static"`
	// Stale serves the last good response to the same request
	// (stale-if-error); every successful reply is kept for StaleTTL.
	Stale bool `yaml:"stale"`
	// StaleTTL is how long a good response stays usable (default 24h).
	StaleTTL time.Duration `yaml:"stale_ttl"`
	// On lists the gRPC code names and ErrorInfo reasons that trigger the
	// fallback. Default: UNAVAILABLE (CIRCUIT_OPEN included),
	// DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED.
	On []string `yaml:"on"`
}

// RateLimitPolicy is a token bucket: Rate tokens a second, at most Burst
// saved. A call takes one token; one that finds none waits for it in a
// bounded queue. A call that would wait past MaxWait or its deadline, or
// finds the queue full, fails at once with RESOURCE_EXHAUSTED, ErrorInfo
// reason RATE_LIMITED and a RetryInfo saying when a token frees up.
//
// Outbound limits are per upstream (a route with a rate_limit block of its
// own gets a bucket of its own) and count every attempt; inbound limits are
// per caller. With Redis state the buckets are shared by the replicas; the
// queue bound is per replica.
type RateLimitPolicy struct {
	// Off turns the limit off (for a route whose upstream has one).
	Off bool `yaml:"off"`
	// Rate is the sustained rate in calls per second (required, > 0).
	Rate float64 `yaml:"rate"`
	// Burst is the most calls let through at once (default: Rate rounded up).
	Burst int `yaml:"burst"`
	// MaxWait is the longest a call waits for a token. Default: outbound,
	// until the call's deadline; inbound, 0 (refused at once).
	MaxWait *time.Duration `yaml:"max_wait"`
	// Queue is the most calls waiting for a token at once (default 100).
	Queue int `yaml:"queue"`
}

// CachePolicy keeps the replies of idempotent methods (a route with a
// cache block must be idempotent). The key is the method, the request's
// deterministic protobuf bytes and, with per_caller, the caller's identity.
// A hit carries the response metadata `x-protobridge-cache: hit`. Fallback
// responses are never cached. The memory store is bounded by
// state.max_entries; a Redis store by its maxmemory policy.
type CachePolicy struct {
	// Off turns the cache off (for a route whose upstream has it on).
	Off bool `yaml:"off"`
	// TTL is how long a reply is served from the cache (default 5m).
	TTL time.Duration `yaml:"ttl"`
	// Errors lists gRPC code names whose failures are cached too (such as
	// NOT_FOUND); none by default.
	Errors []string `yaml:"errors"`
}

// DedupPolicy removes duplicate work. Concurrent identical calls of an
// idempotent method share one upstream call (per replica). A call of any
// other method carrying `idempotency-key` metadata runs once per caller and
// key: a replay gets the stored result with the response metadata
// `x-protobridge-replay: true`, a replay with a different request fails
// with FAILED_PRECONDITION (reason IDEMPOTENCY_KEY_REUSED), and one arriving
// while the first still runs fails with ABORTED (reason
// IDEMPOTENCY_KEY_IN_PROGRESS) and a RetryInfo. Failures proving the request
// was not processed (429, 503, refused connections, local rejections) are
// not stored, so the caller may retry under the same key.
type DedupPolicy struct {
	// Off turns dedup off (for a route whose upstream has it on).
	Off bool `yaml:"off"`
	// TTL is how long an idempotency record is kept (default 24h).
	TTL time.Duration `yaml:"ttl"`
}

// StateConfig selects where shared policy state lives: rate-limit buckets,
// cache entries, stale responses and idempotency records.
//
//	state:
//	  backend: redis
//	  address: 127.0.0.1:6379
//	  password: {env: REDIS_PASSWORD}
//
// Redis outages fail open for the cache (a miss) and rate limits (the call
// goes through), and closed for idempotency records (UNAVAILABLE, reason
// STATE_UNAVAILABLE), since running an unsafe call twice is worse.
type StateConfig struct {
	// Backend is "memory" (default; per replica) or "redis".
	Backend string `yaml:"backend"`
	// Address is the Redis host:port.
	Address string `yaml:"address"`
	// Username and Password authenticate to Redis (ACL user; password
	// {env: VAR} or {file: path}).
	Username string         `yaml:"username"`
	Password *bridge.Secret `yaml:"password"`
	// DB is the Redis database number.
	DB int `yaml:"db"`
	// TLS connects to Redis over TLS.
	TLS *bridge.TLSConfig `yaml:"tls"`
	// KeyPrefix starts every key (default "protobridge:").
	KeyPrefix string `yaml:"key_prefix"`
	// MaxEntries bounds the memory store's cache entries, stale responses,
	// idempotency records and rate-limit buckets, each (default 10000).
	MaxEntries int `yaml:"max_entries"`
}

// Policy defaults.
const (
	DefaultRetryAttempts       = 3
	DefaultRetryInitialBackoff = time.Second
	DefaultRetryMaxBackoff     = 60 * time.Second
	DefaultRetryMultiplier     = 2.0
	DefaultBreakerFailures     = 5
	DefaultBreakerMinRequests  = 20
	DefaultBreakerInterval     = 60 * time.Second
	DefaultBreakerOpenTimeout  = 30 * time.Second
	DefaultRateLimitQueue      = 100
	DefaultCacheTTL            = 5 * time.Minute
	DefaultStaleTTL            = 24 * time.Hour
	DefaultDedupTTL            = 24 * time.Hour
	DefaultStateMaxEntries     = 10000
	DefaultStateKeyPrefix      = "protobridge:"
)

// UnmarshalYAML decodes a policies block strictly (unknown keys are errors)
// and checks its values, reporting problems with their line.
func (p *PolicyConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain PolicyConfig
	errs := decodeStrict(n, (*plain)(p))
	for _, msg := range p.check() {
		errs = append(errs, fmt.Sprintf("line %d: %s", keyLine(n, msg), msg))
	}
	return typeError(errs)
}

// UnmarshalYAML decodes the state block strictly and checks its values.
func (s *StateConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain StateConfig
	errs := decodeStrict(n, (*plain)(s))
	bad := func(msg string) { errs = append(errs, fmt.Sprintf("line %d: state: %s", keyLine(n, msg), msg)) }
	switch s.Backend {
	case "", "memory":
	case "redis":
		if s.Address == "" {
			bad("backend redis needs address (host:port)")
		}
	default:
		bad(fmt.Sprintf("backend %q is not known (memory, redis)", s.Backend))
	}
	if s.MaxEntries < 0 {
		bad("max_entries must not be negative")
	}
	if s.DB < 0 {
		bad("db must not be negative")
	}
	return typeError(errs)
}

// check validates a policies block on its own; what depends on the route
// (output type, idempotency) is checked when the route is bound.
func (p *PolicyConfig) check() []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if r := p.Retry; r != nil {
		if r.Attempts < 0 || r.InitialBackoff < 0 || r.MaxBackoff < 0 || r.Budget < 0 || r.PerAttemptTimeout < 0 {
			bad("retry: attempts and durations must not be negative")
		}
		if r.Multiplier != 0 && r.Multiplier < 1 {
			bad("retry: multiplier %v must be at least 1", r.Multiplier)
		}
		if r.MaxBackoff != 0 && r.InitialBackoff > r.MaxBackoff {
			bad("retry: initial_backoff is above max_backoff")
		}
		errs = append(errs, checkMatchers("retry.on", r.On)...)
	}
	if b := p.CircuitBreaker; b != nil {
		if b.FailureRatio < 0 || b.FailureRatio > 1 {
			bad("circuit_breaker: failure_ratio %v is not between 0 and 1", b.FailureRatio)
		}
		if b.Interval < 0 || b.OpenTimeout < 0 {
			bad("circuit_breaker: durations must not be negative")
		}
	}
	if f := p.Fallback; f != nil {
		if f.StaleTTL < 0 {
			bad("fallback: stale_ttl must not be negative")
		}
		if f.Static != nil {
			if _, err := StaticJSON(f.Static); err != nil {
				bad("fallback: static: %v", err)
			}
		}
		if !f.Off && !f.Stale && f.Static == nil {
			bad("fallback: set static or stale: true")
		}
		errs = append(errs, checkMatchers("fallback.on", f.On)...)
	}
	for name, rl := range map[string]*RateLimitPolicy{"rate_limit": p.RateLimit, "inbound_rate_limit": p.InboundRateLimit} {
		if rl == nil || rl.Off {
			continue
		}
		if rl.Rate <= 0 || math.IsInf(rl.Rate, 0) || math.IsNaN(rl.Rate) {
			bad("%s: rate must be a positive number of calls per second", name)
		}
		if rl.Burst < 0 || rl.Queue < 0 || (rl.MaxWait != nil && *rl.MaxWait < 0) {
			bad("%s: burst, queue and max_wait must not be negative", name)
		}
	}
	if c := p.Cache; c != nil {
		if c.TTL < 0 {
			bad("cache: ttl must not be negative")
		}
		for _, e := range c.Errors {
			if _, ok := bridge.CodeByName(e); !ok {
				bad("cache: errors: %q is not a gRPC code name", e)
			}
		}
	}
	if d := p.Dedup; d != nil && d.TTL < 0 {
		bad("dedup: ttl must not be negative")
	}
	for i, a := range p.Allow {
		if len(a.Identities) == 0 && len(a.Claims) == 0 {
			bad("allow[%d]: give identities or claims", i)
		}
	}
	return errs
}

// checkMatchers checks a list of gRPC code names and ErrorInfo reasons.
func checkMatchers(field string, list []string) []string {
	var errs []string
	for _, s := range list {
		if s == "" || strings.ToUpper(s) != s || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
			errs = append(errs, fmt.Sprintf("%s: %q is neither a gRPC code name nor an ErrorInfo reason (UPPER_SNAKE_CASE)", field, s))
		}
	}
	return errs
}

// typeError returns "line N: ..." messages as a yaml.TypeError, which the
// config loader reports as file:line problems next to the decoder's own.
func typeError(msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: msgs}
}

// keyLine returns the line of the key of mapping n that msg starts with
// ("retry.on: ..." → the line of retry:), or n's own line.
func keyLine(n *yaml.Node, msg string) int {
	key := msg[:strings.IndexAny(msg+":", ".:[ ")]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// decodeStrict decodes n into v strictly (bridge.DecodeStrict) and returns
// its problems as "line N: ..." messages for typeError.
func decodeStrict(n *yaml.Node, v any) []string {
	var out []string
	for _, pr := range problemsOf(bridge.DecodeStrict(n, "", v)) {
		msg := fmt.Sprintf("line %d: %s", pr.Pos.Line, pr.Msg)
		if pr.Hint != "" {
			msg += " (" + pr.Hint + ")"
		}
		out = append(out, msg)
	}
	return out
}

// StaticJSON returns a fallback.static value as JSON text: a string is
// taken as JSON, anything else is encoded.
func StaticJSON(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		if !json.Valid([]byte(s)) {
			return nil, errors.New("the string is not valid JSON")
		}
		return []byte(s), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot be written as JSON: %v", err)
	}
	return b, nil
}
