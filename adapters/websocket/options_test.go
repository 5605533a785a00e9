package websocket

import (
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/wirejson"
)

func TestParseOptions(t *testing.T) {
	r := route(t, "Tick", "ws://h:1/base/?q=1", `encoding: ENCODING_PROTOBUF websocket {
		path: "tick" subprotocols: ["a", " b", "a"] buffer: 4 read_limit: 99 keepalive: "0"
		reconnect {max_attempts: 2 initial_backoff: "5ms" max_backoff: "1s" resume_cursor: "seq" resume_field: "after_seq"}}`)
	o, err := ParseOptions(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.URL.String(); got != "ws://h:1/base/tick?q=1" {
		t.Errorf("URL %s", got)
	}
	if o.Encoding != EncodingProtobuf || strings.Join(o.Subprotocols, "|") != "a|b" || o.Buffer != 4 || o.ReadLimit != 99 || o.KeepaliveInterval != 0 {
		t.Errorf("options %+v", o)
	}
	if rc := o.Reconnect; rc.MaxAttempts != 2 || rc.InitialBackoff != 5*time.Millisecond || rc.MaxBackoff != time.Second || rc.CursorField != "seq" || rc.ResumeField != "after_seq" {
		t.Errorf("reconnect %+v", rc)
	}

	// Defaults; a google.api.http binding does not apply.
	r = route(t, "Chat", "wss://h/x", `websocket {path: "/chat"}`)
	r.HTTP = &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/{id}"}}
	o, err = ParseOptions(r)
	if err != nil || o.URL.String() != "wss://h/x/chat" || o.Encoding != EncodingJSON || o.Buffer != DefaultBuffer ||
		o.KeepaliveInterval != DefaultKeepaliveInterval || o.ReadLimit != bridge.DefaultMaxBodyBytes || o.Reconnect.MaxAttempts != 0 {
		t.Fatalf("%+v %v", o, err)
	}
	r = route(t, "Chat", "ws://h", "encoding: ENCODING_XML")
	if o, err = ParseOptions(r); err != nil || o.Encoding != EncodingXML || o.URL.String() != "ws://h" {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for _, tc := range []struct{ name, url, options, want string }{
		{"scheme", "ftp://h/", "", "scheme"},
		{"fragment", "ws://h/#buffer=3", "", "base_url has a fragment"},
		{"wildcard path", "ws://h/", `websocket {path: "/t/*"}`, "literal path"},
		{"buffer", "ws://h/", "websocket {buffer: 70000}", "at most 65536"},
		{"duration", "ws://h/", `websocket {keepalive: "soon"}`, `keepalive "soon"`},
		{"keepalive timeout", "ws://h/", `websocket {keepalive_timeout: "0s"}`, "keepalive_timeout must be positive"},
		{"backoff", "ws://h/", `websocket {reconnect {initial_backoff: "2s" max_backoff: "1s"}}`, "max_backoff"},
		{"resume pair", "ws://h/", `websocket {reconnect {resume_cursor: "seq"}}`, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOptions(route(t, "Tick", tc.url, tc.options))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	r := route(t, "Tick", "ws://h/")
	r.Encoding = "yaml"
	if _, err := ParseOptions(r); err == nil || !strings.Contains(err.Error(), "json, xml or protobuf") {
		t.Fatalf("yaml route: %v", err)
	}
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct{ method, options, want string }{
		{"Call", `websocket {correlation_field: "nope"}`, "has no field nope"},
		{"Call", `websocket {correlation_field: "text"}`, ""},
		{"Call", `websocket {correlation_field: "blob"}`, "must be a string"},
		{"Call", `websocket {correlation_field: "meta"}`, "must be a string"},
		{"Chat", "websocket {reconnect {max_attempts: 3}}", "server-streaming methods only"},
		{"Tick", `websocket {reconnect {resume_cursor: "seq" resume_field: "text"}}`, "same kind"},
		{"Tick", `websocket {reconnect {resume_cursor: "meta.rid" resume_field: "meta.rid"}}`, ""},
		{"Tick", "encoding: ENCODING_XML", ""},
	} {
		r := route(t, tc.method, "ws://h/", tc.options)
		a, err := New(r.Upstream, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Bind(r)
		_ = a.Close()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %s: got %v, want %q", tc.method, tc.options, err, tc.want)
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
		if got, _ := tc.c.replyID(&codec{enc: EncodingJSON}, frame{ws.MessageText, []byte(tc.data)}, md.Output()); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.data, got, tc.want)
		}
	}
	// meta {rid: 5} then meta {} again: occurrences merge, rid stays 5.
	var b []byte
	meta := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5)
	b = protowire.AppendBytes(protowire.AppendTag(b, 5, protowire.BytesType), meta)
	b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), []byte("text"))
	b = protowire.AppendBytes(protowire.AppendTag(b, 5, protowire.BytesType), nil)
	if got, ok := nested.replyID(&codec{enc: EncodingProtobuf}, frame{ws.MessageBinary, b}, md.Output()); got != "5" || !ok {
		t.Errorf("wire nested: %q %v", got, ok)
	}
	if got, ok := str.replyID(&codec{enc: EncodingProtobuf}, frame{ws.MessageBinary, []byte{0xff}}, md.Output()); ok {
		t.Errorf("garbage: %q", got)
	}
	xc, err := newCodec(EncodingXML, md, wirejson.NamesAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := nested.replyID(xc, frame{ws.MessageText, []byte(`<Msg><text>x</text><meta><rid>9</rid></meta></Msg>`)}, md.Output()); got != "9" || !ok {
		t.Errorf("xml nested: %q %v", got, ok)
	}
	if got, ok := str.replyID(xc, frame{ws.MessageText, []byte(`<Msg><id>`)}, md.Output()); ok {
		t.Errorf("xml garbage: %q", got)
	}
}

// TestXMLFrames renders and parses XML frames by the descriptor.
func TestXMLFrames(t *testing.T) {
	md := method(t, "Call")
	c, err := newCodec(EncodingXML, md, wirejson.NamesAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	m := msg(t, map[string]any{"id": "a&b", "seq": 9007199254740993, "blob": []byte{1, 2}})
	f, err := c.encode(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Msg><id>a&amp;b</id><seq>9007199254740993</seq><blob>AQI=</blob></Msg>`
	if f.typ != ws.MessageText || string(f.data) != want {
		t.Fatalf("frame %v %s", f.typ, f.data)
	}
	back, err := c.decode(frame{ws.MessageBinary, f.data}, md.Output())
	if err != nil || !proto.Equal(back, m) {
		t.Fatalf("decoded %v (%v)", back, err)
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
			for _, enc := range []Encoding{EncodingJSON, EncodingXML, EncodingProtobuf} {
				cd, err := newCodec(enc, md, wirejson.NamesAsWritten)
				if err != nil {
					t.Fatal(err)
				}
				c.replyID(cd, frame{ws.MessageText, data}, md.Output())
				c.replyID(cd, frame{ws.MessageBinary, data}, md.Output())
			}
		}
		for _, enc := range []Encoding{EncodingJSON, EncodingXML, EncodingProtobuf} {
			cd, err := newCodec(enc, md, wirejson.NamesAsWritten)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := cd.decode(frame{ws.MessageBinary, data}, md.Output()); err == nil {
				if _, err := cd.encode(m); err != nil && enc != EncodingJSON {
					t.Fatal(err)
				}
			}
		}
		quote(frame{ws.MessageBinary, data}, 16)
		quote(frame{ws.MessageText, data}, 16)
	})
}
