package state

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/protobridge/protobridge/internal/config"
	"github.com/redis/go-redis/v9"
)

// redisStore keeps policy state in Redis so replicas share it. Keys start
// with the configured prefix; values expire by Redis TTL; token buckets are
// GCRA cells updated atomically by a script on Redis's own clock.
type redisStore struct {
	rdb    *redis.Client
	prefix string
	// downUntil is when, in Unix nanoseconds, operations try Redis again
	// after one failed for want of an answer; until then they fail at once.
	downUntil atomic.Int64
	now       func() time.Time
}

// redisOpTimeout bounds one state operation, retries included, beside the
// call's own deadline: a Redis that hangs (rather than refuses) must cost
// a call little, and fail open or closed as documented, not wait.
const redisOpTimeout = 500 * time.Millisecond

// redisDownFor is how long operations fail at once after one found Redis
// unreachable or silent, so that a call making several operations (a
// cache read, a rate-limit token, a cache write) and the calls behind it
// pay the per-operation bound once, not each time.
const redisDownFor = time.Second

// ErrUnavailable is the error of an operation not tried because an
// earlier one found the store unreachable or silent moments ago.
var ErrUnavailable = errors.New("state store unavailable (an operation failed moments ago)")

// op runs one operation bounded by the per-operation timeout and the
// call's context, failing at once while the store is marked down. A
// failure that is not Redis's own answer (an error reply, redis.Nil), and
// not the caller giving up, marks it down.
func (s *redisStore) op(ctx context.Context, f func(context.Context) error) error {
	if s.now().UnixNano() < s.downUntil.Load() {
		return ErrUnavailable
	}
	octx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	err := f(octx)
	var reply redis.Error
	if err != nil && !errors.As(err, &reply) && ctx.Err() == nil {
		s.downUntil.Store(s.now().Add(redisDownFor).UnixNano())
	}
	return err
}

func newRedisStore(c config.StateConfig, baseDir string) (*redisStore, error) {
	// State operations sit on the call path: an outage must cost little,
	// so one retry and one dial attempt, not go-redis's patient defaults,
	// and the context's deadline honoured (go-redis ignores it unless
	// ContextTimeoutEnabled is set, and then waits its 3s read timeout).
	opts := &redis.Options{Addr: c.Address, Username: c.Username, DB: c.DB,
		MaxRetries: 1, DialerRetries: 1, DialTimeout: redisOpTimeout,
		ReadTimeout: redisOpTimeout, WriteTimeout: redisOpTimeout,
		PoolTimeout: redisOpTimeout, ContextTimeoutEnabled: true}
	if c.Password != nil {
		pw, err := c.Password.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("state.password: %w", err)
		}
		opts.Password = pw
	}
	if c.TLS != nil {
		tc, err := c.TLS.ClientConfig(baseDir)
		if err != nil {
			return nil, fmt.Errorf("state.tls: %w", err)
		}
		opts.TLSConfig = tc
	}
	prefix := c.KeyPrefix
	if prefix == "" {
		prefix = config.DefaultStateKeyPrefix
	}
	return &redisStore{rdb: redis.NewClient(opts), prefix: prefix, now: time.Now}, nil
}

func (s *redisStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	err := s.op(ctx, func(ctx context.Context) (err error) {
		b, err = s.rdb.Get(ctx, s.prefix+key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func (s *redisStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.op(ctx, func(ctx context.Context) error { return s.rdb.Set(ctx, s.prefix+key, value, ttl).Err() })
}

func (s *redisStore) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := s.op(ctx, func(ctx context.Context) error {
		return s.rdb.SetArgs(ctx, s.prefix+key, value, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	})
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

func (s *redisStore) Delete(ctx context.Context, key string) error {
	return s.op(ctx, func(ctx context.Context) error { return s.rdb.Del(ctx, s.prefix+key).Err() })
}

// gcraScript takes a token from a GCRA cell: KEYS[1] holds the theoretical
// arrival time in microseconds; ARGV are the emission interval and the
// longest wait allowed (microseconds) and the burst. It returns {1, wait}
// when the token is taken, {0, wait} when it would wait too long.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local maxwait = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local newtat = tat + interval
local wait = newtat - burst * interval - now
if wait < 0 then wait = 0 end
if wait > maxwait then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%.0f', newtat), 'PX', math.ceil((newtat - now) / 1000) + 1)
return {1, wait}
`)

func (s *redisStore) Reserve(ctx context.Context, key string, r float64, burst int, maxWait time.Duration) (time.Duration, bool, error) {
	interval := int64(math.Ceil(1e6 / r))
	var res []int64
	err := s.op(ctx, func(ctx context.Context) (err error) {
		res, err = gcraScript.Run(ctx, s.rdb, []string{s.prefix + key}, interval, maxWait.Microseconds(), burst).Int64Slice()
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("rate-limit script returned %d values", len(res))
	}
	return time.Duration(res[1]) * time.Microsecond, res[0] == 1, nil
}

func (s *redisStore) Close() error { return s.rdb.Close() }
