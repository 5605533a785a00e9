package bridgetest

import (
	"context"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
)

// sendThenReturn is a stream endpoint that sends n messages and returns.
type sendThenReturn struct{ n int }

func (sendThenReturn) Unary(context.Context, *bridge.Call) (proto.Message, error) { return nil, nil }

func (e sendThenReturn) Stream(_ context.Context, _ *bridge.Call, s bridge.Stream) error {
	for range e.n {
		if err := s.Send(echoRequest("m", 0, false, false)); err != nil {
			return err
		}
	}
	return nil
}

// TestNextKeepsTheResult: when a stream sends its messages and returns
// before the test waits, next takes the first message and leaves the
// result and the other messages to collect (it used to drop both when its
// select picked the result, so collect then waited for a result that never
// came).
func TestNextKeepsTheResult(t *testing.T) {
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		s := newCallerStream(ctx)
		ch := goStream(ctx, sendThenReturn{n: 3}, &bridge.Call{}, s)
		// Once the call has sent everything and returned, both of next's
		// cases are ready.
		for len(ch) == 0 {
			runtime.Gosched()
		}
		if m := next(t, s, ch, patience, "the first message"); m == nil {
			t.Fatal("no first message")
		}
		rest, res := collect(t, s, ch, patience, "the stream")
		if res.err != nil || len(rest) != 2 {
			t.Fatalf("collect: %d more messages, %v; want 2 and nil", len(rest), res.err)
		}
		cancel()
	}
}
