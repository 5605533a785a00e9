package wirejson

import (
	"errors"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// recursionLimit is the protobuf runtime's default nesting limit, in both
// the binary and the JSON decoders.
const recursionLimit = protowire.DefaultRecursionLimit

var (
	errDecode = errors.New("cannot parse invalid wire-format data")
	errDepth  = errors.New("exceeded maximum recursion depth")
	errUTF8   = errors.New("invalid UTF-8")
)

// Validate reports whether wire is an encoding of a message of type md that
// proto.Unmarshal (with AllowPartial) accepts: well-formed, strings of
// proto3 fields valid UTF-8, nesting within the default recursion limit.
// Fields are looked up in md as proto.Unmarshal looks them up, extensions
// in the global registry included.
//
// The check runs on a plan compiled for md on first use and cached (the
// cache is emptied when it holds more than maxPlans types, as reloads
// leave descriptors behind); types NewCodec refuses are checked on the
// descriptor itself.
func Validate(wire []byte, md protoreflect.MessageDescriptor) error {
	if m := planFor(md); m != nil {
		return checkMessage(m, wire, recursionLimit)
	}
	return validateMessage(wire, md, recursionLimit)
}

// maxPlans bounds the plans Validate caches.
const maxPlans = 4096

var (
	plans     sync.Map // protoreflect.MessageDescriptor → *message (nil: not compilable)
	planCount atomic.Int64
)

// planFor returns md's compiled plan, nil when NewCodec refuses md.
func planFor(md protoreflect.MessageDescriptor) *message {
	if m, ok := plans.Load(md); ok {
		return m.(*message)
	}
	var m *message
	if c, err := NewCodec(md); err == nil {
		m = c.root
	}
	if planCount.Add(1) > maxPlans {
		plans.Clear()
		planCount.Store(1)
	}
	plans.Store(md, m)
	return m
}

// checkMessage is validateMessage on a compiled plan.
func checkMessage(m *message, b []byte, depth int) error {
	if depth--; depth < 0 {
		return errDepth
	}
	for len(b) > 0 {
		num, wt, n := consumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errDecode
		}
		b = b[n:]
		n, err := checkField(m.lookup(num), num, wt, b, depth)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// checkField is validateField on a compiled plan; f is nil for an unknown
// field.
func checkField(f *field, num protoreflect.FieldNumber, wt protowire.Type, b []byte, depth int) (int, error) {
	if f != nil {
		n, err := checkKnown(f, wt, b, depth)
		if err != errUnknown {
			return n, err
		}
	}
	n := protowire.ConsumeFieldValue(num, wt, b)
	if n < 0 {
		return 0, errDecode
	}
	return n, nil
}

// checkKnown is validateKnown and validateValue on a compiled plan.
func checkKnown(f *field, wt protowire.Type, b []byte, depth int) (int, error) {
	switch {
	case f.isMap:
		if wt != protowire.BytesType {
			return 0, errUnknown
		}
		v, n := consumeBytes(b)
		if n < 0 {
			return 0, errDecode
		}
		return n, checkEntry(v, f, depth)
	case f.packable && wt == protowire.BytesType:
		v, n := consumeBytes(b)
		if n < 0 {
			return 0, errDecode
		}
		return n, validatePacked(v, f.wt)
	case wt != f.wt:
		return 0, errUnknown
	}
	var n int
	switch wt {
	case protowire.VarintType:
		_, n = consumeVarint(b)
	case protowire.Fixed32Type:
		_, n = protowire.ConsumeFixed32(b)
	case protowire.Fixed64Type:
		_, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		var v []byte
		v, n = consumeBytes(b)
		if n < 0 {
			return 0, errDecode
		}
		switch f.kind {
		case protoreflect.StringKind:
			if f.utf8 && !utf8.Valid(v) {
				return 0, errUTF8
			}
		case protoreflect.MessageKind:
			return n, checkMessage(f.msg, v, depth)
		}
	case protowire.StartGroupType:
		var v []byte
		v, n = protowire.ConsumeGroup(f.num, b)
		if n < 0 {
			return 0, errDecode
		}
		return n, checkMessage(f.msg, v, depth)
	}
	if n < 0 {
		return 0, errDecode
	}
	return n, nil
}

// checkEntry is validateEntry on a compiled plan.
func checkEntry(b []byte, f *field, depth int) error {
	if depth--; depth < 0 {
		return errDepth
	}
	var keys keyState
	for len(b) > 0 {
		num, wt, n := consumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errDecode
		}
		b = b[n:]
		var ef *field
		switch num {
		case 1:
			ef = f.mapKey
			keys.see(wt == ef.wt)
		case 2:
			ef = f.mapValue
		}
		n, err := checkField(ef, num, wt, b, depth)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return keys.err()
}

func validateMessage(b []byte, md protoreflect.MessageDescriptor, depth int) error {
	if depth--; depth < 0 {
		return errDepth
	}
	fields := md.Fields()
	for len(b) > 0 {
		num, wt, n := consumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errDecode
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if fd == nil && md.ExtensionRanges().Has(num) {
			if xt, err := protoregistry.GlobalTypes.FindExtensionByNumber(md.FullName(), num); err == nil {
				fd = xt.TypeDescriptor()
			}
		}
		n, err := validateField(fd, num, wt, b, depth)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// validateField checks the value of one field (b starts after its tag) and
// returns its length. fd is nil for an unknown field.
func validateField(fd protoreflect.FieldDescriptor, num protoreflect.FieldNumber, wt protowire.Type, b []byte, depth int) (int, error) {
	if fd != nil {
		n, err := validateKnown(fd, wt, b, depth)
		if err != errUnknown {
			return n, err
		}
	}
	n := protowire.ConsumeFieldValue(num, wt, b)
	if n < 0 {
		return 0, errDecode
	}
	return n, nil
}

// errUnknown marks a known field whose wire type makes it an unknown one.
var errUnknown = errors.New("unknown field")

func validateKnown(fd protoreflect.FieldDescriptor, wt protowire.Type, b []byte, depth int) (int, error) {
	kind := fd.Kind()
	switch {
	case fd.IsMap():
		if wt != protowire.BytesType {
			return 0, errUnknown
		}
		v, n := consumeBytes(b)
		if n < 0 {
			return 0, errDecode
		}
		return n, validateEntry(v, fd, depth)
	case fd.IsList() && wt == protowire.BytesType && wireType(kind) != protowire.BytesType && kind != protoreflect.GroupKind:
		v, n := consumeBytes(b)
		if n < 0 {
			return 0, errDecode
		}
		return n, validatePacked(v, wireType(kind))
	}
	return validateValue(fd, wt, b, depth)
}

// validateValue checks one value of fd's kind.
func validateValue(fd protoreflect.FieldDescriptor, wt protowire.Type, b []byte, depth int) (int, error) {
	kind := fd.Kind()
	if wt != wireType(kind) {
		return 0, errUnknown
	}
	var n int
	switch wt {
	case protowire.VarintType:
		_, n = consumeVarint(b)
	case protowire.Fixed32Type:
		_, n = protowire.ConsumeFixed32(b)
	case protowire.Fixed64Type:
		_, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		var v []byte
		v, n = consumeBytes(b)
		if n < 0 {
			return 0, errDecode
		}
		switch kind {
		case protoreflect.StringKind:
			if enforceUTF8(fd) && !utf8.Valid(v) {
				return 0, errUTF8
			}
		case protoreflect.MessageKind:
			return n, validateMessage(v, fd.Message(), depth)
		}
	case protowire.StartGroupType:
		var v []byte
		v, n = protowire.ConsumeGroup(fd.Number(), b)
		if n < 0 {
			return 0, errDecode
		}
		return n, validateMessage(v, fd.Message(), depth)
	}
	if n < 0 {
		return 0, errDecode
	}
	return n, nil
}

// validatePacked checks a packed run of elements of wire type wt.
func validatePacked(b []byte, wt protowire.Type) error {
	for len(b) > 0 {
		var n int
		switch wt {
		case protowire.VarintType:
			_, n = consumeVarint(b)
		case protowire.Fixed32Type:
			_, n = protowire.ConsumeFixed32(b)
		default:
			_, n = protowire.ConsumeFixed64(b)
		}
		if n < 0 {
			return errDecode
		}
		b = b[n:]
	}
	return nil
}

// validateEntry checks one map entry as proto.Unmarshal reads it: key and
// value of the wrong wire type, and other fields, are skipped.
func validateEntry(b []byte, fd protoreflect.FieldDescriptor, depth int) error {
	if depth--; depth < 0 {
		return errDepth
	}
	var keys keyState
	for len(b) > 0 {
		num, wt, n := consumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errDecode
		}
		b = b[n:]
		var ef protoreflect.FieldDescriptor
		switch num {
		case 1:
			ef = fd.MapKey()
			keys.see(wt == wireType(ef.Kind()))
		case 2:
			ef = fd.MapValue()
		}
		n, err := validateField(ef, num, wt, b, depth)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return keys.err()
}

// keyState tracks the keys of a map entry for a case proto.Unmarshal does
// not survive: a key of the wrong wire type after a valid one leaves it
// with no key, and it panics. Such entries are refused.
type keyState struct{ have, lost bool }

func (k *keyState) see(valid bool) {
	if valid {
		k.have, k.lost = true, false
	} else if k.have {
		k.lost = true
	}
}

func (k *keyState) err() error {
	if k.lost {
		return errBadEntry
	}
	return nil
}

var errBadEntry = errors.New("map entry with a key of the wrong wire type")
