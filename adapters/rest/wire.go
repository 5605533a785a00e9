package rest

import (
	"errors"
	"math"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// fastPath transcodes a JSON route's bodies directly between the call's
// protobuf wire bytes and JSON (internal/wirejson), so that neither the
// request nor the reply becomes a dynamic message. Whatever it cannot do —
// a request that middleware has already decoded, bytes or JSON the
// transcoder refuses — takes the dynamic path, which then decides (and
// words the error) exactly as before.
type fastPath struct {
	// body transcodes the request body's message; nil when requests take
	// the dynamic path.
	body *wirejson.Codec
	// bodyNum is the body field's number, 0 for body "*".
	bodyNum protoreflect.FieldNumber
	// skip leaves the path-bound fields out of a body "*".
	skip wirejson.FieldSet
	// params selects the fields the path and the query string read: all
	// but the body field (and the path fields within it), or for body "*"
	// the path fields.
	params wirejson.FieldSet
	// reply transcodes the reply's message; nil when replies take the
	// dynamic path.
	reply *wirejson.Codec
	// replyTag is the tag of a response_body field the reply is wrapped
	// in; nil when the reply is the whole output.
	replyTag []byte
	// bodySize and replySize learn how large the route's output is for
	// its input, to size the buffers transcoding writes to.
	bodySize, replySize sizeHint
}

// sizeHint learns the ratio of an output's size to its input's from the
// calls made, so that buffers are neither grown while written nor much
// larger than needed (most of a call's allocated bytes, and so of its
// share of garbage collection). It follows a larger ratio at once and a
// smaller one slowly.
type sizeHint struct {
	scale atomic.Uint32 // output bytes per input byte, ×256; 0 until learned
}

// size returns the capacity to give an output for n input bytes: the ratio
// learned (or def before any call) with 1/16 and 64 bytes to spare, at
// most limit — one small input of a high ratio (a lone bool field) must
// not size the buffers of large ones beyond what they may hold.
func (h *sizeHint) size(n, def, limit int) int {
	s := int(h.scale.Load())
	if s == 0 {
		s = def * 256
	}
	return min(n*s/256+n/16+64, limit)
}

// learn records the sizes of one transcoding.
func (h *sizeHint) learn(in, out int) {
	if in <= 0 {
		return
	}
	s := uint32(min(int64(out)*256/int64(in)+1, math.MaxUint32))
	if old := h.scale.Load(); old > s {
		s = old - (old-s)/16
	}
	h.scale.Store(s)
}

// bindFast plans the fast path of a JSON route; e.fast stays nil when
// nothing qualifies. Messages of package google.protobuf as a whole body
// stay on the dynamic path (their int64 rewriting differs).
func (e *endpoint) bindFast() {
	if e.xml {
		return
	}
	f := &fastPath{}
	switch {
	case e.reqRaw:
	case e.bodyAll && !googleType(e.in):
		if c, err := wirejson.NewCodecOptions(e.in, wirejson.Options{Names: e.a.names}); err == nil {
			f.body, f.skip, f.params = c, fieldSet(e.pathSkip), fieldSet(e.pathSkip)
		}
	case e.bodyField != nil && singularMessage(e.bodyField) && !googleType(e.bodyField.Message()):
		if c, err := wirejson.NewCodecOptions(e.bodyField.Message(), wirejson.Options{Names: e.a.names}); err == nil {
			f.body, f.bodyNum, f.params = c, e.bodyField.Number(), wirejson.FieldSet{}
			fields := e.in.Fields()
			for i := 0; i < fields.Len(); i++ {
				if fd := fields.Get(i); fd != e.bodyField {
					f.params[fd.Number()] = nil
				}
			}
			if sub, ok := e.pathSkip[f.bodyNum]; ok {
				f.params[f.bodyNum] = fieldSet(sub)
			}
		}
	}
	var target protoreflect.MessageDescriptor
	switch {
	case e.respRaw:
	case e.respField == nil:
		target = e.r.Method.Output()
	case singularMessage(e.respField):
		target = e.respField.Message()
		f.replyTag = protowire.AppendTag(nil, e.respField.Number(), protowire.BytesType)
	}
	if target != nil {
		if c, err := wirejson.NewCodec(target); err == nil {
			f.reply = c
		}
	}
	if f.body != nil || f.reply != nil {
		e.fast = f
	}
}

func googleType(md protoreflect.MessageDescriptor) bool {
	return md.FullName().Parent() == "google.protobuf"
}

// fieldSet converts the path fields' tree.
func fieldSet(t fieldTree) wirejson.FieldSet {
	if t == nil {
		return nil
	}
	s := make(wirejson.FieldSet, len(t))
	for n, sub := range t {
		s[n] = fieldSet(sub)
	}
	return s
}

// requestParts returns the request message that the path and the query
// string read and, on the fast path, the JSON body transcoded from the
// call's wire bytes; the body is nil when encodeBody is to render it.
func (e *endpoint) requestParts(c *bridge.Call) (protoreflect.Message, []byte, error) {
	if f := e.fast; f != nil && f.body != nil {
		if wm, ok := c.Request.(*bridge.WireMessage); ok && wm.Descriptor() == e.in {
			if wire, ok := wm.Wire(); ok {
				if m, body, err := f.request(e, wire); err == nil {
					return m, body, nil
				}
			}
		}
	}
	m, err := e.requestMessage(c)
	return m, nil, err
}

// request splits a request's encoding: the fields the path and query read
// decode into a small dynamic message, the body transcodes to JSON.
func (f *fastPath) request(e *endpoint, wire []byte) (protoreflect.Message, []byte, error) {
	params, err := appendSelected(nil, wire, f.params)
	if err != nil {
		return nil, nil, err
	}
	m := dynamicpb.NewMessage(e.in)
	if len(params) > 0 {
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(params, m); err != nil {
			return nil, nil, err
		}
	}
	src := wire
	if f.bodyNum != 0 {
		if src, err = fieldPayload(wire, f.bodyNum); err != nil {
			return nil, nil, err
		}
	}
	size := f.bodySize.size(len(src), 2, int(min(e.a.maxRequest, math.MaxInt32))+1)
	body, err := f.body.AppendJSON(make([]byte, 0, size), src, wirejson.EncodeOptions{Int64AsNumbers: e.int64Numbers, Skip: f.skip})
	if err != nil {
		return nil, nil, err
	}
	f.bodySize.learn(len(src), len(body))
	return m, body, nil
}

var errWire = errors.New("invalid wire-format data")

// appendSelected appends the fields of wire that set selects: whole fields
// as they are, and for a field with a subset, its length-delimited values
// filtered the same way.
func appendSelected(dst, wire []byte, set wirejson.FieldSet) ([]byte, error) {
	for len(wire) > 0 {
		num, wt, n := protowire.ConsumeTag(wire)
		if n < 0 {
			return nil, errWire
		}
		m := protowire.ConsumeFieldValue(num, wt, wire[n:])
		if m < 0 {
			return nil, errWire
		}
		field := wire[:n+m]
		wire = wire[n+m:]
		sub, ok := set[num]
		switch {
		case !ok:
		case sub == nil:
			dst = append(dst, field...)
		case wt == protowire.BytesType:
			v, _ := protowire.ConsumeBytes(field[n:])
			inner, err := appendSelected(nil, v, sub)
			if err != nil {
				return nil, err
			}
			dst = protowire.AppendBytes(append(dst, field[:n]...), inner)
		}
	}
	return dst, nil
}

// fieldPayload returns the encoding of a singular message field: its
// value's payload, or the concatenation of several (which proto merges).
func fieldPayload(wire []byte, num protoreflect.FieldNumber) ([]byte, error) {
	var out []byte
	count := 0
	for len(wire) > 0 {
		n, wt, tn := protowire.ConsumeTag(wire)
		if tn < 0 {
			return nil, errWire
		}
		vn := protowire.ConsumeFieldValue(n, wt, wire[tn:])
		if vn < 0 {
			return nil, errWire
		}
		if n == num && wt == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(wire[tn:])
			switch count++; count {
			case 1:
				out = v
			case 2:
				out = append(append([]byte(nil), out...), v...)
			default:
				out = append(out, v...)
			}
		}
		wire = wire[tn+vn:]
	}
	return out, nil
}

// replyWire transcodes a JSON reply into the output message's encoding,
// wrapped in the response_body field when there is one.
func (f *fastPath) replyWire(body []byte) ([]byte, error) {
	const room = 2 * binary64
	// The wire form is seldom over twice the JSON (append grows it if so).
	buf := make([]byte, room, room+f.replySize.size(len(body), 1, 2*len(body)+64))
	buf, err := f.reply.AppendWire(buf, body)
	if err != nil {
		return nil, err
	}
	f.replySize.learn(len(body), len(buf)-room)
	if f.replyTag == nil {
		return buf[room:], nil
	}
	n := len(buf) - room
	start := room - len(f.replyTag) - protowire.SizeVarint(uint64(n))
	protowire.AppendVarint(append(buf[:start], f.replyTag...), uint64(n))
	return buf[start:], nil
}

// binary64 bounds the size of a varint (and of a tag).
const binary64 = 10
