package openapi

import (
	"strconv"
	"strings"
	"unicode"
)

// The case rules below are buf lint's (STANDARD): a name passes FIELD_LOWER_SNAKE_CASE
// when lowerSnake(name) == name, ENUM_VALUE_PREFIX wants upperSnake(enum) + "_", and
// MESSAGE/ENUM/SERVICE/RPC_PASCAL_CASE want pascal(name) == name. Generated names are
// built with the same functions, so they are fixed points of the checks.

// isDelim reports the characters buf treats as word delimiters.
func isDelim(r rune) bool {
	switch r {
	case '.', '-', '_', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// snake splits s into words at delimiters, at a lower-to-upper change and before the
// last capital of a run of capitals followed by a lower-case letter ("HTTPServer" →
// "HTTP_Server"), keeping the letters' case; digits do not start words.
func snake(s string) string {
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

// lowerSnake is buf's lower_snake_case of s.
func lowerSnake(s string) string { return strings.ToLower(snake(s)) }

// upperSnake is buf's UPPER_SNAKE_CASE of s.
func upperSnake(s string) string { return strings.ToUpper(snake(s)) }

// pascal is buf's PascalCase of s: delimiters dropped, the first letter and each letter
// after a delimiter upper-cased, other capitals kept, everything else lower-cased.
func pascal(s string) string {
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

// asciiWords replaces every character that cannot appear in a proto identifier by a
// delimiter, so that the case functions see word boundaries there.
func asciiWords(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, s)
}

// fieldName turns a spec name into a lower_snake_case proto field name; prefix starts
// names that would begin with a digit or be empty.
func fieldName(xmlName string) string {
	n := lowerSnake(asciiWords(xmlName))
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

// typeName turns a spec name into a PascalCase proto message, enum, service or rpc
// name. Names starting with a digit get an "X" prefix.
func typeName(xmlName string) string {
	n := pascal(asciiWords(xmlName))
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

// scope hands out names unique within one proto scope (a package, or the body of a
// message): a name is taken when it equals an earlier one ignoring case and
// underscores, which also keeps JSON names and generated Go names apart.
type scope struct {
	taken map[string]bool
}

func newScope() *scope { return &scope{taken: map[string]bool{}} }

func foldName(n string) string { return strings.ToLower(strings.ReplaceAll(n, "_", "")) }

// has reports whether n (or a case/underscore variant) is taken.
func (s *scope) has(n string) bool { return s.taken[foldName(n)] }

// reserve marks n as taken.
func (s *scope) reserve(n string) { s.taken[foldName(n)] = true }

// unique returns the first free name among base, base+suffix and then base+suffix+N
// (N = 2, 3…; joined with sep), and reserves it.
func (s *scope) unique(base, suffix, sep string) string {
	cands := []string{base}
	if suffix != "" {
		cands = append(cands, base+sep+suffix)
	}
	for _, c := range cands {
		if !s.has(c) {
			s.reserve(c)
			return c
		}
	}
	last := cands[len(cands)-1]
	for i := 2; ; i++ {
		c := last + sep + strconv.Itoa(i)
		if !s.has(c) {
			s.reserve(c)
			return c
		}
	}
}
