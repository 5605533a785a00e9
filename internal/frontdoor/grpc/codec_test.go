package grpcfront

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/protobridge/protobridge/bridge"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestWireMessageCodec(t *testing.T) {
	src, _ := structpb.NewStruct(map[string]any{"a": 1.5, "b": "x"})
	md := src.ProtoReflect().Descriptor()
	wire, _ := proto.Marshal(src)

	// Received bytes stay bytes until something looks inside.
	m := bridge.NewWireMessage(md, nil)
	if err := (protoCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, m); err != nil {
		t.Fatal(err)
	}
	if bridge.MessageName(m) != md.FullName() || m.ProtoReflect().Descriptor() != md {
		t.Fatal("wrong type")
	}
	if b, ok := m.Wire(); !ok || !bytes.Equal(b, wire) {
		t.Fatal("the type check decoded the message")
	}
	out, err := (protoCodec{}).Marshal(m)
	if err != nil || !bytes.Equal(out.Materialize(), wire) {
		t.Fatalf("Marshal: %v", err)
	}
	if !proto.Equal(m, src) {
		t.Fatal("decoded message differs")
	}
	if _, ok := m.Wire(); ok {
		t.Fatal("Wire after decoding")
	}

	// A change through reflection is what is sent.
	fd := md.Fields().ByName("fields")
	m.ProtoReflect().Mutable(fd).Map().Clear(protoreflect.ValueOfString("a").MapKey())
	out, err = (protoCodec{}).Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(out.Materialize(), got); err != nil || got.Get(fd).Map().Len() != 1 {
		t.Fatalf("changed message not sent: %v", err)
	}
}

func TestWireMessageBadBytes(t *testing.T) {
	md := (&structpb.Struct{}).ProtoReflect().Descriptor()
	entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "k")
	// A key of the wrong wire type after a valid one makes proto.Unmarshal
	// panic; the codec reports an error instead.
	entry = protowire.AppendVarint(protowire.AppendTag(entry, 1, protowire.VarintType), 1)
	panics := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), entry)
	for _, b := range [][]byte{{0xff}, protowire.AppendTag(nil, 1, protowire.BytesType), panics} {
		m := bridge.NewWireMessage(md, nil)
		err := (protoCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
		if err == nil {
			t.Fatalf("%x: no error", b)
		}
		ref := dynamicpb.NewMessage(md)
		if refErr := refUnmarshal(b, ref); refErr == nil || refErr.Error() != err.Error() {
			t.Errorf("%x: error %v, proto.Unmarshal: %v", b, err, refErr)
		}
	}
}

// refUnmarshal is proto.Unmarshal with its panics as errors, the way the
// codec reports malformed input.
func refUnmarshal(b []byte, m proto.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("proto: cannot parse invalid wire-format data (%v)", p)
		}
	}()
	return proto.UnmarshalOptions{AllowPartial: true}.Unmarshal(b, m)
}
