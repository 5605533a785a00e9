package websocket

import (
	"context"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
)

// TestWireMessagesBothWays: caller messages held as wire bytes (as the
// server receives them) become the frames the dynamic path writes, and the
// peer's frames come back as wire bytes equal to what the dynamic path
// decodes, in JSON and in binary protobuf.
func TestWireMessagesBothWays(t *testing.T) {
	for _, opts := range []string{"", "encoding: ENCODING_PROTOBUF"} {
		t.Run(opts, func(t *testing.T) {
			p := peer(t, "echo.js")
			e := bind(t, route(t, "Chat", p.url("/"), opts))
			in := msg(t, map[string]any{"text": "héllo", "seq": 1 << 40, "blob": []byte{0, 255}})
			wire, err := proto.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			f, err := e.encodeFrame(bridge.NewWireMessage(in.Descriptor(), wire))
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.codec.encode(in)
			if err != nil || f.typ != want.typ {
				t.Fatalf("frame type %v, want %v (%v)", f.typ, want.typ, err)
			}
			if opts == "" {
				// Key order aside, the same document as protojson's.
				a, b := in.ProtoReflect().New().Interface(), in.ProtoReflect().New().Interface()
				if protojson.Unmarshal(f.data, a) != nil || protojson.Unmarshal(want.data, b) != nil || !proto.Equal(a, b) {
					t.Fatalf("frame %s, want %s", f.data, want.data)
				}
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fs := newFake(ctx)
			done := run(ctx, e, &bridge.Call{Route: e.r}, fs)
			fs.in <- bridge.NewWireMessage(in.Descriptor(), wire)
			got := recvOut(t, fs, done)
			if _, ok := got.(*bridge.WireMessage); !ok {
				t.Fatalf("reply is a %T, want a WireMessage", got)
			}
			if !proto.Equal(got, in) {
				t.Fatalf("echo %v, want %v", got, in)
			}
			cancel()
			<-done
		})
	}
}
