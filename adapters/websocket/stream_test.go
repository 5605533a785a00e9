package websocket

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/bridge"
)

// TestBidiEchoCancel relays a bidi stream through the ws echo peer, and
// cancelling the call closes the socket with 1001.
func TestBidiEchoCancel(t *testing.T) {
	p := peer(t, "echo.js")
	tag := uniq("bidi-cancel")
	e := bind(t, route(t, "Chat", p.url("/?tag="+tag)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r}, f)
	for i := range 3 {
		f.in <- msg(t, map[string]any{"text": fmt.Sprint("hello ", i)})
		if got := field(recvOut(t, f, done), "text").String(); got != fmt.Sprint("hello ", i) {
			t.Fatalf("echo %d: %q", i, got)
		}
	}
	close(f.in) // half-close: the peer may still send
	cancel()
	wantStatus(t, <-done, codes.Canceled, "CANCELLED")
	p.waitLine(t, "closed "+tag+" 1001")
}

// TestBinaryEcho relays binary protobuf frames both ways.
func TestBinaryEcho(t *testing.T) {
	p := peer(t, "echo.js")
	e := bind(t, route(t, "Chat", p.url("/"), "encoding: ENCODING_PROTOBUF"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r}, f)
	f.in <- msg(t, map[string]any{"blob": []byte{0, 1, 2, 255}, "seq": 7})
	got := recvOut(t, f, done)
	if b := field(got, "blob").Bytes(); string(b) != "\x00\x01\x02\xff" || field(got, "seq").Int() != 7 {
		t.Fatalf("echo: %v", got)
	}
	cancel()
	<-done
}

// TestServerStreamTicker relays a ticker's frames; its 1000 close ends the
// call with OK.
func TestServerStreamTicker(t *testing.T) {
	p := peer(t, "ticker.js")
	e := bind(t, route(t, "Tick", p.url("/?count=5&tag=tick5")))
	ctx := context.Background()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r, Request: msg(t, nil)}, f)
	for i := 1; i <= 5; i++ {
		if got := field(recvOut(t, f, done), "seq").Int(); got != int64(i) {
			t.Fatalf("tick %d: seq %d", i, got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestClientStreamCollect sends a client stream and takes the peer's one
// reply as the result.
func TestClientStreamCollect(t *testing.T) {
	p := peer(t, "echo.js")
	tag := uniq("collect")
	e := bind(t, route(t, "Collect", p.url("/collect?tag="+tag)))
	// The call's end (cancel) ends the pending Recv, as gRPC does.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r}, f)
	for _, s := range []string{"a", "b", "c", "."} {
		f.in <- msg(t, map[string]any{"text": s})
	}
	if got := field(recvOut(t, f, done), "text").String(); got != "a b c" {
		t.Fatalf("reply %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "closed "+tag+" 1000")
}

// TestCloseCodes maps the peer's close codes to statuses with ErrorInfo.
func TestCloseCodes(t *testing.T) {
	p := peer(t, "close.js")
	for _, tc := range []struct {
		path   string
		code   codes.Code
		reason string
	}{
		{"/close/1000", codes.OK, ""},
		{"/close/1001?reason=restarting", codes.Unavailable, "UPSTREAM_WS_CLOSE_1001"},
		{"/close/1008?reason=not+allowed", codes.PermissionDenied, "UPSTREAM_WS_CLOSE_1008"},
		{"/close/1009", codes.ResourceExhausted, "UPSTREAM_WS_CLOSE_1009"},
		{"/close/1011?reason=boom&after=2", codes.Internal, "UPSTREAM_WS_CLOSE_1011"},
		{"/close/1013", codes.Unavailable, "UPSTREAM_WS_CLOSE_1013"},
		{"/close/3000", codes.Unauthenticated, "UPSTREAM_WS_CLOSE_3000"},
		{"/close/4000", codes.Unknown, "UPSTREAM_WS_CLOSE_4000"},
		{"/drop?after=1", codes.Unavailable, "UPSTREAM_WS_DROPPED"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			e := bind(t, route(t, "Chat", p.url(tc.path)))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newFake(ctx)
			done := run(ctx, e, &bridge.Call{Route: e.r}, f)
			go func() {
				for range 2 {
					select {
					case f.in <- msg(t, map[string]any{"text": "x"}):
					case <-ctx.Done():
						return
					}
				}
			}()
			err := <-done
			if tc.code == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			meta := wantStatus(t, err, tc.code, tc.reason)
			if tc.reason != "UPSTREAM_WS_DROPPED" {
				if want := strings.TrimPrefix(tc.reason, "UPSTREAM_WS_CLOSE_"); meta["close_code"] != want {
					t.Fatalf("close_code %q, want %s", meta["close_code"], want)
				}
			}
			if strings.Contains(tc.path, "reason=boom") && meta["close_reason"] != "boom" {
				t.Fatalf("close_reason %q", meta["close_reason"])
			}
		})
	}
}

// TestReconnectResume drops a ticker's first socket after seq 5; the stream
// reconnects, sends the resume request with after_seq 5, and delivers every
// seq exactly once.
func TestReconnectResume(t *testing.T) {
	p := peer(t, "ticker.js")
	tag := uniq("resume")
	e := bind(t, route(t, "Tick", p.url("/?count=12&drop_after=5&tag="+tag),
		`websocket {reconnect {max_attempts: 3 initial_backoff: "1ms" max_backoff: "2ms" resume_cursor: "seq" resume_field: "after_seq"}}`))
	ctx := context.Background()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r, Request: msg(t, nil)}, f)
	for i := 1; i <= 12; i++ {
		if got := field(recvOut(t, f, done), "seq").Int(); got != int64(i) {
			t.Fatalf("message %d: seq %d", i, got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "subscribed "+tag+" 1 0")
	p.waitLine(t, "subscribed "+tag+" 2 5")
}

// TestReconnectGivesUp returns the drop's status once the attempts are
// spent.
func TestReconnectGivesUp(t *testing.T) {
	p := peer(t, "close.js")
	e := bind(t, route(t, "Tick", p.url("/drop?after=1"), `websocket {reconnect {max_attempts: 2 initial_backoff: "1ms" max_backoff: "1ms"}}`))
	ctx := context.Background()
	err := e.Stream(ctx, &bridge.Call{Route: e.r, Request: msg(t, nil)}, newFake(ctx))
	wantStatus(t, err, codes.Unavailable, "UPSTREAM_WS_DROPPED")
}

// TestReconnectThroughRefusal retries a redial refused with 503 and resumes
// on the next one.
func TestReconnectThroughRefusal(t *testing.T) {
	gp := startGoPeer(t)
	e := bind(t, route(t, "Tick", gp.url("/flaky"),
		`websocket {reconnect {max_attempts: 2 initial_backoff: "1ms" max_backoff: "1ms" resume_cursor: "seq" resume_field: "after_seq"}}`))
	ctx := context.Background()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r, Request: msg(t, nil)}, f)
	for i := 1; i <= 4; i++ {
		if got := field(recvOut(t, f, done), "seq").Int(); got != int64(i) {
			t.Fatalf("message %d: seq %d", i, got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
