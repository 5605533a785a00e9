package wsdl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits applied to every document the loader reads. They bound the work a hostile or
// broken WSDL can cause; exceeding one is an error naming the document.
const (
	// MaxFileSize is the largest document, in bytes, that is parsed.
	MaxFileSize = 16 << 20
	// MaxDepth is the deepest element nesting accepted in a document.
	MaxDepth = 256
	// MaxDocuments is the largest number of documents (WSDL and XSD files, counting
	// each chameleon inclusion separately) one Load may read.
	MaxDocuments = 1024
)

// node is one element of a parsed document with the namespace bindings in scope at
// it, so that QName-valued attributes (type="tns:Foo") can be resolved.
type node struct {
	name     xml.Name
	attrs    []xml.Attr        // attributes other than namespace declarations
	ns       map[string]string // prefix -> namespace URI in scope; "" is the default namespace
	children []*node
	text     []byte // character data directly inside this element
	line     int
	file     string
	// undeclared is the element's prefix when no namespace is bound to it; name.Space
	// then holds the prefix itself, which matches no namespace the loader reads (see
	// checkPrefixes).
	undeclared string
}

// pos names the node's place for error messages: "file:line".
func (n *node) pos() string { return fmt.Sprintf("%s:%d", n.file, n.line) }

// attr returns the value of the un-namespaced attribute local, or "".
func (n *node) attr(local string) string {
	v, _ := n.lookupAttr(xml.Name{Local: local})
	return v
}

// lookupAttr returns the attribute named name and whether it is present.
func (n *node) lookupAttr(name xml.Name) (string, bool) {
	for _, a := range n.attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// is reports whether the node is the element {space}local.
func (n *node) is(space, local string) bool { return n.name.Space == space && n.name.Local == local }

// qname resolves a QName-valued attribute value against the bindings in scope. An
// unprefixed value takes the default namespace. An empty value gives the zero Name.
func (n *node) qname(v string) (xml.Name, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return xml.Name{}, nil
	}
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		return xml.Name{Space: n.ns[""], Local: v}, nil
	}
	if prefix == "xml" {
		return xml.Name{Space: xmlNS, Local: local}, nil
	}
	uri, ok := n.ns[prefix]
	if !ok {
		return xml.Name{}, fmt.Errorf("%s: undeclared namespace prefix %q in %q", n.pos(), prefix, v)
	}
	return xml.Name{Space: uri, Local: local}, nil
}

// qattr resolves the QName-valued attribute local.
func (n *node) qattr(local string) (xml.Name, error) { return n.qname(n.attr(local)) }

// innerText returns all character data inside the node, descendants included,
// with surrounding white space trimmed.
func (n *node) innerText() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(m *node) {
		b.Write(m.text)
		for _, c := range m.children {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// errDTD is returned for documents containing a DOCTYPE or entity declaration.
var errDTD = errors.New("DOCTYPE and entity declarations are refused (possible XML bomb)")

// collapsedAttrs are the un-namespaced attributes whose values are names, QNames or
// tokens (XSD whiteSpace collapse): surrounding white space is not part of the value,
// so `name="ResultCode "` declares ResultCode. Values of other attributes (value=,
// default=, fixed=, URIs) are kept as written.
var collapsedAttrs = map[string]bool{
	"name": true, "ref": true, "type": true, "base": true, "itemType": true, "memberTypes": true,
	"substitutionGroup": true, "element": true, "message": true, "binding": true, "part": true,
	"parts": true, "form": true, "use": true, "elementFormDefault": true, "attributeFormDefault": true,
	"nillable": true, "abstract": true, "mixed": true, "processContents": true, "minOccurs": true,
	"maxOccurs": true, "style": true, "parameterOrder": true,
}

// lenientPrefixes are prefixes taken for their conventional namespace when a document
// uses them without declaring them: some generators emit wsdl: unbound.
var lenientPrefixes = map[string]string{"wsdl": WSDLNS}

// parseTree parses one XML document into a tree, enforcing MaxFileSize and MaxDepth and
// refusing DTDs. file names the document in errors. Element and attribute names are
// resolved against the namespace declarations in scope; an element whose prefix is
// not declared keeps the prefix as its namespace and records it in node.undeclared,
// for the places that read such elements to refuse (checkPrefixes).
func parseTree(data []byte, file string) (*node, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: document is %d bytes, larger than the limit of %d", file, len(data), MaxFileSize)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	var (
		root  *node
		stack []*node
		raw   []xml.Name // the raw (prefix:local) names of the open elements
	)
	for {
		// RawToken: names are resolved here, so that undeclared prefixes are known.
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return nil, fmt.Errorf("%s:%d: malformed XML: %w", file, line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= MaxDepth {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("%s:%d: elements nested deeper than the limit of %d", file, line, MaxDepth)
			}
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%s: more than one root element", file)
			}
			line, _ := d.InputPos()
			n := &node{line: line, file: file}
			var parentNS map[string]string
			if len(stack) > 0 {
				parentNS = stack[len(stack)-1].ns
			}
			n.ns = parentNS
			copied := false
			for _, a := range t.Attr {
				prefix, isDecl := "", false
				switch {
				case a.Name.Space == "xmlns":
					prefix, isDecl = a.Name.Local, true
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					isDecl = true
				}
				if !isDecl {
					continue
				}
				if !copied {
					n.ns = make(map[string]string, len(parentNS)+2)
					for k, v := range parentNS {
						n.ns[k] = v
					}
					copied = true
				}
				n.ns[prefix] = a.Value
			}
			if n.ns == nil {
				n.ns = map[string]string{}
			}
			n.name = t.Name
			if space, ok := n.resolvePrefix(t.Name.Space, true); ok {
				n.name.Space = space
			} else {
				n.undeclared = t.Name.Space
			}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				if a.Name.Space == "" && collapsedAttrs[a.Name.Local] {
					a.Value = strings.TrimSpace(a.Value)
				}
				if space, ok := n.resolvePrefix(a.Name.Space, false); ok {
					a.Name.Space = space
				}
				n.attrs = append(n.attrs, a)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
			raw = append(raw, t.Name)
		case xml.EndElement:
			if len(stack) == 0 || raw[len(raw)-1] != t.Name {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("%s:%d: malformed XML: unexpected end element </%s>", file, line, rawName(t.Name))
			}
			stack, raw = stack[:len(stack)-1], raw[:len(raw)-1]
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text = append(top.text, t...)
			}
		case xml.Directive:
			s := strings.TrimSpace(string(t))
			if strings.HasPrefix(s, "DOCTYPE") || strings.HasPrefix(s, "ENTITY") {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("%s:%d: %w", file, line, errDTD)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no root element", file)
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%s: malformed XML: element <%s> is not closed", file, rawName(raw[len(raw)-1]))
	}
	return root, nil
}

// resolvePrefix returns the namespace bound to prefix at n. An unprefixed element is in
// the default namespace, an unprefixed attribute in none. ok is false for an undeclared
// prefix (lenientPrefixes apart).
func (n *node) resolvePrefix(prefix string, element bool) (string, bool) {
	switch prefix {
	case "":
		if element {
			return n.ns[""], true
		}
		return "", true
	case "xml":
		return xmlNS, true
	}
	if uri, ok := n.ns[prefix]; ok {
		return uri, true
	}
	if uri, ok := lenientPrefixes[prefix]; ok {
		return uri, true
	}
	return "", false
}

// rawName writes a raw name as prefix:local.
func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// errUndeclared is the error for an element whose prefix is not declared.
func (n *node) errUndeclared() error {
	return fmt.Errorf("%s: namespace prefix %q of element <%s:%s> is not declared", n.pos(), n.undeclared, n.undeclared, n.name.Local)
}

// checkPrefixes fails on the first element at or under n whose prefix is not declared,
// not entering the elements skip says the loader never reads (documentation,
// annotations).
func checkPrefixes(n *node, skip func(*node) bool) error {
	if n.undeclared != "" {
		return n.errUndeclared()
	}
	if skip != nil && skip(n) {
		return nil
	}
	for _, c := range n.children {
		if err := checkPrefixes(c, skip); err != nil {
			return err
		}
	}
	return nil
}

// charsetReader accepts the encodings WSDLs are written in besides UTF-8: US-ASCII is a
// subset, and ISO-8859-1 maps byte for byte onto the first 256 code points.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "utf8":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return strings.NewReader(string(r)), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}
