// Package state holds the policy state replicas may share — cache entries,
// stale responses, idempotency records and rate-limit buckets — in memory
// (per replica) or in Redis (shared).
package state

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/protobridge/protobridge/internal/config"
	"golang.org/x/time/rate"
)

// Store holds the policy state replicas may share: cache entries,
// stale responses and idempotency records as expiring byte values, and
// rate-limit token buckets. The memory store serves one replica; the Redis
// store many.
type Store interface {
	// Get returns the value at key; ok is false when there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value at key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Add stores value at key for ttl only when key holds nothing, and
	// reports whether it did.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key.
	Delete(ctx context.Context, key string) error
	// Reserve takes a token from the bucket at key, which refills at rate
	// tokens a second up to burst. It returns how long the caller must wait
	// before the token is its own. When that is longer than maxWait nothing
	// is taken, ok is false and wait says how long it would have been.
	Reserve(ctx context.Context, key string, rate float64, burst int, maxWait time.Duration) (wait time.Duration, ok bool, err error)
	// Close releases the store's connections.
	Close() error
}

// New builds the store a config's state block selects.
func New(c config.StateConfig, baseDir string) (Store, error) {
	if c.Backend == "redis" {
		return newRedisStore(c, baseDir)
	}
	n := c.MaxEntries
	if n == 0 {
		n = config.DefaultStateMaxEntries
	}
	return NewMemory(n), nil
}

// memoryStore is the per-replica store: an LRU of expiring values and an
// LRU of token buckets, each bounded to max entries.
type memoryStore struct {
	mu      sync.Mutex
	values  *simplelru.LRU[string, memoryValue]
	buckets *simplelru.LRU[string, *rate.Limiter]
	now     func() time.Time
}

type memoryValue struct {
	value   []byte
	expires time.Time
}

func NewMemory(max int) Store { return newMemoryStore(max) }

func newMemoryStore(max int) *memoryStore {
	values, _ := simplelru.NewLRU[string, memoryValue](max, nil)
	buckets, _ := simplelru.NewLRU[string, *rate.Limiter](max, nil)
	return &memoryStore{values: values, buckets: buckets, now: time.Now}
}

func (m *memoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values.Get(key)
	if !ok {
		return nil, false, nil
	}
	if !m.now().Before(v.expires) {
		m.values.Remove(key)
		return nil, false, nil
	}
	return v.value, true, nil
}

func (m *memoryStore) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values.Add(key, memoryValue{value: value, expires: m.now().Add(ttl)})
	return nil
}

func (m *memoryStore) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if v, ok := m.values.Peek(key); ok && now.Before(v.expires) {
		return false, nil
	}
	m.values.Add(key, memoryValue{value: value, expires: now.Add(ttl)})
	return true, nil
}

func (m *memoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values.Remove(key)
	return nil
}

func (m *memoryStore) Reserve(_ context.Context, key string, r float64, burst int, maxWait time.Duration) (time.Duration, bool, error) {
	m.mu.Lock()
	lim, ok := m.buckets.Get(key)
	if !ok {
		lim = rate.NewLimiter(rate.Limit(r), burst)
		m.buckets.Add(key, lim)
	}
	m.mu.Unlock()
	now := m.now()
	res := lim.ReserveN(now, 1)
	if !res.OK() { // burst below 1; the policy never asks for that
		return 0, false, nil
	}
	wait := res.DelayFrom(now)
	if wait > maxWait {
		res.CancelAt(now)
		return wait, false, nil
	}
	return wait, true, nil
}

func (m *memoryStore) Close() error { return nil }
