package grpcfront

import (
	"fmt"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoCodec is grpc-go's proto codec without the required-field check.
// The default codec walks every message it marshals looking for unset proto2
// required fields (~12% of a translated call on large dynamic messages);
// protobridge's messages are built by its own decoders, and a peer missing a
// required field is still told so when it parses the message.
type protoCodec struct{}

var _ encoding.CodecV2 = protoCodec{}

var (
	marshalOpts   = proto.MarshalOptions{AllowPartial: true, UseCachedSize: true}
	unmarshalOpts = proto.UnmarshalOptions{AllowPartial: true}
)

// Marshal encodes v, pooling large buffers as grpc-go's codec does. A
// WireMessage that has not been decoded is sent as its bytes.
func (protoCodec) Marshal(v any) (mem.BufferSlice, error) {
	if wm, ok := v.(*bridge.WireMessage); ok {
		if b, ok := wm.Wire(); ok {
			return mem.BufferSlice{mem.SliceBuffer(b)}, nil
		}
	}
	m := messageOf(v)
	if m == nil {
		return nil, fmt.Errorf("proto: cannot marshal %T, want proto.Message", v)
	}
	size := proto.Size(m) // UseCachedSize below relies on this call
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf, err := marshalOpts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := marshalOpts.MarshalAppend((*buf)[:0], m); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// Unmarshal decodes data into v. A WireMessage keeps a copy of the bytes,
// checked but not decoded. An incoming keeps the check's failure instead
// of returning it: grpc-go would end the call with INTERNAL itself.
func (protoCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if in, ok := v.(*incoming); ok {
		in.set(data.Materialize())
		return nil
	}
	if wm, ok := v.(*bridge.WireMessage); ok {
		return wm.SetWire(data.Materialize())
	}
	m := messageOf(v)
	if m == nil {
		return fmt.Errorf("proto: cannot unmarshal into %T, want proto.Message", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return unmarshalOpts.Unmarshal(buf.ReadOnlyData(), m)
}

// Name is the content subtype, the same as grpc-go's proto codec.
func (protoCodec) Name() string { return "proto" }

func messageOf(v any) proto.Message {
	switch v := v.(type) {
	case protoadapt.MessageV2:
		return v
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(v)
	}
	return nil
}

// incoming is what the front door receives a caller's message into: the
// message, or why its bytes do not decode as the method's input.
//
// A codec error from RecvMsg makes grpc-go write an INTERNAL status
// ("failed to unmarshal") to the caller at once, whatever the handler
// returns next; the caller's undecodable bytes are its mistake, so the
// codec keeps the error here and the handler answers INVALID_ARGUMENT.
//
// The message is made when the bytes arrive (Unmarshal), not while a
// stream's next message is awaited, which can last as long as the stream.
type incoming struct {
	md  protoreflect.MessageDescriptor
	msg *bridge.WireMessage
	err error
}

func newIncoming(md protoreflect.MessageDescriptor) *incoming {
	return &incoming{md: md}
}

// set gives the message the bytes received, keeping a check's failure.
func (in *incoming) set(wire []byte) {
	in.msg = bridge.NewWireMessage(in.md, nil)
	in.err = in.msg.SetWire(wire)
}

// recv receives the caller's next message through ss.
func (in *incoming) recv(ss grpc.ServerStream) (*bridge.WireMessage, error) {
	if err := ss.RecvMsg(in); err != nil {
		return nil, err
	}
	if in.err != nil {
		return nil, bridge.Wrap(in.err, codes.InvalidArgument, reason.BadRequestMessage, nil, "the request does not decode as the method's input message %s: %v", in.md.FullName(), in.err)
	}
	if in.msg == nil {
		// Not reached with grpc-go, which unmarshals every message, even
		// an empty one.
		in.set(nil)
	}
	return in.msg, nil
}
