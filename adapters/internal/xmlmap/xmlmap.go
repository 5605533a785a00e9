// Package xmlmap maps protobuf messages to and from XML documents, driven by
// the message descriptor and the protobridge.v1.xml / xml_root options
// (never guessed): a repeated field is a run of elements even with one
// element, scalars parse exactly by field type, field order is element
// order, and elements or attributes the mapping does not know are ignored.
// XML is parsed with mxj (MapSeq form, no casting) after a token pass that
// bounds nesting. The REST adapter (bodies) and the WebSocket adapter
// (frames) share it.
package xmlmap

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/clbanning/mxj/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// MaxDepth bounds element nesting in decoded documents, so a hostile body
// cannot make the decoder recurse without end.
const MaxDepth = 1000

// Namespaces with a fixed meaning: XML Schema instance (xsi:nil) and the
// xml: prefix (xml:lang).
const (
	xsiNS = "http://www.w3.org/2001/XMLSchema-instance"
	xmlNS = "http://www.w3.org/XML/1998/namespace"
)

// Keys of mxj's MapSeq representation (NewMapXmlSeq, no casting).
const (
	mxjText = "#text"
	mxjAttr = "#attr"
	mxjSeq  = "#seq"
)

// Message is the XML mapping of one message type, built from its
// descriptor and the protobridge.v1.xml / xml_root options by Plan.
type Message struct {
	md protoreflect.MessageDescriptor
	// root is the element name of the message as a document.
	root xml.Name
	// rootSet says xml_root named the root, which replies must then match.
	rootSet bool
	// fields are in declaration order, which is the element order.
	fields []*xmlField
	// text is the field holding the element's character data, if any.
	text *xmlField
}

// xmlField is the XML mapping of one field.
type xmlField struct {
	fd protoreflect.FieldDescriptor
	// name is the element or attribute name; an empty Space means the
	// parent's namespace for elements, and no namespace for attributes.
	name    xml.Name
	attr    bool
	wrapped bool
	// text says the field is the element's character data (simpleContent).
	text bool
	// item names the children of a wrapped repeated field.
	item xml.Name
	// msg maps a message field's type.
	msg *Message
}

// Plan builds the mapping of md, checking the XML options of it and of every
// message it reaches.
func Plan(md protoreflect.MessageDescriptor) (*Message, error) { return plans{}.plan(md) }

// plans builds and caches mappings by message name, so recursive types
// map once.
type plans map[protoreflect.FullName]*Message

// plan returns the mapping of md, checking its options.
func (p plans) plan(md protoreflect.MessageDescriptor) (*Message, error) {
	if x := p[md.FullName()]; x != nil {
		return x, nil
	}
	ro := messageXMLOptions(md)
	x := &Message{md: md, root: xml.Name{Space: ro.GetNamespace(), Local: string(md.Name())}}
	if ro.GetRoot() != "" {
		x.root.Local, x.rootSet = ro.GetRoot(), true
	}
	p[md.FullName()] = x
	elems, attrs := map[string]string{}, map[string]string{}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		o := fieldXMLOptions(fd)
		f := &xmlField{fd: fd, name: xml.Name{Space: o.GetNamespace(), Local: string(fd.Name())}, attr: o.GetAttribute(), wrapped: o.GetWrapped(), text: o.GetText()}
		if o.GetName() != "" {
			f.name.Local = o.GetName()
		}
		where := fmt.Sprintf("field %s", fd.FullName())
		switch {
		case fd.IsMap():
			return nil, fmt.Errorf("%s is a map, which has no XML mapping; use a repeated message", where)
		case o.GetRaw():
			return nil, fmt.Errorf("%s holds raw XML, which only SOAP routes pass through", where)
		case f.text && (f.attr || fd.IsList() || fd.Message() != nil):
			return nil, fmt.Errorf("%s is the element's text, so it must be a singular scalar and not an attribute", where)
		case f.text && x.text != nil:
			return nil, fmt.Errorf("%s and %s both claim the element's text", x.text.fd.Name(), fd.Name())
		case f.attr && (fd.IsList() || fd.Message() != nil):
			return nil, fmt.Errorf("%s is an XML attribute, so it must be a singular scalar, not %s", where, kindLabel(fd))
		case f.wrapped && !fd.IsList():
			return nil, fmt.Errorf("%s is wrapped, which only applies to repeated fields", where)
		case o.GetItem() != "" && !f.wrapped:
			return nil, fmt.Errorf("%s names an item element but is not wrapped", where)
		}
		if f.wrapped {
			f.item = xml.Name{Space: f.name.Space, Local: o.GetItem()}
			if f.item.Local == "" {
				f.item.Local = string(fd.Name())
			}
		}
		if f.text {
			x.text = f
			x.fields = append(x.fields, f)
			continue
		}
		seen := elems
		if f.attr {
			seen = attrs
		}
		if prev, dup := seen[f.name.Space+" "+f.name.Local]; dup {
			return nil, fmt.Errorf("%s and %s both map to XML name %q", prev, fd.Name(), f.name.Local)
		}
		seen[f.name.Space+" "+f.name.Local] = string(fd.Name())
		if fd.Message() != nil {
			sub, err := p.plan(fd.Message())
			if err != nil {
				return nil, err
			}
			f.msg = sub
		}
		x.fields = append(x.fields, f)
	}
	if x.text != nil && len(elems) > 0 {
		return nil, fmt.Errorf("message %s has a text field (%s), so its other fields must be attributes", md.FullName(), x.text.fd.Name())
	}
	return x, nil
}

// fieldXMLOptions reads a field's protobridge.v1.xml option. Options of
// descriptors compiled at run time are re-read through the global registry
// so the extension is typed (see bridge.methodExtensions).
func fieldXMLOptions(fd protoreflect.FieldDescriptor) *pbv1.XMLOptions {
	opts := &descriptorpb.FieldOptions{}
	reread(fd.Options(), opts)
	x, _ := proto.GetExtension(opts, pbv1.E_Xml).(*pbv1.XMLOptions)
	return x
}

// messageXMLOptions reads a message's protobridge.v1.xml_root option.
func messageXMLOptions(md protoreflect.MessageDescriptor) *pbv1.XMLMessageOptions {
	opts := &descriptorpb.MessageOptions{}
	reread(md.Options(), opts)
	x, _ := proto.GetExtension(opts, pbv1.E_XmlRoot).(*pbv1.XMLMessageOptions)
	return x
}

func reread(from proto.Message, to proto.Message) {
	if from == nil || !from.ProtoReflect().IsValid() {
		return
	}
	if b, err := proto.Marshal(from); err == nil {
		_ = proto.Unmarshal(b, to)
	}
}

// FieldTree marks fields of a message and of its nested messages; a nil
// subtree covers the whole field. Encode leaves the fields it marks out.
type FieldTree map[protoreflect.FieldNumber]FieldTree

// Add marks the field at path, a chain of fields from the message where
// every field but the last is a singular message field.
func (t FieldTree) Add(path []protoreflect.FieldDescriptor) {
	cur := t
	for i, fd := range path {
		sub, ok := cur[fd.Number()]
		if ok && sub == nil {
			return // an enclosing field is already covered
		}
		if i == len(path)-1 {
			cur[fd.Number()] = nil
			return
		}
		if !ok {
			sub = FieldTree{}
			cur[fd.Number()] = sub
		}
		cur = sub
	}
}

// Encode writes m as an XML document. skip leaves out fields (the REST
// adapter's fields bound to the URL path); it may be nil. Qualified names are written with generated prefixes (ns1, ns2,
// ...) and never with a default namespace, so elements whose mapping has no
// namespace stay unqualified wherever they appear.
func Encode(m protoreflect.Message, x *Message, skip FieldTree) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	w := &xmlWriter{enc: xml.NewEncoder(&buf), prefixes: map[string]string{}}
	if err := w.element(x.root, nil, m, x, skip); err != nil {
		return nil, err
	}
	if err := w.enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// xmlWriter writes one document.
type xmlWriter struct {
	enc *xml.Encoder
	// prefixes holds the prefix of every namespace used in the document.
	prefixes map[string]string
}

// qualify returns the prefixed name of n, declaring its namespace on start
// (and in scope) where no ancestor did.
func (w *xmlWriter) qualify(n xml.Name, scope map[string]bool, start *xml.StartElement) string {
	switch n.Space {
	case "":
		return n.Local
	case xmlNS:
		return "xml:" + n.Local
	}
	p := w.prefixes[n.Space]
	if p == "" {
		p = "ns" + strconv.Itoa(len(w.prefixes)+1)
		w.prefixes[n.Space] = p
	}
	if !scope[n.Space] {
		scope[n.Space] = true
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns:" + p}, Value: n.Space})
	}
	return p + ":" + n.Local
}

// open starts an element named n; it returns the element and the namespace
// scope of its content.
func (w *xmlWriter) open(n xml.Name, parent map[string]bool) (xml.StartElement, map[string]bool) {
	scope := make(map[string]bool, len(parent)+1)
	for k := range parent {
		scope[k] = true
	}
	var start xml.StartElement
	start.Name.Local = w.qualify(n, scope, &start)
	return start, scope
}

// element writes one message as an element.
func (w *xmlWriter) element(name xml.Name, parent map[string]bool, m protoreflect.Message, x *Message, skip FieldTree) error {
	start, scope := w.open(name, parent)
	for _, f := range x.fields {
		if f.attr && m.Has(f.fd) {
			an := w.qualify(f.name, scope, &start)
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: an}, Value: xmlText(f.fd, m.Get(f.fd))})
		}
	}
	if err := w.enc.EncodeToken(start); err != nil {
		return err
	}
	for _, f := range x.fields {
		sub, skipped := skip[f.fd.Number()]
		if f.attr || (skipped && sub == nil) || !m.Has(f.fd) {
			continue
		}
		v := m.Get(f.fd)
		switch {
		case f.text:
			if err := w.enc.EncodeToken(xml.CharData(xmlText(f.fd, v))); err != nil {
				return err
			}
		case !f.fd.IsList():
			if err := w.value(f, f.name, scope, v, sub); err != nil {
				return err
			}
		case f.wrapped:
			wrapper, wscope := w.open(f.name, scope)
			if err := w.enc.EncodeToken(wrapper); err != nil {
				return err
			}
			if err := w.list(f, f.item, wscope, v.List()); err != nil {
				return err
			}
			if err := w.enc.EncodeToken(wrapper.End()); err != nil {
				return err
			}
		default:
			if err := w.list(f, f.name, scope, v.List()); err != nil {
				return err
			}
		}
	}
	return w.enc.EncodeToken(start.End())
}

// list writes the items of a repeated field as elements named name.
func (w *xmlWriter) list(f *xmlField, name xml.Name, scope map[string]bool, l protoreflect.List) error {
	for i := 0; i < l.Len(); i++ {
		if err := w.value(f, name, scope, l.Get(i), nil); err != nil {
			return err
		}
	}
	return nil
}

// value writes one value of f as an element named name.
func (w *xmlWriter) value(f *xmlField, name xml.Name, scope map[string]bool, v protoreflect.Value, skip FieldTree) error {
	if f.msg != nil {
		return w.element(name, scope, v.Message(), f.msg, skip)
	}
	start, _ := w.open(name, scope)
	return w.enc.EncodeElement(xmlText(f.fd, v), start)
}

// xmlText renders a scalar in XML Schema's lexical form.
func xmlText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes())
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch f := v.Float(); {
		case math.IsInf(f, 1):
			return "INF"
		case math.IsInf(f, -1):
			return "-INF"
		}
	}
	return scalarString(fd, v)
}

// Decode reads an XML document into m, driven by the mapping x: repeated
// fields collect every matching element, scalars parse by field type, and
// elements or attributes the mapping does not know are ignored. Elements
// match by local name, and by namespace where the mapping names one.
func Decode(data []byte, m protoreflect.Message, x *Message) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	off, err := xmlRootOffset(data)
	if err != nil {
		return err
	}
	doc, err := mxj.NewMapXmlSeq(data[off:], false)
	if err != nil {
		return fmt.Errorf("malformed XML: %w", err)
	}
	for key, v := range doc {
		el := asElement(v)
		scope := nsScope{}.with(el)
		name := scope.element(key)
		if x.rootSet && name.Local != x.root.Local {
			return fmt.Errorf("root element is <%s>, expected <%s>", name.Local, x.root.Local)
		}
		return decodeElement(el, scope, m, x, name.Local)
	}
	return errors.New("no root element")
}

// xmlRootOffset checks that data is one well-formed document no deeper than
// MaxDepth and returns the offset of its root element, past any XML
// declaration, comments and doctype.
func xmlRootOffset(data []byte) (int64, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, root := 0, int64(-1)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			if root < 0 {
				return 0, errors.New("no root element")
			}
			return root, nil
		}
		if err != nil {
			return 0, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root >= 0 {
					return 0, errors.New("malformed XML: more than one root element")
				}
				root = off
			}
			if depth++; depth > MaxDepth {
				return 0, fmt.Errorf("XML nests deeper than %d elements", MaxDepth)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return 0, errors.New("malformed XML: text outside the root element")
			}
		}
	}
}

// nsScope maps namespace prefixes in scope to URIs; "" is the default namespace.
type nsScope map[string]string

// with returns the scope inside el, adding its xmlns declarations.
func (s nsScope) with(el map[string]any) nsScope {
	attrs, _ := el[mxjAttr].(map[string]any)
	var out nsScope
	for k, v := range attrs {
		prefix, isDecl := "", k == "xmlns"
		if p, ok := strings.CutPrefix(k, "xmlns:"); ok {
			prefix, isDecl = p, true
		}
		if !isDecl {
			continue
		}
		if out == nil {
			out = make(nsScope, len(s)+1)
			for k2, v2 := range s {
				out[k2] = v2
			}
		}
		out[prefix] = text(v)
	}
	if out == nil {
		return s
	}
	return out
}

// element resolves an element's "prefix:local" key.
func (s nsScope) element(key string) xml.Name {
	if prefix, local, ok := strings.Cut(key, ":"); ok {
		if uri, known := s[prefix]; known {
			return xml.Name{Space: uri, Local: local}
		}
		return xml.Name{Space: prefix, Local: local}
	}
	return xml.Name{Space: s[""], Local: key}
}

// attribute resolves an attribute's "prefix:local" key; unprefixed
// attributes have no namespace.
func (s nsScope) attribute(key string) xml.Name {
	if prefix, local, ok := strings.Cut(key, ":"); ok {
		if prefix == "xml" {
			return xml.Name{Space: xmlNS, Local: local}
		}
		return xml.Name{Space: s[prefix], Local: local}
	}
	return xml.Name{Local: key}
}

// asElement returns an mxj element as a map; empty elements come as "".
func asElement(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{mxjText: v}
}

// text returns an element's (or attribute's) character data.
func text(v any) string {
	if m, ok := v.(map[string]any); ok {
		v = m[mxjText]
	}
	s, _ := v.(string)
	return s
}

// child is one child element with its resolved name and scope.
type child struct {
	name  xml.Name
	el    map[string]any
	scope nsScope
	seq   int
}

// children lists el's child elements in document order.
func children(el map[string]any, scope nsScope) []child {
	var out []child
	add := func(key string, v any) {
		ce := asElement(v)
		cs := scope.with(ce)
		seq, _ := ce[mxjSeq].(int)
		out = append(out, child{name: cs.element(key), el: ce, scope: cs, seq: seq})
	}
	for key, v := range el {
		if strings.HasPrefix(key, "#") {
			continue
		}
		if list, ok := v.([]any); ok {
			for _, item := range list {
				add(key, item)
			}
			continue
		}
		add(key, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// matches reports whether an element or attribute name fits a mapped name.
func matches(got, want xml.Name) bool {
	return got.Local == want.Local && (want.Space == "" || got.Space == want.Space)
}

// isNil reports xsi:nil="true" on an element.
func isNil(c child) bool {
	attrs, _ := c.el[mxjAttr].(map[string]any)
	for k, v := range attrs {
		if n := c.scope.attribute(k); n.Local == "nil" && n.Space == xsiNS {
			t := strings.TrimSpace(text(v))
			return t == "true" || t == "1"
		}
	}
	return false
}

// decodeElement fills m from one element's attributes and children.
func decodeElement(el map[string]any, scope nsScope, m protoreflect.Message, x *Message, path string) error {
	attrs, _ := el[mxjAttr].(map[string]any)
	for k, v := range attrs {
		if k == "xmlns" || strings.HasPrefix(k, "xmlns:") {
			continue
		}
		name := scope.attribute(k)
		for _, f := range x.fields {
			if f.attr && matches(name, f.name) {
				if err := setScalar(m, f.fd, text(v), path+"/@"+k); err != nil {
					return err
				}
			}
		}
	}
	if x.text != nil {
		if err := setScalar(m, x.text.fd, text(el), path); err != nil {
			return err
		}
	}
	for _, c := range children(el, scope) {
		f := x.elementField(c.name)
		if f == nil || isNil(c) {
			continue
		}
		cpath := path + "/" + c.name.Local
		if !f.wrapped {
			if err := decodeValue(m, f, c, cpath); err != nil {
				return err
			}
			continue
		}
		for _, item := range children(c.el, c.scope) {
			if matches(item.name, f.item) && !isNil(item) {
				if err := decodeValue(m, f, item, cpath+"/"+item.name.Local); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// elementField finds the element field that an element name maps to.
func (x *Message) elementField(name xml.Name) *xmlField {
	for _, f := range x.fields {
		if !f.attr && !f.text && matches(name, f.name) {
			return f
		}
	}
	return nil
}

// decodeValue stores one element's value in field f of m: appended to a
// repeated field, merged into a message, or set as a scalar.
func decodeValue(m protoreflect.Message, f *xmlField, c child, path string) error {
	fd := f.fd
	if !fd.IsList() {
		if f.msg != nil {
			return decodeElement(c.el, c.scope, m.Mutable(fd).Message(), f.msg, path)
		}
		return setScalar(m, fd, text(c.el), path)
	}
	l := m.Mutable(fd).List()
	if f.msg != nil {
		item := l.NewElement()
		if err := decodeElement(c.el, c.scope, item.Message(), f.msg, path); err != nil {
			return err
		}
		l.Append(item)
		return nil
	}
	s := text(c.el)
	if s == "" && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind {
		return fmt.Errorf("element %s: empty value in repeated %s field", path, fd.Kind())
	}
	v, err := parseScalar(fd, s)
	if err != nil {
		return fmt.Errorf("element %s: %w", path, err)
	}
	l.Append(v)
	return nil
}

// setScalar sets a singular scalar field from text. Empty text leaves a
// non-string field unset.
func setScalar(m protoreflect.Message, fd protoreflect.FieldDescriptor, s, path string) error {
	if s == "" && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind {
		return nil
	}
	v, err := parseScalar(fd, s)
	if err != nil {
		return fmt.Errorf("element %s: %w", path, err)
	}
	m.Set(fd, v)
	return nil
}

// parseScalar parses XML text exactly by the field's type: integers through
// strconv at their width (never through float64), XML Schema booleans and
// special floats, enums by name or number, bytes as base64. Strings are kept
// as they are.
func parseScalar(fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, error) {
	k := fd.Kind()
	if k == protoreflect.StringKind {
		return protoreflect.ValueOfString(s), nil
	}
	s = strings.TrimSpace(s)
	bad := func(err error) (protoreflect.Value, error) {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return protoreflect.Value{}, fmt.Errorf("%q is not a valid %s: %v", s, k, err)
	}
	switch k {
	case protoreflect.BoolKind:
		switch s {
		case "true", "1":
			return protoreflect.ValueOfBool(true), nil
		case "false", "0":
			return protoreflect.ValueOfBool(false), nil
		}
		return bad(errors.New("want true, false, 1 or 0"))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 32)
		if err != nil {
			return bad(err)
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
		if err != nil {
			return bad(err)
		}
		return protoreflect.ValueOfInt64(n), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 32)
		if err != nil {
			return bad(err)
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
		if err != nil {
			return bad(err)
		}
		return protoreflect.ValueOfUint64(n), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bits := 64
		if k == protoreflect.FloatKind {
			bits = 32
		}
		f, err := parseFloat(s, bits)
		if err != nil {
			return bad(err)
		}
		if bits == 32 {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if ev := vals.ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		for i := 0; i < vals.Len(); i++ {
			if ev := vals.Get(i); wirejson.EnumLiteral(ev) == s {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return bad(fmt.Errorf("not a value of %s", fd.Enum().FullName()))
		}
		if vals.ByNumber(protoreflect.EnumNumber(n)) == nil && fd.Enum().IsClosed() {
			return bad(fmt.Errorf("not a value of %s", fd.Enum().FullName()))
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	case protoreflect.BytesKind:
		b, err := decodeBase64(s)
		if err != nil {
			return bad(err)
		}
		return protoreflect.ValueOfBytes(b), nil
	}
	return bad(fmt.Errorf("kind %s has no XML form", k))
}

// parseFloat parses decimal floats and the XML Schema (INF, -INF, NaN) and
// protojson (Infinity) spellings of the special values. Hexadecimal floats
// and underscores, which strconv would take, are refused.
func parseFloat(s string, bits int) (float64, error) {
	switch s {
	case "INF", "+INF", "Infinity", "+Infinity":
		return math.Inf(1), nil
	case "-INF", "-Infinity":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	if strings.ContainsAny(s, "xX_pPnN") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(s, bits)
}

// decodeBase64 accepts standard or URL-safe base64, padded or not, with
// XML line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// kindLabel describes a field's shape for error messages.
func kindLabel(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return "a map"
	case fd.IsList():
		return "repeated"
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return "a message (" + string(fd.Message().FullName()) + ")"
	}
	return "a " + fd.Kind().String()
}

// scalarString renders a non-bytes scalar: enums by their wire literal
// (the API's spelling, wirejson.EnumLiteral), floats in
// protojson's spelling (xmlText turns infinities into XML Schema's).
func scalarString(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return wirejson.EnumLiteral(ev)
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.FloatKind:
		return formatFloat(v.Float(), 32)
	case protoreflect.DoubleKind:
		return formatFloat(v.Float(), 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	}
	return strconv.FormatInt(v.Int(), 10)
}

func formatFloat(f float64, bits int) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
