package wirejson

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// decoder holds the state of one AppendWire call.
type decoder struct {
	in  []byte
	i   int
	out []byte
	// buf holds the last string read when it had escapes.
	buf []byte
	// seen holds, per message being decoded, a flag byte per field
	// (seenField, setField) then one per oneof.
	seen []byte
	// keyBuf holds the normalised keys of the maps being decoded, keyEnds
	// where each ends.
	keyBuf  []byte
	keyEnds []int32
}

const (
	seenField = 1 << iota
	setField
)

var decoders = sync.Pool{New: func() any { return new(decoder) }}

// errSyntax is the transcoder's error for input protojson rejects; callers
// that report errors re-run protojson for its wording.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("wirejson: %s at offset %d", e.msg, e.pos) }

func (d *decoder) errorf(format string, args ...any) error {
	return &syntaxError{pos: d.i, msg: fmt.Sprintf(format, args...)}
}

// AppendWire appends to dst the wire encoding of the JSON document in json,
// read as protojson.UnmarshalOptions{DiscardUnknown: true} reads it into a
// message of the codec's type, encoded as proto.Marshal encodes it (field
// order aside).
func (c *Codec) AppendWire(dst, json []byte) ([]byte, error) {
	d := decoders.Get().(*decoder)
	d.in, d.i, d.out = json, 0, dst
	err := d.message(c.root, recursionLimit)
	if err == nil {
		d.ws()
		if d.i != len(d.in) {
			err = d.errorf("unexpected data after the top-level value")
		}
	}
	out := d.out
	d.in, d.out, d.seen, d.keyBuf, d.keyEnds = nil, nil, d.seen[:0], d.keyBuf[:0], d.keyEnds[:0]
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	decoders.Put(d)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (d *decoder) ws() {
	for d.i < len(d.in) {
		switch d.in[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next significant byte, 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.i >= len(d.in) {
		return 0
	}
	return d.in[d.i]
}

// expect consumes the byte c.
func (d *decoder) expect(c byte) error {
	if d.peek() != c {
		return d.errorf("expected %q", c)
	}
	d.i++
	return nil
}

// isNotDelim reports whether c may not follow a literal or a number.
func isNotDelim(c byte) bool {
	return c == '-' || c == '+' || c == '.' || c == '_' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// literal consumes null, true or false.
func (d *decoder) literal(lit string) error {
	d.ws()
	end := d.i + len(lit)
	if end > len(d.in) || string(d.in[d.i:end]) != lit || (end < len(d.in) && isNotDelim(d.in[end])) {
		return d.errorf("invalid value")
	}
	d.i = end
	return nil
}

// isLiteral reports whether the input continues with the literal lit.
func (d *decoder) isLiteral(lit string) bool {
	d.ws()
	end := d.i + len(lit)
	return end <= len(d.in) && string(d.in[d.i:end]) == lit && (end == len(d.in) || !isNotDelim(d.in[end]))
}

// number consumes a JSON number and returns its text.
func (d *decoder) number() ([]byte, error) {
	d.ws()
	n, ok := numberLen(d.in[d.i:])
	if !ok {
		return nil, d.errorf("invalid number")
	}
	s := d.in[d.i : d.i+n]
	d.i += n
	return s, nil
}

// numberLen is the length of the number at the start of s, as protobuf's
// JSON decoder scans it.
func numberLen(s []byte) (int, bool) {
	in := s
	n := 0
	if len(s) == 0 {
		return 0, false
	}
	if s[0] == '-' {
		s = s[1:]
		n++
		if len(s) == 0 {
			return 0, false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
		n++
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		n++
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
			n++
		}
	default:
		return 0, false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		n += 2
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
			n++
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		n++
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			n++
			if len(s) == 0 {
				return 0, false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
			n++
		}
	}
	if n < len(in) && isNotDelim(in[n]) {
		return 0, false
	}
	return n, true
}

// intText rewrites a JSON number as the decimal integer it denotes, as
// protobuf's JSON decoder does (1e2 is 100, 1.0 is 1, 1.5 is not an
// integer), into buf.
func intText(buf []byte, s []byte) ([]byte, bool) {
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	var intp, frac, exp []byte
	switch {
	case s[0] == '0':
		s = s[1:]
	default:
		n := 1
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		intp, s = s[:n], s[n:]
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		n := 2
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		frac, s = s[1:n], s[n:]
	}
	if len(s) >= 1 && (s[0] == 'e' || s[0] == 'E') {
		exp = s[1:]
	}
	frac = bytes.TrimRight(frac, "0")
	if len(intp) == 0 && len(frac) == 0 {
		return append(buf, '0'), true
	}
	e := 0
	if len(exp) > 0 {
		i, err := strconv.ParseInt(unsafeString(exp), 10, 32)
		if err != nil {
			return nil, false
		}
		e = int(i)
	}
	if neg {
		buf = append(buf, '-')
	}
	if e >= 0 {
		if len(frac) > e || len(intp)+e > 20 {
			return nil, false
		}
		buf = append(buf, intp...)
		buf = append(buf, frac...)
		for i := 0; i < e-len(frac); i++ {
			buf = append(buf, '0')
		}
		return buf, true
	}
	if len(frac) > 0 {
		return nil, false
	}
	index := len(intp) + e
	if index < 0 {
		return nil, false
	}
	for _, c := range intp[index:] {
		if c != '0' {
			return nil, false
		}
	}
	if index > 21 {
		return nil, false
	}
	return append(buf, intp[:index]...), true
}

// digits returns the value of s when it is 1 to 18 decimal digits, as most
// integers in documents are, without the general parse.
func digits(s []byte) (uint64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func parseInt(s []byte, bitSize int) (int64, bool) {
	t, neg := bytes.CutPrefix(s, []byte{'-'})
	if v, ok := digits(t); ok {
		n := int64(v)
		if neg {
			n = -n
		}
		return n, bitSize == 64 || (n >= math.MinInt32 && n <= math.MaxInt32)
	}
	var buf [32]byte
	t, ok := intText(buf[:0], s)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(unsafeString(t), 10, bitSize)
	return n, err == nil
}

func parseUint(s []byte, bitSize int) (uint64, bool) {
	if v, ok := digits(s); ok {
		return v, bitSize == 64 || v <= math.MaxUint32
	}
	var buf [32]byte
	t, ok := intText(buf[:0], s)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(unsafeString(t), 10, bitSize)
	return n, err == nil
}

// str consumes a JSON string and returns its contents, which alias the
// input or d.buf (valid until the next string is read).
func (d *decoder) str() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.errorf("expected a string")
	}
	d.i++
	start := d.i
	for d.i < len(d.in) {
		d.i += plainPrefix(d.in[d.i:])
		if d.i == len(d.in) {
			break
		}
		c := d.in[d.i]
		switch {
		case c == '"':
			d.i++
			return d.in[start : d.i-1], nil
		case c == '\\':
			d.buf = append(d.buf[:0], d.in[start:d.i]...)
			return d.escaped()
		case c < ' ':
			return nil, d.errorf("invalid character in string")
		default:
			r, n := utf8.DecodeRune(d.in[d.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, d.errorf("invalid UTF-8 in string")
			}
			d.i += n
		}
	}
	return nil, d.errorf("unexpected end of string")
}

// escaped continues a string with escapes, decoding it into d.buf.
func (d *decoder) escaped() ([]byte, error) {
	for d.i < len(d.in) {
		c := d.in[d.i]
		switch {
		case c == '"':
			d.i++
			return d.buf, nil
		case c == '\\':
			if d.i+1 >= len(d.in) {
				return nil, d.errorf("unexpected end of string")
			}
			switch e := d.in[d.i+1]; e {
			case '"', '\\', '/':
				d.buf = append(d.buf, e)
			case 'b':
				d.buf = append(d.buf, '\b')
			case 'f':
				d.buf = append(d.buf, '\f')
			case 'n':
				d.buf = append(d.buf, '\n')
			case 'r':
				d.buf = append(d.buf, '\r')
			case 't':
				d.buf = append(d.buf, '\t')
			case 'u':
				r, ok := hex4(d.in[d.i:])
				if !ok {
					return nil, d.errorf("invalid escape")
				}
				d.i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := hex4(d.in[d.i:])
					r = utf16.DecodeRune(r, r2)
					if !ok || r == unicode.ReplacementChar {
						return nil, d.errorf("invalid escape")
					}
					d.i += 6
				}
				d.buf = utf8.AppendRune(d.buf, r)
				continue
			default:
				return nil, d.errorf("invalid escape")
			}
			d.i += 2
		case c < ' ':
			return nil, d.errorf("invalid character in string")
		case c < utf8.RuneSelf:
			d.buf = append(d.buf, c)
			d.i++
		default:
			r, n := utf8.DecodeRune(d.in[d.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, d.errorf("invalid UTF-8 in string")
			}
			d.buf = append(d.buf, d.in[d.i:d.i+n]...)
			d.i += n
		}
	}
	return nil, d.errorf("unexpected end of string")
}

// hex4 decodes the \uXXXX escape at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(unsafeString(b[2:6]), 16, 16)
	return rune(v), err == nil
}

// skip consumes any JSON value, checking its syntax; depth bounds nesting.
func (d *decoder) skip(depth int) error {
	switch c := d.peek(); c {
	case '"':
		_, err := d.str()
		return err
	case 'n':
		return d.literal("null")
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case '{', '[':
		if depth--; depth < 0 {
			return errDepth
		}
		d.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if d.peek() == end {
			d.i++
			return nil
		}
		for {
			if c == '{' {
				if _, err := d.str(); err != nil {
					return err
				}
				if err := d.expect(':'); err != nil {
					return err
				}
			}
			if err := d.skip(depth); err != nil {
				return err
			}
			if more, err := d.more(end); !more {
				return err
			}
		}
	}
	_, err := d.number()
	return err
}

// members reads an object, calling each with every key (its contents valid
// until the next string is read) with the cursor on the value.
func (d *decoder) members(each func(key []byte) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := each(key); err != nil {
			return err
		}
		if more, err := d.more('}'); !more {
			return err
		}
	}
}

// elements reads an array, calling each with the cursor on every element.
func (d *decoder) elements(each func() error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := each(); err != nil {
			return err
		}
		if more, err := d.more(']'); !more {
			return err
		}
	}
}

// more reads what follows a member or an element: true after a comma,
// false (and no error) at the end of the object or array.
func (d *decoder) more(end byte) (bool, error) {
	switch d.peek() {
	case ',':
		d.i++
		return true, nil
	case end:
		d.i++
		return false, nil
	}
	return false, d.errorf("expected , or %c", end)
}

var zeros [10]byte

// openLen reserves one byte for the length of what follows.
func (d *decoder) openLen() int {
	d.out = append(d.out, 0)
	return len(d.out)
}

// closeLen writes the length of what was written since openLen, moving it
// when the length needs more than the byte reserved.
func (d *decoder) closeLen(start int) {
	n := len(d.out) - start
	if size := protowire.SizeVarint(uint64(n)); size > 1 {
		d.out = append(d.out, zeros[:size-1]...)
		copy(d.out[start+size-1:], d.out[start:start+n])
	}
	protowire.AppendVarint(d.out[:start-1], uint64(n))
}

// message decodes a JSON object (or a well-known type's form) into the
// fields of a message of type m.
func (d *decoder) message(m *message, depth int) error {
	if depth--; depth < 0 {
		return errDepth
	}
	if m.wkt != wktNone {
		return d.wellKnown(m, depth)
	}
	base := len(d.seen)
	for range len(m.fields) + m.oneofs {
		d.seen = append(d.seen, 0)
	}
	err := d.fields(m, func(f *field, key []byte) error {
		if f == nil {
			if len(key) > 1 && key[0] == '[' && key[len(key)-1] == ']' {
				// protojson resolves extension names and refuses those
				// that do not extend this message (NewCodec refused
				// messages that have registered extensions).
				if _, err := protoregistry.GlobalTypes.FindExtensionByName(protoreflect.FullName(key[1 : len(key)-1])); err != protoregistry.NotFound {
					return d.errorf("message %s cannot be extended by %s", m.md.FullName(), key)
				}
			}
			return d.skip(depth)
		}
		flags := &d.seen[base+f.index]
		if *flags&seenField != 0 {
			return d.errorf("duplicate field %s", key)
		}
		*flags |= seenField
		if !f.nullable && d.isLiteral("null") {
			return d.literal("null")
		}
		switch {
		case f.list:
			return d.list(f, depth)
		case f.isMap:
			return d.mapField(f, depth)
		}
		if f.oneof >= 0 {
			o := &d.seen[base+len(m.fields)+f.oneof]
			if *o != 0 {
				return d.errorf("oneof %s is already set", f.fd.ContainingOneof().FullName())
			}
			*o = seenField
		}
		set, err := d.singular(f, depth)
		if set {
			d.seen[base+f.index] |= setField
		}
		return err
	})
	if err == nil {
		for _, f := range m.required {
			if d.seen[base+f.index]&setField == 0 {
				err = fmt.Errorf("required field %s not set", f.fd.FullName())
				break
			}
		}
	}
	d.seen = d.seen[:base]
	return err
}

// fields reads the object of a message of type m, calling each with the
// field every key names (nil for an unknown key) and the key (its contents
// valid until the next string is read), with the cursor on the value.
//
// A key is first compared, as it is written in the input, with the names
// of the two fields declared after the last one read: a document in
// declaration order (as protojson writes it) is read without unquoting or
// hashing its keys.
func (d *decoder) fields(m *message, each func(f *field, key []byte) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	next := 0 // the field after the last one read
	for {
		var f *field
		var key []byte
		d.ws()
		for _, g := range m.fields[min(next, len(m.fields)):min(next+2, len(m.fields))] {
			if g.quoted != nil && bytes.HasPrefix(d.in[d.i:], g.quoted) {
				f, key = g, g.name
				d.i += len(g.quoted)
				break
			}
		}
		if f == nil {
			var err error
			if key, err = d.str(); err != nil {
				return err
			}
			f = m.names[string(key)]
		}
		if f != nil {
			next = f.index + 1
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := each(f, key); err != nil {
			return err
		}
		if more, err := d.more('}'); !more {
			return err
		}
	}
}

// singular decodes the value of a singular field and writes it, unless it
// is a zero value without presence; set is false when the value was
// discarded (an unknown enum name).
func (d *decoder) singular(f *field, depth int) (set bool, err error) {
	if f.msg != nil {
		return true, d.messageValue(f, depth)
	}
	mark := len(d.out)
	d.out = append(d.out, f.tag...)
	ok, zero, err := d.scalar(f)
	if err != nil || !ok || (zero && !f.presence) {
		d.out = d.out[:mark]
	}
	return ok, err
}

// messageValue writes the field and the message decoded from the value.
func (d *decoder) messageValue(f *field, depth int) error {
	d.out = append(d.out, f.tag...)
	if f.kind == protoreflect.GroupKind {
		if err := d.message(f.msg, depth); err != nil {
			return err
		}
		d.out = protowire.AppendTag(d.out, f.num, protowire.EndGroupType)
		return nil
	}
	start := d.openLen()
	if err := d.message(f.msg, depth); err != nil {
		return err
	}
	d.closeLen(start)
	return nil
}

// list decodes an array into a repeated field.
func (d *decoder) list(f *field, depth int) error {
	if f.msg != nil {
		return d.elements(func() error { return d.messageValue(f, depth) })
	}
	if f.packed && f.packable {
		mark := len(d.out)
		d.out = append(d.out, f.tag...)
		start := d.openLen()
		err := d.elements(func() error {
			_, _, err := d.scalar(f)
			return err
		})
		if err != nil {
			return err
		}
		if len(d.out) == start {
			d.out = d.out[:mark]
			return nil
		}
		d.closeLen(start)
		return nil
	}
	return d.elements(func() error {
		mark := len(d.out)
		d.out = append(d.out, f.tag...)
		ok, _, err := d.scalar(f)
		if !ok {
			d.out = d.out[:mark]
		}
		return err
	})
}

// mapField decodes an object into a map field, one entry per member.
func (d *decoder) mapField(f *field, depth int) error {
	kf, vf := f.mapKey, f.mapValue
	baseEnds, baseBuf := len(d.keyEnds), len(d.keyBuf)
	defer func() { d.keyEnds, d.keyBuf = d.keyEnds[:baseEnds], d.keyBuf[:baseBuf] }()
	var large map[string]bool
	return d.members(func(key []byte) error {
		mark := len(d.out)
		d.out = append(d.out, f.tag...)
		start := d.openLen()
		if err := d.mapKey(kf, key); err != nil {
			return err
		}
		// The key as written is its normalised form, for duplicates.
		norm := d.out[start:]
		if large != nil {
			if large[string(norm)] {
				return d.errorf("duplicate map key %q", key)
			}
		} else {
			from := int32(baseBuf)
			for _, end := range d.keyEnds[baseEnds:] {
				if bytes.Equal(d.keyBuf[from:end], norm) {
					return d.errorf("duplicate map key %q", key)
				}
				from = end
			}
		}
		if vf.msg != nil {
			if err := d.messageValue(vf, depth); err != nil {
				return err
			}
		} else {
			d.out = append(d.out, vf.tag...)
			ok, _, err := d.scalar(vf)
			if err != nil {
				return err
			}
			if !ok {
				// An unknown enum name: the entry is dropped.
				d.out = d.out[:mark]
				return nil
			}
		}
		switch {
		case large != nil:
			large[string(norm)] = true
		case len(d.keyEnds)-baseEnds >= 16:
			large = map[string]bool{string(norm): true}
			from := int32(baseBuf)
			for _, end := range d.keyEnds[baseEnds:] {
				large[string(d.keyBuf[from:end])] = true
				from = end
			}
		default:
			d.keyBuf = append(d.keyBuf, norm...)
			d.keyEnds = append(d.keyEnds, int32(len(d.keyBuf)))
		}
		d.closeLen(start)
		return nil
	})
}

// mapKey writes a map key from the member name as protojson parses it.
func (d *decoder) mapKey(kf *field, key []byte) error {
	d.out = append(d.out, kf.tag...)
	s := unsafeString(key)
	var u uint64
	switch kf.kind {
	case protoreflect.StringKind:
		d.out = protowire.AppendBytes(d.out, key)
		return nil
	case protoreflect.BoolKind:
		switch s {
		case "true":
			u = 1
		case "false":
		default:
			return d.errorf("invalid bool map key")
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		bitSize := 64
		if !is64(kf.kind) {
			bitSize = 32
		}
		n, err := strconv.ParseInt(s, 10, bitSize)
		if err != nil {
			return d.errorf("invalid integer map key")
		}
		u = uint64(n)
	default:
		bitSize := 64
		if !is64(kf.kind) {
			bitSize = 32
		}
		n, err := strconv.ParseUint(s, 10, bitSize)
		if err != nil {
			return d.errorf("invalid integer map key")
		}
		u = n
	}
	d.appendScalar(kf, u)
	return nil
}

// appendScalar writes a numeric value u (an int64's bits for signed kinds,
// float bits for floats) in f's wire form.
func (d *decoder) appendScalar(f *field, u uint64) {
	switch f.kind {
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		d.out = protowire.AppendVarint(d.out, protowire.EncodeZigZag(int64(u)))
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		d.out = protowire.AppendFixed32(d.out, uint32(u))
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		d.out = protowire.AppendFixed64(d.out, u)
	default:
		d.out = protowire.AppendVarint(d.out, u)
	}
}

// scalar decodes one scalar value and writes it in f's wire form (the tag
// is the caller's). ok is false for a value protojson discards (an unknown
// enum name); zero reports a zero value.
func (d *decoder) scalar(f *field) (ok, zero bool, err error) {
	var u uint64
	switch f.kind {
	case protoreflect.BoolKind:
		switch {
		case d.isLiteral("true"):
			u = 1
		case d.isLiteral("false"):
		default:
			return false, false, d.errorf("invalid value for bool field %s", f.fd.JSONName())
		}
		d.i += 4 + int(1-u)
	case protoreflect.StringKind:
		s, err := d.str()
		if err != nil {
			return false, false, err
		}
		d.out = protowire.AppendBytes(d.out, s)
		return true, len(s) == 0, nil
	case protoreflect.BytesKind:
		s, err := d.str()
		if err != nil {
			return false, false, err
		}
		start := d.openLen()
		if d.out, err = base64Decoding(s).AppendDecode(d.out, s); err != nil {
			return false, false, d.errorf("invalid value for bytes field %s", f.fd.JSONName())
		}
		d.closeLen(start)
		return true, len(d.out) == start, nil
	case protoreflect.EnumKind:
		n, known, err := d.enum(f)
		if err != nil || !known {
			return false, false, err
		}
		u = uint64(int64(n))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bitSize := 64
		if f.kind == protoreflect.FloatKind {
			bitSize = 32
		}
		v, err := d.float(f, bitSize)
		if err != nil {
			return false, false, err
		}
		if bitSize == 32 {
			u = uint64(math.Float32bits(float32(v)))
		} else {
			u = math.Float64bits(v)
		}
	default:
		s, err := d.numberText(f)
		if err != nil {
			return false, false, err
		}
		bitSize := 32
		if f.int64Kind {
			bitSize = 64
		}
		switch f.kind {
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			var ok bool
			if u, ok = parseUint(s, bitSize); !ok {
				return false, false, d.errorf("invalid value for %v field %s", f.kind, f.fd.JSONName())
			}
		default:
			n, ok := parseInt(s, bitSize)
			if !ok {
				return false, false, d.errorf("invalid value for %v field %s", f.kind, f.fd.JSONName())
			}
			u = uint64(n)
		}
	}
	d.appendScalar(f, u)
	return true, u == 0, nil
}

// numberText reads a number, or a string holding exactly one, and returns
// the number's text.
func (d *decoder) numberText(f *field) ([]byte, error) {
	if d.peek() != '"' {
		return d.number()
	}
	s, err := d.str()
	if err != nil {
		return nil, err
	}
	// A number that fills the string has no space around it, which
	// protojson refuses too.
	if n, ok := numberLen(s); ok && n == len(s) {
		return s, nil
	}
	return nil, d.errorf("invalid value for %v field %s", f.kind, f.fd.JSONName())
}

// float reads a float as protojson does: a number, a string holding one,
// or "NaN", "Infinity", "-Infinity".
func (d *decoder) float(f *field, bitSize int) (float64, error) {
	if d.peek() == '"' {
		save := d.i
		s, err := d.str()
		if err != nil {
			return 0, err
		}
		switch string(s) {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		d.i = save
	}
	s, err := d.numberText(f)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(unsafeString(s), bitSize)
	if err != nil {
		return 0, d.errorf("invalid value for %v field %s", f.kind, f.fd.JSONName())
	}
	return v, nil
}

// enum reads an enum value: a name (known is false for an unknown one, which
// protojson discards), a 32-bit number, or null for NullValue.
func (d *decoder) enum(f *field) (n protoreflect.EnumNumber, known bool, err error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		if err != nil {
			return 0, false, err
		}
		n, ok := f.enum.byName[string(s)]
		return n, ok, nil
	case c == 'n' && f.enum.null:
		return 0, true, d.literal("null")
	}
	s, err := d.number()
	if err != nil {
		return 0, false, err
	}
	v, ok := parseInt(s, 32)
	if !ok {
		return 0, false, d.errorf("invalid value for enum field %s", f.fd.JSONName())
	}
	return protoreflect.EnumNumber(v), true, nil
}

var (
	stdRaw = base64.StdEncoding.WithPadding(base64.NoPadding)
	urlRaw = base64.URLEncoding.WithPadding(base64.NoPadding)
)

// base64Decoding picks the encoding protojson decodes s with.
func base64Decoding(s []byte) *base64.Encoding {
	url := bytes.ContainsAny(s, "-_")
	switch {
	case len(s)%4 != 0 && url:
		return urlRaw
	case len(s)%4 != 0:
		return stdRaw
	case url:
		return base64.URLEncoding
	}
	return base64.StdEncoding
}

// wellKnown decodes a well-known type's special JSON form.
func (d *decoder) wellKnown(m *message, depth int) error {
	switch m.wkt {
	case wktAny:
		return d.any(m, depth)
	case wktWrapper:
		f := m.lookup(1)
		_, err := d.singular(f, depth)
		return err
	case wktStruct:
		if err := d.expectKind('{'); err != nil {
			return err
		}
		return d.mapField(m.lookup(1), depth)
	case wktListValue:
		if err := d.expectKind('['); err != nil {
			return err
		}
		return d.list(m.lookup(1), depth)
	case wktValue:
		return d.value(m, depth)
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	switch m.wkt {
	case wktTimestamp:
		return d.timestamp(s)
	case wktDuration:
		secs, nanos, ok := parseDuration(s)
		if !ok || secs < -315576000000 || secs > 315576000000 {
			return d.errorf("invalid google.protobuf.Duration value")
		}
		d.secondsNanos(secs, nanos)
		return nil
	}
	return d.fieldMask(m, s)
}

// expectKind checks the next byte without consuming it.
func (d *decoder) expectKind(c byte) error {
	if d.peek() != c {
		return d.errorf("expected %q", c)
	}
	return nil
}

// value decodes any JSON value into a google.protobuf.Value.
func (d *decoder) value(m *message, depth int) error {
	var f *field
	switch c := d.peek(); {
	case c == 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		d.out = append(d.out, m.lookup(1).tag...)
		d.out = append(d.out, 0)
		return nil
	case c == 't' || c == 'f':
		f = m.lookup(4)
	case c == '"':
		f = m.lookup(3)
	case c == '{':
		f = m.lookup(5)
	case c == '[':
		f = m.lookup(6)
	default:
		s, err := d.number()
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(unsafeString(s), 64)
		if err != nil {
			return d.errorf("invalid google.protobuf.Value")
		}
		d.out = append(d.out, m.lookup(2).tag...)
		d.out = protowire.AppendFixed64(d.out, math.Float64bits(v))
		return nil
	}
	if f.msg == nil {
		d.out = append(d.out, f.tag...)
		_, _, err := d.scalar(f)
		return err
	}
	// struct_value and list_value: their bodies count no nesting level.
	d.out = append(d.out, f.tag...)
	start := d.openLen()
	if err := d.wellKnown(f.msg, depth); err != nil {
		return err
	}
	d.closeLen(start)
	return nil
}

// secondsNanos writes the fields of a Timestamp or Duration.
func (d *decoder) secondsNanos(secs int64, nanos int32) {
	if secs != 0 {
		d.out = protowire.AppendVarint(protowire.AppendTag(d.out, 1, protowire.VarintType), uint64(secs))
	}
	if nanos != 0 {
		d.out = protowire.AppendVarint(protowire.AppendTag(d.out, 2, protowire.VarintType), uint64(int64(nanos)))
	}
}

// timestamp parses RFC 3339 as protojson does.
func (d *decoder) timestamp(b []byte) error {
	s := unsafeString(b)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return d.errorf("invalid google.protobuf.Timestamp value")
	}
	secs := t.Unix()
	if secs < -62135596800 || secs > 253402300799 {
		return d.errorf("google.protobuf.Timestamp value out of range")
	}
	i := strings.LastIndexByte(s, '.')
	j := strings.LastIndexAny(s, "Z-+")
	if i >= 0 && j >= i && j-i > len(".999999999") {
		return d.errorf("invalid google.protobuf.Timestamp value")
	}
	d.secondsNanos(secs, int32(t.Nanosecond()))
	return nil
}

// parseDuration is protojson's Duration syntax: [-+]digits[.digits]s with
// at most nine fractional digits.
func parseDuration(b []byte) (int64, int32, bool) {
	size := len(b)
	if size < 2 || b[size-1] != 's' {
		return 0, 0, false
	}
	b = b[:size-1]
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, 0, false
	}
	var intp []byte
	switch {
	case b[0] == '0':
		b = b[1:]
	case '1' <= b[0] && b[0] <= '9':
		n := 1
		for n < len(b) && '0' <= b[n] && b[n] <= '9' {
			n++
		}
		intp, b = b[:n], b[n:]
	case b[0] == '.':
	default:
		return 0, 0, false
	}
	hasFrac := false
	var frac [9]byte
	if len(b) > 0 {
		if b[0] != '.' {
			return 0, 0, false
		}
		b = b[1:]
		n := 0
		for len(b) > 0 && n < 9 && '0' <= b[0] && b[0] <= '9' {
			frac[n] = b[0]
			n++
			b = b[1:]
		}
		if len(b) > 0 {
			return 0, 0, false
		}
		for i := n; i < 9; i++ {
			frac[i] = '0'
		}
		hasFrac = true
	}
	var secs int64
	if len(intp) > 0 {
		var err error
		if secs, err = strconv.ParseInt(unsafeString(intp), 10, 64); err != nil {
			return 0, 0, false
		}
	}
	var nanos int64
	if hasFrac {
		if nb := bytes.TrimLeft(frac[:], "0"); len(nb) > 0 {
			var err error
			if nanos, err = strconv.ParseInt(unsafeString(nb), 10, 32); err != nil {
				return 0, 0, false
			}
		}
	}
	if neg {
		secs, nanos = -secs, -nanos
	}
	return secs, int32(nanos), true
}

// fieldMask writes the paths of a comma-separated lowerCamel field mask.
func (d *decoder) fieldMask(m *message, b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	tag := m.lookup(1).tag
	for _, s0 := range strings.Split(s, ",") {
		p := snakeCase(s0)
		if strings.Contains(s0, "_") || !protoreflect.FullName(p).IsValid() {
			return d.errorf("google.protobuf.FieldMask.paths contains invalid path: %q", s0)
		}
		d.out = append(d.out, tag...)
		d.out = protowire.AppendString(d.out, p)
	}
	return nil
}

// any decodes a google.protobuf.Any through protojson, which resolves its
// type in the global registry as it would for the whole message.
func (d *decoder) any(m *message, depth int) error {
	start := d.i
	if err := d.expectKind('{'); err != nil {
		return err
	}
	if err := d.skip(depth + 1); err != nil {
		return err
	}
	msg := dynamicpb.NewMessage(m.md)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: depth + 1}).Unmarshal(d.in[start:d.i], msg); err != nil {
		return err
	}
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(msg)
	if err != nil {
		return err
	}
	d.out = append(d.out, b...)
	return nil
}
