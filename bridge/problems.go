package bridge

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/protobridge/protobridge/internal/spelling"
	"gopkg.in/yaml.v3"
)

// Pos is a position in a source file.
type Pos struct {
	File string
	Line int
}

// String formats the position as file:line.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Problem is one thing wrong with a config or what it loads.
type Problem struct {
	Pos  Pos
	Msg  string
	Hint string
}

// String formats the problem as "file:line: message (hint)".
func (p Problem) String() string {
	s := p.Pos.String() + ": " + p.Msg
	if p.Hint != "" {
		s += " (" + p.Hint + ")"
	}
	return s
}

// Problems is every problem found in one pass; it is an error.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Add appends a problem with a formatted message.
func (ps *Problems) Add(pos Pos, hint, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// TypeError returns ps as a *yaml.TypeError of "line N: message (hint)"
// lines, or nil when there are none: what an UnmarshalYAML method returns
// so that yaml.v3 collects its problems with the rest of the document's
// (any other error stops decoding), and DecodeStrict turns them back into
// Problems at their lines.
func (ps Problems) TypeError() error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = fmt.Sprintf("line %d: %s", p.Pos.Line, p.Msg)
		if p.Hint != "" {
			msgs[i] += " (" + p.Hint + ")"
		}
	}
	return &yaml.TypeError{Errors: msgs}
}

// RawConfig is a block of the config file handed to an adapter undecoded:
// the upstream's or route's key named by the adapter's kind. Adapters
// decode it with Decode, which is as strict as the core's own decoding.
type RawConfig struct {
	node *yaml.Node
	file string
}

// NewRawConfig wraps a YAML node read from file.
func NewRawConfig(node *yaml.Node, file string) RawConfig { return RawConfig{node: node, file: file} }

// RawConfigOf builds a block from a Go value (a struct with yaml tags or a
// map), for adapters built in code and in tests.
func RawConfigOf(v any) (RawConfig, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return RawConfig{}, err
	}
	return RawConfig{node: &n, file: "(code)"}, nil
}

// IsZero reports whether the config has no block for the adapter.
func (c RawConfig) IsZero() bool { return c.node == nil }

// Pos is where the block starts.
func (c RawConfig) Pos() Pos {
	if c.node == nil {
		return Pos{File: c.file}
	}
	return Pos{File: c.file, Line: c.node.Line}
}

// Decode decodes the block into v (a pointer to a struct with yaml tags).
// Keys v does not declare and values of the wrong type are Problems with
// their file:line. An absent block leaves v as it is.
func (c RawConfig) Decode(v any) error {
	if c.node == nil {
		return nil
	}
	return DecodeStrict(c.node, c.file, v)
}

var (
	yamlLineRE = regexp.MustCompile(`^\s*(?:yaml: )?line (\d+): (.*)$`)
	castRE     = regexp.MustCompile("^cannot unmarshal !!(\\w+) (`[^`]*`|[^ ]*) ?into (\\S+)$")
)

// DecodeStrict decodes a YAML node into v, which must be a pointer. Keys
// that v's type does not declare are errors (yaml.v3 does not pass its
// KnownFields setting on to nested decoders, so the walk is done here),
// and so are values of the wrong type. Every error is a Problem at its
// file:line, worded for a person: no Go type names, no YAML tags, and the
// offending value is never echoed (it may be a secret in the wrong place).
func DecodeStrict(n *yaml.Node, file string, v any) error {
	var ps Problems
	unknownKeys(n, reflect.TypeOf(v), file, true, &ps)
	if err := n.Decode(v); err != nil {
		ps = append(ps, yamlProblems(err, file, n.Line)...)
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// YAMLProblems turns a yaml.v3 decoding error into Problems of file.
func yamlProblems(err error, file string, line int) Problems {
	var ps Problems
	msgs := []string{err.Error()}
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	}
	for _, m := range msgs {
		for _, l := range strings.Split(m, "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(l, "yaml: unmarshal errors:"))
			if l == "" {
				continue
			}
			p := Problem{Pos: Pos{File: file, Line: line}, Msg: l}
			if sub := yamlLineRE.FindStringSubmatch(l); sub != nil {
				p.Pos.Line, _ = strconv.Atoi(sub[1])
				p.Msg = sub[2]
			}
			if i := strings.LastIndex(p.Msg, " ("); i > 0 && strings.HasSuffix(p.Msg, ")") && !strings.HasPrefix(p.Msg, "cannot unmarshal") {
				p.Msg, p.Hint = p.Msg[:i], p.Msg[i+2:len(p.Msg)-1]
			}
			if sub := castRE.FindStringSubmatch(p.Msg); sub != nil {
				p.Msg, p.Hint = "this value has the wrong type", expected(sub[3])
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// expected words what a Go type wants, for type errors.
func expected(goType string) string {
	switch {
	case goType == "time.Duration":
		return "use a duration such as 500ms, 10s or 2m"
	case goType == "bool":
		return "use true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "use a whole number"
	case strings.HasPrefix(goType, "float"):
		return "use a number"
	case goType == "string":
		return "use a single text value"
	case strings.HasPrefix(goType, "[]"):
		return "use a list"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "use a block of keys"
	}
	return "see README for this key's form"
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// unknownKeys walks n against t and reports mapping keys t has no field
// for, with the keys it knows as the hint. Types with an UnmarshalYAML of
// their own (below the top) check themselves.
func unknownKeys(n *yaml.Node, t reflect.Type, file string, top bool, ps *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode || (!top && reflect.PointerTo(t).Implements(unmarshalerType)) {
			return
		}
		fields := map[string]reflect.Type{}
		yamlFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				slices.Sort(known)
				hint := "known keys here: " + strings.Join(known, ", ")
				if near := closest(k.Value, known); near != "" {
					hint = "did you mean " + near + "? " + hint
				}
				ps.Add(Pos{File: file, Line: k.Line}, hint, "unknown key %q", k.Value)
				continue
			}
			unknownKeys(n.Content[i+1], ft, file, false, ps)
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 1; i < len(n.Content); i += 2 {
				unknownKeys(n.Content[i], t.Elem(), file, false, ps)
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				unknownKeys(c, t.Elem(), file, false, ps)
			}
		}
	}
}

// yamlFields collects the yaml keys of a struct type, inline fields included.
func yamlFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			yamlFields(ft, into)
			continue
		}
		if tag != "" && tag != "-" {
			into[tag] = f.Type
		}
	}
}

// closest returns the candidate nearest to s by edit distance when it is
// near enough to be a likely misspelling, else "".
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if d := spelling.Distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
