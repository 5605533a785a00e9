package xmlcodec

import (
	"bytes"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// DecodeOptions tune Unmarshal.
type DecodeOptions struct {
	// Lax skips elements and text the schema does not declare.
	Lax bool
	// Limits bound the input; zero fields take the defaults.
	Limits Limits
}

// Unmarshal reads an XML document whose root element is p.Root() into m.
func (p *Plan) Unmarshal(data []byte, m protoreflect.Message, opts DecodeOptions) error {
	if err := p.checkType(m); err != nil {
		return err
	}
	d := NewDecoder(bytes.NewReader(data), opts.Limits)
	d.Lax = opts.Lax
	start, err := d.Root()
	if err != nil {
		return err
	}
	if start.Name != p.root {
		return d.fail(ErrUnknown, "root element is %s, not %s", FormatQName(start.Name), FormatQName(p.root))
	}
	if err := p.decode(d, start, m); err != nil {
		return err
	}
	return d.Finish()
}

// DecodeElement reads the element start (just returned by d) into m: its
// attributes and content, up to and including its end tag.
func (p *Plan) DecodeElement(d *Decoder, start *Start, m protoreflect.Message) error {
	if err := p.checkType(m); err != nil {
		return err
	}
	return p.decode(d, start, m)
}

// DecodeBlocks reads the children of start (a SOAP Header) into m's element
// fields of the same name, up to and including its end tag. Children and text
// the message does not declare are skipped, whatever d.Lax says; declared
// children decode as DecodeElement would (strictly unless d.Lax). Attributes
// of start are ignored.
func (p *Plan) DecodeBlocks(d *Decoder, _ *Start, m protoreflect.Message) error {
	if err := p.checkType(m); err != nil {
		return err
	}
	var seen map[protoreflect.FieldNumber]bool
	for {
		t, err := d.next()
		if err != nil {
			return eofInside(d, err)
		}
		switch t.kind {
		case tokEnd:
			return nil
		case tokStart:
			f := p.byElem[t.start.Name]
			switch {
			case f == nil:
				err = d.Skip()
			case f.slot != 0 && seen[f.slot]:
				// A second block for a singular field: keep the first.
				err = d.Skip()
			default:
				if f.slot != 0 {
					if seen == nil {
						seen = map[protoreflect.FieldNumber]bool{}
					}
					seen[f.slot] = true
				}
				err = f.decodeElement(d, t.start, m)
			}
			if err != nil {
				return err
			}
		}
	}
}

func (p *Plan) decode(d *Decoder, start *Start, m protoreflect.Message) error {
	for _, a := range start.Attr {
		f := p.byAttr[a.Name]
		if f == nil {
			continue // undeclared attributes (xsi:*, encodingStyle, ...) are ignored
		}
		v, err := f.parseValue(a.Value, func() protoreflect.Message { return m.NewField(f.fd).Message() })
		if err != nil {
			return errorf(ErrValue, d.Path()+"/@"+a.Name.Local, "%v", err)
		}
		m.Set(f.fd, v)
	}
	if p.text != nil {
		leaf := d.leaf()
		s, err := d.Text()
		if err != nil {
			return err
		}
		v, err := p.text.parseValue(s, func() protoreflect.Message { return m.NewField(p.text.fd).Message() })
		if err != nil {
			return errorf(ErrValue, d.childPath(leaf), "%v", err)
		}
		m.Set(p.text.fd, v)
		return nil
	}
	var seen map[protoreflect.FieldNumber]bool
	for {
		t, err := d.next()
		if err != nil {
			return eofInside(d, err)
		}
		switch t.kind {
		case tokEnd:
			return nil
		case tokText:
			if len(bytes.TrimSpace(t.text)) == 0 {
				continue
			}
			switch {
			case p.raw != nil:
				w := NewWriter()
				w.Text(string(t.text))
				appendRaw(m, p.raw, w.buf.String())
			case !d.Lax:
				return d.fail(ErrUnknown, "text where message %s has no text field", p.md.FullName())
			}
		case tokStart:
			f := p.byElem[t.start.Name]
			if f == nil {
				if err := p.undeclared(d, t.start, m, "element %s is not declared by message %s", FormatQName(t.start.Name), p.md.FullName()); err != nil {
					return err
				}
				continue
			}
			if f.slot != 0 {
				// A singular field (or a choice) takes one element: a second one is
				// content the declared fields cannot hold, like an undeclared
				// element. It goes to the xs:any field when there is one (a
				// Salesforce sObject repeats sf:Id, which its xs:any absorbs), is
				// skipped when lax, and fails otherwise; it never overwrites the
				// first.
				if seen[f.slot] {
					msg, args := "element %s appears more than once", []any{FormatQName(t.start.Name)}
					if f.fd.ContainingOneof() != nil && !f.fd.ContainingOneof().IsSynthetic() {
						msg, args = "element %s is a second alternative of choice %s", []any{FormatQName(t.start.Name), f.fd.ContainingOneof().Name()}
					}
					if err := p.undeclared(d, t.start, m, msg, args...); err != nil {
						return err
					}
					continue
				}
				if seen == nil {
					seen = map[protoreflect.FieldNumber]bool{}
				}
				seen[f.slot] = true
			}
			if err := f.decodeElement(d, t.start, m); err != nil {
				return err
			}
		}
	}
}

// undeclared handles an element start that no field of p takes: it is appended to the
// raw (xs:any) field when p has one, skipped when d is lax, and fails otherwise with
// the message given.
func (p *Plan) undeclared(d *Decoder, start *Start, m protoreflect.Message, format string, args ...any) error {
	switch {
	case p.raw != nil:
		n, err := d.Tree(start)
		if err != nil {
			return err
		}
		w := NewWriter()
		n.Write(w)
		b, err := w.Bytes()
		if err != nil {
			return err
		}
		appendRaw(m, p.raw, string(b))
		return nil
	case d.Lax:
		return d.Skip()
	}
	return d.fail(ErrUnknown, format, args...)
}

func appendRaw(m protoreflect.Message, f *field, s string) {
	if f.fd.Kind() == protoreflect.BytesKind {
		m.Set(f.fd, protoreflect.ValueOfBytes(append(bytes.Clone(m.Get(f.fd).Bytes()), s...)))
		return
	}
	m.Set(f.fd, protoreflect.ValueOfString(m.Get(f.fd).String()+s))
}

// decodeElement reads one element of f (a wrapper of items when wrapped; an
// alternative, making a new item, of a choice group).
func (f *field) decodeElement(d *Decoder, start *Start, m protoreflect.Message) error {
	if f.group {
		list := m.Mutable(f.fd).List()
		item := list.NewElement().Message()
		alt := f.msg.byElem[start.Name]
		if err := alt.decodeElement(d, start, item); err != nil {
			return err
		}
		if !item.Has(alt.fd) {
			// A nil alternative (without a nil marker): the item still says which.
			if alt.fd.Message() != nil {
				item.Mutable(alt.fd)
			} else {
				item.Set(alt.fd, item.Get(alt.fd))
			}
		}
		list.Append(protoreflect.ValueOfMessage(item))
		return nil
	}
	if !f.wrapped {
		return f.decodeItem(d, start, m)
	}
	for {
		c, err := d.Child()
		if err != nil || c == nil {
			return err
		}
		if c.Name != f.item {
			if d.Lax {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			return d.fail(ErrUnknown, "element %s is not an item of %s", FormatQName(c.Name), FormatQName(f.name))
		}
		if err := f.decodeItem(d, c, m); err != nil {
			return err
		}
	}
}

// isNil reports xsi:nil="true".
func isNil(s *Start) bool {
	v, ok := s.AttrValue(xsiNil)
	v = strings.TrimSpace(v)
	return ok && (v == "true" || v == "1")
}

// decodeItem reads one value of f from the element start.
func (f *field) decodeItem(d *Decoder, start *Start, m protoreflect.Message) error {
	var list protoreflect.List
	if f.fd.IsList() {
		list = m.Mutable(f.fd).List()
	}
	if isNil(start) {
		if f.nilFD != nil {
			if list != nil {
				m.Mutable(f.nilFD).List().Append(protoreflect.ValueOfUint32(uint32(list.Len())))
			} else {
				m.Set(f.nilFD, protoreflect.ValueOfBool(true))
			}
		}
		if list != nil {
			list.Append(list.NewElement())
		}
		leaf := d.leaf()
		s, err := d.Text()
		if err != nil {
			return err
		}
		if strings.TrimSpace(s) != "" && !d.Lax {
			return errorf(ErrValue, d.childPath(leaf), "a nil element has content")
		}
		return nil
	}
	newMsg := func() protoreflect.Message {
		if list != nil {
			return list.NewElement().Message()
		}
		return m.Mutable(f.fd).Message()
	}
	set := func(v protoreflect.Value) {
		if list != nil {
			list.Append(v)
		} else {
			m.Set(f.fd, v)
		}
	}
	switch {
	case f.msg != nil:
		sub := newMsg()
		if err := f.msg.decode(d, start, sub); err != nil {
			return err
		}
		set(protoreflect.ValueOfMessage(sub))
		return nil
	case f.special == specialAny:
		sub, err := f.anyPlan(d, start)
		if err != nil {
			return err
		}
		if sub == nil {
			return d.Skip()
		}
		dm := dynamicpb.NewMessage(sub.md)
		if err := sub.decode(d, start, dm); err != nil {
			return err
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(dm)
		if err != nil {
			return d.fail(ErrValue, "%v", err)
		}
		am := newMsg()
		fs := am.Descriptor().Fields()
		am.Set(fs.ByName("type_url"), protoreflect.ValueOfString("type.googleapis.com/"+string(sub.md.FullName())))
		am.Set(fs.ByName("value"), protoreflect.ValueOfBytes(b))
		set(protoreflect.ValueOfMessage(am))
		return nil
	}
	leaf := d.leaf()
	s, err := d.Text()
	if err != nil {
		return err
	}
	v, err := f.parseValue(s, newMsg)
	if err != nil {
		return errorf(ErrValue, d.childPath(leaf), "%v", err)
	}
	set(v)
	return nil
}

// anyPlan picks the type of a polymorphic element: its xsi:type, else the
// field's declared xsd_type. Lax decoding skips (nil plan) what it cannot type.
func (f *field) anyPlan(d *Decoder, start *Start) (*Plan, error) {
	want := f.xsdType
	if v, ok := start.AttrValue(xsiType); ok {
		t, ok := d.Resolve(v)
		if !ok {
			return nil, d.fail(ErrValue, "xsi:type %q uses an undeclared prefix", clip(v))
		}
		want = t
	}
	if sub := f.anyTypes.byType[want]; sub != nil {
		return sub, nil
	}
	if d.Lax {
		return nil, nil
	}
	if want.Local == "" {
		return nil, d.fail(ErrValue, "element needs an xsi:type naming one of the types this field can hold")
	}
	return nil, d.fail(ErrValue, "xsi:type %s is not a message with xml_root.xsd_type in the compiled files", FormatQName(want))
}

// parseValue converts text to a value of f: a scalar, or a wrapper or
// timestamp message made by newMsg.
func (f *field) parseValue(s string, newMsg func() protoreflect.Message) (protoreflect.Value, error) {
	switch f.special {
	case specialWrapper:
		v, err := f.parseScalar(s)
		if err != nil {
			return v, err
		}
		wm := newMsg()
		wm.Set(f.scalarFD, v)
		return protoreflect.ValueOfMessage(wm), nil
	case specialTimestamp:
		t, err := parseDateTime(s)
		if err != nil {
			return protoreflect.Value{}, err
		}
		tm := newMsg()
		fs := tm.Descriptor().Fields()
		tm.Set(fs.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
		tm.Set(fs.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
		return protoreflect.ValueOfMessage(tm), nil
	}
	return f.parseScalar(s)
}
