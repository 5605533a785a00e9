package xmlcodec

import (
	"encoding/xml"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
)

// Node is an element read without a schema (SOAP fault details, xs:any
// content), its names resolved to namespaces.
type Node struct {
	// Name is the element's name.
	Name xml.Name
	// Type is the element's xsi:type, resolved (zero when absent).
	Type xml.Name
	// Attr are the attributes other than namespace declarations and xsi:type.
	Attr []xml.Attr
	// Content holds child elements and text runs in document order.
	Content []Content
}

// Content is one child of a Node: an element or a run of text.
type Content struct {
	// Elem is a child element, or nil for text.
	Elem *Node
	// Text is character data when Elem is nil.
	Text string
}

// Tree reads the rest of the element start (just returned by Root or
// Child) as a Node, within the decoder's limits.
func (d *Decoder) Tree(start *Start) (*Node, error) {
	n := &Node{Name: start.Name}
	for _, a := range start.Attr {
		if a.Name == xsiType {
			if t, ok := d.Resolve(a.Value); ok {
				n.Type = t
				continue
			}
		}
		n.Attr = append(n.Attr, a)
	}
	textBytes := 0
	for {
		t, err := d.next()
		if err != nil {
			return nil, eofInside(d, err)
		}
		switch t.kind {
		case tokEnd:
			return n, nil
		case tokText:
			textBytes += len(t.text)
			if textBytes > d.lim.MaxTextBytes {
				return nil, d.fail(ErrTextTooLarge, "text longer than %d bytes", d.lim.MaxTextBytes)
			}
			if k := len(n.Content); k > 0 && n.Content[k-1].Elem == nil {
				n.Content[k-1].Text += string(t.text)
			} else {
				n.Content = append(n.Content, Content{Text: string(t.text)})
			}
		case tokStart:
			c, err := d.Tree(t.start)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, Content{Elem: c})
		}
	}
}

// Write writes the node as an element, declaring every namespace it uses.
func (n *Node) Write(w *Writer) {
	w.Start(n.Name)
	if n.Type.Local != "" {
		w.QNameAttr(xsiType, n.Type)
	}
	for _, a := range n.Attr {
		w.Attr(a.Name, a.Value)
	}
	for _, c := range n.Content {
		if c.Elem != nil {
			c.Elem.Write(w)
		} else {
			w.Text(c.Text)
		}
	}
	w.End()
}

// Text returns the node's own character data (not its descendants').
func (n *Node) Text() string {
	var b strings.Builder
	for _, c := range n.Content {
		if c.Elem == nil {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// Child returns the first child element called name, or nil.
func (n *Node) Child(name xml.Name) *Node {
	for _, c := range n.Content {
		if c.Elem != nil && c.Elem.Name == name {
			return c.Elem
		}
	}
	return nil
}

// Value converts the node's content to JSON, as JSON converters of XML
// usually do: an element with only text becomes a string (xsi:nil="true"
// null); otherwise an object whose keys are child local names (a list when
// a name repeats), "@name" for attributes, "@type" for xsi:type and "#text"
// for text mixed with elements. Namespaces are dropped.
func (n *Node) Value() *structpb.Value {
	hasElems := false
	for _, c := range n.Content {
		if c.Elem != nil {
			hasElems = true
			break
		}
	}
	attrs := 0
	for _, a := range n.Attr {
		if a.Name.Space != XSINamespace {
			attrs++
		}
	}
	if v, ok := n.AttrValue(xsiNil); ok && (v == "true" || v == "1") && !hasElems && attrs == 0 {
		return structpb.NewNullValue()
	}
	text := n.Text()
	if !hasElems && attrs == 0 && n.Type.Local == "" {
		return structpb.NewStringValue(text)
	}
	obj := map[string]*structpb.Value{}
	for _, a := range n.Attr {
		if a.Name.Space != XSINamespace {
			obj["@"+a.Name.Local] = structpb.NewStringValue(a.Value)
		}
	}
	if n.Type.Local != "" {
		obj["@type"] = structpb.NewStringValue(n.Type.Local)
	}
	if t := strings.TrimSpace(text); t != "" {
		obj["#text"] = structpb.NewStringValue(t)
	}
	for _, c := range n.Content {
		if c.Elem == nil {
			continue
		}
		k := c.Elem.Name.Local
		v := c.Elem.Value()
		prev, seen := obj[k]
		switch {
		case !seen:
			obj[k] = v
		case prev.GetListValue() != nil: // element values are never lists: this is a repeat
			prev.GetListValue().Values = append(prev.GetListValue().Values, v)
		default:
			obj[k] = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{prev, v}})
		}
	}
	return structpb.NewStructValue(&structpb.Struct{Fields: obj})
}

// AttrValue returns the value of the attribute called name.
func (n *Node) AttrValue(name xml.Name) (string, bool) {
	for _, a := range n.Attr {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}
