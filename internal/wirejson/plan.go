// Package wirejson transcodes directly between the protobuf wire format and
// the protobuf JSON mapping, driven by a message descriptor, without
// materialising messages.
//
// Its output is what protojson writes (lowerCamel names, 64-bit integers as
// strings, enums by name, bytes in standard base64, NaN and infinities as
// strings, the well-known types' special forms, unpopulated fields left out)
// and its input is what protojson.UnmarshalOptions{DiscardUnknown: true}
// accepts. Key order and the whitespace protojson randomly inserts aside, a
// successful transcoding is the same document or message protojson gives;
// where protojson would fail, so does the transcoder, though its error
// wording differs: callers that quote errors re-run protojson for them.
//
// Three departures, each opt-in or lenient: NewCodecOptions can write the
// field names as the .proto spells them (Names); reading also accepts a
// field's lowerCamelCase name when an explicit json_name differs from it;
// an enum value with a (protobridge.v1.json_value) option is written as
// that literal and read as it or its name (EnumLiteral).
//
// A Codec is compiled once per message type and is safe for concurrent use.
package wirejson

import (
	"bytes"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Codec transcodes one message type in both directions.
type Codec struct {
	root *message
}

// FieldSet selects fields of a message by number; a nil value selects the
// whole field, a non-nil one selects fields inside that (singular message)
// field.
type FieldSet map[protoreflect.FieldNumber]FieldSet

// wkt identifies the well-known types whose JSON form is special.
type wkt uint8

const (
	wktNone wkt = iota
	wktAny
	wktTimestamp
	wktDuration
	wktWrapper
	wktStruct
	wktValue
	wktListValue
	wktFieldMask
)

// message is the compiled plan of one message type.
type message struct {
	md  protoreflect.MessageDescriptor
	wkt wkt
	// google is set for messages of package google.protobuf, whose 64-bit
	// integers stay strings under EncodeOptions.Int64AsNumbers.
	google bool
	// fields are in declaration order; byNum indexes them by number
	// (numbers below len(byNum)), sparse holds larger numbers.
	fields []*field
	byNum  []*field
	sparse map[protoreflect.FieldNumber]*field
	// names finds a field by JSON name, then by proto (text) name.
	names    map[string]*field
	required []*field
	oneofs   int
}

// field is the compiled plan of one field (or of a map entry's key or value).
type field struct {
	fd    protoreflect.FieldDescriptor
	index int
	num   protoreflect.FieldNumber
	kind  protoreflect.Kind
	// wt is the wire type of one element; packable fields also take a
	// length-delimited run of elements.
	wt                     protowire.Type
	list, isMap, packable  bool
	packed, presence, utf8 bool
	int64Kind              bool
	oneof                  int
	key                    []byte // `"jsonName":`
	// name is the key's name when reading it finds this field, and quoted
	// that name as written in a document (`"jsonName"`): the decoder tries
	// it before unquoting and looking up a key, as documents tend to list
	// fields in declaration order.
	name, quoted     []byte
	tag              []byte // the tag written by AppendWire
	msg              *message
	enum             *enum
	mapKey, mapValue *field
	defaultEnum      protoreflect.EnumNumber
	// nullable fields take a JSON null as a value (google.protobuf.Value
	// and NullValue); null leaves other fields unset.
	nullable bool
}

// enum is the compiled plan of one enum type.
type enum struct {
	null   bool // google.protobuf.NullValue
	dense  [][]byte
	sparse map[protoreflect.EnumNumber][]byte
	byName map[string]protoreflect.EnumNumber
}

// quoted returns the JSON string of the value's name, nil when unnamed.
func (e *enum) quoted(n protoreflect.EnumNumber) []byte {
	if n >= 0 && int(n) < len(e.dense) {
		return e.dense[n]
	}
	return e.sparse[n]
}

// errUnsupported is returned by NewCodec for types it does not transcode.
var errUnsupported = errors.New("wirejson: unsupported message type")

// NewCodec compiles md and every message type reachable from it. It refuses
// types it cannot transcode exactly as protojson does: messages extended by
// extensions in the global registry (they would decode as fields rather
// than unknown ones). MessageSets need no check: protodesc refuses them.
func NewCodec(md protoreflect.MessageDescriptor) (*Codec, error) {
	return NewCodecOptions(md, Options{})
}

type compiler struct {
	msgs  map[protoreflect.FullName]*message
	enums map[protoreflect.FullName]*enum
	names Names
}

func (c *compiler) message(md protoreflect.MessageDescriptor) (*message, error) {
	if m, ok := c.msgs[md.FullName()]; ok {
		return m, nil
	}
	if md.ExtensionRanges().Len() > 0 && protoregistry.GlobalTypes.NumExtensionsByMessage(md.FullName()) > 0 {
		return nil, fmt.Errorf("%w: %s has registered extensions", errUnsupported, md.FullName())
	}
	m := &message{md: md, wkt: wktOf(md.FullName()), google: md.FullName().Parent() == "google.protobuf",
		names: map[string]*field{}, oneofs: md.Oneofs().Len()}
	c.msgs[md.FullName()] = m
	fields := md.Fields()
	maxSmall := protoreflect.FieldNumber(0)
	for i := 0; i < fields.Len(); i++ {
		if n := fields.Get(i).Number(); n < 256 && n > maxSmall {
			maxSmall = n
		}
	}
	m.byNum = make([]*field, maxSmall+1)
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		f, err := c.field(fd)
		if err != nil {
			return nil, err
		}
		f.index = i
		m.fields = append(m.fields, f)
		if f.num < protoreflect.FieldNumber(len(m.byNum)) {
			m.byNum[f.num] = f
		} else {
			if m.sparse == nil {
				m.sparse = map[protoreflect.FieldNumber]*field{}
			}
			m.sparse[f.num] = f
		}
		if fd.Cardinality() == protoreflect.Required {
			m.required = append(m.required, f)
		}
	}
	// protojson looks a name up as a JSON name first, then as a text name;
	// the lowerCamelCase name comes last (a json_name set to something else
	// still accepts it).
	for _, f := range m.fields {
		if f.fd.Kind() != protoreflect.GroupKind {
			m.names[LowerCamel(string(f.fd.Name()))] = f
		}
	}
	for _, f := range m.fields {
		m.names[f.fd.TextName()] = f
	}
	for _, f := range m.fields {
		m.names[f.fd.JSONName()] = f
	}
	for _, f := range m.fields {
		if name := f.key[1 : len(f.key)-2]; m.names[string(name)] == f && !bytes.ContainsAny(name, `"\\`) {
			f.name, f.quoted = name, f.key[:len(f.key)-1]
		}
	}
	return m, nil
}

func (c *compiler) field(fd protoreflect.FieldDescriptor) (*field, error) {
	f := &field{fd: fd, num: fd.Number(), kind: fd.Kind(), list: fd.IsList(), isMap: fd.IsMap(),
		packed: fd.IsPacked(), presence: fd.HasPresence(), utf8: enforceUTF8(fd), oneof: -1}
	f.wt = wireType(f.kind)
	f.int64Kind = is64(f.kind)
	f.packable = f.list && f.wt != protowire.BytesType && f.wt != protowire.StartGroupType
	if od := fd.ContainingOneof(); od != nil {
		f.oneof = od.Index()
	}
	f.key = append(appendString(nil, OutName(fd, c.names)), ':')
	tagType := f.wt
	if f.packed && f.packable {
		tagType = protowire.BytesType
	}
	f.tag = protowire.AppendTag(nil, f.num, tagType)
	switch {
	case f.isMap:
		var err error
		if f.mapKey, err = c.field(fd.MapKey()); err != nil {
			return nil, err
		}
		if f.mapValue, err = c.field(fd.MapValue()); err != nil {
			return nil, err
		}
	case fd.Message() != nil:
		var err error
		if f.msg, err = c.message(fd.Message()); err != nil {
			return nil, err
		}
		f.nullable = f.msg.wkt == wktValue
	case fd.Enum() != nil:
		f.enum = c.enum(fd.Enum())
		if !f.list {
			f.defaultEnum = fd.Default().Enum()
		}
		f.nullable = f.enum.null
	}
	return f, nil
}

func (c *compiler) enum(ed protoreflect.EnumDescriptor) *enum {
	if e, ok := c.enums[ed.FullName()]; ok {
		return e
	}
	e := &enum{null: ed.FullName() == "google.protobuf.NullValue", byName: map[string]protoreflect.EnumNumber{}}
	c.enums[ed.FullName()] = e
	vals := ed.Values()
	for i := 0; i < vals.Len(); i++ {
		v := vals.Get(i)
		lit := EnumLiteral(v)
		e.byName[string(v.Name())] = v.Number()
		if _, taken := e.byName[lit]; !taken {
			e.byName[lit] = v.Number()
		}
		// The first value declared with a number names it (aliases).
		if e.quoted(v.Number()) != nil {
			continue
		}
		q := appendString(nil, lit)
		if n := v.Number(); n >= 0 && n < 256 {
			for len(e.dense) <= int(n) {
				e.dense = append(e.dense, nil)
			}
			e.dense[n] = q
		} else {
			if e.sparse == nil {
				e.sparse = map[protoreflect.EnumNumber][]byte{}
			}
			e.sparse[n] = q
		}
	}
	return e
}

// lookup finds a field by number.
func (m *message) lookup(n protoreflect.FieldNumber) *field {
	if n >= 0 && n < protoreflect.FieldNumber(len(m.byNum)) {
		return m.byNum[n]
	}
	return m.sparse[n]
}

func wktOf(name protoreflect.FullName) wkt {
	if name.Parent() != "google.protobuf" {
		return wktNone
	}
	switch name.Name() {
	case "Any":
		return wktAny
	case "Timestamp":
		return wktTimestamp
	case "Duration":
		return wktDuration
	case "BoolValue", "Int32Value", "Int64Value", "UInt32Value", "UInt64Value",
		"FloatValue", "DoubleValue", "StringValue", "BytesValue":
		return wktWrapper
	case "Struct":
		return wktStruct
	case "Value":
		return wktValue
	case "ListValue":
		return wktListValue
	case "FieldMask":
		return wktFieldMask
	}
	return wktNone
}

// wireType is the wire type of one value of kind k.
func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

func is64(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return true
	}
	return false
}

// enforceUTF8 is the protobuf runtime's rule for validating strings.
func enforceUTF8(fd protoreflect.FieldDescriptor) bool {
	if fd.Syntax() == protoreflect.Editions {
		if x, ok := fd.(interface{ EnforceUTF8() bool }); ok {
			return x.EnforceUTF8()
		}
	}
	return fd.Syntax() == protoreflect.Proto3
}
