package wirejson

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// EncodeOptions tune AppendJSON.
type EncodeOptions struct {
	// Int64AsNumbers writes 64-bit integers, and Int64Value and UInt64Value,
	// as JSON numbers instead of strings, except inside other messages of
	// package google.protobuf (Any, Struct...), which keep protojson's form.
	Int64AsNumbers bool
	// Skip leaves fields of the top message out, as if they were not set.
	Skip FieldSet
}

// occurrence is one field value found in a message's wire encoding b,
// held as offsets so that the scratch slices hold no pointers (no write
// barriers, nothing for the collector to scan).
type occurrence struct {
	// fi is the field's index in its message; seq the value's position
	// among the message's known values.
	fi, seq int32
	// b[raw0:raw1] is the encoded value after the tag; b[v0:v1] the
	// payload of a length-delimited value or the contents of a group.
	raw0, v0, v1, raw1 int32
	// u is a varint or fixed-size value.
	u  uint64
	wt protowire.Type
}

func (o *occurrence) v(b []byte) []byte   { return b[o.v0:o.v1] }
func (o *occurrence) raw(b []byte) []byte { return b[o.raw0:o.raw1] }

// entry is one decoded map entry; offsets are into the map field's
// message encoding.
type entry struct {
	key, val uint64
	// b[k0:k1] is a string key; b[v0:v1] a string, bytes or message value;
	// b[e0:e1] the whole entry, parsed again when several message values
	// merge.
	k0, k1, v0, v1, e0, e1 int32
	haveVal, merge         bool
}

// encoder holds the scratch space of one AppendJSON call.
type encoder struct {
	out     []byte
	occ     []occurrence
	entries []entry
	// tmp and counts are sort's scratch space.
	tmp    []occurrence
	counts []int32
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// AppendJSON appends to dst the JSON form of the message of the codec's type
// encoded in wire, as protojson.Marshal writes it. wire must be a valid
// encoding (Validate); an invalid one is an error.
func (c *Codec) AppendJSON(dst, wire []byte, opts EncodeOptions) ([]byte, error) {
	if len(wire) > math.MaxInt32 {
		return nil, errDecode
	}
	e := encoders.Get().(*encoder)
	e.out = dst
	err := e.message(c.root, wire, opts.Skip, recursionLimit, opts.Int64AsNumbers)
	out := e.out
	e.out, e.occ, e.entries = nil, e.occ[:0], e.entries[:0]
	encoders.Put(e)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan appends the occurrences of m's known fields in b to e.occ, checking
// the encoding of everything but message values. Fields of an unexpected
// wire type are unknown fields, as proto.Unmarshal treats them.
func (e *encoder) scan(m *message, b []byte) error {
	var seq int32
	i := 0
	for i < len(b) {
		num, wt, n := consumeTag(b[i:])
		if n < 0 || num > protowire.MaxValidNumber {
			return errDecode
		}
		i += n
		f := m.lookup(num)
		if f == nil || (wt != f.wt && !(f.packable && wt == protowire.BytesType)) {
			n = protowire.ConsumeFieldValue(num, wt, b[i:])
			if n < 0 {
				return errDecode
			}
			i += n
			continue
		}
		o := occurrence{fi: int32(f.index), wt: wt, seq: seq, raw0: int32(i)}
		seq++
		switch wt {
		case protowire.VarintType:
			o.u, n = consumeVarint(b[i:])
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b[i:])
			o.u = uint64(u)
		case protowire.Fixed64Type:
			o.u, n = protowire.ConsumeFixed64(b[i:])
		case protowire.BytesType:
			var v []byte
			v, n = consumeBytes(b[i:])
			if n >= 0 {
				o.v1 = int32(i + n)
				o.v0 = o.v1 - int32(len(v))
				if f.kind == protoreflect.StringKind && f.utf8 && !utf8.Valid(v) {
					return errUTF8
				}
			}
		case protowire.StartGroupType:
			var v []byte
			v, n = protowire.ConsumeGroup(num, b[i:])
			if n >= 0 {
				o.v0 = int32(i)
				o.v1 = o.v0 + int32(len(v))
			}
		}
		if n < 0 {
			return errDecode
		}
		i += n
		o.raw1 = int32(i)
		e.occ = append(e.occ, o)
	}
	return nil
}

// discard validates an occurrence that is not written (overwritten, a
// losing oneof member, skipped), as proto.Unmarshal would have read it.
func discard(m *message, b []byte, o *occurrence, depth int) error {
	f := m.fields[o.fi]
	_, err := validateField(f.fd, f.num, o.wt, o.raw(b), depth)
	return err
}

// sort orders occurrences by field declaration, keeping the wire order of
// each field's values: a counting sort over the message's n fields, as
// wire order is often not declaration order (dynamic messages marshal in
// map order).
func (e *encoder) sort(occ []occurrence, n int) {
	sorted := true
	for i := 1; i < len(occ); i++ {
		if occ[i].fi < occ[i-1].fi {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	counts := append(e.counts[:0], make([]int32, n+1)...)
	for i := range occ {
		counts[occ[i].fi+1]++
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	e.tmp = append(e.tmp[:0], occ...)
	for i := range e.tmp {
		k := e.tmp[i].fi
		occ[counts[k]] = e.tmp[i]
		counts[k]++
	}
	e.counts = counts
}

// message writes the JSON object of a message of type m.
func (e *encoder) message(m *message, b []byte, skip FieldSet, depth int, num64 bool) error {
	if depth--; depth < 0 {
		return errDepth
	}
	if m.google && m.wkt != wktWrapper {
		num64 = false
	}
	if m.wkt != wktNone {
		return e.wellKnown(m, b, depth, num64)
	}
	base := len(e.occ)
	if err := e.scan(m, b); err != nil {
		return err
	}
	occ := e.occ[base:]
	e.sort(occ, len(m.fields))
	e.out = append(e.out, '{')
	first := true
	for i := 0; i < len(occ); {
		f := m.fields[occ[i].fi]
		j := i + 1
		for j < len(occ) && occ[j].fi == occ[i].fi {
			j++
		}
		run := occ[i:j]
		i = j
		if f.oneof >= 0 {
			var lost []occurrence
			run, lost = oneofRun(m, occ, run)
			for k := range lost {
				if err := discard(m, b, &lost[k], depth); err != nil {
					return err
				}
			}
		}
		sub, skipped := skip[f.num]
		if skipped && sub == nil {
			for k := range run {
				if err := discard(m, b, &run[k], depth); err != nil {
					return err
				}
			}
			continue
		}
		if len(run) == 0 {
			continue
		}
		mark := len(e.out)
		if !first {
			e.out = append(e.out, ',')
		}
		e.out = append(e.out, f.key...)
		wrote, err := e.field(f, b, run, sub, depth, num64)
		if err != nil {
			return err
		}
		if !wrote {
			e.out = e.out[:mark]
			continue
		}
		first = false
	}
	e.out = append(e.out, '}')
	for _, f := range m.required {
		if !present(occ, f, skip) {
			return fmt.Errorf("required field %s not set", f.fd.FullName())
		}
	}
	e.occ = e.occ[:base]
	return nil
}

// present reports whether a required field is set.
func present(occ []occurrence, f *field, skip FieldSet) bool {
	if sub, ok := skip[f.num]; ok && sub == nil {
		return false
	}
	for k := range occ {
		if occ[k].fi == int32(f.index) {
			return true
		}
	}
	return false
}

// oneofRun returns the occurrences of run's field that make its value, nil
// when another member of its oneof was set later, and the occurrences that
// were overwritten.
func oneofRun(m *message, occ, run []occurrence) (keep, lost []occurrence) {
	f := run[0].fi
	oneof := m.fields[f].oneof
	var last, other int32 = -1, -1
	for k := range occ {
		o := &occ[k]
		if m.fields[o.fi].oneof != oneof {
			continue
		}
		if o.seq > last {
			last = o.seq
		}
		if o.fi != f && o.seq > other {
			other = o.seq
		}
	}
	if run[len(run)-1].seq != last {
		return nil, run
	}
	for k := range run {
		if run[k].seq > other {
			return run[k:], run[:k]
		}
	}
	return nil, run
}

// field writes the value of a field from its occurrences; false when the
// field turns out unpopulated (an empty packed list, a zero scalar without
// presence).
func (e *encoder) field(f *field, b []byte, run []occurrence, sub FieldSet, depth int, num64 bool) (bool, error) {
	switch {
	case f.isMap:
		return true, e.mapObject(f, b, run, depth, num64)
	case f.list:
		return e.list(f, b, run, depth, num64)
	case f.msg != nil:
		return true, e.message(f.msg, concat(b, run), sub, depth, num64)
	}
	o := &run[len(run)-1]
	if !f.presence && f.zero(o.u, o.v(b)) {
		return false, nil
	}
	return true, e.scalar(f, o.u, o.v(b), num64)
}

// concat returns the payload of a message field that occurs once, or the
// concatenation of its occurrences, which proto merges into one message.
func concat(b []byte, run []occurrence) []byte {
	if len(run) == 1 {
		return run[0].v(b)
	}
	var out []byte
	for k := range run {
		out = append(out, run[k].v(b)...)
	}
	return out
}

// list writes a repeated field; false when it has no elements.
func (e *encoder) list(f *field, b []byte, run []occurrence, depth int, num64 bool) (bool, error) {
	e.out = append(e.out, '[')
	count := 0
	for k := range run {
		o := &run[k]
		switch {
		case f.packable && o.wt == protowire.BytesType:
			p := o.v(b)
			for len(p) > 0 {
				var u uint64
				var n int
				switch f.wt {
				case protowire.VarintType:
					u, n = consumeVarint(p)
				case protowire.Fixed32Type:
					var u32 uint32
					u32, n = protowire.ConsumeFixed32(p)
					u = uint64(u32)
				default:
					u, n = protowire.ConsumeFixed64(p)
				}
				if n < 0 {
					return false, errDecode
				}
				p = p[n:]
				if count > 0 {
					e.out = append(e.out, ',')
				}
				count++
				if err := e.scalar(f, u, nil, num64); err != nil {
					return false, err
				}
			}
		default:
			if count > 0 {
				e.out = append(e.out, ',')
			}
			count++
			var err error
			if f.msg != nil {
				err = e.message(f.msg, o.v(b), nil, depth, num64)
			} else {
				err = e.scalar(f, o.u, o.v(b), num64)
			}
			if err != nil {
				return false, err
			}
		}
	}
	e.out = append(e.out, ']')
	return count > 0, nil
}

// zero reports whether a scalar value reads as its kind's zero value, which
// leaves a field without presence unpopulated.
func (f *field) zero(u uint64, v []byte) bool {
	switch f.kind {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return len(v) == 0
	case protoreflect.BoolKind, protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind,
		protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return u == 0
	case protoreflect.Sint32Kind:
		return uint32(u) == 0
	}
	// int32, uint32, enum, fixed32, sfixed32, float: the low 32 bits.
	return uint32(u) == 0
}

// scalar writes one scalar value: u for numbers, v for strings and bytes.
func (e *encoder) scalar(f *field, u uint64, v []byte, num64 bool) error {
	switch f.kind {
	case protoreflect.BoolKind:
		e.out = strconv.AppendBool(e.out, u != 0)
	case protoreflect.EnumKind:
		n := protoreflect.EnumNumber(u)
		switch q := f.enum.quoted(n); {
		case f.enum.null:
			e.out = append(e.out, "null"...)
		case q != nil:
			e.out = append(e.out, q...)
		default:
			e.out = strconv.AppendInt(e.out, int64(n), 10)
		}
	case protoreflect.Int32Kind:
		e.out = strconv.AppendInt(e.out, int64(int32(u)), 10)
	case protoreflect.Sint32Kind:
		e.out = strconv.AppendInt(e.out, int64(int32(protowire.DecodeZigZag(u&math.MaxUint32))), 10)
	case protoreflect.Sfixed32Kind:
		e.out = strconv.AppendInt(e.out, int64(int32(u)), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		e.out = strconv.AppendUint(e.out, uint64(uint32(u)), 10)
	case protoreflect.Int64Kind, protoreflect.Sfixed64Kind, protoreflect.Sint64Kind:
		n := int64(u)
		if f.kind == protoreflect.Sint64Kind {
			n = protowire.DecodeZigZag(u)
		}
		if !num64 {
			e.out = append(e.out, '"')
		}
		e.out = strconv.AppendInt(e.out, n, 10)
		if !num64 {
			e.out = append(e.out, '"')
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if !num64 {
			e.out = append(e.out, '"')
		}
		e.out = strconv.AppendUint(e.out, u, 10)
		if !num64 {
			e.out = append(e.out, '"')
		}
	case protoreflect.FloatKind:
		e.out = appendFloat(e.out, float64(math.Float32frombits(uint32(u))), 32)
	case protoreflect.DoubleKind:
		e.out = appendFloat(e.out, math.Float64frombits(u), 64)
	case protoreflect.StringKind:
		var ok bool
		if e.out, ok = appendStringOK(e.out, unsafeString(v)); !ok {
			return fmt.Errorf("field %s contains invalid UTF-8", f.fd.FullName())
		}
	case protoreflect.BytesKind:
		e.out = append(e.out, '"')
		e.out = base64.StdEncoding.AppendEncode(e.out, v)
		e.out = append(e.out, '"')
	}
	return nil
}

// mapObject writes a map field's entries as an object, keys sorted as
// protojson sorts them, the last entry of a repeated key winning.
func (e *encoder) mapObject(f *field, b []byte, run []occurrence, depth int, num64 bool) error {
	if depth--; depth < 0 {
		return errDepth
	}
	base := len(e.entries)
	for k := range run {
		en, err := parseEntry(f, b, run[k].v0, run[k].v1)
		if err != nil {
			return err
		}
		e.entries = append(e.entries, en)
	}
	ents := e.entries[base:]
	kf := f.mapKey
	cmp := func(x, y *entry) int {
		switch kf.kind {
		case protoreflect.StringKind:
			return bytes.Compare(b[x.k0:x.k1], b[y.k0:y.k1])
		case protoreflect.BoolKind, protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
			return compareUint(x.key, y.key)
		}
		return compareInt(int64(x.key), int64(y.key))
	}
	sorted := true
	for k := 1; k < len(ents); k++ {
		if cmp(&ents[k-1], &ents[k]) > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortStableFunc(ents, func(x, y entry) int { return cmp(&x, &y) })
	}
	e.out = append(e.out, '{')
	first := true
	vf := f.mapValue
	for k := range ents {
		en := &ents[k]
		if k+1 < len(ents) && cmp(en, &ents[k+1]) == 0 {
			if vf.msg != nil && en.haveVal {
				if err := validateMessage(e.entryValue(f, b, en), vf.fd.Message(), depth); err != nil {
					return err
				}
			}
			continue
		}
		if !first {
			e.out = append(e.out, ',')
		}
		first = false
		switch kf.kind {
		case protoreflect.StringKind:
			var ok bool
			if e.out, ok = appendStringOK(e.out, unsafeString(b[en.k0:en.k1])); !ok {
				return fmt.Errorf("field %s contains invalid UTF-8", kf.fd.FullName())
			}
		case protoreflect.BoolKind:
			e.out = append(e.out, '"')
			e.out = strconv.AppendBool(e.out, en.key != 0)
			e.out = append(e.out, '"')
		case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
			e.out = append(e.out, '"')
			e.out = strconv.AppendUint(e.out, en.key, 10)
			e.out = append(e.out, '"')
		default:
			e.out = append(e.out, '"')
			e.out = strconv.AppendInt(e.out, int64(en.key), 10)
			e.out = append(e.out, '"')
		}
		e.out = append(e.out, ':')
		var err error
		switch {
		case vf.msg != nil:
			err = e.message(vf.msg, e.entryValue(f, b, en), nil, depth, num64)
		case !en.haveVal && vf.kind == protoreflect.EnumKind:
			err = e.scalar(vf, uint64(vf.defaultEnum), nil, num64)
		default:
			err = e.scalar(vf, en.val, b[en.v0:en.v1], num64)
		}
		if err != nil {
			return err
		}
	}
	e.out = append(e.out, '}')
	e.entries = e.entries[:base]
	return nil
}

// entryValue returns the encoding of an entry's message value: the merge
// of its values when it has several.
func (e *encoder) entryValue(f *field, b []byte, en *entry) []byte {
	if !en.merge {
		return b[en.v0:en.v1]
	}
	var out []byte
	p := b[en.e0:en.e1]
	for len(p) > 0 {
		num, wt, n := consumeTag(p)
		p = p[n:]
		n = protowire.ConsumeFieldValue(num, wt, p)
		if num == 2 && wt == f.mapValue.wt {
			v, _ := consumeBytes(p)
			out = append(out, v...)
		}
		p = p[n:]
	}
	return out
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseEntry reads the map entry at b[start:end] as proto.Unmarshal does:
// the last key and value win, several message values merge, fields of the
// wrong wire type and other fields are skipped. Keys are normalised for
// sorting.
func parseEntry(f *field, b []byte, start, end int32) (entry, error) {
	en := entry{e0: start, e1: end}
	var keys keyState
	kf, vf := f.mapKey, f.mapValue
	i := int(start)
	for i < int(end) {
		num, wt, n := consumeTag(b[i:end])
		if n < 0 || num > protowire.MaxValidNumber {
			return en, errDecode
		}
		i += n
		var ef *field
		switch num {
		case 1:
			ef = kf
			keys.see(wt == kf.wt)
		case 2:
			ef = vf
		}
		if ef == nil || wt != ef.wt {
			n = protowire.ConsumeFieldValue(num, wt, b[i:end])
			if n < 0 {
				return en, errDecode
			}
			i += n
			continue
		}
		var u uint64
		v0, v1 := int32(0), int32(0)
		switch wt {
		case protowire.VarintType:
			u, n = consumeVarint(b[i:end])
		case protowire.Fixed32Type:
			var u32 uint32
			u32, n = protowire.ConsumeFixed32(b[i:end])
			u = uint64(u32)
		case protowire.Fixed64Type:
			u, n = protowire.ConsumeFixed64(b[i:end])
		case protowire.BytesType:
			var v []byte
			v, n = consumeBytes(b[i:end])
			if n >= 0 {
				v1 = int32(i + n)
				v0 = v1 - int32(len(v))
				if ef.kind == protoreflect.StringKind && ef.utf8 && !utf8.Valid(v) {
					return en, errUTF8
				}
			}
		}
		if n < 0 {
			return en, errDecode
		}
		i += n
		if ef == kf {
			en.key, en.k0, en.k1 = normalizeKey(kf.kind, u), v0, v1
			continue
		}
		if vf.msg != nil && en.haveVal {
			en.merge = true
		}
		en.val, en.v0, en.v1 = u, v0, v1
		en.haveVal = true
	}
	return en, keys.err()
}

// normalizeKey converts an integer key's wire value to the value it
// stands for (sign-extended for signed kinds), for sorting and printing.
func normalizeKey(k protoreflect.Kind, u uint64) uint64 {
	switch k {
	case protoreflect.BoolKind:
		if u != 0 {
			return 1
		}
		return 0
	case protoreflect.Int32Kind, protoreflect.Sfixed32Kind:
		return uint64(int64(int32(u)))
	case protoreflect.Sint32Kind:
		return uint64(int64(int32(protowire.DecodeZigZag(u & math.MaxUint32))))
	case protoreflect.Sint64Kind:
		return uint64(protowire.DecodeZigZag(u))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return uint64(uint32(u))
	}
	return u
}

// last returns the last occurrence of field number n, nil when absent.
func last(m *message, occ []occurrence, n protoreflect.FieldNumber) *occurrence {
	for k := len(occ) - 1; k >= 0; k-- {
		if m.fields[occ[k].fi].num == n {
			return &occ[k]
		}
	}
	return nil
}

// wellKnown writes a well-known type's special JSON form.
func (e *encoder) wellKnown(m *message, b []byte, depth int, num64 bool) error {
	if m.wkt == wktAny {
		return e.any(m, b, depth)
	}
	base := len(e.occ)
	if err := e.scan(m, b); err != nil {
		return err
	}
	occ := e.occ[base:]
	var err error
	switch m.wkt {
	case wktTimestamp, wktDuration:
		var secs, nanos int64
		if o := last(m, occ, 1); o != nil {
			secs = int64(o.u)
		}
		if o := last(m, occ, 2); o != nil {
			nanos = int64(int32(o.u))
		}
		if m.wkt == wktTimestamp {
			err = e.timestamp(secs, nanos)
		} else {
			err = e.duration(secs, nanos)
		}
	case wktWrapper:
		f := m.lookup(1)
		if o := last(m, occ, 1); o != nil {
			err = e.scalar(f, o.u, o.v(b), num64)
		} else {
			err = e.scalar(f, 0, nil, num64)
		}
	case wktStruct:
		if len(occ) == 0 {
			e.out = append(e.out, "{}"...)
			break
		}
		err = e.mapObject(m.lookup(1), b, occ, depth, num64)
	case wktListValue:
		_, err = e.list(m.lookup(1), b, occ, depth, num64)
	case wktFieldMask:
		err = e.fieldMask(b, occ)
	case wktValue:
		err = e.value(m, b, occ, depth, num64)
	}
	if err != nil {
		return err
	}
	e.occ = e.occ[:base]
	return nil
}

// value writes a google.protobuf.Value: the member of its kind oneof set
// last.
func (e *encoder) value(m *message, b []byte, occ []occurrence, depth int, num64 bool) error {
	if len(occ) == 0 {
		return errors.New("google.protobuf.Value: none of the oneof fields is set")
	}
	// Every field of Value is in the oneof: the last one in the wire wins,
	// its occurrences after the last other member's merging.
	fi := occ[len(occ)-1].fi
	f := m.fields[fi]
	start := 0
	for k := range occ {
		if occ[k].fi != fi {
			start = k + 1
		}
	}
	for k := range occ[:start] {
		if err := discard(m, b, &occ[k], depth); err != nil {
			return err
		}
	}
	keep := occ[start:]
	o := &keep[len(keep)-1]
	switch f.num {
	case 1:
		e.out = append(e.out, "null"...)
	case 2:
		if v := math.Float64frombits(o.u); math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("google.protobuf.Value.number_value: invalid %v value", v)
		}
		return e.scalar(f, o.u, nil, num64)
	case 3, 4:
		return e.scalar(f, o.u, o.v(b), num64)
	default:
		return e.message(f.msg, concat(b, keep), nil, depth, num64)
	}
	return nil
}

// timestamp writes RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
func (e *encoder) timestamp(secs, nanos int64) error {
	if secs < -62135596800 || secs > 253402300799 {
		return fmt.Errorf("google.protobuf.Timestamp: seconds out of range %v", secs)
	}
	if nanos < 0 || nanos > 999999999 {
		return fmt.Errorf("google.protobuf.Timestamp: nanos out of range %v", nanos)
	}
	e.out = append(e.out, '"')
	e.out = time.Unix(secs, nanos).UTC().AppendFormat(e.out, "2006-01-02T15:04:05.000000000")
	e.out = trimFraction(e.out)
	e.out = append(e.out, 'Z', '"')
	return nil
}

// duration writes seconds with 0, 3, 6 or 9 fractional digits and "s".
func (e *encoder) duration(secs, nanos int64) error {
	const maxSecs = 315576000000
	if secs < -maxSecs || secs > maxSecs {
		return fmt.Errorf("google.protobuf.Duration: seconds out of range %v", secs)
	}
	if nanos < -999999999 || nanos > 999999999 {
		return fmt.Errorf("google.protobuf.Duration: nanos out of range %v", nanos)
	}
	if (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0) {
		return errors.New("google.protobuf.Duration: signs of seconds and nanos do not match")
	}
	e.out = append(e.out, '"')
	if secs < 0 || nanos < 0 {
		e.out = append(e.out, '-')
		secs, nanos = -secs, -nanos
	}
	e.out = strconv.AppendInt(e.out, secs, 10)
	e.out = append(e.out, '.')
	frac := strconv.AppendInt(make([]byte, 0, 9), nanos, 10)
	for i := len(frac); i < 9; i++ {
		e.out = append(e.out, '0')
	}
	e.out = append(e.out, frac...)
	e.out = trimFraction(e.out)
	e.out = append(e.out, 's', '"')
	return nil
}

// trimFraction drops trailing groups of three zeros from a 9-digit
// fraction at the end of b, and the dot when nothing is left.
func trimFraction(b []byte) []byte {
	for range 2 {
		if bytes.HasSuffix(b, []byte("000")) {
			b = b[:len(b)-3]
		}
	}
	if bytes.HasSuffix(b, []byte(".000")) {
		b = b[:len(b)-4]
	}
	return b
}

// fieldMask writes the paths in lowerCamel, joined by commas.
func (e *encoder) fieldMask(b []byte, occ []occurrence) error {
	var joined []byte
	for k := range occ {
		s := string(occ[k].v(b))
		if !protoreflect.FullName(s).IsValid() {
			return fmt.Errorf("google.protobuf.FieldMask.paths contains invalid path: %q", s)
		}
		cc := camelCase(s)
		if s != snakeCase(cc) {
			return fmt.Errorf("google.protobuf.FieldMask.paths contains irreversible value %q", s)
		}
		if k > 0 {
			joined = append(joined, ',')
		}
		joined = append(joined, cc...)
	}
	e.out = appendString(e.out, string(joined))
	return nil
}

// any writes a google.protobuf.Any through protojson, which resolves its
// type in the global registry as it would for the whole message.
func (e *encoder) any(m *message, b []byte, depth int) error {
	msg := dynamicpb.NewMessage(m.md)
	if err := (proto.UnmarshalOptions{AllowPartial: true, RecursionLimit: depth + 1}).Unmarshal(b, msg); err != nil {
		return err
	}
	var err error
	e.out, err = protojson.MarshalOptions{AllowPartial: true}.MarshalAppend(e.out, msg)
	return err
}

// camelCase and snakeCase are protojson's field mask name conversions.
func camelCase(s string) string {
	var b []byte
	var wasUnderscore bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' {
			if wasUnderscore && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
		wasUnderscore = c == '_'
	}
	return string(b)
}

func snakeCase(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			b = append(b, '_')
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// appendFloat writes a float as protojson does.
func appendFloat(out []byte, n float64, bitSize int) []byte {
	switch {
	case math.IsNaN(n):
		return append(out, `"NaN"`...)
	case math.IsInf(n, +1):
		return append(out, `"Infinity"`...)
	case math.IsInf(n, -1):
		return append(out, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(n); abs != 0 {
		if bitSize == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bitSize == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	out = strconv.AppendFloat(out, n, format, -1, bitSize)
	if format == 'e' {
		n := len(out)
		if n >= 4 && out[n-4] == 'e' && out[n-3] == '-' && out[n-2] == '0' {
			out[n-2] = out[n-1]
			out = out[:n-1]
		}
	}
	return out
}

// appendString writes a JSON string of valid UTF-8 s.
func appendString(out []byte, s string) []byte {
	out, _ = appendStringOK(out, s)
	return out
}

// appendStringOK writes s as a JSON string escaped as protojson escapes it;
// false when s is not valid UTF-8.
func appendStringOK(out []byte, s string) ([]byte, bool) {
	out = append(out, '"')
	i := indexNeedEscape(s)
	s, out = s[i:], append(out, s[:i]...)
	for len(s) > 0 {
		switch r, n := utf8.DecodeRuneInString(s); {
		case r == utf8.RuneError && n == 1:
			return out, false
		case r < ' ' || r == '"' || r == '\\':
			out = append(out, '\\')
			switch r {
			case '"', '\\':
				out = append(out, byte(r))
			case '\b':
				out = append(out, 'b')
			case '\f':
				out = append(out, 'f')
			case '\n':
				out = append(out, 'n')
			case '\r':
				out = append(out, 'r')
			case '\t':
				out = append(out, 't')
			default:
				out = append(out, 'u')
				out = append(out, "0000"[1+(bits.Len32(uint32(r))-1)/4:]...)
				out = strconv.AppendUint(out, uint64(r), 16)
			}
			s = s[n:]
		default:
			i := indexNeedEscape(s[n:])
			s, out = s[n+i:], append(out, s[:n+i]...)
		}
	}
	return append(out, '"'), true
}

func indexNeedEscape(s string) int {
	i := 0
	for {
		i += plainPrefix(unsafe.Slice(unsafe.StringData(s[i:]), len(s)-i))
		if i == len(s) || s[i] < utf8.RuneSelf {
			return i
		}
		// Multi-byte: only invalid UTF-8 needs the slow path.
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
}

// unsafeString views b as a string without copying; b must not change
// while the string is in use.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
