package xmlcodec

import (
	"encoding/xml"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

var (
	xsiNil  = xml.Name{Space: XSINamespace, Local: "nil"}
	xsiType = xml.Name{Space: XSINamespace, Local: "type"}
)

// Marshal writes m as an XML document whose root element is p.Root().
func (p *Plan) Marshal(m protoreflect.Message) ([]byte, error) {
	w := NewWriter()
	w.Header()
	if err := p.EncodeElement(w, p.Root(), m); err != nil {
		return nil, err
	}
	return w.Bytes()
}

// EncodeElement writes m as an element called name: attribute fields as its
// attributes, the other fields as its content.
func (p *Plan) EncodeElement(w *Writer, name xml.Name, m protoreflect.Message) error {
	if err := p.checkType(m); err != nil {
		return err
	}
	p.element(w, name, m, xml.Name{}, false)
	return w.Err()
}

// EncodeContent writes m's element fields (and text or raw content) into the
// element the caller has open, as document/literal bare parts sit in a SOAP
// Body. Attribute fields have no element to go on: a set one is an error.
func (p *Plan) EncodeContent(w *Writer, m protoreflect.Message) error {
	if err := p.checkType(m); err != nil {
		return err
	}
	for _, f := range p.attrs {
		if m.Has(f.fd) {
			return errorf(ErrValue, w.path(), "field %s is an attribute, which has no element to go on here", f.fd.Name())
		}
	}
	p.content(w, m)
	return w.Err()
}

func (p *Plan) checkType(m protoreflect.Message) error {
	if m.Descriptor().FullName() != p.md.FullName() {
		return errorf(ErrValue, "", "message is a %s, the plan maps %s", m.Descriptor().FullName(), p.md.FullName())
	}
	return nil
}

func (p *Plan) element(w *Writer, name xml.Name, m protoreflect.Message, typ xml.Name, isNil bool) {
	w.Start(name)
	if typ.Local != "" {
		w.QNameAttr(xsiType, typ)
	}
	if isNil {
		w.Attr(xsiNil, "true")
	}
	for _, f := range p.attrs {
		if !f.present(m) {
			continue
		}
		s, err := f.formatValue(m.Get(f.fd))
		if err != nil {
			w.fail("attribute %s: %v", f.name.Local, err)
			return
		}
		w.Attr(f.name, s)
	}
	if !isNil {
		p.content(w, m)
	}
	w.End()
}

// content writes the text or element fields of m, in declaration order.
func (p *Plan) content(w *Writer, m protoreflect.Message) {
	if p.text != nil {
		s, err := p.text.formatValue(m.Get(p.text.fd))
		if err != nil {
			w.fail("%v", err)
			return
		}
		w.Text(s)
		return
	}
	for _, f := range p.elems {
		if w.Err() != nil {
			return
		}
		switch {
		case f.raw:
			if m.Has(f.fd) {
				p.writeRaw(w, f, m.Get(f.fd))
			}
		case f.group:
			f.writeGroup(w, m)
		case f.fd.IsList():
			f.writeList(w, m)
		default:
			isNil := f.nilFD != nil && m.Get(f.nilFD).Bool()
			if isNil || f.present(m) {
				f.writeValue(w, f.name, m.Get(f.fd), isNil)
			}
		}
	}
}

// present says whether a singular field is written: set, for fields with
// presence; always, for proto3 scalars without (required XSD elements),
// except an enum at a zero value that has no XSD literal.
func (f *field) present(m protoreflect.Message) bool {
	if f.fd.HasPresence() {
		return m.Has(f.fd)
	}
	if f.enum != nil {
		_, ok := f.enum.byNumber[m.Get(f.fd).Enum()]
		return ok || m.Has(f.fd)
	}
	return true
}

func (f *field) writeList(w *Writer, m protoreflect.Message) {
	l := m.Get(f.fd).List()
	if l.Len() == 0 {
		return
	}
	nils := map[int]bool{}
	if f.nilFD != nil {
		nl := m.Get(f.nilFD).List()
		for i := 0; i < nl.Len(); i++ {
			nils[int(nl.Get(i).Uint())] = true
		}
	}
	name := f.name
	if f.wrapped {
		w.Start(f.name)
		name = f.item
	}
	for i := 0; i < l.Len() && w.Err() == nil; i++ {
		f.writeValue(w, name, l.Get(i), nils[i])
	}
	if f.wrapped {
		w.End()
	}
}

// writeGroup writes the items of a choice group in order, each as the element of
// its one alternative.
func (f *field) writeGroup(w *Writer, m protoreflect.Message) {
	l := m.Get(f.fd).List()
	for i := 0; i < l.Len() && w.Err() == nil; i++ {
		item := l.Get(i).Message()
		if item.WhichOneof(f.choice) == nil {
			w.fail("field %s: item %d has none of its alternatives set", f.fd.Name(), i)
			return
		}
		f.msg.content(w, item)
	}
}

// writeValue writes one value of f as an element called name.
func (f *field) writeValue(w *Writer, name xml.Name, v protoreflect.Value, isNil bool) {
	switch {
	case f.msg != nil:
		f.msg.element(w, name, v.Message(), xml.Name{}, isNil)
		return
	case f.special == specialAny:
		f.writeAny(w, name, v.Message(), isNil)
		return
	}
	w.Start(name)
	if isNil {
		w.Attr(xsiNil, "true")
		w.End()
		return
	}
	s, err := f.formatValue(v)
	if err != nil {
		w.fail("%v", err)
		return
	}
	w.Text(s)
	w.End()
}

// formatValue writes a scalar, wrapper or timestamp value in lexical form.
func (f *field) formatValue(v protoreflect.Value) (string, error) {
	switch f.special {
	case specialWrapper:
		return f.formatScalar(v.Message().Get(f.scalarFD))
	case specialTimestamp:
		tm := v.Message()
		fs := tm.Descriptor().Fields()
		t := time.Unix(tm.Get(fs.ByName("seconds")).Int(), tm.Get(fs.ByName("nanos")).Int()).UTC()
		return t.Format(time.RFC3339Nano), nil
	}
	return f.formatScalar(v)
}

// writeAny writes the message held by a google.protobuf.Any with its
// xsi:type.
func (f *field) writeAny(w *Writer, name xml.Name, am protoreflect.Message, isNil bool) {
	fs := am.Descriptor().Fields()
	url := am.Get(fs.ByName("type_url")).String()
	if url == "" {
		if isNil {
			w.Start(name)
			w.Attr(xsiNil, "true")
			w.End()
			return
		}
		w.fail("field %s holds an empty google.protobuf.Any", f.fd.Name())
		return
	}
	full := protoreflect.FullName(url[strings.LastIndexByte(url, '/')+1:])
	sub := f.anyTypes.byName[full]
	if sub == nil {
		w.fail("field %s holds a %s, which is not a message with xml_root.xsd_type in the compiled files", f.fd.Name(), full)
		return
	}
	dm := dynamicpb.NewMessage(sub.md)
	if err := proto.Unmarshal(am.Get(fs.ByName("value")).Bytes(), dm); err != nil {
		w.fail("field %s holds a %s that does not unmarshal", f.fd.Name(), full)
		return
	}
	sub.element(w, name, dm, sub.xsdType, isNil)
}

// writeRaw writes a raw field's XML after checking it is well-formed
// content.
func (p *Plan) writeRaw(w *Writer, f *field, v protoreflect.Value) {
	s := v.String()
	if f.fd.Kind() == protoreflect.BytesKind {
		s = string(v.Bytes())
	}
	if s == "" {
		return
	}
	if err := checkFragment(s); err != nil {
		w.fail("raw field %s: %v", f.fd.Name(), err)
		return
	}
	w.raw(s)
}

// checkFragment checks that s is well-formed XML content with every prefix
// it uses declared inside it.
func checkFragment(s string) error {
	d := NewDecoder(strings.NewReader("<r>"+s+"</r>"), Limits{MaxBytes: int64(len(s)) + 8})
	if _, err := d.Root(); err != nil {
		return err
	}
	if err := d.Finish(); err != nil {
		return err
	}
	return nil
}
