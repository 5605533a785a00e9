package grpcfront

import (
	"context"
	"errors"
	"testing"
)

// TestCutList: cut ends the contexts of the calls still registered with
// its cause, not those removed, and a call registered after the cut at
// once.
func TestCutList(t *testing.T) {
	var l cutList
	cause := errors.New("cut")
	ctxs := make([]context.Context, 3)
	nodes := make([]*cutNode, 3)
	for i := range ctxs {
		var cancel context.CancelCauseFunc
		ctxs[i], cancel = context.WithCancelCause(context.Background())
		nodes[i] = l.add(cancel)
		if nodes[i] == nil {
			t.Fatalf("call %d: add returned nil before the cut", i)
		}
	}
	l.remove(nodes[1])
	l.cut(cause)
	for i, ctx := range ctxs {
		got := context.Cause(ctx)
		if want := map[bool]error{true: nil, false: cause}[i == 1]; got != want {
			t.Errorf("call %d: cause %v, want %v", i, got, want)
		}
	}
	l.remove(nodes[0])
	l.remove(nodes[2])

	late, cancel := context.WithCancelCause(context.Background())
	if n := l.add(cancel); n != nil {
		t.Error("add after the cut returned a node")
	}
	l.remove(nil)
	if got := context.Cause(late); got != cause {
		t.Errorf("call added after the cut: cause %v, want %v", got, cause)
	}
	l.cut(errors.New("second"))
	if got := context.Cause(ctxs[0]); got != cause {
		t.Errorf("a second cut changed the cause to %v", got)
	}
}
