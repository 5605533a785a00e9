package rest

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// has64 reports whether md (or a message reachable from it) has a 64-bit
// integer field, i.e. whether protojson output needs rewriting for an
// upstream that wants int64 as JSON numbers.
func has64(md protoreflect.MessageDescriptor) bool {
	return has64Seen(md, map[protoreflect.FullName]bool{})
}

func has64Seen(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if is64(fd) || (fd.Message() != nil && has64Seen(fd.Message(), seen)) {
			return true
		}
	}
	return false
}

func is64(fd protoreflect.FieldDescriptor) bool {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return true
	}
	return false
}

// int64AsNumbers rewrites protojson output of a message of type md so that
// 64-bit integers are JSON numbers instead of strings, exactly (no float).
func int64AsNumbers(b []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v = numbersIn(v, md)
	return json.Marshal(v)
}

// numbersIn converts the 64-bit integer strings inside v, a decoded message of type md.
func numbersIn(v any, md protoreflect.MessageDescriptor) any {
	obj, ok := v.(map[string]any)
	if !ok {
		// Wrapper types (google.protobuf.Int64Value) render as bare values.
		if f := md.Fields().ByName("value"); f != nil && md.Fields().Len() == 1 && is64(f) && md.FullName().Parent() == "google.protobuf" {
			return toNumber(v)
		}
		return v
	}
	fields := md.Fields()
	for k, fv := range obj {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		if fd == nil {
			continue
		}
		obj[k] = fieldNumbers(fv, fd)
	}
	return obj
}

func fieldNumbers(v any, fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsMap():
		if m, ok := v.(map[string]any); ok {
			for k, mv := range m {
				m[k] = valueNumbers(mv, fd.MapValue())
			}
		}
		return v
	case fd.IsList():
		if l, ok := v.([]any); ok {
			for i, lv := range l {
				l[i] = valueNumbers(lv, fd)
			}
		}
		return v
	}
	return valueNumbers(v, fd)
}

func valueNumbers(v any, fd protoreflect.FieldDescriptor) any {
	if is64(fd) {
		return toNumber(v)
	}
	if fd.Message() != nil {
		return numbersIn(v, fd.Message())
	}
	return v
}

func toNumber(v any) any {
	if s, ok := v.(string); ok && json.Valid([]byte(s)) {
		return json.Number(s)
	}
	return v
}
