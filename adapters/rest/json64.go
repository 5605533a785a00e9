package rest

import (
	"encoding/json"
	"errors"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/internal/wirejson"
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
// It copies the document in one pass, guided by the descriptor, without
// decoding it into maps.
func int64AsNumbers(b []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	return rewriteMessage(b, md, true, wirejson.NamesLowerCamel)
}

// rewriteMessage rewrites protojson output of a message of type md: 64-bit
// integers as numbers when nums is set, and keys spelled by names.
func rewriteMessage(b []byte, md protoreflect.MessageDescriptor, nums bool, names wirejson.Names) ([]byte, error) {
	return rewrite64(b, nums, names, func(r *rewriter) error { return r.message(md) })
}

// rewriteField is rewriteMessage for the JSON value of one field.
func rewriteField(b []byte, fd protoreflect.FieldDescriptor, nums bool, names wirejson.Names) ([]byte, error) {
	return rewrite64(b, nums, names, func(r *rewriter) error { return r.field(fd) })
}

func rewrite64(b []byte, nums bool, names wirejson.Names, top func(*rewriter) error) ([]byte, error) {
	r := &rewriter{in: b, out: make([]byte, 0, len(b)), nums: nums, names: names}
	if err := top(r); err != nil {
		return nil, err
	}
	r.ws()
	if r.i != len(r.in) {
		return nil, errJSON
	}
	return r.out, nil
}

var errJSON = errors.New("malformed JSON from protojson")

// rewriter copies JSON from in to out, dropping the quotes around 64-bit
// integer values (nums), respelling message keys (names) and writing enum
// values as their wire literals.
type rewriter struct {
	in    []byte
	i     int
	out   []byte
	nums  bool
	names wirejson.Names
	// rename, when set, gives the key to write for the member key being
	// copied (nil: keep it).
	rename func(key []byte) []byte
}

func (r *rewriter) ws() {
	for r.i < len(r.in) {
		switch r.in[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *rewriter) peek() byte {
	r.ws()
	if r.i >= len(r.in) {
		return 0
	}
	return r.in[r.i]
}

// expect copies the byte c.
func (r *rewriter) expect(c byte) error {
	if r.peek() != c {
		return errJSON
	}
	r.out = append(r.out, c)
	r.i++
	return nil
}

// stringToken returns the bounds of the string token at the cursor (quotes
// included) and moves past it.
func (r *rewriter) stringToken() (int, int, error) {
	if r.peek() != '"' {
		return 0, 0, errJSON
	}
	start := r.i
	for r.i++; r.i < len(r.in); r.i++ {
		switch r.in[r.i] {
		case '\\':
			r.i++
		case '"':
			r.i++
			return start, r.i, nil
		}
	}
	return 0, 0, errJSON
}

// members walks an object, calling each for every key (already copied).
func (r *rewriter) members(each func(key []byte) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		return r.expect('}')
	}
	for {
		s, e, err := r.stringToken()
		if err != nil {
			return err
		}
		key := r.in[s+1 : e-1]
		if rename := r.rename; rename != nil {
			r.rename = nil
			if k := rename(key); k != nil {
				r.out = append(r.out, k...)
			} else {
				r.out = append(r.out, r.in[s:e]...)
			}
			r.rename = rename
		} else {
			r.out = append(r.out, r.in[s:e]...)
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := each(key); err != nil {
			return err
		}
		if r.peek() == ',' {
			r.out = append(r.out, ',')
			r.i++
			continue
		}
		return r.expect('}')
	}
}

// message copies an object holding a message of type md.
func (r *rewriter) message(md protoreflect.MessageDescriptor) error {
	if r.peek() == 'n' {
		return r.any()
	}
	fields := md.Fields()
	outer := r.rename
	defer func() { r.rename = outer }()
	r.rename = nil
	if r.names != wirejson.NamesLowerCamel {
		r.rename = func(key []byte) []byte {
			fd := fields.ByJSONName(string(key))
			if fd == nil {
				return nil
			}
			return appendQuoted(nil, wirejson.OutName(fd, r.names))
		}
	}
	return r.members(func(key []byte) error {
		inner := r.rename
		r.rename = nil
		defer func() { r.rename = inner }()
		fd := fields.ByJSONName(string(key))
		if fd == nil {
			fd = fields.ByTextName(string(key))
		}
		if fd == nil {
			return r.any()
		}
		return r.field(fd)
	})
}

// field copies the value of field fd: a list, a map or one element.
func (r *rewriter) field(fd protoreflect.FieldDescriptor) error {
	switch {
	case r.peek() == 'n':
		return r.any()
	case fd.IsList():
		if err := r.expect('['); err != nil {
			return err
		}
		if r.peek() == ']' {
			return r.expect(']')
		}
		for {
			if err := r.element(fd); err != nil {
				return err
			}
			if r.peek() == ',' {
				r.out = append(r.out, ',')
				r.i++
				continue
			}
			return r.expect(']')
		}
	case fd.IsMap():
		return r.members(func([]byte) error { return r.element(fd.MapValue()) })
	}
	return r.element(fd)
}

// element copies one value of fd's type.
func (r *rewriter) element(fd protoreflect.FieldDescriptor) error {
	if is64(fd) && r.nums {
		return r.number()
	}
	if ed := fd.Enum(); ed != nil && r.peek() == '"' {
		return r.enum(ed)
	}
	md := fd.Message()
	if md == nil {
		return r.any()
	}
	if md.FullName().Parent() == "google.protobuf" {
		// Int64Value and UInt64Value render as a bare value; other
		// well-known types (Struct, Any, Timestamp...) are copied as they are.
		if v := md.Fields().ByName("value"); v != nil && md.Fields().Len() == 1 && is64(v) && r.nums {
			return r.number()
		}
		return r.any()
	}
	return r.message(md)
}

// enum copies an enum value's name as its wire literal
// (wirejson.EnumLiteral): protojson writes names, never escaped.
func (r *rewriter) enum(ed protoreflect.EnumDescriptor) error {
	s, e, err := r.stringToken()
	if err != nil {
		return err
	}
	if vd := ed.Values().ByName(protoreflect.Name(r.in[s+1 : e-1])); vd != nil {
		r.out = appendQuoted(r.out, wirejson.EnumLiteral(vd))
		return nil
	}
	r.out = append(r.out, r.in[s:e]...)
	return nil
}

// number copies a 64-bit integer, unquoting protojson's string form.
func (r *rewriter) number() error {
	if r.peek() != '"' {
		return r.any()
	}
	s, e, err := r.stringToken()
	if err != nil {
		return err
	}
	digits := r.in[s+1 : e-1]
	for j, c := range digits {
		if (c < '0' || c > '9') && !(j == 0 && c == '-') {
			// Not a plain integer (protojson never writes one): keep it.
			r.out = append(r.out, r.in[s:e]...)
			return nil
		}
	}
	r.out = append(r.out, digits...)
	return nil
}

// any copies one JSON value verbatim.
func (r *rewriter) any() error {
	switch c := r.peek(); c {
	case '"':
		s, e, err := r.stringToken()
		if err != nil {
			return err
		}
		r.out = append(r.out, r.in[s:e]...)
		return nil
	case '{':
		return r.members(func([]byte) error { return r.any() })
	case '[':
		if err := r.expect('['); err != nil {
			return err
		}
		if r.peek() == ']' {
			return r.expect(']')
		}
		for {
			if err := r.any(); err != nil {
				return err
			}
			if r.peek() == ',' {
				r.out = append(r.out, ',')
				r.i++
				continue
			}
			return r.expect(']')
		}
	case 0:
		return errJSON
	default:
		start := r.i
		for r.i < len(r.in) && r.in[r.i] != ',' && r.in[r.i] != '}' && r.in[r.i] != ']' && r.in[r.i] != ' ' && r.in[r.i] != '\n' && r.in[r.i] != '\t' && r.in[r.i] != '\r' {
			r.i++
		}
		if start == r.i {
			return errJSON
		}
		r.out = append(r.out, r.in[start:r.i]...)
		return nil
	}
}

// appendQuoted appends s as a JSON string.
func appendQuoted(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}
