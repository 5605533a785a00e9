package websocket

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	ws "github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/internal/xmlmap"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// frame is one data message read from a socket.
type frame struct {
	typ  ws.MessageType
	data []byte
}

// errFrameType is a frame of the wrong type for the route's encoding.
var errFrameType = errors.New("a text frame where binary frames are configured")

// codec turns messages into frames and back by the route's encoding.
//
// Messages held as their wire encoding (bridge.WireMessage, as the server
// receives caller messages) skip dynamic messages: JSON frames are
// transcoded directly from and to the wire format (internal/wirejson), and
// binary protobuf frames carry the bytes as they are. Whatever the
// transcoder refuses takes the dynamic path, which decides and words the
// error as before.
type codec struct {
	enc Encoding
	// inType and outType are the input and output messages' types.
	inType, outType protoreflect.MessageDescriptor
	// rawIn and rawOut are set when protobuf frames of the input and output
	// types pass as their bytes (EncodingProtobuf, no required fields).
	rawIn, rawOut bool
	// in and out map the input and output messages to XML documents
	// (EncodingXML only).
	in, out *xmlmap.Message
	// inJSON and outJSON transcode the input and output messages between
	// the wire format and JSON (EncodingJSON only); nil when a type takes
	// the dynamic path.
	inJSON, outJSON *wirejson.Codec
	// names spells the keys of JSON frames sent.
	names wirejson.Names
}

// newCodec prepares the codec of a method; XML mappings are checked and
// JSON transcoders compiled here.
func newCodec(enc Encoding, md protoreflect.MethodDescriptor, names wirejson.Names) (*codec, error) {
	c := &codec{enc: enc, inType: md.Input(), outType: md.Output(), names: names}
	switch enc {
	case EncodingProtobuf:
		c.rawIn = partialOK(md.Input(), map[protoreflect.FullName]bool{})
		c.rawOut = partialOK(md.Output(), map[protoreflect.FullName]bool{})
		return c, nil
	case EncodingXML:
	default:
		c.inJSON, c.outJSON = jsonCodec(md.Input(), names), jsonCodec(md.Output(), names)
		return c, nil
	}
	var err error
	if c.in, err = xmlmap.Plan(md.Input()); err != nil {
		return nil, fmt.Errorf("request XML: %w", err)
	}
	if c.out, err = xmlmap.Plan(md.Output()); err != nil {
		return nil, fmt.Errorf("reply XML: %w", err)
	}
	return c, nil
}

// jsonCodec compiles the transcoder of md; nil for the well-known types of
// package google.protobuf as a whole message, and for types the transcoder
// does not take, which stay on the dynamic path.
func jsonCodec(md protoreflect.MessageDescriptor, names wirejson.Names) *wirejson.Codec {
	if md.FullName().Parent() == "google.protobuf" {
		return nil
	}
	jc, err := wirejson.NewCodecOptions(md, wirejson.Options{Names: names})
	if err != nil {
		return nil
	}
	return jc
}

// encode renders one caller message as a frame.
func (c *codec) encode(m proto.Message) (frame, error) {
	if f, ok := c.encodeWire(m); ok {
		return f, nil
	}
	switch c.enc {
	case EncodingProtobuf:
		b, err := proto.Marshal(m)
		return frame{ws.MessageBinary, b}, err
	case EncodingXML:
		b, err := xmlmap.Encode(m.ProtoReflect(), c.in, nil)
		return frame{ws.MessageText, b}, err
	}
	if c.inJSON != nil && m.ProtoReflect().Descriptor() == c.inType {
		// The transcoder spells keys as the upstream's json_names says.
		wire, err := proto.MarshalOptions{AllowPartial: true}.Marshal(m)
		if err == nil {
			if b, err := c.inJSON.AppendJSON(nil, wire, wirejson.EncodeOptions{}); err == nil {
				return frame{ws.MessageText, b}, nil
			}
		}
	}
	b, err := protojson.MarshalOptions{UseProtoNames: c.names == wirejson.NamesAsWritten}.Marshal(m)
	return frame{ws.MessageText, b}, err
}

// encodeWire renders a caller message held as its wire encoding without
// decoding it: the bytes themselves for protobuf, transcoded for JSON. ok
// is false when the message takes the dynamic path.
func (c *codec) encodeWire(m proto.Message) (frame, bool) {
	wm, ok := m.(*bridge.WireMessage)
	if !ok || wm.Descriptor() != c.inType {
		return frame{}, false
	}
	wire, ok := wm.Wire()
	if !ok {
		return frame{}, false
	}
	switch {
	case c.rawIn:
		return frame{ws.MessageBinary, wire}, true
	case c.inJSON != nil:
		b, err := c.inJSON.AppendJSON(make([]byte, 0, len(wire)*2+16), wire, wirejson.EncodeOptions{})
		return frame{ws.MessageText, b}, err == nil
	}
	return frame{}, false
}

// decode parses one frame into a new message of md, the output type. JSON
// and XML are accepted in binary frames too (many peers send them so);
// protobuf never in text frames. JSON and protobuf frames that the
// transcoder accepts become WireMessages.
func (c *codec) decode(f frame, md protoreflect.MessageDescriptor) (proto.Message, error) {
	if c.enc == EncodingProtobuf && f.typ != ws.MessageBinary {
		return nil, errFrameType
	}
	if md == c.outType {
		switch {
		case c.rawOut && wirejson.Validate(f.data, md) == nil:
			return bridge.NewWireMessage(md, f.data), nil
		case c.outJSON != nil:
			if wire, err := c.outJSON.AppendWire(make([]byte, 0, len(f.data)), f.data); err == nil {
				return bridge.NewWireMessage(md, wire), nil
			}
		}
	}
	m := dynamicpb.NewMessage(md)
	switch c.enc {
	case EncodingProtobuf:
		return m, proto.Unmarshal(f.data, m)
	case EncodingXML:
		return m, xmlmap.Decode(f.data, m, c.out)
	}
	return m, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(f.data, m)
}

// partialOK reports whether no message reachable from md has required
// fields, so that bytes that proto.Unmarshal accepts with AllowPartial (as
// wirejson.Validate checks them) are what proto.Marshal and proto.Unmarshal
// accept too.
func partialOK(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return true
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Cardinality() == protoreflect.Required {
			return false
		}
		if sub := fd.Message(); sub != nil && !partialOK(sub, seen) {
			return false
		}
	}
	return true
}

// quote returns the start of a frame for error details: at most max bytes,
// cut at a UTF-8 boundary, hex for binary frames.
func quote(f frame, max int) (string, bool) {
	data := f.data
	cut := len(data) > max
	if cut {
		data = data[:max]
	}
	if f.typ == ws.MessageBinary && !utf8.Valid(data) {
		return fmt.Sprintf("%x", data), cut
	}
	for !utf8.Valid(data) && len(data) > 0 {
		data, cut = data[:len(data)-1], true
	}
	return string(data), cut
}

// correlation finds a unary reply's id: the same field path in the input
// and output messages. Ids compare as text: a string as is, an integer in
// decimal.
type correlation struct {
	in, out []protoreflect.FieldDescriptor
}

// newCorrelation resolves the field path in both messages.
func newCorrelation(md protoreflect.MethodDescriptor, path string) (*correlation, error) {
	in, err := fieldPath(md.Input(), path)
	if err != nil {
		return nil, fmt.Errorf("correlation_field: %w", err)
	}
	out, err := fieldPath(md.Output(), path)
	if err != nil {
		return nil, fmt.Errorf("correlation_field: %w", err)
	}
	ki, ko := in[len(in)-1].Kind(), out[len(out)-1].Kind()
	if ki != ko || !idKind(ki) {
		return nil, fmt.Errorf("correlation_field %q: must be a string, int32, int64, uint32 or uint64 field in both %s and %s", path, md.Input().FullName(), md.Output().FullName())
	}
	return &correlation{in: in, out: out}, nil
}

func idKind(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.StringKind, protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return true
	}
	return false
}

// signature names what the reply's id is read from, so that only routes
// reading it the same way share a connection. An XML reply is read through
// the output message's mapping, so its type is part of the signature.
func (c *correlation) signature(cd *codec, out protoreflect.MessageDescriptor) string {
	var b bytes.Buffer
	b.WriteString(string(cd.enc))
	if cd.enc == EncodingXML {
		b.WriteString(":" + string(out.FullName()))
	}
	for _, fd := range c.out {
		fmt.Fprintf(&b, "/%d:%s:%s:%s", fd.Number(), fd.Name(), fd.JSONName(), fd.Kind())
	}
	return b.String()
}

// stamp makes sure the request carries an id, setting next() when the field
// is empty, and returns the id as text.
func (c *correlation) stamp(m protoreflect.Message, next func(protoreflect.Kind) protoreflect.Value) string {
	v, ok := getPath(m, c.in)
	kind := c.in[len(c.in)-1].Kind()
	if !ok || idText(kind, v) == "" {
		v = next(kind)
		setPath(m, c.in, v)
	}
	return idText(kind, v)
}

// idText renders an id value as text; zero values are empty.
func idText(k protoreflect.Kind, v protoreflect.Value) string {
	switch k {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		if v.Int() == 0 {
			return ""
		}
		return strconv.FormatInt(v.Int(), 10)
	default:
		if v.Uint() == 0 {
			return ""
		}
		return strconv.FormatUint(v.Uint(), 10)
	}
}

// replyID reads the id from a reply frame, without decoding the whole
// message for JSON and protobuf (an XML reply is decoded by the output
// type's mapping); ok is false when the frame has none.
func (c *correlation) replyID(cd *codec, f frame, out protoreflect.MessageDescriptor) (string, bool) {
	switch cd.enc {
	case EncodingProtobuf:
		return c.wireID(f.data)
	case EncodingXML:
		m, err := cd.decode(f, out)
		if err != nil {
			return "", false
		}
		v, ok := getPath(m.ProtoReflect(), c.out)
		if !ok {
			return "", false
		}
		id := idText(c.out[len(c.out)-1].Kind(), v)
		return id, id != ""
	}
	return c.jsonID(f.data)
}

// jsonID walks the JSON object by each step's JSON or proto name.
func (c *correlation) jsonID(data []byte) (string, bool) {
	raw := json.RawMessage(data)
	for _, fd := range c.out {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", false
		}
		v, ok := obj[fd.JSONName()]
		if !ok {
			v, ok = obj[string(fd.Name())]
		}
		if !ok {
			return "", false
		}
		raw = v
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, s != ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	return "", false
}

// wireID walks the protobuf wire format by field numbers with the parser's
// rules: the last occurrence of a scalar wins, occurrences of a message merge.
func (c *correlation) wireID(data []byte) (string, bool) {
	for i, fd := range c.out {
		last := i == len(c.out)-1
		var found []byte
		var varint uint64
		ok := false
		for b := data; len(b) > 0; {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return "", false
			}
			b = b[n:]
			switch {
			case num == fd.Number() && typ == protowire.BytesType && (!last || fd.Kind() == protoreflect.StringKind):
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					return "", false
				}
				if last {
					found = v
				} else {
					// Occurrences of a message field merge: their
					// bytes concatenate.
					found = append(found, v...)
				}
				ok, b = true, b[m:]
			case num == fd.Number() && typ == protowire.VarintType && last && fd.Kind() != protoreflect.StringKind:
				v, m := protowire.ConsumeVarint(b)
				if m < 0 {
					return "", false
				}
				varint, ok, b = v, true, b[m:]
			default:
				m := protowire.ConsumeFieldValue(num, typ, b)
				if m < 0 {
					return "", false
				}
				b = b[m:]
			}
		}
		if !ok {
			return "", false
		}
		if !last {
			data = found
			continue
		}
		switch fd.Kind() {
		case protoreflect.StringKind:
			return string(found), len(found) > 0
		case protoreflect.Int32Kind, protoreflect.Int64Kind:
			return strconv.FormatInt(int64(varint), 10), varint != 0
		default:
			return strconv.FormatUint(varint, 10), varint != 0
		}
	}
	return "", false
}
