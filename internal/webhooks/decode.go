package webhooks

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/clbanning/mxj/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxDepth bounds the nesting a form or XML payload is mapped through.
const maxDepth = 32

// decode reads a payload of the given Content-Type into a new message of
// md: JSON as protojson (unknown fields dropped), form and XML bodies
// field by field, their text values typed by the descriptor.
func decode(contentType string, body []byte, md protoreflect.MessageDescriptor, types *dynamicpb.Types) (*dynamicpb.Message, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = "application/json", nil
	}
	if err != nil {
		return nil, fmt.Errorf("Content-Type %q: %v", contentType, err)
	}
	var raw []byte
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		raw = body
	case mt == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %v", err)
		}
		m := map[string]any{}
		for k, vs := range q {
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			m[k] = l
		}
		if raw, err = json.Marshal(coerce(md, m, 0)); err != nil {
			return nil, err
		}
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		if err := xmlDepthWithin(body, maxDepth+1); err != nil { // the root, then maxDepth levels
			return nil, fmt.Errorf("XML body: %v", err)
		}
		x, err := mxj.NewMapXml(body)
		if err != nil {
			return nil, fmt.Errorf("XML body: %v", err)
		}
		var root any
		for _, v := range x { // the one root element
			root = v
		}
		m, _ := root.(map[string]any)
		if raw, err = json.Marshal(coerce(md, m, 0)); err != nil {
			return nil, err
		}
	default:
		return nil, &unsupported{mt}
	}
	out := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true, Resolver: types}).Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("payload does not fit %s: %v", md.FullName(), err)
	}
	return out, nil
}

// xmlDepthWithin checks, token by token and before anything is built from
// it, that an XML document nests no deeper than limit elements.
func xmlDepthWithin(body []byte, limit int) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > limit {
				return fmt.Errorf("elements nest deeper than %d", limit)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// unsupported is a Content-Type the ingress does not decode.
type unsupported struct{ mt string }

func (u *unsupported) Error() string {
	return fmt.Sprintf("Content-Type %q is not JSON, XML or a form", u.mt)
}

// coerce turns text values (forms, XML) into the JSON protojson expects
// for md's fields; keys matching no field are dropped.
func coerce(md protoreflect.MessageDescriptor, m map[string]any, depth int) map[string]any {
	out := map[string]any{}
	if depth > maxDepth {
		return out
	}
	for k, v := range m {
		name := strings.TrimPrefix(k, "-") // mxj marks attributes with "-"
		fd := md.Fields().ByJSONName(name)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(name))
		}
		if fd == nil {
			continue
		}
		var list []any
		switch v := v.(type) {
		case []any:
			list = v
		default:
			list = []any{v}
		}
		if fd.IsList() {
			l := make([]any, 0, len(list))
			for _, e := range list {
				l = append(l, coerceValue(fd, e, depth))
			}
			out[fd.JSONName()] = l
		} else if fd.IsMap() {
			continue // maps have no text form here
		} else if len(list) > 0 {
			out[fd.JSONName()] = coerceValue(fd, list[len(list)-1], depth)
		}
	}
	return out
}

func coerceValue(fd protoreflect.FieldDescriptor, v any, depth int) any {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		if m, ok := v.(map[string]any); ok {
			return coerce(fd.Message(), m, depth+1)
		}
		return v
	}
	if m, ok := v.(map[string]any); ok { // an XML element with attributes: its text
		v = m["#text"]
	}
	s, ok := v.(string)
	if !ok {
		return v
	}
	if fd.Kind() == protoreflect.BoolKind {
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s // protojson reads numbers, enums and bytes from strings
}
