package websocket

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
)

// TestUnaryEcho runs concurrent unary calls over one shared socket to the
// ws echo peer; generated ids match each reply to its call.
func TestUnaryEcho(t *testing.T) {
	p := peer(t, "echo.js")
	e := bind(t, route(t, "Call", p.url("/?tag=unary")))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := fmt.Sprint("call ", i)
			resp, err := e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, map[string]any{"text": text})})
			switch {
			case err != nil:
				errs <- err
			case field(resp, "text").String() != text || field(resp, "id").String() == "":
				errs <- fmt.Errorf("call %d got %v", i, resp)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.a.mu.Lock()
	n := len(e.a.shared)
	e.a.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d shared sockets, want 1", n)
	}
}

// TestUnaryCorrelation sends pairs of calls to a peer that answers each
// pair in reverse order: every call still gets its own reply, for string
// ids in JSON and nested integer ids in binary frames.
func TestUnaryCorrelation(t *testing.T) {
	gp := startGoPeer(t)
	for _, tc := range []struct{ name, options string }{
		{"json string id", ""},
		{"xml string id", "encoding: ENCODING_XML"},
		{"binary nested uint64 id", `encoding: ENCODING_PROTOBUF websocket {correlation_field: "meta.rid"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := bind(t, route(t, "Call", gp.url("/reverse"), tc.options))
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, map[string]any{"seq": i + 1})})
					switch {
					case err != nil:
						errs <- err
					case field(resp, "seq").Int() != int64(i+1):
						errs <- fmt.Errorf("call %d got seq %d", i+1, field(resp, "seq").Int())
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestUnaryCallerID keeps an id the caller set, and refuses a second call
// with the same id while the first waits.
func TestUnaryCallerID(t *testing.T) {
	gp := startGoPeer(t)
	e := bind(t, route(t, "Call", gp.url("/echo")))
	req := msg(t, map[string]any{"id": "mine-1", "text": "x"})
	resp, err := e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: req})
	if err != nil || field(resp, "id").String() != "mine-1" {
		t.Fatalf("%v %v", resp, err)
	}
	if field(req, "id").String() != "mine-1" || !proto.Equal(req, msg(t, map[string]any{"id": "mine-1", "text": "x"})) {
		t.Fatal("the caller's request was changed")
	}

	e = bind(t, route(t, "Call", gp.url("/silent")))
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := e.Unary(ctx, &bridge.Call{Route: e.r, Request: msg(t, map[string]any{"id": "dup"})})
		first <- err
	}()
	waitFor(t, "the first call to wait", func() bool {
		e.a.mu.Lock()
		defer e.a.mu.Unlock()
		for _, sc := range e.a.shared {
			sc.mu.Lock()
			n := len(sc.pending)
			sc.mu.Unlock()
			return n == 1
		}
		return false
	})
	_, err = e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, map[string]any{"id": "dup"})})
	wantStatus(t, err, codes.Aborted, "CORRELATION_ID_IN_FLIGHT")
	cancel()
	wantStatus(t, <-first, codes.Canceled, "CANCELLED")
}

// TestUnaryBadReply fails the call whose reply does not decode, quoting it;
// the shared socket stays up for the next call.
func TestUnaryBadReply(t *testing.T) {
	gp := startGoPeer(t)
	e := bind(t, route(t, "Call", gp.url("/badreply")))
	var first *sharedConn
	for range 2 {
		_, err := e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, nil)})
		wantStatus(t, err, codes.Internal, "UPSTREAM_WS_BAD_FRAME")
		e.a.mu.Lock()
		sc := e.a.shared[e.sharedKey]
		e.a.mu.Unlock()
		if first == nil {
			first = sc
		}
		if sc == nil || sc != first {
			t.Fatal("the shared socket did not survive a bad reply")
		}
	}
}

// TestUnaryPeerCloses fails waiting calls with the close code's status and
// redials for the next call.
func TestUnaryPeerCloses(t *testing.T) {
	p := peer(t, "close.js")
	e := bind(t, route(t, "Call", p.url("/close/1008?after=1&reason=nope")))
	for range 2 {
		_, err := e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, nil)})
		meta := wantStatus(t, err, codes.PermissionDenied, "UPSTREAM_WS_CLOSE_1008")
		if meta["close_reason"] != "nope" {
			t.Fatalf("meta %v", meta)
		}
	}
	e = bind(t, route(t, "Call", p.url("/close/1000?after=1")))
	_, err := e.Unary(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, nil)})
	wantStatus(t, err, codes.Unavailable, "UPSTREAM_WS_CLOSE_1000")
}
