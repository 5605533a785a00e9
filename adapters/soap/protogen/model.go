package protogen

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/protobridge/protobridge/adapters/internal/genproto"
)

// The generator first builds this small model of the .proto file, then numbers its
// fields from the lock and prints it.

// xmlOpts are the (protobridge.v1.xml) options of a field; zero values are omitted.
type xmlOpts struct {
	name, namespace, item, xsdType string
	attribute, wrapped, text, raw  bool
	nillable                       bool
}

// pField is one field of a message.
type pField struct {
	name     string
	typ      string    // scalar type keyword, when msg and enum are nil
	msg      *pMessage // message type
	enum     *pEnum    // enum type
	repeated bool
	optional bool // proto3 optional (explicit presence for scalars)
	oneof    string
	xml      xmlOpts
	// nilMarker is the <name>_nil field of a nillable element.
	nilMarker *pField
	doc       string
	number    int
	// ruleKind and rules are the buf.validate rules of the XSD facets
	// ("string" and "max_len: 5"); items' rules when the field repeats.
	ruleKind string
	rules    []string
}

// pEnumValue is one value of an enum.
type pEnumValue struct {
	name   string
	doc    string
	number int
	// literal is the XSD literal when the name does not spell it (xml_value).
	literal string
}

// pEnum is a top-level or nested enum.
type pEnum struct {
	name     string
	parent   *pMessage
	doc      string
	values   []*pEnumValue
	reserved []int
	resNames []string
}

// pMessage is a top-level or nested message.
type pMessage struct {
	name     string
	parent   *pMessage
	doc      string
	root     xmlRoot
	fields   []*pField
	oneofs   []string
	messages []*pMessage
	enums    []*pEnum
	reserved []int
	resNames []string

	// elements indexes element fields by XML name; raw is the raw XML field, if any.
	elements map[xml.Name]*pField
	raw      *pField
	// fieldNames, typeNames and values keep field/oneof names, nested type names and
	// nested enum value names unique.
	fieldNames, typeNames, values *genproto.Scope
}

// xmlRoot is the (protobridge.v1.xml_root) option of a message.
type xmlRoot struct{ root, namespace, xsdType string }

func newMessage(name string, parent *pMessage) *pMessage {
	return &pMessage{name: name, parent: parent, fieldNames: genproto.NewScope(), typeNames: genproto.NewScope(), values: genproto.NewScope(), elements: map[xml.Name]*pField{}}
}

// hasNested reports a nested message or enum named exactly name.
func (m *pMessage) hasNested(name string) bool {
	for _, n := range m.messages {
		if n.name == name {
			return true
		}
	}
	for _, e := range m.enums {
		if e.name == name {
			return true
		}
	}
	return false
}

// path is the message's name relative to the package ("Outer.Inner").
func (m *pMessage) path() string {
	if m.parent == nil {
		return m.name
	}
	return m.parent.path() + "." + m.name
}

// addField appends f, making its name unique in the message; attributes that clash get
// "_attr" first.
func (m *pMessage) addField(f *pField) *pField {
	suffix := ""
	if f.xml.attribute {
		suffix = "attr"
	}
	f.name = m.fieldNames.Unique(f.name, suffix, "_")
	m.fields = append(m.fields, f)
	return f
}

// nestedName returns a nested type name unique in the message.
func (m *pMessage) nestedName(base, suffix string) string {
	// A nested type named like its parent would confuse readers; avoid it.
	if genproto.FoldName(base) == genproto.FoldName(m.name) {
		base += suffix
	}
	return m.typeNames.Unique(base, suffix, "")
}

// pRPC is one method of a service.
type pRPC struct {
	name, doc  string
	req, resp  string
	soapFields []string // rendered SoapOperation fields, in order
}

// pService is one service of the file.
type pService struct {
	name, doc, upstream string
	rpcs                []*pRPC
}

// pFile is the whole .proto file.
type pFile struct {
	header   []string
	pkg      string
	imports  []string
	services []*pService
	messages []*pMessage
	enums    []*pEnum
}

// writer prints the model with two-space indentation.
type writer struct {
	b      strings.Builder
	indent int
}

func (w *writer) line(format string, args ...any) {
	if format == "" {
		w.b.WriteByte('\n')
		return
	}
	w.b.WriteString(strings.Repeat("  ", w.indent))
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func (w *writer) comment(doc string) {
	for _, l := range docLines(doc) {
		if l == "" {
			w.line("//")
		} else {
			w.line("// %s", l)
		}
	}
}

// docLines splits documentation text into trimmed lines, dropping leading, trailing and
// repeated blank lines.
func docLines(doc string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(doc, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < ' ' && r != '\t' {
				return ' '
			}
			return r
		}, l))
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// quote returns s as a proto string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c < ' ' || c == 0x7f:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (f *pFile) render() []byte {
	body := &writer{}
	for _, s := range f.services {
		body.line("")
		s.render(body)
	}
	for _, m := range f.messages {
		body.line("")
		m.render(body, f.pkg)
	}
	for _, e := range f.enums {
		body.line("")
		e.render(body)
	}
	imports := f.imports
	if strings.Contains(body.b.String(), "(protobridge.v1.") {
		imports = append(imports, "protobridge/v1/options.proto")
	}
	w := &writer{}
	for _, h := range f.header {
		w.line("// %s", h)
	}
	w.line("")
	w.line(`syntax = "proto3";`)
	w.line("")
	w.line("package %s;", f.pkg)
	if len(imports) > 0 {
		w.line("")
	}
	for _, i := range imports {
		w.line("import %s;", quote(i))
	}
	w.b.WriteString(body.b.String())
	return []byte(w.b.String())
}

func (s *pService) render(w *writer) {
	w.comment(s.doc)
	w.line("service %s {", s.name)
	w.indent++
	w.line("option (protobridge.v1.service).upstream = %s;", quote(s.upstream))
	for _, r := range s.rpcs {
		w.line("")
		w.comment(r.doc)
		w.line("rpc %s(%s) returns (%s) {", r.name, r.req, r.resp)
		w.indent++
		w.line("option (protobridge.v1.route).soap = {")
		w.indent++
		for _, sf := range r.soapFields {
			w.line("%s", sf)
		}
		w.indent--
		w.line("};")
		w.indent--
		w.line("}")
	}
	w.indent--
	w.line("}")
}

func (m *pMessage) render(w *writer, pkg string) {
	w.comment(m.doc)
	w.line("message %s {", m.name)
	w.indent++
	var opts []string
	for _, kv := range [][2]string{{"root", m.root.root}, {"namespace", m.root.namespace}, {"xsd_type", m.root.xsdType}} {
		if kv[1] != "" {
			opts = append(opts, kv[0]+": "+quote(kv[1]))
		}
	}
	if len(opts) > 0 {
		w.line("option (protobridge.v1.xml_root) = {")
		w.indent++
		for _, o := range opts {
			w.line("%s", o)
		}
		w.indent--
		w.line("};")
	}
	renderReserved(w, m.reserved, m.resNames)
	body := len(opts) > 0 || len(m.reserved) > 0
	for i := 0; i < len(m.fields); i++ {
		f := m.fields[i]
		if body {
			w.line("")
		}
		body = true
		if f.oneof == "" {
			f.render(w, m, pkg)
			continue
		}
		w.line("oneof %s {", f.oneof)
		w.indent++
		for j := i; j < len(m.fields) && m.fields[j].oneof == f.oneof; j++ {
			if j > i {
				w.line("")
			}
			m.fields[j].render(w, m, pkg)
			i = j
		}
		w.indent--
		w.line("}")
	}
	for _, n := range m.messages {
		w.line("")
		n.render(w, pkg)
	}
	for _, e := range m.enums {
		w.line("")
		e.render(w)
	}
	w.indent--
	w.line("}")
}

func renderReserved(w *writer, nums []int, names []string) {
	if len(nums) > 0 {
		s := make([]string, len(nums))
		for i, n := range slices.Sorted(slices.Values(nums)) {
			s[i] = strconv.Itoa(n)
		}
		w.line("reserved %s;", strings.Join(s, ", "))
	}
	if len(names) > 0 {
		s := make([]string, len(names))
		for i, n := range slices.Sorted(slices.Values(names)) {
			s[i] = quote(n)
		}
		w.line("reserved %s;", strings.Join(s, ", "))
	}
}

// typeRef is how a field of message from names its type: simply, unless a nested type
// of the same name in from or an enclosing message would shadow it.
func (f *pField) typeRef(from *pMessage, pkg string) string {
	var name string
	var parent *pMessage
	switch {
	case f.msg != nil:
		name, parent = f.msg.name, f.msg.parent
	case f.enum != nil:
		name, parent = f.enum.name, f.enum.parent
	default:
		return f.typ
	}
	if parent == from {
		return name
	}
	if parent != nil {
		return "." + pkg + "." + parent.path() + "." + name
	}
	for s := from; s != nil; s = s.parent {
		if s.hasNested(name) {
			return "." + pkg + "." + name
		}
	}
	return name
}

func (f *pField) render(w *writer, from *pMessage, pkg string) {
	w.comment(f.doc)
	label := ""
	switch {
	case f.repeated:
		label = "repeated "
	case f.optional:
		label = "optional "
	}
	o := f.xml
	var opts []string
	add := func(k, v string) {
		if v != "" {
			opts = append(opts, k+": "+quote(v))
		}
	}
	flag := func(k string, v bool) {
		if v {
			opts = append(opts, k+": true")
		}
	}
	add("name", o.name)
	add("namespace", o.namespace)
	flag("attribute", o.attribute)
	flag("wrapped", o.wrapped)
	add("item", o.item)
	flag("text", o.text)
	flag("raw", o.raw)
	flag("nillable", o.nillable)
	add("xsd_type", o.xsdType)
	decl := fmt.Sprintf("%s%s %s = %d", label, f.typeRef(from, pkg), f.name, f.number)
	end := "]"
	if len(f.rules) > 0 {
		r := fmt.Sprintf("%s: {%s}", f.ruleKind, strings.Join(f.rules, ", "))
		if f.repeated {
			r = "repeated: {items: {" + r + "}}"
		}
		end = ", (buf.validate.field) = {" + r + "}]"
	}
	switch len(opts) {
	case 0:
		if len(f.rules) > 0 {
			w.line("%s [%s;", decl, strings.TrimPrefix(end, ", "))
		} else {
			w.line("%s;", decl)
		}
	case 1:
		w.line("%s [(protobridge.v1.xml) = {%s}%s;", decl, opts[0], end)
	default:
		w.line("%s [(protobridge.v1.xml) = {", decl)
		w.indent++
		for _, o := range opts {
			w.line("%s", o)
		}
		w.indent--
		w.line("}%s;", end)
	}
}

func (e *pEnum) render(w *writer) {
	w.comment(e.doc)
	w.line("enum %s {", e.name)
	w.indent++
	renderReserved(w, e.reserved, e.resNames)
	for _, v := range e.values {
		w.comment(v.doc)
		if v.literal != "" {
			w.line("%s = %d [(protobridge.v1.xml_value) = %s];", v.name, v.number, quote(v.literal))
		} else {
			w.line("%s = %d;", v.name, v.number)
		}
	}
	w.indent--
	w.line("}")
}
