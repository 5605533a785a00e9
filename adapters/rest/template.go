package rest

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
)

// pathTemplate is a parsed google.api.http path template (see
// google/api/http.proto):
//
//	Template = "/" Segments [ Verb ] ;
//	Segments = Segment { "/" Segment } ;
//	Segment  = "*" | "**" | LITERAL | Variable ;
//	Variable = "{" FieldPath [ "=" Segments ] "}" ;
//	FieldPath = IDENT { "." IDENT } ;
//	Verb     = ":" LITERAL ;
//
// One extension, for the many REST APIs whose paths put a variable inside
// a segment (OpenAPI's "/files/{name}.json", "/v{major}/x"): a segment may
// mix literal text and single-segment variables ({field}, no pattern); it
// is expanded like them, each value escaped on its own.
//
// We are the client of the REST API, so a template is expanded from a request
// message: wildcards are only meaningful inside a variable, whose field
// supplies the value.
type pathTemplate struct {
	segments []segment
	verb     string
}

// segment is one top-level path segment: a literal, a variable, or (mixed)
// a run of literal texts and single-segment variables.
type segment struct {
	literal string
	v       *variable
	mixed   []segment
}

// variable is a {field.path=pattern} segment.
type variable struct {
	// field is the dotted field path as written.
	field string
	// pattern holds the pattern's segments: literals, "*" and "**".
	pattern []string
	// path is the resolved field path, set by bind.
	path fieldPath
}

// multi reports whether the variable spans several path segments, which
// keeps "/" unescaped in its value.
func (v *variable) multi() bool {
	return len(v.pattern) > 1 || v.pattern[0] == "**"
}

// parseTemplate parses a path template. It checks syntax only; bind resolves
// the variables against a message.
func parseTemplate(s string) (*pathTemplate, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("path template %q must start with /", s)
	}
	t := &pathTemplate{}
	body := s[1:]
	// The verb follows the last top-level ':' that comes after the last
	// top-level '/': "/v1/{name=a/*}:cancel", but "/v1/a:b/c" has none.
	depth, lastSlash, colon := 0, -1, -1
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			depth++
		case '}':
			depth--
		case '/':
			if depth == 0 {
				lastSlash = i
			}
		case ':':
			if depth == 0 {
				colon = i
			}
		}
	}
	if colon > lastSlash && !strings.ContainsAny(body[colon+1:], "{}") {
		t.verb = body[colon+1:]
		body = body[:colon]
		if err := checkLiteral(t.verb); err != nil {
			return nil, fmt.Errorf("path template %q: verb: %w", s, err)
		}
	}
	if body == "" {
		if t.verb != "" {
			return nil, fmt.Errorf("path template %q: a verb needs a segment before it", s)
		}
		return t, nil // the root path "/"
	}
	parts, err := splitTop(body)
	if err != nil {
		return nil, fmt.Errorf("path template %q: %w", s, err)
	}
	seen := map[string]bool{}
	for i, p := range parts {
		last := i == len(parts)-1
		switch {
		case p == "*" || p == "**":
			return nil, fmt.Errorf("path template %q: wildcard %q outside a variable cannot be filled by a client; bind it to a field, as in {name=%s}", s, p, p)
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && strings.Count(p, "{") == 1:
			v, err := parseVariable(p)
			if err != nil {
				return nil, fmt.Errorf("path template %q: %w", s, err)
			}
			if seen[v.field] {
				return nil, fmt.Errorf("path template %q: field %q is bound twice", s, v.field)
			}
			seen[v.field] = true
			for j, pp := range v.pattern {
				if pp == "**" && (!last || j != len(v.pattern)-1) {
					return nil, fmt.Errorf("path template %q: ** must be the last segment of the path", s)
				}
			}
			t.segments = append(t.segments, segment{v: v})
		case strings.Contains(p, "{"):
			seg, err := parseMixed(p, seen)
			if err != nil {
				return nil, fmt.Errorf("path template %q: %w", s, err)
			}
			t.segments = append(t.segments, seg)
		case p == "" && last && t.verb == "":
			t.segments = append(t.segments, segment{}) // trailing slash
		default:
			if err := checkLiteral(p); err != nil {
				return nil, fmt.Errorf("path template %q: %w", s, err)
			}
			t.segments = append(t.segments, segment{literal: p})
		}
	}
	return t, nil
}

// parseMixed parses a segment that mixes literal text and variables
// ("{name}.json"); seen collects the template's bound fields.
func parseMixed(p string, seen map[string]bool) (segment, error) {
	var seg segment
	for p != "" {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			i = len(p)
		}
		if i > 0 {
			if err := checkLiteral(p[:i]); err != nil {
				return segment{}, err
			}
			seg.mixed = append(seg.mixed, segment{literal: p[:i]})
			p = p[i:]
			continue
		}
		j := strings.IndexByte(p, '}')
		v, err := parseVariable(p[:j+1])
		if err != nil {
			return segment{}, err
		}
		if len(v.pattern) != 1 || v.pattern[0] != "*" {
			return segment{}, fmt.Errorf("variable %s shares its segment with other text, so it cannot have a pattern", p[:j+1])
		}
		if seen[v.field] {
			return segment{}, fmt.Errorf("field %q is bound twice", v.field)
		}
		seen[v.field] = true
		seg.mixed = append(seg.mixed, segment{v: v})
		p = p[j+1:]
	}
	return seg, nil
}

// splitTop splits s at the '/' that are not inside braces.
func splitTop(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if depth > 0 {
				return nil, errors.New("variables cannot nest")
			}
			depth++
		case '}':
			if depth == 0 {
				return nil, errors.New("unbalanced }")
			}
			depth--
		case '/':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced {")
	}
	return append(parts, s[start:]), nil
}

// parseVariable parses "{field.path}" or "{field.path=pattern}".
func parseVariable(p string) (*variable, error) {
	inner := p[1 : len(p)-1]
	field, pattern, hasPattern := strings.Cut(inner, "=")
	for _, id := range strings.Split(field, ".") {
		if !isIdent(id) {
			return nil, fmt.Errorf("variable %s: %q is not a field path", p, field)
		}
	}
	v := &variable{field: field, pattern: []string{"*"}}
	if hasPattern {
		v.pattern = strings.Split(pattern, "/")
		for _, pp := range v.pattern {
			if pp == "*" || pp == "**" {
				continue
			}
			if err := checkLiteral(pp); err != nil {
				return nil, fmt.Errorf("variable %s: %w", p, err)
			}
		}
	}
	return v, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkLiteral accepts a non-empty path segment made of RFC 3986 pchar
// (percent-escapes included), without the characters the template grammar
// reserves.
func checkLiteral(s string) error {
	if s == "" {
		return errors.New("empty segment")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUnreserved(c), strings.IndexByte("!$&'()+,;=:@", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return fmt.Errorf("segment %q: character %q is not allowed in a path literal", s, c)
		}
	}
	return nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~'
}

// escapeSegment percent-encodes everything but unreserved characters.
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// bind resolves the template's variables against the request message: each
// must name a singular scalar field, through singular message fields.
func (t *pathTemplate) bind(md protoreflect.MessageDescriptor) error {
	for _, v := range t.vars() {
		p, err := resolveFieldPath(md, v.field)
		if err != nil {
			return fmt.Errorf("path variable {%s}: %w", v.field, err)
		}
		last := p[len(p)-1]
		if last.IsList() || last.IsMap() || last.Kind() == protoreflect.MessageKind || last.Kind() == protoreflect.GroupKind {
			return fmt.Errorf("path variable {%s}: field is %s; a path variable needs a singular scalar field", v.field, kindLabel(last))
		}
		v.path = p
	}
	return nil
}

// vars returns the template's variables, those in mixed segments too.
func (t *pathTemplate) vars() []*variable {
	var vs []*variable
	for _, s := range t.segments {
		if s.v != nil {
			vs = append(vs, s.v)
		}
		for _, m := range s.mixed {
			if m.v != nil {
				vs = append(vs, m.v)
			}
		}
	}
	return vs
}

// expand renders the escaped path from the request. A variable whose field is
// unset or empty, or whose value does not fit its pattern, is an
// INVALID_ARGUMENT error naming the field.
func (t *pathTemplate) expand(m protoreflect.Message) (string, error) {
	var b strings.Builder
	for _, s := range t.segments {
		b.WriteByte('/')
		if s.mixed != nil {
			for _, part := range s.mixed {
				if part.v == nil {
					b.WriteString(part.literal)
					continue
				}
				str, err := part.v.value(m)
				if err != nil {
					return "", err
				}
				// One value, escaped as a segment: "/" cannot split it and
				// "." or ".." cannot climb, since the segment holds more.
				b.WriteString(escapeSegment(str))
			}
			continue
		}
		if s.v == nil {
			b.WriteString(s.literal)
			continue
		}
		str, err := s.v.value(m)
		if err != nil {
			return "", err
		}
		if !s.v.multi() {
			if err := matchSegment(s.v.pattern[0], str); err != nil {
				return "", badPath(s.v, err.Error())
			}
			b.WriteString(escapeSegment(str))
			continue
		}
		parts := strings.Split(str, "/")
		if err := matchPattern(s.v.pattern, parts); err != nil {
			return "", badPath(s.v, err.Error())
		}
		for i, p := range parts {
			if i > 0 {
				b.WriteByte('/')
			}
			b.WriteString(escapeSegment(p))
		}
	}
	if t.verb != "" {
		b.WriteByte(':')
		b.WriteString(t.verb)
	}
	if b.Len() == 0 {
		return "/", nil
	}
	return b.String(), nil
}

// value is the variable's field of m as path text: set and not empty.
func (v *variable) value(m protoreflect.Message) (string, error) {
	val, ok := v.path.get(m)
	if !ok {
		return "", badPath(v, "is not set")
	}
	str := scalarString(v.path[len(v.path)-1], val)
	if str == "" {
		return "", badPath(v, "is empty")
	}
	return str, nil
}

// matchSegment checks one value segment against one pattern segment ("*" or
// a literal). "." and ".." are refused so a value cannot climb the path.
func matchSegment(pat, seg string) error {
	switch {
	case seg == "":
		return errors.New("has an empty path segment")
	case seg == "." || seg == "..":
		return fmt.Errorf("has the path segment %q", seg)
	case pat != "*" && pat != "**" && pat != seg:
		return fmt.Errorf("does not match the pattern: segment %q should be %q", seg, pat)
	}
	return nil
}

// matchPattern checks the segments of a multi-segment value against the
// variable's pattern; "**" (always last) takes the remaining segments.
func matchPattern(pattern, parts []string) error {
	for i, pat := range pattern {
		if pat == "**" {
			for _, p := range parts[i:] {
				if err := matchSegment(pat, p); err != nil {
					return err
				}
			}
			return nil
		}
		if i >= len(parts) {
			return fmt.Errorf("does not match the pattern %s: too few segments", strings.Join(pattern, "/"))
		}
		if err := matchSegment(pat, parts[i]); err != nil {
			return err
		}
	}
	if len(parts) > len(pattern) {
		return fmt.Errorf("does not match the pattern %s: too many segments", strings.Join(pattern, "/"))
	}
	return nil
}

func badPath(v *variable, what string) error {
	return bridge.Errorf(codes.InvalidArgument, reason.InvalidPathField, map[string]string{"field": v.field},
		"request field %s (bound to the URL path) %s", v.field, what)
}
