// Package xmltest compares XML documents by infoset, for tests: element and
// attribute names by namespace URI (never by prefix), attributes in any order,
// namespace declarations, comments, processing instructions and
// whitespace-only text between elements ignored, xsi:type values compared as
// resolved qualified names.
package xmltest

import (
	"bytes"
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
	var lines []string
	render(n, "", opts, &lines)
	return lines, nil
}

func render(n *xmlcodec.Node, indent string, opts Options, lines *[]string) {
	*lines = append(*lines, indent+xmlcodec.FormatQName(n.Name))
	var attrs []string
	for _, a := range n.Attr {
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
		if hasElems && strings.TrimSpace(t) == "" {
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
