package xmlcodec

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"unicode/utf8"
)

// Well-known namespaces.
const (
	// XSINamespace is the XML Schema instance namespace (xsi:nil, xsi:type).
	XSINamespace = "http://www.w3.org/2001/XMLSchema-instance"
	// XSDNamespace is the XML Schema namespace (built-in types).
	XSDNamespace = "http://www.w3.org/2001/XMLSchema"
	// XMLNamespace is bound to the reserved prefix xml (xml:lang).
	XMLNamespace = "http://www.w3.org/XML/1998/namespace"
)

// Writer writes namespace-exact XML. Qualified names always get a prefix,
// declared on the element where it is first needed; no default namespace is
// ever declared, so unqualified names are never captured by one. Writer
// records the first error (a name or character XML cannot carry) and
// reports it from Err and Bytes.
type Writer struct {
	buf bytes.Buffer
	// bindings are the in-scope prefix bindings, innermost last.
	bindings []binding
	// stack holds the open elements' qualified names and binding counts.
	stack []wframe
	// open says the last start tag still takes attributes.
	open      bool
	preferred map[string]string
	next      int
	err       error
}

type binding struct{ prefix, ns string }

type wframe struct {
	qname    string
	bindings int
}

// NewWriter returns a Writer with the conventional prefixes for the XML
// Schema instance (xsi) and XML Schema (xsd) namespaces.
func NewWriter() *Writer {
	return &Writer{preferred: map[string]string{XSINamespace: "xsi", XSDNamespace: "xsd"}}
}

// Prefer sets the prefix used for ns where it is free in scope.
func (w *Writer) Prefer(ns, prefix string) { w.preferred[ns] = prefix }

// Header writes the XML declaration; call it first.
func (w *Writer) Header() { w.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`) }

func (w *Writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = errorf(ErrValue, w.path(), format, args...)
	}
}

func (w *Writer) path() string {
	var b []byte
	for _, f := range w.stack {
		b = append(b, '/')
		if i := bytes.IndexByte([]byte(f.qname), ':'); i >= 0 {
			b = append(b, f.qname[i+1:]...)
		} else {
			b = append(b, f.qname...)
		}
	}
	return string(b)
}

// lookup returns the prefix bound to ns in scope.
func (w *Writer) lookup(ns string) (string, bool) {
	for i := len(w.bindings) - 1; i >= 0; i-- {
		b := w.bindings[i]
		if b.ns != ns {
			continue
		}
		// The prefix must not be rebound further in.
		if p, _ := w.boundNS(b.prefix); p == ns {
			return b.prefix, true
		}
	}
	return "", false
}

// boundNS returns the namespace bound to prefix in scope.
func (w *Writer) boundNS(prefix string) (string, bool) {
	for i := len(w.bindings) - 1; i >= 0; i-- {
		if w.bindings[i].prefix == prefix {
			return w.bindings[i].ns, true
		}
	}
	return "", false
}

// prefix returns the prefix for ns, declaring it on the open start tag when
// it is not in scope.
func (w *Writer) prefix(ns string) string {
	p, fresh := w.bind(ns)
	if fresh {
		w.declare(p, ns)
	}
	return p
}

// bind returns the prefix for ns; fresh says it was bound just now, on the
// innermost element, and must be declared there.
func (w *Writer) bind(ns string) (p string, fresh bool) {
	if ns == XMLNamespace {
		return "xml", false
	}
	if p, ok := w.lookup(ns); ok {
		return p, false
	}
	p = w.preferred[ns]
	if p != "" {
		if _, taken := w.boundNS(p); taken {
			p = ""
		}
	}
	for p == "" {
		w.next++
		p = "ns" + strconv.Itoa(w.next)
		if _, taken := w.boundNS(p); taken {
			p = ""
		}
	}
	w.bindings = append(w.bindings, binding{p, ns})
	w.stack[len(w.stack)-1].bindings++
	return p, true
}

func (w *Writer) declare(p, ns string) {
	w.buf.WriteString(" xmlns:")
	w.buf.WriteString(p)
	w.buf.WriteString(`="`)
	w.escape(ns, true)
	w.buf.WriteByte('"')
}

func (w *Writer) closeTag() {
	if w.open {
		w.buf.WriteByte('>')
		w.open = false
	}
}

// Start opens an element. Attributes follow with Attr and QNameAttr.
func (w *Writer) Start(name xml.Name) {
	if !isNCName(name.Local) {
		w.fail("%q is not an XML name", name.Local)
		return
	}
	w.closeTag()
	w.stack = append(w.stack, wframe{})
	qname, fresh := name.Local, false
	p := ""
	if name.Space != "" {
		p, fresh = w.bind(name.Space)
		qname = p + ":" + name.Local
	}
	w.buf.WriteByte('<')
	w.buf.WriteString(qname)
	if fresh {
		w.declare(p, name.Space)
	}
	w.stack[len(w.stack)-1].qname = qname
	w.open = true
}

// Attr adds an attribute to the element just started.
func (w *Writer) Attr(name xml.Name, value string) {
	if !w.open {
		w.fail("attribute %s written outside a start tag", name.Local)
		return
	}
	if !isNCName(name.Local) {
		w.fail("%q is not an XML name", name.Local)
		return
	}
	qname := name.Local
	if name.Space != "" {
		qname = w.prefix(name.Space) + ":" + name.Local
	}
	w.buf.WriteByte(' ')
	w.buf.WriteString(qname)
	w.buf.WriteString(`="`)
	w.escape(value, true)
	w.buf.WriteByte('"')
}

// QNameAttr adds an attribute whose value is a qualified name (xsi:type),
// declaring the value's namespace as needed.
func (w *Writer) QNameAttr(name xml.Name, value xml.Name) {
	if !w.open {
		w.fail("attribute %s written outside a start tag", name.Local)
		return
	}
	v := value.Local
	if value.Space != "" {
		v = w.prefix(value.Space) + ":" + value.Local
	}
	w.Attr(name, v)
}

// Text writes character data, escaped.
func (w *Writer) Text(s string) {
	w.closeTag()
	w.escape(s, false)
}

// raw writes markup that the caller has checked.
func (w *Writer) raw(s string) {
	w.closeTag()
	w.buf.WriteString(s)
}

// End closes the innermost open element.
func (w *Writer) End() {
	if len(w.stack) == 0 {
		w.fail("end tag without an open element")
		return
	}
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if w.open {
		w.buf.WriteString("/>")
		w.open = false
	} else {
		w.buf.WriteString("</")
		w.buf.WriteString(f.qname)
		w.buf.WriteByte('>')
	}
	w.bindings = w.bindings[:len(w.bindings)-f.bindings]
}

// Err returns the first error met, or nil.
func (w *Writer) Err() error { return w.err }

// Bytes returns the document written so far, or the first error met; every
// element must be closed.
func (w *Writer) Bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if len(w.stack) > 0 {
		return nil, errorf(ErrValue, w.path(), "element left open")
	}
	return w.buf.Bytes(), nil
}

// escape writes s escaped for text or an attribute value. Characters XML
// 1.0 cannot carry fail the writer.
func (w *Writer) escape(s string, attr bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			w.fail("value is not valid UTF-8")
			return
		case !isXMLChar(r):
			w.fail("value holds character U+%04X, which XML 1.0 cannot carry", r)
			return
		}
		switch r {
		case '&':
			w.buf.WriteString("&amp;")
		case '<':
			w.buf.WriteString("&lt;")
		case '>':
			w.buf.WriteString("&gt;")
		case '\r':
			w.buf.WriteString("&#xD;")
		case '"':
			if attr {
				w.buf.WriteString("&quot;")
			} else {
				w.buf.WriteByte('"')
			}
		case '\n':
			if attr {
				w.buf.WriteString("&#xA;")
			} else {
				w.buf.WriteByte('\n')
			}
		case '\t':
			if attr {
				w.buf.WriteString("&#x9;")
			} else {
				w.buf.WriteByte('\t')
			}
		default:
			w.buf.WriteString(s[i : i+size])
		}
		i += size
	}
}

// isXMLChar reports whether r is allowed in XML 1.0 documents.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// isNCName reports whether s is a non-colonised XML name (a loose check:
// letters, digits, '_', '-', '.', and non-ASCII letters).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= 0xC0 && isXMLChar(r):
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9' || r == 0xB7):
		default:
			return false
		}
	}
	return true
}
