package bridge

import (
	"fmt"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/runtime/protoiface"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/internal/wirejson"
)

// WireMessage is a message held as its protobuf wire encoding and decoded
// into a dynamic message only when something looks inside it.
//
// The server receives every routed request as a WireMessage: an endpoint
// that transcodes the bytes directly (the REST adapter's JSON bodies) never
// pays for a dynamic message, and everything else — middleware, other
// adapters — works unchanged through ProtoReflect, which decodes once.
// An endpoint may return one as its reply (NewWireMessage); the server's
// codec sends the bytes as they are.
//
// Once ProtoReflect has been called the dynamic message is the value (it may
// have been changed through reflection) and Wire reports no encoding.
type WireMessage struct {
	md   protoreflect.MessageDescriptor
	wire []byte
	// decoded is set once ProtoReflect has been called.
	decoded atomic.Bool
	once    sync.Once
	msg     *dynamicpb.Message
}

var _ proto.Message = (*WireMessage)(nil)

// NewWireMessage returns a message of type md whose encoding is wire. wire
// must be a valid encoding (as proto.Marshal or wirejson writes it); the
// message keeps it without copying.
func NewWireMessage(md protoreflect.MessageDescriptor, wire []byte) *WireMessage {
	return &WireMessage{md: md, wire: wire}
}

// Descriptor returns the message's type without decoding it.
func (m *WireMessage) Descriptor() protoreflect.MessageDescriptor { return m.md }

// Wire returns the message's encoding, and false once the message has been
// decoded (its value is then the dynamic message's). The bytes must not be
// modified.
func (m *WireMessage) Wire() ([]byte, bool) {
	if m.decoded.Load() {
		return nil, false
	}
	return m.wire, true
}

// ProtoReflect returns the message's reflection. Its type (Descriptor, New,
// IsValid, Interface) needs no decoding; any other method decodes the
// message once into a dynamic message and delegates to it. Safe for
// concurrent use.
func (m *WireMessage) ProtoReflect() protoreflect.Message { return lazyReflect{m} }

// decode decodes the message on first use; from then on Wire reports no
// encoding.
func (m *WireMessage) decode() *dynamicpb.Message {
	m.decoded.Store(true)
	m.once.Do(func() {
		if m.msg != nil {
			return
		}
		m.msg = dynamicpb.NewMessage(m.md)
		if err := unmarshalOpts.Unmarshal(m.wire, m.msg); err != nil {
			// The bytes were validated on receipt or written by a
			// transcoder: this is a bug, not bad input.
			panic(fmt.Sprintf("bridge: WireMessage of %s does not decode: %v", m.md.FullName(), err))
		}
	})
	return m.msg
}

// lazyReflect is a WireMessage's protoreflect.Message: what only needs the
// type is answered from the descriptor, so that a look at the type (as a
// validator without rules for the type takes) keeps the encoding usable.
type lazyReflect struct{ m *WireMessage }

var _ protoreflect.Message = lazyReflect{}

func (r lazyReflect) Descriptor() protoreflect.MessageDescriptor { return r.m.md }
func (r lazyReflect) Type() protoreflect.MessageType             { return r.m.decode().Type() }
func (r lazyReflect) New() protoreflect.Message                  { return dynamicpb.NewMessage(r.m.md) }
func (r lazyReflect) Interface() protoreflect.ProtoMessage       { return r.m }
func (r lazyReflect) IsValid() bool                              { return true }
func (r lazyReflect) ProtoMethods() *protoiface.Methods          { return nil }
func (r lazyReflect) Range(f func(protoreflect.FieldDescriptor, protoreflect.Value) bool) {
	r.m.decode().Range(f)
}
func (r lazyReflect) Has(fd protoreflect.FieldDescriptor) bool { return r.m.decode().Has(fd) }
func (r lazyReflect) Clear(fd protoreflect.FieldDescriptor)    { r.m.decode().Clear(fd) }
func (r lazyReflect) Get(fd protoreflect.FieldDescriptor) protoreflect.Value {
	return r.m.decode().Get(fd)
}
func (r lazyReflect) Set(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	r.m.decode().Set(fd, v)
}
func (r lazyReflect) Mutable(fd protoreflect.FieldDescriptor) protoreflect.Value {
	return r.m.decode().Mutable(fd)
}
func (r lazyReflect) NewField(fd protoreflect.FieldDescriptor) protoreflect.Value {
	return r.m.decode().NewField(fd)
}
func (r lazyReflect) WhichOneof(od protoreflect.OneofDescriptor) protoreflect.FieldDescriptor {
	return r.m.decode().WhichOneof(od)
}
func (r lazyReflect) GetUnknown() protoreflect.RawFields  { return r.m.decode().GetUnknown() }
func (r lazyReflect) SetUnknown(b protoreflect.RawFields) { r.m.decode().SetUnknown(b) }

// SetWire fills m with a received encoding: the bytes are checked as
// proto.Unmarshal checks them, without decoding, and kept without copying.
// Bytes that fail the check are decoded for proto.Unmarshal's own error.
// A front door's codec calls it on a message made by NewWireMessage(md, nil).
func (m *WireMessage) SetWire(b []byte) error {
	if wirejson.Validate(b, m.md) == nil {
		m.wire = b
		return nil
	}
	dm := dynamicpb.NewMessage(m.md)
	if err := safeUnmarshal(b, dm); err != nil {
		return err
	}
	m.msg = dm
	m.decoded.Store(true)
	return nil
}

// safeUnmarshal is proto.Unmarshal turning its panics on some malformed map
// entries into errors.
func safeUnmarshal(b []byte, m proto.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("proto: cannot parse invalid wire-format data (%v)", p)
		}
	}()
	return unmarshalOpts.Unmarshal(b, m)
}

// MessageName is the full name of m's type; a WireMessage is not decoded.
func MessageName(m proto.Message) protoreflect.FullName {
	if wm, ok := m.(*WireMessage); ok {
		return wm.md.FullName()
	}
	return m.ProtoReflect().Descriptor().FullName()
}

// unmarshalOpts decodes as the gRPC codec does: required fields are the
// peer's to check.
var unmarshalOpts = proto.UnmarshalOptions{AllowPartial: true}
