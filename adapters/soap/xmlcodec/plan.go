package xmlcodec

import (
	"encoding/xml"
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Plan is the XML mapping of one message type, compiled from its descriptor
// and its (protobridge.v1.xml) / (protobridge.v1.xml_root) options. A Plan is
// immutable and safe for concurrent use.
type Plan struct {
	md      protoreflect.MessageDescriptor
	root    xml.Name
	xsdType xml.Name
	// elems are the element fields (and the raw field) in declaration order.
	elems  []*field
	attrs  []*field
	text   *field
	raw    *field
	byElem map[xml.Name]*field
	byAttr map[xml.Name]*field
}

// special marks message fields with a built-in mapping.
type special int

const (
	specialNone      special = iota
	specialAny               // google.protobuf.Any: polymorphic, by xsi:type
	specialTimestamp         // google.protobuf.Timestamp: xsd:dateTime
	specialWrapper           // google.protobuf.*Value: the wrapped scalar
)

// field is the XML mapping of one field.
type field struct {
	fd protoreflect.FieldDescriptor
	// name is the element (wrapper element when wrapped) or attribute name.
	name xml.Name
	// item names the children of a wrapped repeated field.
	item                               xml.Name
	attr, wrapped, text, raw, nillable bool
	xsdType                            xml.Name
	// nilFD is the nil marker field (<name>_nil) of a nillable field.
	nilFD protoreflect.FieldDescriptor
	// msg maps a plain message field's type.
	msg     *Plan
	special special
	// scalarFD is the field holding the scalar: fd, or the wrapper's value.
	scalarFD protoreflect.FieldDescriptor
	lex      xsdLexical
	enum     *enumMap
	// anyTypes are the candidate types of a google.protobuf.Any field.
	anyTypes *typeSet
	// group marks a repeated xs:choice (xml.xsd_type xs:choice): a repeated message
	// field with no element of its own, each item one of msg's oneof members, whose
	// elements sit in the parent. alts are their names, choice their oneof.
	group  bool
	alts   []xml.Name
	choice protoreflect.OneofDescriptor
	// slot identifies what a singular element field fills, for decoding to notice a
	// second element for it: the field's number, or for a member of a oneof (an
	// xs:choice) the negative 1+index of the oneof, shared by its members. 0 for
	// repeated fields, which take any number.
	slot protoreflect.FieldNumber
}

// typeSet indexes the messages that can stand in for a polymorphic
// (google.protobuf.Any) field: every message of the compiled files that
// declares xml_root.xsd_type.
type typeSet struct {
	byType map[xml.Name]*Plan
	byName map[protoreflect.FullName]*Plan
}

// compiler builds plans, sharing them by message name so recursive types
// compile once.
type compiler struct {
	plans map[protoreflect.FullName]*Plan
	types *typeSet
	root  protoreflect.FileDescriptor
}

// Compile builds the XML mapping of md and of every message it reaches,
// checking the options. Polymorphic fields draw their candidate types from
// md's file and everything it imports.
func Compile(md protoreflect.MessageDescriptor) (*Plan, error) {
	c := &compiler{plans: map[protoreflect.FullName]*Plan{}, root: md.ParentFile()}
	return c.plan(md)
}

// Descriptor returns the message type the plan maps.
func (p *Plan) Descriptor() protoreflect.MessageDescriptor { return p.md }

// Root returns the element name of the message as a document: its xml_root
// root and namespace, or the message's name without namespace.
func (p *Plan) Root() xml.Name { return p.root }

// Select returns a plan for the same message mapping only the fields keep
// accepts (SOAP header fields apart from body fields, for example).
func (p *Plan) Select(keep func(protoreflect.FieldDescriptor) bool) *Plan {
	q := *p
	q.elems, q.attrs, q.text, q.raw = nil, nil, nil, nil
	q.byElem, q.byAttr = map[xml.Name]*field{}, map[xml.Name]*field{}
	for _, f := range p.elems {
		if keep(f.fd) {
			q.elems = append(q.elems, f)
			if f.raw {
				q.raw = f
			} else {
				_ = q.indexElem(f) // no clash: p's index had none
			}
		}
	}
	for _, f := range p.attrs {
		if keep(f.fd) {
			q.attrs = append(q.attrs, f)
			q.byAttr[f.name] = f
		}
	}
	if p.text != nil && keep(p.text.fd) {
		q.text = p.text
	}
	return &q
}

func (c *compiler) plan(md protoreflect.MessageDescriptor) (*Plan, error) {
	if p := c.plans[md.FullName()]; p != nil {
		return p, nil
	}
	mo := messageOptions(md)
	p := &Plan{
		md:     md,
		root:   xml.Name{Space: mo.GetNamespace(), Local: string(md.Name())},
		byElem: map[xml.Name]*field{},
		byAttr: map[xml.Name]*field{},
	}
	if mo.GetRoot() != "" {
		p.root.Local = mo.GetRoot()
	}
	var ok bool
	if p.xsdType, ok = ParseQName(mo.GetXsdType()); !ok {
		return nil, fmt.Errorf("message %s: xml_root.xsd_type %q is not {namespace}local", md.FullName(), mo.GetXsdType())
	}
	c.plans[md.FullName()] = p
	fields := md.Fields()
	markers := map[protoreflect.Name]bool{}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fieldOptions(fd).GetNillable() {
			if m := nilMarker(fd); m != nil {
				markers[m.Name()] = true
			}
		}
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if markers[fd.Name()] {
			continue
		}
		f, err := c.field(fd)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", fd.FullName(), err)
		}
		switch {
		case f.attr:
			if _, dup := p.byAttr[f.name]; dup {
				return nil, fmt.Errorf("field %s: another field maps to attribute %s", fd.FullName(), FormatQName(f.name))
			}
			p.attrs = append(p.attrs, f)
			p.byAttr[f.name] = f
		case f.text:
			if p.text != nil {
				return nil, fmt.Errorf("field %s: %s already holds the element's text", fd.FullName(), p.text.fd.Name())
			}
			p.text = f
		case f.raw:
			if p.raw != nil {
				return nil, fmt.Errorf("field %s: %s already holds the raw content", fd.FullName(), p.raw.fd.Name())
			}
			p.raw = f
			p.elems = append(p.elems, f)
		default:
			if err := p.indexElem(f); err != nil {
				return nil, fmt.Errorf("field %s: %w", fd.FullName(), err)
			}
			p.elems = append(p.elems, f)
		}
	}
	if p.text != nil && len(p.elems) > 0 {
		return nil, fmt.Errorf("message %s: field %s holds the element's text (simpleContent), so the message cannot have element or raw fields", md.FullName(), p.text.fd.Name())
	}
	return p, nil
}

// indexElem indexes the element names f takes: its own, or a choice group's
// alternatives.
func (p *Plan) indexElem(f *field) error {
	names := []xml.Name{f.name}
	if f.group {
		names = f.alts
	}
	for _, n := range names {
		if _, dup := p.byElem[n]; dup {
			return fmt.Errorf("another field maps to element %s", FormatQName(n))
		}
		p.byElem[n] = f
	}
	return nil
}

// groupAlternatives returns the oneof and the element names of the alternatives of
// a choice group's item message md, checking that its fields are element fields,
// all members of one oneof. It reads the descriptor, not md's plan, which may still
// be under construction when types recurse.
func groupAlternatives(md protoreflect.MessageDescriptor) (protoreflect.OneofDescriptor, []xml.Name, error) {
	var (
		od    protoreflect.OneofDescriptor
		names []xml.Name
	)
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		o := fd.ContainingOneof()
		if o == nil || o.IsSynthetic() || od != nil && o != od {
			return nil, nil, fmt.Errorf("the fields of %s, the items of an xs:choice field, must all be members of one oneof", md.FullName())
		}
		od = o
		x := fieldOptions(fd)
		if x.GetAttribute() || x.GetText() || x.GetRaw() || x.GetWrapped() {
			return nil, nil, fmt.Errorf("the items of an xs:choice field (%s) must hold element fields only", md.FullName())
		}
		n := xml.Name{Space: x.GetNamespace(), Local: x.GetName()}
		if n.Local == "" {
			n.Local = string(fd.Name())
		}
		names = append(names, n)
	}
	if od == nil {
		return nil, nil, fmt.Errorf("the items of an xs:choice field (%s) have no alternatives", md.FullName())
	}
	return od, names, nil
}

// nilMarker returns the nil marker of a nillable field: the field named
// <name>_nil, a bool for a singular field or a repeated uint32 (the indexes
// of the nil items) for a repeated one.
func nilMarker(fd protoreflect.FieldDescriptor) protoreflect.FieldDescriptor {
	m := fd.ContainingMessage().Fields().ByName(fd.Name() + "_nil")
	if m == nil || m.IsMap() {
		return nil
	}
	switch {
	case !fd.IsList() && !m.IsList() && m.Kind() == protoreflect.BoolKind:
		return m
	case fd.IsList() && m.IsList() && m.Kind() == protoreflect.Uint32Kind:
		return m
	}
	return nil
}

// choiceType is the xml.xsd_type marking a repeated xs:choice field.
var choiceType = xml.Name{Space: XSDNamespace, Local: "choice"}

var wrapperTypes = map[protoreflect.FullName]bool{
	"google.protobuf.DoubleValue": true, "google.protobuf.FloatValue": true,
	"google.protobuf.Int64Value": true, "google.protobuf.UInt64Value": true,
	"google.protobuf.Int32Value": true, "google.protobuf.UInt32Value": true,
	"google.protobuf.BoolValue": true, "google.protobuf.StringValue": true,
	"google.protobuf.BytesValue": true,
}

func (c *compiler) field(fd protoreflect.FieldDescriptor) (*field, error) {
	o := fieldOptions(fd)
	f := &field{
		fd:       fd,
		name:     xml.Name{Space: o.GetNamespace(), Local: string(fd.Name())},
		attr:     o.GetAttribute(),
		wrapped:  o.GetWrapped(),
		text:     o.GetText(),
		raw:      o.GetRaw(),
		nillable: o.GetNillable(),
		scalarFD: fd,
	}
	if o.GetName() != "" {
		f.name.Local = o.GetName()
	}
	switch od := fd.ContainingOneof(); {
	case fd.IsList():
	case od != nil && !od.IsSynthetic():
		f.slot = -1 - protoreflect.FieldNumber(od.Index())
	default:
		f.slot = fd.Number()
	}
	if !isNCName(f.name.Local) {
		return nil, fmt.Errorf("XML name %q is not a valid name", f.name.Local)
	}
	var ok bool
	if f.xsdType, ok = ParseQName(o.GetXsdType()); !ok {
		return nil, fmt.Errorf("xsd_type %q is not {namespace}local", o.GetXsdType())
	}
	f.lex = lexicalOf(f.xsdType)
	n := 0
	for _, b := range []bool{f.attr, f.text, f.raw, f.wrapped} {
		if b {
			n++
		}
	}
	switch {
	case fd.IsMap():
		return nil, fmt.Errorf("a map has no XML mapping; use a repeated message")
	case n > 1:
		return nil, fmt.Errorf("attribute, text, raw and wrapped exclude each other")
	case f.wrapped && !fd.IsList():
		return nil, fmt.Errorf("wrapped applies to repeated fields only")
	case o.GetItem() != "" && !f.wrapped:
		return nil, fmt.Errorf("item applies to wrapped fields only")
	case f.raw && (fd.IsList() || (fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind)):
		return nil, fmt.Errorf("a raw field must be a singular string or bytes")
	case (f.attr || f.text) && fd.IsList():
		return nil, fmt.Errorf("an attribute or text field must be singular")
	case f.nillable && (f.attr || f.text || f.raw):
		return nil, fmt.Errorf("nillable applies to element fields only")
	}
	if f.wrapped {
		f.item = xml.Name{Space: f.name.Space, Local: o.GetItem()}
		if f.item.Local == "" {
			f.item.Local = string(fd.Name())
		}
		if !isNCName(f.item.Local) {
			return nil, fmt.Errorf("item name %q is not a valid name", f.item.Local)
		}
	}
	if f.nillable {
		f.nilFD = nilMarker(fd)
	}
	if md := fd.Message(); md != nil {
		switch {
		case md.FullName() == "google.protobuf.Any":
			f.special = specialAny
			if err := c.indexTypes(); err != nil {
				return nil, err
			}
			f.anyTypes = c.types
		case md.FullName() == "google.protobuf.Timestamp":
			f.special = specialTimestamp
		case wrapperTypes[md.FullName()]:
			f.special = specialWrapper
			f.scalarFD = md.Fields().ByName("value")
		default:
			if f.attr || f.text {
				return nil, fmt.Errorf("an attribute or text field must be a scalar, not a message")
			}
			sub, err := c.plan(md)
			if err != nil {
				return nil, err
			}
			f.msg = sub
			if f.xsdType == choiceType {
				if !fd.IsList() || f.wrapped || f.nillable || o.GetName() != "" || o.GetNamespace() != "" {
					return nil, fmt.Errorf("an xs:choice field must be a repeated message field without name, namespace, wrapped or nillable")
				}
				if f.choice, f.alts, err = groupAlternatives(md); err != nil {
					return nil, err
				}
				f.group = true
			}
			return f, nil
		}
		if f.special == specialAny && (f.attr || f.text) {
			return nil, fmt.Errorf("an attribute or text field must be a scalar, not google.protobuf.Any")
		}
	}
	if ed := f.scalarFD.Enum(); ed != nil {
		em, err := newEnumMap(ed)
		if err != nil {
			return nil, err
		}
		f.enum = em
	}
	return f, nil
}

// indexTypes collects the messages declaring xml_root.xsd_type in the root
// file and its imports, once.
func (c *compiler) indexTypes() error {
	if c.types != nil {
		return nil
	}
	c.types = &typeSet{byType: map[xml.Name]*Plan{}, byName: map[protoreflect.FullName]*Plan{}}
	seen := map[string]bool{}
	var mds []protoreflect.MessageDescriptor
	var walkMsgs func(ms protoreflect.MessageDescriptors)
	walkMsgs = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			if !md.IsMapEntry() {
				mds = append(mds, md)
			}
			walkMsgs(md.Messages())
		}
	}
	var walk func(fd protoreflect.FileDescriptor)
	walk = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] || strings.HasPrefix(fd.Path(), "google/protobuf/") {
			return
		}
		seen[fd.Path()] = true
		walkMsgs(fd.Messages())
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			walk(imps.Get(i).FileDescriptor)
		}
	}
	walk(c.root)
	for _, md := range mds {
		t, ok := ParseQName(messageOptions(md).GetXsdType())
		if !ok || t.Local == "" {
			continue
		}
		if prev, dup := c.types.byType[t]; dup {
			return fmt.Errorf("messages %s and %s both declare xsd_type %s", prev.md.FullName(), md.FullName(), FormatQName(t))
		}
		p, err := c.plan(md)
		if err != nil {
			return err
		}
		c.types.byType[t] = p
		c.types.byName[md.FullName()] = p
	}
	return nil
}
