// Package xmltest compares XML documents by infoset, for tests: element and
// attribute names by namespace URI (never by prefix), attributes in any order,
// namespace declarations, comments, processing instructions and
// whitespace-only text between elements ignored, xsi:type values compared as
// resolved qualified names, xsi:nil="false" (the default) ignored.
package xmltest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
)

// Options tune the comparison.
type Options struct {
	// TrimText compares text with leading and trailing whitespace removed.
	TrimText bool
	// BlankText compares whitespace-only text everywhere as no text (by
	// default it is ignored only beside child elements).
	BlankText bool
	// Within, when set, compares only the children (not the name or
	// attributes) of the first element of that name, depth first, e.g. a SOAP
	// Body; without Space it matches the local name in any namespace. A
	// document without one fails.
	Within xml.Name
}

// Canonical renders a document's infoset as indented lines, one element,
// attribute or text run per line.
func Canonical(doc []byte, opts Options) ([]string, error) {
	d := xmlcodec.NewDecoder(bytes.NewReader(doc), xmlcodec.Limits{MaxBytes: 64 << 20, MaxDepth: 10000, MaxTextBytes: 64 << 20})
	start, err := d.Root()
	if err != nil {
		return nil, err
	}
	n, err := d.Tree(start)
	if err != nil {
		return nil, err
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if opts.Within.Local != "" {
		if n = find(n, opts.Within); n == nil {
			return nil, fmt.Errorf("no element %s", xmlcodec.FormatQName(opts.Within))
		}
		n = &xmlcodec.Node{Name: xml.Name{Local: "within"}, Content: n.Content}
	}
	var lines []string
	render(n, "", opts, &lines)
	return lines, nil
}

// find returns the first element named name in n's tree, depth first.
func find(n *xmlcodec.Node, name xml.Name) *xmlcodec.Node {
	if n.Name == name || name.Space == "" && n.Name.Local == name.Local {
		return n
	}
	for _, c := range n.Content {
		if c.Elem != nil {
			if f := find(c.Elem, name); f != nil {
				return f
			}
		}
	}
	return nil
}

func render(n *xmlcodec.Node, indent string, opts Options, lines *[]string) {
	*lines = append(*lines, indent+xmlcodec.FormatQName(n.Name))
	var attrs []string
	for _, a := range n.Attr {
		if a.Name == (xml.Name{Space: xmlcodec.XSINamespace, Local: "nil"}) && strings.TrimSpace(a.Value) == "false" {
			continue
		}
		attrs = append(attrs, "@"+xmlcodec.FormatQName(a.Name)+"="+strconv.Quote(a.Value))
	}
	if n.Type.Local != "" {
		attrs = append(attrs, "@{"+xmlcodec.XSINamespace+"}type="+strconv.Quote(xmlcodec.FormatQName(n.Type)))
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		*lines = append(*lines, indent+"  "+a)
	}
	hasElems := false
	for _, c := range n.Content {
		if c.Elem != nil {
			hasElems = true
		}
	}
	for _, c := range n.Content {
		if c.Elem != nil {
			render(c.Elem, indent+"  ", opts, lines)
			continue
		}
		t := c.Text
		if (hasElems || opts.BlankText) && strings.TrimSpace(t) == "" {
			continue
		}
		if opts.TrimText {
			t = strings.TrimSpace(t)
		}
		if t != "" {
			*lines = append(*lines, indent+"  "+strconv.Quote(t))
		}
	}
}

// Diff compares two documents by infoset and returns "" when they are equal,
// else a line diff (-want +got).
func Diff(want, got []byte, opts Options) (string, error) {
	w, err := Canonical(want, opts)
	if err != nil {
		return "", fmt.Errorf("want: %w", err)
	}
	g, err := Canonical(got, opts)
	if err != nil {
		return "", fmt.Errorf("got: %w", err)
	}
	return cmp.Diff(w, g), nil
}
