package router

import (
	"bytes"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/protobridge/protobridge/bridge"
)

// redactError removes the upstream's outbound secrets from a call's
// status: its message and every string in its details (an UpstreamError
// quoting a body, a SOAP fault's strings, ErrorInfo metadata). Adapters
// redact what they quote; this catches what one missed. The cause an
// error wraps is kept, for errors.Is, but never reaches the caller.
func redactError(red *bridge.Redactor, err error) error {
	if err == nil || red == nil {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	p := st.Proto()
	changed := false
	if m := red.String(p.GetMessage()); m != p.GetMessage() {
		p.Message, changed = m, true
	}
	for i, d := range p.GetDetails() {
		if bytes.Equal(red.Redact(d.GetValue()), d.GetValue()) {
			continue // strings are kept as they are in the encoding
		}
		m, uerr := d.UnmarshalNew()
		if uerr != nil {
			p.Details[i], changed = &anypb.Any{}, true
			continue
		}
		redactStrings(red, m.ProtoReflect())
		if a, aerr := anypb.New(m); aerr == nil {
			p.Details[i], changed = a, true
		}
	}
	if !changed {
		return err
	}
	return &redacted{st: status.FromProto(p), cause: err}
}

// redactStrings redacts every string field of m, at any depth.
func redactStrings(red *bridge.Redactor, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				if nv, ok := redactValue(red, fd, l.Get(i)); ok {
					l.Set(i, nv)
				}
			}
		case fd.IsMap():
			mp := v.Map()
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if nv, ok := redactValue(red, fd.MapValue(), mv); ok {
					mp.Set(k, nv)
				}
				return true
			})
		default:
			if nv, ok := redactValue(red, fd, v); ok {
				m.Set(fd, nv)
			}
		}
		return true
	})
}

func redactValue(red *bridge.Redactor, fd protoreflect.FieldDescriptor, v protoreflect.Value) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s := red.String(v.String()); s != v.String() {
			return protoreflect.ValueOfString(s), true
		}
	case protoreflect.BytesKind:
		if b := red.Redact(v.Bytes()); !bytes.Equal(b, v.Bytes()) {
			return protoreflect.ValueOfBytes(b), true
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		redactStrings(red, v.Message())
	}
	return v, false
}

// redacted is a status with secrets removed, keeping the original error
// as its cause.
type redacted struct {
	st    *status.Status
	cause error
}

func (r *redacted) Error() string              { return r.st.Err().Error() }
func (r *redacted) GRPCStatus() *status.Status { return r.st }
func (r *redacted) Unwrap() error              { return r.cause }
