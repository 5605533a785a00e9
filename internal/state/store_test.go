package state

import (
	"context"
	"testing"
	"time"
)

func TestMemoryStoreExpiryAndBound(t *testing.T) {
	m := newMemoryStore(2)
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	_ = m.Set(ctx, "a", []byte("1"), time.Minute)
	if ok, _ := m.Add(ctx, "a", []byte("2"), time.Minute); ok {
		t.Fatal("Add replaced a live value")
	}
	now = now.Add(2 * time.Minute)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("expired value served")
	}
	if ok, _ := m.Add(ctx, "a", []byte("2"), time.Minute); !ok {
		t.Fatal("Add refused over an expired value")
	}
	_ = m.Set(ctx, "b", nil, time.Minute)
	_ = m.Set(ctx, "c", nil, time.Minute)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("the store grew past its bound")
	}
}
