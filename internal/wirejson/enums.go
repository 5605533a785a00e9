package wirejson

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// enumLiterals caches EnumLiteral per value descriptor: reading an option of
// a descriptor compiled at run time means re-reading its options.
var enumLiterals sync.Map // protoreflect.EnumValueDescriptor → string

// EnumLiteral is the JSON string of an enum value on the wire: its
// (protobridge.v1.json_value) option when the .proto sets one (the literal
// an OpenAPI enum spells, "available"), otherwise the value's name as
// protojson writes it. Readers accept both.
func EnumLiteral(vd protoreflect.EnumValueDescriptor) string {
	if s, ok := enumLiterals.Load(vd); ok {
		return s.(string)
	}
	lit := string(vd.Name())
	if from := vd.Options(); from != nil && from.ProtoReflect().IsValid() {
		// Options of a descriptor compiled at run time hold the extension
		// as unknown bytes: re-read them with the extension registered.
		opts := &descriptorpb.EnumValueOptions{}
		if b, err := proto.Marshal(from); err == nil && proto.Unmarshal(b, opts) == nil && proto.HasExtension(opts, pbv1.E_JsonValue) {
			if s, _ := proto.GetExtension(opts, pbv1.E_JsonValue).(string); s != "" {
				lit = s
			}
		}
	}
	enumLiterals.Store(vd, lit)
	return lit
}

// HasEnumLiterals reports whether a message of type md (or one reachable
// from it) has an enum field whose values' literals differ from their
// names, i.e. whether protojson's rendering needs respelling.
func HasEnumLiterals(md protoreflect.MessageDescriptor) bool {
	return hasLiterals(md, map[protoreflect.FullName]bool{})
}

func hasLiterals(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
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
		if ed := fd.Enum(); ed != nil && EnumHasLiterals(ed) {
			return true
		}
		if fd.Message() != nil && hasLiterals(fd.Message(), seen) {
			return true
		}
	}
	return false
}

// EnumHasLiterals reports whether a value of ed has a literal other than
// its name.
func EnumHasLiterals(ed protoreflect.EnumDescriptor) bool {
	vals := ed.Values()
	for i := 0; i < vals.Len(); i++ {
		if v := vals.Get(i); EnumLiteral(v) != string(v.Name()) {
			return true
		}
	}
	return false
}
