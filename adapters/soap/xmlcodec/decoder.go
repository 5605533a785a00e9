package xmlcodec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// Default limits of a Decoder.
const (
	// DefaultMaxDepth bounds element nesting.
	DefaultMaxDepth = 100
	// DefaultMaxTextBytes bounds one text node or attribute value.
	DefaultMaxTextBytes = 1 << 20
	// DefaultMaxBytes bounds the whole input.
	DefaultMaxBytes = 4 << 20
)

// Limits bound what a Decoder accepts; zero fields take the defaults.
type Limits struct {
	// MaxDepth is the deepest element nesting accepted (the root is depth 1).
	MaxDepth int
	// MaxTextBytes is the longest text node (all of one element's character
	// data) or attribute value accepted.
	MaxTextBytes int
	// MaxBytes is the longest input accepted.
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Start is a start tag with every name resolved to its namespace URI.
// Namespace declarations are not among Attr.
type Start struct {
	// Name is the element's name.
	Name xml.Name
	// Attr are the element's attributes.
	Attr []xml.Attr
}

// AttrValue returns the value of the attribute called name.
func (s *Start) AttrValue(name xml.Name) (string, bool) {
	for _, a := range s.Attr {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Decoder reads XML as a stream of namespace-resolved elements, within
// limits. It never expands entities other than the five predefined ones and
// character references, refuses DOCTYPE and other declarations, and reports
// every problem as an *Error.
type Decoder struct {
	// Lax skips elements and text the schema does not declare instead of
	// failing; it can be changed between calls.
	Lax bool

	lim      Limits
	x        *xml.Decoder
	bindings []binding
	frames   []dframe
	rootDone bool
}

type dframe struct {
	raw      xml.Name
	local    string
	bindings int
}

// errInputTooLarge is returned by limitReader once the input passes its limit.
var errInputTooLarge = errors.New("input too large")

type limitReader struct {
	r         io.Reader
	remaining int64
}

// Read reads from the underlying reader, failing once the limit is passed.
func (l *limitReader) Read(p []byte) (int, error) {
	if l.remaining < 0 {
		return 0, errInputTooLarge
	}
	if int64(len(p)) > l.remaining+1 {
		p = p[:l.remaining+1]
	}
	n, err := l.r.Read(p)
	l.remaining -= int64(n)
	if l.remaining < 0 {
		return n, errInputTooLarge
	}
	return n, err
}

// NewDecoder returns a strict Decoder reading r within lim.
func NewDecoder(r io.Reader, lim Limits) *Decoder {
	lim = lim.withDefaults()
	var in io.Reader = &limitReader{r: r, remaining: lim.MaxBytes}
	if br, ok := r.(*bytes.Reader); ok && int64(br.Len()) <= lim.MaxBytes {
		// Already in memory and within the limit: read it directly, which
		// also spares encoding/xml its bufio.Reader (bytes.Reader is a
		// ByteReader).
		in = br
	}
	x := xml.NewDecoder(in)
	x.Strict = true
	x.CharsetReader = charsetReader
	return &Decoder{lim: lim, x: x}
}

// charsetReader decodes the encodings an XML declaration may name.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("encoding %q is not supported", label)
	}
	return enc.NewDecoder().Reader(in), nil
}

// leaf returns the local name of the innermost open element, so a path can
// be built after the element is read, and only when an error needs it.
func (d *Decoder) leaf() string {
	if len(d.frames) == 0 {
		return ""
	}
	return d.frames[len(d.frames)-1].local
}

// childPath is Path of the parent plus leaf, for an element already read.
func (d *Decoder) childPath(leaf string) string { return d.Path() + "/" + leaf }

// Path returns the local names of the open elements, "/Envelope/Body/x";
// deep paths keep their first 3 and last 8 names around "/...".
func (d *Decoder) Path() string {
	var b strings.Builder
	for i, f := range d.frames {
		if n := len(d.frames); n > 12 && i >= 3 && i < n-8 {
			if i == 3 {
				b.WriteString("/...")
			}
			continue
		}
		b.WriteByte('/')
		b.WriteString(f.local)
	}
	return b.String()
}

// Resolve resolves a qualified name written in content or an attribute value
// ("p:local", or "local" in the default namespace), as xsi:type and SOAP
// fault codes are written, against the bindings in scope.
func (d *Decoder) Resolve(qname string) (xml.Name, bool) {
	prefix, local, ok := strings.Cut(strings.TrimSpace(qname), ":")
	if !ok {
		prefix, local = "", prefix
	}
	if local == "" || strings.Contains(local, ":") {
		return xml.Name{}, false
	}
	ns, bound := d.lookup(prefix)
	if !bound && prefix != "" {
		return xml.Name{}, false
	}
	return xml.Name{Space: ns, Local: local}, true
}

func (d *Decoder) lookup(prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return XMLNamespace, true
	case "xmlns":
		return "", false
	}
	for i := len(d.bindings) - 1; i >= 0; i-- {
		if d.bindings[i].prefix == prefix {
			return d.bindings[i].ns, true
		}
	}
	return "", false
}

// token kinds returned by next.
type tokKind int

const (
	tokStart tokKind = iota + 1
	tokEnd
	tokText
	tokEOF
)

type token struct {
	kind  tokKind
	start *Start
	text  []byte
	// text is the decoder's buffer, valid until the next token: copy what
	// must outlive it. cdata or comment content is not returned;
	// whitespace-only text is.
}

func (d *Decoder) fail(kind ErrorKind, format string, args ...any) *Error {
	return errorf(kind, d.Path(), format, args...)
}

// next returns the next significant token, maintaining namespace scope.
func (d *Decoder) next() (token, error) {
	for {
		t, err := d.x.RawToken()
		if err != nil {
			return token{}, d.readError(err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if d.rootDone {
				return token{}, d.fail(ErrSyntax, "content after the root element")
			}
			if len(d.frames) >= d.lim.MaxDepth {
				return token{}, d.fail(ErrTooDeep, "elements nest deeper than %d", d.lim.MaxDepth)
			}
			return d.start(t)
		case xml.EndElement:
			if len(d.frames) == 0 {
				return token{}, d.fail(ErrSyntax, "end tag without a start tag")
			}
			f := d.frames[len(d.frames)-1]
			if f.raw != t.Name {
				return token{}, d.fail(ErrSyntax, "end tag %s does not match start tag %s", rawName(t.Name), rawName(f.raw))
			}
			d.frames = d.frames[:len(d.frames)-1]
			d.bindings = d.bindings[:len(d.bindings)-f.bindings]
			if len(d.frames) == 0 {
				d.rootDone = true
			}
			return token{kind: tokEnd}, nil
		case xml.CharData:
			if len(t) > d.lim.MaxTextBytes {
				return token{}, d.fail(ErrTextTooLarge, "text longer than %d bytes", d.lim.MaxTextBytes)
			}
			if len(d.frames) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return token{}, d.fail(ErrSyntax, "text outside the root element")
				}
				continue
			}
			return token{kind: tokText, text: t}, nil
		case xml.Directive:
			return token{}, d.fail(ErrForbidden, "declarations (DOCTYPE, ENTITY) are not accepted")
		case xml.Comment, xml.ProcInst:
			continue
		}
	}
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// readError maps an error of the underlying decoder.
func (d *Decoder) readError(err error) error {
	if err == io.EOF && len(d.frames) == 0 && d.rootDone {
		return io.EOF // the normal end, checked first: it allocates nothing
	}
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, errInputTooLarge):
		return d.fail(ErrTooLarge, "input longer than %d bytes", d.lim.MaxBytes)
	case err == io.EOF:
		return d.fail(ErrSyntax, "the document ends early")
	case errors.As(err, &se):
		msg := se.Msg
		if strings.Contains(msg, "unexpected EOF") {
			msg = "the document ends early"
		}
		return d.fail(ErrSyntax, "line %d: %s", se.Line, msg)
	}
	return d.fail(ErrSyntax, "%v", err)
}

// start pushes a frame for a raw start tag and resolves its names.
func (d *Decoder) start(t xml.StartElement) (token, error) {
	f := dframe{raw: t.Name, local: t.Name.Local}
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "xmlns":
			if a.Name.Local == "xml" || a.Name.Local == "xmlns" || a.Value == "" {
				d.frames = append(d.frames, f)
				return token{}, d.fail(ErrSyntax, "namespace declaration xmlns:%s is not allowed", a.Name.Local)
			}
			d.bindings = append(d.bindings, binding{a.Name.Local, a.Value})
			f.bindings++
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			d.bindings = append(d.bindings, binding{"", a.Value})
			f.bindings++
		}
	}
	d.frames = append(d.frames, f)
	s := &Start{}
	ns, ok := d.lookup(t.Name.Space)
	if !ok && t.Name.Space != "" {
		return token{}, d.fail(ErrSyntax, "prefix %q is not declared", t.Name.Space)
	}
	s.Name = xml.Name{Space: ns, Local: t.Name.Local}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if len(a.Value) > d.lim.MaxTextBytes {
			return token{}, d.fail(ErrTextTooLarge, "attribute %s longer than %d bytes", a.Name.Local, d.lim.MaxTextBytes)
		}
		n := xml.Name{Local: a.Name.Local}
		if a.Name.Space != "" {
			ans, ok := d.lookup(a.Name.Space)
			if !ok {
				return token{}, d.fail(ErrSyntax, "prefix %q is not declared", a.Name.Space)
			}
			n.Space = ans
		}
		for _, prev := range s.Attr {
			if prev.Name == n {
				return token{}, d.fail(ErrSyntax, "attribute %s appears twice", n.Local)
			}
		}
		s.Attr = append(s.Attr, xml.Attr{Name: n, Value: a.Value})
	}
	return token{kind: tokStart, start: s}, nil
}

// Root returns the document's root element, after the prolog.
func (d *Decoder) Root() (*Start, error) {
	if len(d.frames) > 0 || d.rootDone {
		return nil, d.fail(ErrSyntax, "Root called twice")
	}
	t, err := d.next()
	if err == io.EOF {
		return nil, d.fail(ErrSyntax, "no root element")
	}
	if err != nil {
		return nil, err
	}
	if t.kind != tokStart {
		return nil, d.fail(ErrSyntax, "no root element")
	}
	return t.start, nil
}

// Finish checks that nothing but comments, processing instructions and
// whitespace follows the root element.
func (d *Decoder) Finish() error {
	for len(d.frames) > 0 {
		if err := d.Skip(); err != nil {
			return err
		}
	}
	_, err := d.next()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	return d.fail(ErrSyntax, "content after the root element")
}

// Child returns the next child element of the innermost open element, or nil
// once that element ends (its end tag is consumed). Whitespace and comments
// are skipped; other text fails with ErrUnknown unless Lax.
func (d *Decoder) Child() (*Start, error) {
	for {
		t, err := d.next()
		if err != nil {
			return nil, eofInside(d, err)
		}
		switch t.kind {
		case tokStart:
			return t.start, nil
		case tokEnd:
			return nil, nil
		case tokText:
			if !d.Lax && len(bytes.TrimSpace(t.text)) > 0 {
				return nil, d.fail(ErrUnknown, "text where only elements are allowed")
			}
		}
	}
}

func eofInside(d *Decoder, err error) error {
	if err == io.EOF {
		return d.fail(ErrSyntax, "the document ends early")
	}
	return err
}

// Text reads the character data of the innermost open element up to its end
// tag. A child element fails with ErrUnknown unless Lax, which skips it.
func (d *Decoder) Text() (string, error) {
	// Most elements hold one text token: keep it as a string and only
	// concatenate when comments or CDATA split the text.
	var first string
	var b []byte
	parts := 0
	for {
		t, err := d.next()
		if err != nil {
			return "", eofInside(d, err)
		}
		switch t.kind {
		case tokEnd:
			if parts > 1 {
				return string(b), nil
			}
			return first, nil
		case tokText:
			if len(first)+len(b)+len(t.text) > d.lim.MaxTextBytes {
				return "", d.fail(ErrTextTooLarge, "text longer than %d bytes", d.lim.MaxTextBytes)
			}
			switch parts {
			case 0:
				first = string(t.text)
			case 1:
				b = append([]byte(first), t.text...)
				first = ""
			default:
				b = append(b, t.text...)
			}
			parts++
		case tokStart:
			if !d.Lax {
				return "", d.fail(ErrUnknown, "element %s where only text is allowed", t.start.Name.Local)
			}
			if err := d.Skip(); err != nil {
				return "", err
			}
		}
	}
}

// QName reads the text of the innermost open element as a qualified name
// (a SOAP fault code), resolved in that element's scope. A prefix that is
// not declared leaves Space empty, as senders of fault codes often forget
// the declaration.
func (d *Decoder) QName() (xml.Name, error) {
	scope := append([]binding(nil), d.bindings...)
	path := d.Path()
	s, err := d.Text()
	if err != nil {
		return xml.Name{}, err
	}
	saved := d.bindings
	d.bindings = scope
	n, ok := d.Resolve(s)
	d.bindings = saved
	if !ok {
		_, local, _ := strings.Cut(strings.TrimSpace(s), ":")
		if !isNCName(local) {
			return xml.Name{}, errorf(ErrValue, path, "%q is not a qualified name", clip(strings.TrimSpace(s)))
		}
		n = xml.Name{Local: local}
	}
	return n, nil
}

// Skip consumes the rest of the innermost open element, up to its end tag.
func (d *Decoder) Skip() error {
	depth := len(d.frames)
	for len(d.frames) >= depth {
		if _, err := d.next(); err != nil {
			return eofInside(d, err)
		}
	}
	return nil
}
