package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ws "github.com/coder/websocket"

	"github.com/protobridge/protobridge/bridge"
)

// endPeer is a peer that never closes first: it answers a stream's first
// frame with script's frames, echoes later frames (a {"text":"commit"}
// frame makes it answer "bye" and "done"), and reports the path it was
// dialled on and the close code it saw.
type endPeer struct {
	url    string
	paths  chan string
	closed chan ws.StatusCode
}

func startEndPeer(t *testing.T, script ...frame) *endPeer {
	p := &endPeer{paths: make(chan string, 4), closed: make(chan ws.StatusCode, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		p.paths <- r.URL.Path
		ctx := r.Context()
		first := true
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				p.closed <- ws.CloseStatus(err)
				return
			}
			switch {
			case first && len(script) > 0:
				for _, f := range script {
					_ = c.Write(ctx, f.typ, f.data)
				}
			case strings.Contains(string(data), `"commit"`):
				_ = c.Write(ctx, ws.MessageText, []byte(`{"text":"bye"}`))
				_ = c.Write(ctx, ws.MessageText, []byte(`{"text":"done"}`))
			default:
				_ = c.Write(ctx, typ, data)
			}
			first = false
		}
	}))
	t.Cleanup(srv.Close)
	p.url = "ws://" + strings.TrimPrefix(srv.URL, "http://")
	return p
}

func withBlock(t *testing.T, r *bridge.Route, b RouteConfig) *bridge.Route {
	t.Helper()
	var err error
	if r.Config, err = bridge.RawConfigOf(b); err != nil {
		t.Fatal(err)
	}
	return r
}

func text(s string) frame { return frame{ws.MessageText, []byte(s)} }

// collectAll runs a call to its end and returns the texts it delivered.
func collectAll(t *testing.T, e *endpoint, c *bridge.Call, f *fakeStream) ([]string, error) {
	t.Helper()
	done := run(context.Background(), e, c, f)
	var got []string
	for {
		select {
		case m := <-f.out:
			got = append(got, field(m, "text").String())
		case err := <-done:
			return got, err
		}
	}
}

func TestStreamEnds(t *testing.T) {
	data := []frame{text(`{"text":"a","seq":1}`), text(`{"text":"b","seq":2}`)}
	for _, tc := range []struct {
		name   string
		script []frame
		end    EndConfig
		want   string
	}{
		{"field value", append(data, text(`{"text":"done"}`), text(`{"text":"never"}`)), EndConfig{Field: "text", Value: "done"}, "a,b"},
		{"field value delivered", append(data, text(`{"text":"done"}`), text(`{"text":"never"}`)), EndConfig{Field: "text", Value: "done", Deliver: true}, "a,b,done"},
		{"numeric field", append(data, text(`{"seq":"-1"}`), text(`{"text":"never"}`)), EndConfig{Field: "seq", Value: "-1"}, "a,b"},
		{"frame type", append(data, frame{ws.MessageBinary, []byte{0xff}}, text(`{"text":"never"}`)), EndConfig{Frame: "binary"}, "a,b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startEndPeer(t, tc.script...)
			e := bind(t, withBlock(t, route(t, "Tick", p.url), RouteConfig{End: &tc.end}))
			ctx := context.Background()
			got, err := collectAll(t, e, &bridge.Call{Route: e.r, Request: msg(t, nil)}, newFake(ctx))
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Fatalf("got %v, %v; want %s and OK", got, err, tc.want)
			}
			if code := <-p.closed; code != ws.StatusNormalClosure {
				t.Errorf("peer saw close %v, want 1000", code)
			}
		})
	}
}

func TestHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block RouteConfig
		want  string
	}{
		// send: the declared frame goes out; the peer's answer and its
		// done frame end the call.
		{"send", RouteConfig{HalfClose: HalfCloseSend, HalfCloseFrame: `{"text":"commit"}`, End: &EndConfig{Field: "text", Value: "done"}}, "hello,bye"},
		// close: the socket closes normally as soon as the caller is done.
		{"close", RouteConfig{HalfClose: HalfCloseClose}, "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startEndPeer(t)
			e := bind(t, withBlock(t, route(t, "Chat", p.url), tc.block))
			ctx := context.Background()
			f := newFake(ctx)
			done := run(ctx, e, &bridge.Call{Route: e.r}, f)
			f.in <- msg(t, map[string]any{"text": "hello"})
			var got []string
			got = append(got, field(recvOut(t, f, done), "text").String())
			close(f.in)
			for {
				select {
				case m := <-f.out:
					got = append(got, field(m, "text").String())
					continue
				case err := <-done:
					if err != nil || strings.Join(got, ",") != tc.want {
						t.Fatalf("got %v, %v; want %s and OK", got, err, tc.want)
					}
				}
				break
			}
			if code := <-p.closed; code != ws.StatusNormalClosure {
				t.Errorf("peer saw close %v, want 1000", code)
			}
		})
	}
}

// TestHalfCloseKeep: by default the caller's half-close sends nothing and
// the peer's frames keep coming until it closes or ends the stream.
func TestHalfCloseKeep(t *testing.T) {
	p := startEndPeer(t)
	e := bind(t, withBlock(t, route(t, "Chat", p.url), RouteConfig{End: &EndConfig{Field: "text", Value: "done"}}))
	ctx := context.Background()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r}, f)
	f.in <- msg(t, map[string]any{"text": "hello"})
	f.in <- msg(t, map[string]any{"text": "commit"})
	close(f.in)
	var got []string
	for {
		select {
		case m := <-f.out:
			got = append(got, field(m, "text").String())
			continue
		case err := <-done:
			if err != nil || strings.Join(got, ",") != "hello,bye" {
				t.Fatalf("got %v, %v; want hello,bye and OK", got, err)
			}
		}
		break
	}
	if code := <-p.closed; code != ws.StatusNormalClosure {
		t.Errorf("peer saw close %v, want 1000", code)
	}
}

func TestPathTemplate(t *testing.T) {
	p := startEndPeer(t, text(`{"text":"done"}`))
	e := bind(t, withBlock(t, route(t, "Tick", p.url+"/api", `websocket {path: "/rooms/{text}/events"}`), RouteConfig{End: &EndConfig{Field: "text", Value: "done"}}))
	ctx := context.Background()
	if _, err := collectAll(t, e, &bridge.Call{Route: e.r, Request: msg(t, map[string]any{"text": "r 1/x"})}, newFake(ctx)); err != nil {
		t.Fatal(err)
	}
	if got := <-p.paths; got != "/api/rooms/r 1/x/events" {
		t.Errorf("dialled %q", got)
	}
	// An empty variable is the caller's mistake.
	_, err := collectAll(t, e, &bridge.Call{Route: e.r, Request: msg(t, nil)}, newFake(ctx))
	wantStatus(t, err, 3, "")
}

func TestEndsConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		block        RouteConfig
		want         string
	}{
		{"Tick", "", RouteConfig{End: &EndConfig{Field: "nope", Value: "x"}}, "has no field nope"},
		{"Tick", "", RouteConfig{End: &EndConfig{Field: "text"}}, "go together"},
		{"Tick", "", RouteConfig{End: &EndConfig{Frame: "ping"}}, `end.frame "ping"`},
		{"Tick", "", RouteConfig{HalfClose: HalfCloseClose}, "half_close applies to client-streaming"},
		{"Chat", "", RouteConfig{HalfClose: HalfCloseSend}, "needs half_close_frame"},
		{"Chat", "", RouteConfig{HalfClose: "drop"}, `half_close "drop"`},
		{"Call", "", RouteConfig{End: &EndConfig{Frame: "text"}}, "end applies to server-streaming"},
		{"Chat", `websocket {path: "/r/{text}"}`, RouteConfig{}, "need a server-streaming method"},
		{"Tick", `websocket {path: "/r/{nope}"}`, RouteConfig{}, "has no field nope"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			var opts []string
			if tc.path != "" {
				opts = append(opts, tc.path)
			}
			r := withBlock(t, route(t, tc.method, "ws://127.0.0.1:1", opts...), tc.block)
			a, err := New(r.Upstream, &bridge.Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			_, err = a.Bind(r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestEndsFromProto: end and half_close set by (protobridge.v1.route)
// .websocket in the .proto work as the routes: block does, and a block's
// end replaces the proto's whole.
func TestEndsFromProto(t *testing.T) {
	p := startEndPeer(t)
	e := bind(t, route(t, "Chat", p.url, `websocket: {end: {field: "text", value: "done"}, half_close: "send", half_close_frame: "{\"text\":\"commit\"}"}`))
	ctx := context.Background()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r}, f)
	f.in <- msg(t, map[string]any{"text": "hello"})
	got := []string{field(recvOut(t, f, done), "text").String()}
	close(f.in)
	for waiting := true; waiting; {
		select {
		case m := <-f.out:
			got = append(got, field(m, "text").String())
		case err := <-done:
			if err != nil || strings.Join(got, ",") != "hello,bye" {
				t.Fatalf("got %v, %v; want hello,bye and OK", got, err)
			}
			waiting = false
		}
	}
	if code := <-p.closed; code != ws.StatusNormalClosure {
		t.Errorf("peer saw close %v, want 1000", code)
	}

	r := withBlock(t, route(t, "Tick", p.url, `websocket: {end: {frame: "binary", deliver: true}}`), RouteConfig{End: &EndConfig{Field: "text", Value: "stop"}})
	if en := bind(t, r).ends; en.frame != 0 || en.deliver || en.value != "stop" {
		t.Errorf("block end over proto end: frame %v deliver %v value %q, want the block's alone", en.frame, en.deliver, en.value)
	}
}
