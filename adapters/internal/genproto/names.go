// Package genproto is what the .proto generators (gen wsdl, gen openapi)
// share: proto names made from schema names, unique within a scope, and the
// lock file that keeps field and enum numbers stable across regenerations.
package genproto

import (
	"strconv"
	"strings"
	"unicode"
)

// The case rules below are buf lint's (STANDARD): a name passes FIELD_LOWER_SNAKE_CASE
// when LowerSnake(name) == name, ENUM_VALUE_PREFIX wants UpperSnake(enum) + "_", and
// MESSAGE/ENUM/SERVICE/RPC_PASCAL_CASE want Pascal(name) == name. Generated names are
// built with the same functions, so they are fixed points of the checks.

// isDelim reports the characters buf treats as word delimiters.
func isDelim(r rune) bool {
	switch r {
	case '.', '-', '_', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// Snake splits s into words at delimiters, at a lower-to-upper change and before the
// last capital of a run of capitals followed by a lower-case letter ("HTTPServer" →
// "HTTP_Server"), keeping the letters' case; digits do not start words.
func Snake(s string) string {
	s = strings.TrimFunc(s, isDelim)
	var b strings.Builder
	rs := []rune(s)
	last := rune(0)
	for i, c := range rs {
		if isDelim(c) {
			if last != '_' {
				b.WriteRune('_')
				last = '_'
			}
			continue
		}
		if i > 0 && unicode.IsUpper(c) && last != '_' {
			// As buf: a digit after a capital does not make it start a word.
			nextLower := i+1 < len(rs) && !unicode.IsUpper(rs[i+1]) && !unicode.IsDigit(rs[i+1]) && !isDelim(rs[i+1])
			if nextLower || unicode.IsLower(rs[i-1]) {
				b.WriteRune('_')
			}
		}
		b.WriteRune(c)
		last = c
	}
	return b.String()
}

// LowerSnake is buf's lower_snake_case of s.
func LowerSnake(s string) string { return strings.ToLower(Snake(s)) }

// UpperSnake is buf's UPPER_SNAKE_CASE of s.
func UpperSnake(s string) string { return strings.ToUpper(Snake(s)) }

// Pascal is buf's PascalCase of s: delimiters dropped, the first letter and each letter
// after a delimiter upper-cased, other capitals kept, everything else lower-cased.
func Pascal(s string) string {
	var b strings.Builder
	prev := rune(0)
	for i, c := range strings.TrimSpace(s) {
		if !isDelim(c) {
			if i == 0 || isDelim(prev) || unicode.IsUpper(c) {
				b.WriteRune(unicode.ToUpper(c))
			} else {
				b.WriteRune(unicode.ToLower(c))
			}
		}
		prev = c
	}
	return b.String()
}

// ASCIIWords replaces every character that cannot appear in a proto identifier by a
// delimiter, so that the case functions see word boundaries there.
func ASCIIWords(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, s)
}

// FieldName turns a schema name into a lower_snake_case proto field name; prefix starts
// names that would begin with a digit or be empty.
func FieldName(xmlName string) string {
	n := LowerSnake(ASCIIWords(xmlName))
	if n == "" {
		return "field"
	}
	if n[0] >= '0' && n[0] <= '9' {
		n = "f" + n
	}
	if goHostileFields[n] {
		n += "_value"
	}
	return n
}

// TypeName turns a schema name into a PascalCase proto message, enum, service or rpc
// name. Names starting with a digit get an "X" prefix.
func TypeName(xmlName string) string {
	n := Pascal(ASCIIWords(xmlName))
	if n == "" {
		return "X"
	}
	if n[0] >= '0' && n[0] <= '9' {
		n = "X" + n
	}
	return n
}

// goHostileFields are field names whose Go accessors would clash with the methods
// protoc-gen-go generates on every message, or that protoc-gen-go would rename.
var goHostileFields = map[string]bool{
	"reset": true, "string": true, "proto_message": true, "proto_reflect": true,
	"descriptor": true, "marshal": true, "unmarshal": true, "size": true,
	"x_xxx": true,
}

// Scope hands out names unique within one proto scope (a package, or the body of a
// message): a name is taken when it equals an earlier one ignoring case and
// underscores, which also keeps JSON names and generated Go names apart.
type Scope struct {
	taken map[string]bool
}

func NewScope() *Scope { return &Scope{taken: map[string]bool{}} }

func FoldName(n string) string { return strings.ToLower(strings.ReplaceAll(n, "_", "")) }

// Has reports whether n (or a case/underscore variant) is taken.
func (s *Scope) Has(n string) bool { return s.taken[FoldName(n)] }

// Reserve marks n as taken.
func (s *Scope) Reserve(n string) { s.taken[FoldName(n)] = true }

// Unique returns the first free name among base, base+suffix and then base+suffix+N
// (N = 2, 3…; joined with sep), and reserves it.
func (s *Scope) Unique(base, suffix, sep string) string {
	cands := []string{base}
	if suffix != "" {
		cands = append(cands, base+sep+suffix)
	}
	for _, c := range cands {
		if !s.Has(c) {
			s.Reserve(c)
			return c
		}
	}
	last := cands[len(cands)-1]
	for i := 2; ; i++ {
		c := last + sep + strconv.Itoa(i)
		if !s.Has(c) {
			s.Reserve(c)
			return c
		}
	}
}
