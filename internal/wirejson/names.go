package wirejson

import (
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Names selects the object keys a Codec writes.
type Names uint8

const (
	// NamesLowerCamel writes protojson's names: the json_name, which protoc
	// and protocompile default to the lowerCamelCase of the field name.
	NamesLowerCamel Names = iota
	// NamesAsWritten writes the json_name when the .proto sets one
	// explicitly, otherwise the proto field name exactly (max_tokens stays
	// max_tokens): the names REST and WebSocket upstreams see by default.
	NamesAsWritten
)

// ParseNames reads a json_names setting: "as_written" (or "", the default)
// or "lower_camel".
func ParseNames(s string) (Names, bool) {
	switch s {
	case "", "as_written":
		return NamesAsWritten, true
	case "lower_camel":
		return NamesLowerCamel, true
	}
	return 0, false
}

// Options tunes a Codec at compile time.
type Options struct {
	// Names is the key spelling written by AppendJSON. Reading accepts the
	// field name, its json_name and its lowerCamelCase name whatever it is.
	Names Names
}

// NewCodecOptions is NewCodec with options.
func NewCodecOptions(md protoreflect.MessageDescriptor, o Options) (*Codec, error) {
	c := &compiler{msgs: map[protoreflect.FullName]*message{}, enums: map[protoreflect.FullName]*enum{}, names: o.Names}
	root, err := c.message(md)
	if err != nil {
		return nil, err
	}
	return &Codec{root: root}, nil
}

// OutName is the key a field is written under with names n.
func OutName(fd protoreflect.FieldDescriptor, n Names) string {
	if n == NamesLowerCamel {
		return fd.JSONName()
	}
	if ExplicitJSONName(fd) {
		return fd.JSONName()
	}
	return string(fd.Name())
}

// ExplicitJSONName reports whether fd's .proto sets json_name. protoc and
// protocompile fill json_name in for every field, so the descriptor alone
// cannot tell a json_name written as its lowerCamelCase default from none:
// a json_name that differs from the default is explicit, and one equal to
// it is explicit when the file's source info records the option (the
// daemon compiles .proto files with source info; a descriptor set built
// without it sends the proto name in that one case).
func ExplicitJSONName(fd protoreflect.FieldDescriptor) bool {
	if h, ok := fd.(interface{ HasJSONName() bool }); ok && !h.HasJSONName() {
		return false
	}
	if fd.JSONName() != LowerCamel(string(fd.Name())) {
		return true
	}
	locs := fd.ParentFile().SourceLocations()
	if locs.Len() == 0 || fd.IsExtension() {
		return false
	}
	loc := locs.ByDescriptor(fd)
	if len(loc.Path) == 0 {
		return false
	}
	path := append(append(make(protoreflect.SourcePath, 0, len(loc.Path)+1), loc.Path...), fieldJSONName)
	return len(locs.ByPath(path).Path) > 0
}

// fieldJSONName is FieldDescriptorProto.json_name's field number.
const fieldJSONName = 10

// LowerCamel is protoc's default json_name of a field name: underscores
// dropped, the letter after each upper-cased.
func LowerCamel(s string) string {
	b := make([]byte, 0, len(s))
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			b = append(b, c-'a'+'A')
			up = false
		default:
			b = append(b, c)
			up = false
		}
	}
	return string(b)
}
