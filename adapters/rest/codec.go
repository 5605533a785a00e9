package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// Media types sent with request bodies.
const (
	jsonContentType = "application/json"
	xmlContentType  = "application/xml; charset=utf-8"
	rawContentType  = "application/octet-stream"
)

// HttpBody's fields.
const (
	httpBodyContentType protoreflect.Name = "content_type"
	httpBodyData        protoreflect.Name = "data"
)

// encodeBody renders the request body selected by the rule; nil when the
// rule has none. pre is a JSON body the fast path already transcoded.
func (e *endpoint) encodeBody(m protoreflect.Message, pre []byte) ([]byte, string, error) {
	if pre != nil {
		return pre, jsonContentType, nil
	}
	var src protoreflect.Message
	switch {
	case e.bodyAll:
		src = m
	case e.bodyField != nil && singularMessage(e.bodyField):
		src = m.Get(e.bodyField).Message()
	case e.bodyField != nil:
		b, err := jsonField(m, e.bodyField)
		if err == nil && e.rewrites(e.bodyField) {
			b, err = rewriteField(b, e.bodyField, e.int64Numbers, e.a.names)
		}
		return b, jsonContentType, e.encodeErr(err)
	default:
		return nil, "", nil
	}
	if e.reqRaw {
		fields := src.Descriptor().Fields()
		ct := src.Get(fields.ByName(httpBodyContentType)).String()
		if ct == "" {
			ct = rawContentType
		}
		return src.Get(fields.ByName(httpBodyData)).Bytes(), ct, nil
	}
	skip := fieldTree(nil)
	if e.bodyAll {
		skip = e.pathSkip
	}
	if e.xml {
		b, err := encodeXML(src, e.reqXML, skip)
		return b, xmlContentType, e.encodeErr(err)
	}
	if len(skip) > 0 {
		clone := proto.Clone(src.Interface()).ProtoReflect()
		for _, p := range e.pathFields {
			p.clear(clone)
		}
		src = clone
	}
	b, err := protojson.Marshal(src.Interface())
	if err == nil && (e.int64Numbers && has64(src.Descriptor()) || e.a.names != wirejson.NamesLowerCamel || wirejson.HasEnumLiterals(src.Descriptor())) {
		b, err = rewriteMessage(b, src.Descriptor(), e.int64Numbers, e.a.names)
	}
	return b, jsonContentType, e.encodeErr(err)
}

func (e *endpoint) encodeErr(err error) error {
	if err == nil {
		return nil
	}
	return bridge.Errorf(codes.InvalidArgument, reason.BadRequestBody, e.meta(), "cannot encode the request body: %v", err)
}

// rewrites reports whether protojson's rendering of field fd needs
// rewriting: int64 numbers or key spellings.
func (e *endpoint) rewrites(fd protoreflect.FieldDescriptor) bool {
	if e.int64Numbers && is64(fd) {
		return true
	}
	if fd.IsMap() {
		fd = fd.MapValue()
	}
	if fd.Enum() != nil {
		return wirejson.EnumHasLiterals(fd.Enum())
	}
	return fd.Message() != nil && (e.a.names != wirejson.NamesLowerCamel || e.int64Numbers && has64(fd.Message()) || wirejson.HasEnumLiterals(fd.Message()))
}

// jsonField renders one field of m as a JSON value, exactly as protojson
// writes it inside m (so repeated, map and scalar fields work too).
func jsonField(m protoreflect.Message, fd protoreflect.FieldDescriptor) ([]byte, error) {
	tmp := m.Type().New()
	if m.Has(fd) {
		tmp.Set(fd, m.Get(fd))
	}
	b, err := protojson.MarshalOptions{EmitUnpopulated: !m.Has(fd)}.Marshal(tmp.Interface())
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	if v, ok := obj[fd.JSONName()]; ok {
		return v, nil
	}
	return []byte("null"), nil
}

// decodeReply decodes a 2xx reply body into the route's output message: on
// the fast path straight into its wire encoding (a bridge.WireMessage),
// otherwise into a dynamic message. A body the transcoder refuses goes to
// the dynamic path too, which accepts it or words the error as protojson
// does.
func (e *endpoint) decodeReply(contentType string, body []byte) (proto.Message, error) {
	if f := e.fast; f != nil && f.reply != nil && len(body) > 0 && checkMediaType(contentType, false) == nil {
		if wire, err := f.replyWire(body); err == nil {
			return bridge.NewWireMessage(e.r.Method.Output(), wire), nil
		}
	}
	out := dynamicpb.NewMessage(e.r.Method.Output())
	if err := e.decode(contentType, body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// decode fills out from a 2xx reply body.
func (e *endpoint) decode(contentType string, body []byte, out protoreflect.Message) error {
	target := out
	if e.respField != nil && singularMessage(e.respField) {
		target = out.Mutable(e.respField).Message()
	}
	if e.respRaw {
		fields := target.Descriptor().Fields()
		target.Set(fields.ByName(httpBodyContentType), protoreflect.ValueOfString(contentType))
		target.Set(fields.ByName(httpBodyData), protoreflect.ValueOfBytes(body))
		return nil
	}
	if len(body) == 0 {
		return nil
	}
	if err := checkMediaType(contentType, e.xml); err != nil {
		return err
	}
	if e.xml {
		return decodeXML(body, target, e.respXML)
	}
	if e.literals != nil && e.decodeLiterals(body, out) == nil {
		return nil
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	if e.respField == nil || target != out {
		return opts.Unmarshal(body, target.Interface())
	}
	// A scalar, repeated or map response_body: decode it as the value of
	// that field of the output. json.Valid makes sure the body is exactly
	// one value, so it cannot smuggle in other fields.
	if !json.Valid(body) {
		return errors.New("invalid JSON")
	}
	name, _ := json.Marshal(e.respField.JSONName())
	wrapped := make([]byte, 0, len(body)+len(name)+3)
	wrapped = append(append(append(append(wrapped, '{'), name...), ':'), body...)
	return opts.Unmarshal(append(wrapped, '}'), out.Interface())
}

// decodeLiterals reads a JSON reply with the transcoder, which knows enum
// literals (protojson would drop them), as the value of the response field
// or the whole output. On failure out is untouched and protojson decides
// and words the error.
func (e *endpoint) decodeLiterals(body []byte, out protoreflect.Message) error {
	doc := body
	if e.respField != nil {
		if !json.Valid(body) {
			return errors.New("invalid JSON")
		}
		name, _ := json.Marshal(e.respField.JSONName())
		doc = make([]byte, 0, len(body)+len(name)+3)
		doc = append(append(append(append(append(doc, '{'), name...), ':'), body...), '}')
	}
	wire, err := e.literals.AppendWire(nil, doc)
	if err != nil {
		return err
	}
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(wire, out.Interface())
}

// checkMediaType refuses replies that are plainly not the expected encoding
// (an HTML error page with status 200, XML for a JSON route). A missing or
// generic type is given a chance to decode.
func checkMediaType(contentType string, xml bool) error {
	if contentType == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	want := "JSON"
	if xml {
		want = "XML"
	}
	isXML := strings.HasSuffix(mt, "/xml") || strings.HasSuffix(mt, "+xml")
	isJSON := strings.HasSuffix(mt, "/json") || strings.HasSuffix(mt, "+json")
	if mt == "text/html" || mt == "application/xhtml+xml" || (xml && isJSON) || (!xml && isXML) {
		return fmt.Errorf("the reply is %s, not %s", mt, want)
	}
	return nil
}
