package websocket

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	ws "github.com/coder/websocket"

	"github.com/protobridge/protobridge/bridge"
)

// TestCancelAlwaysSendsCloseFrame cancels 200 bidi calls right after their
// last echo arrives, when the pump may still be returning from its last
// write: the peer must see the close handshake with 1001 every time, never a
// connection dropped without a close frame.
func TestCancelAlwaysSendsCloseFrame(t *testing.T) {
	const calls = 200
	codes := make(chan ws.StatusCode, calls)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				codes <- ws.CloseStatus(err)
				return
			}
			if c.Write(context.Background(), typ, data) != nil {
				codes <- -1
				return
			}
		}
	}))
	defer srv.Close()
	e := bind(t, route(t, "Chat", srv.URL+"/"))
	seen := map[ws.StatusCode]int{}
	for i := 0; i < calls; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		f := newFake(ctx)
		done := run(ctx, e, &bridge.Call{Route: e.r}, f)
		for j := range 3 {
			f.in <- msg(t, map[string]any{"text": fmt.Sprint("hello ", j)})
			recvOut(t, f, done)
		}
		close(f.in)
		cancel()
		<-done
		seen[<-codes]++
	}
	if seen[ws.StatusGoingAway] != calls {
		t.Fatalf("close codes the peer saw (-1: no close frame): %v", seen)
	}
}
