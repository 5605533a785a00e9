package websocket

import (
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/protobridge/protobridge/bridge"
)

func TestParseOptions(t *testing.T) {
	r := route(t, "Tick", "ws://h:1/base/?q=1#path=/all&Tick.path=tick&encoding=binary&subprotocol=a,+b&buffer=4&read_limit=99&keepalive=0&reconnect=2&backoff=5ms&max_backoff=1s&resume_cursor=seq&resume_field=after_seq")
	o, err := ParseOptions(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.URL.String(); got != "ws://h:1/base/tick?q=1" {
		t.Errorf("URL %s", got)
	}
	if o.Encoding != EncodingBinary || strings.Join(o.Subprotocols, "|") != "a|b" || o.Buffer != 4 || o.ReadLimit != 99 || o.KeepaliveInterval != 0 {
		t.Errorf("options %+v", o)
	}
	if rc := o.Reconnect; rc.MaxAttempts != 2 || rc.InitialBackoff != 5*time.Millisecond || rc.MaxBackoff != time.Second || rc.CursorField != "seq" || rc.ResumeField != "after_seq" {
		t.Errorf("reconnect %+v", rc)
	}

	r = route(t, "Chat", "wss://h/x")
	r.HTTP = &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/chat"}}
	o, err = ParseOptions(r)
	if err != nil || o.URL.String() != "wss://h/x/chat" || o.Encoding != EncodingJSON || o.Buffer != DefaultBuffer || o.KeepaliveInterval != DefaultKeepaliveInterval {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"scheme", "ftp://h/", "scheme"},
		{"unknown key", "ws://h/#bufer=3", `"bufer" is not known`},
		{"unknown method", "ws://h/#Nope.buffer=3", "no method Nope"},
		{"encoding", "ws://h/#encoding=xml", "use json or binary"},
		{"buffer", "ws://h/#buffer=0", "at least 1"},
		{"duration", "ws://h/#keepalive=soon", "duration"},
		{"backoff", "ws://h/#backoff=2s&max_backoff=1s", "max_backoff"},
		{"resume pair", "ws://h/#resume_cursor=seq", "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOptions(route(t, "Tick", tc.url))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	r := route(t, "Tick", "ws://h/")
	r.Encoding = "xml"
	if _, err := ParseOptions(r); err == nil || !strings.Contains(err.Error(), "json or binary") {
		t.Fatalf("xml route: %v", err)
	}
	r = route(t, "Tick", "ws://h/")
	r.HTTP = &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/t/{id}"}}
	if _, err := ParseOptions(r); err == nil || !strings.Contains(err.Error(), "literal GET path") {
		t.Fatalf("templated path: %v", err)
	}
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct{ method, url, want string }{
		{"Call", "ws://h/#correlation_field=nope", "has no field nope"},
		{"Call", "ws://h/#correlation_field=text", ""},
		{"Call", "ws://h/#correlation_field=blob", "must be a string"},
		{"Call", "ws://h/#correlation_field=meta", "must be a string"},
		{"Chat", "ws://h/#reconnect=3", "server-streaming methods only"},
		{"Tick", "ws://h/#resume_cursor=seq&resume_field=text", "same kind"},
		{"Tick", "ws://h/#resume_cursor=meta.rid&resume_field=meta.rid", ""},
	} {
		a, err := New(route(t, tc.method, tc.url).Upstream, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Bind(route(t, tc.method, tc.url))
		_ = a.Close()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %s: got %v, want %q", tc.method, tc.url, err, tc.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(r *bridge.Upstream)
		want string
	}{
		{"reserved header", func(r *bridge.Upstream) { r.Headers = map[string]string{"Sec-WebSocket-Key": "x"} }, "cannot be set"},
		{"forward upgrade", func(r *bridge.Upstream) { r.ForwardMetadata = []string{"upgrade"} }, "cannot be forwarded"},
	} {
		u := route(t, "Chat", "ws://h/").Upstream
		tc.set(u)
		if _, err := New(u, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestCodeForClose(t *testing.T) {
	for c, want := range map[ws.StatusCode]codes.Code{
		1000: codes.OK, 1001: codes.Unavailable, 1005: codes.OK, 1008: codes.PermissionDenied,
		1009: codes.ResourceExhausted, 1011: codes.Internal, 1012: codes.Unavailable, 3003: codes.PermissionDenied,
		3008: codes.DeadlineExceeded, 4321: codes.Unknown,
	} {
		if got := codeForClose(c); got != want {
			t.Errorf("%d: %v, want %v", c, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	rc := Reconnect{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	for n := 1; n < 70; n++ {
		limit := rc.MaxBackoff
		if n < 4 {
			limit = rc.InitialBackoff << (n - 1)
		}
		if d := backoff(rc, n); d <= 0 || d > limit {
			t.Fatalf("attempt %d: %v over %v", n, d, limit)
		}
	}
}

// TestReplyID reads ids from JSON and wire frames, nested and merged.
func TestReplyID(t *testing.T) {
	md := method(t, "Call")
	str, err := newCorrelation(md, "id")
	if err != nil {
		t.Fatal(err)
	}
	nested, err := newCorrelation(md, "meta.rid")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    *correlation
		data string
		want string
	}{
		{str, `{"id":"a1","text":"x"}`, "a1"},
		{str, `{"text":"x"}`, ""},
		{str, `[1]`, ""},
		{nested, `{"meta":{"rid":"77"}}`, "77"},
		{nested, `{"meta":{"rid":77}}`, "77"},
	} {
		if got, _ := tc.c.replyID(EncodingJSON, frame{ws.MessageText, []byte(tc.data)}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.data, got, tc.want)
		}
	}
	// meta {rid: 5} then meta {} again: occurrences merge, rid stays 5.
	var b []byte
	meta := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5)
	b = protowire.AppendBytes(protowire.AppendTag(b, 5, protowire.BytesType), meta)
	b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), []byte("text"))
	b = protowire.AppendBytes(protowire.AppendTag(b, 5, protowire.BytesType), nil)
	if got, ok := nested.replyID(EncodingBinary, frame{ws.MessageBinary, b}); got != "5" || !ok {
		t.Errorf("wire nested: %q %v", got, ok)
	}
	if got, ok := str.replyID(EncodingBinary, frame{ws.MessageBinary, []byte{0xff}}); ok {
		t.Errorf("garbage: %q", got)
	}
}

// TestStamp generates ids only where the request has none.
func TestStamp(t *testing.T) {
	md := method(t, "Call")
	var ids idSource
	c, _ := newCorrelation(md, "meta.rid")
	m := msg(t, nil)
	if got := c.stamp(m, ids.next); got != "1" {
		t.Fatalf("generated %q", got)
	}
	if got := c.stamp(m, ids.next); got != "1" {
		t.Fatalf("kept %q", got)
	}
	c, _ = newCorrelation(md, "id")
	if got := c.stamp(msg(t, nil), ids.next); len(got) < 16 {
		t.Fatalf("generated string id %q", got)
	}
}

// FuzzReplyID feeds arbitrary frames to the id readers and the decoders.
func FuzzReplyID(f *testing.F) {
	f.Add([]byte(`{"id":"x","meta":{"rid":"3"}}`))
	f.Add([]byte{0x2a, 0x02, 0x08, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		md := method(t, "Call")
		for _, path := range []string{"id", "meta.rid"} {
			c, err := newCorrelation(md, path)
			if err != nil {
				t.Fatal(err)
			}
			c.replyID(EncodingJSON, frame{ws.MessageText, data})
			c.replyID(EncodingBinary, frame{ws.MessageBinary, data})
		}
		for _, enc := range []Encoding{EncodingJSON, EncodingBinary} {
			if m, err := decodeFrame(enc, frame{ws.MessageBinary, data}, md.Output()); err == nil {
				if _, err := encodeFrame(enc, m); err != nil && enc == EncodingBinary {
					t.Fatal(err)
				}
			}
		}
		quote(frame{ws.MessageBinary, data}, 16)
		quote(frame{ws.MessageText, data}, 16)
	})
}
