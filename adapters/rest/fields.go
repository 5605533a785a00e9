package rest

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/internal/wirejson"
)

// fieldPath is a chain of fields from a message: every field but the last is
// a singular message field.
type fieldPath []protoreflect.FieldDescriptor

// resolveFieldPath resolves a dotted path of proto field names.
func resolveFieldPath(md protoreflect.MessageDescriptor, dotted string) (fieldPath, error) {
	var p fieldPath
	cur := md
	names := strings.Split(dotted, ".")
	for i, name := range names {
		fd := cur.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("message %s has no field %q", cur.FullName(), name)
		}
		p = append(p, fd)
		if i < len(names)-1 {
			if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
				return nil, fmt.Errorf("field %s is %s, so it cannot hold %q", strings.Join(names[:i+1], "."), kindLabel(fd), strings.Join(names[i+1:], "."))
			}
			cur = fd.Message()
		}
	}
	return p, nil
}

// get returns the value at the path, and false when the field or a message on
// the way is not set.
func (p fieldPath) get(m protoreflect.Message) (protoreflect.Value, bool) {
	for _, fd := range p[:len(p)-1] {
		if !m.Has(fd) {
			return protoreflect.Value{}, false
		}
		m = m.Get(fd).Message()
	}
	last := p[len(p)-1]
	if !m.Has(last) {
		return protoreflect.Value{}, false
	}
	return m.Get(last), true
}

// clear clears the field at the path in a mutable message, if it is set.
func (p fieldPath) clear(m protoreflect.Message) {
	for _, fd := range p[:len(p)-1] {
		if !m.Has(fd) {
			return
		}
		m = m.Mutable(fd).Message()
	}
	m.Clear(p[len(p)-1])
}

// kindLabel describes a field's shape for error messages.
func kindLabel(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return "a map"
	case fd.IsList():
		return "repeated"
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return "a message (" + string(fd.Message().FullName()) + ")"
	}
	return "a " + fd.Kind().String()
}

// scalarString renders a scalar value for a URL (path or query): enums by
// their wire literal (wirejson.EnumLiteral), bytes as URL-safe base64, floats in protojson's spelling.
func scalarString(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return wirejson.EnumLiteral(ev)
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.BytesKind:
		return base64.URLEncoding.EncodeToString(v.Bytes())
	case protoreflect.FloatKind:
		return formatFloat(v.Float(), 32)
	case protoreflect.DoubleKind:
		return formatFloat(v.Float(), 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	}
	return strconv.FormatInt(v.Int(), 10)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
