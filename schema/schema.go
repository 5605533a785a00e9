// Package schema holds the JSON Schema of protobridge's config file
// (protobridge.schema.json, generated from the config types by `make gen`)
// and checks config text against it. Editors use the same file through the
// yaml-language-server modeline every example config carries:
//
//	# yaml-language-server: $schema=../../schema/protobridge.schema.json
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/protobridge/protobridge/bridge"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"
)

// JSON is the config schema (draft 2020-12).
//
//go:embed protobridge.schema.json
var JSON []byte

const url = "protobridge.schema.json"

var compiled = sync.OnceValues(func() (*compiledSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	return &compiledSchema{schema: s, doc: doc}, nil
})

type compiledSchema struct {
	schema *jsonschema.Schema
	doc    any
}

// Check validates config text against the schema. Each problem is at the
// line of the key at fault, names the key by its path (upstreams.shop.timeout)
// and never quotes the value written there: it may be a secret in the wrong
// place. Text that is not YAML is left to the config parser to report.
func Check(file string, data []byte) bridge.Problems {
	cs, err := compiled()
	if err != nil {
		return bridge.Problems{{Pos: bridge.Pos{File: file}, Msg: "the config schema does not compile: " + err.Error()}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || root.Kind == 0 {
		return nil
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	v, err := toValue(doc, 0)
	if err != nil {
		return bridge.Problems{{Pos: bridge.Pos{File: file, Line: doc.Line}, Msg: err.Error()}}
	}
	err = cs.schema.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return bridge.Problems{{Pos: bridge.Pos{File: file, Line: doc.Line}, Msg: err.Error()}}
	}
	var ps bridge.Problems
	seen := map[string]bool{}
	collect(cs, ve, func(at []string, msg, hint string) {
		key := strings.Join(at, "/") + "\x00" + msg
		if seen[key] {
			return
		}
		seen[key] = true
		ps = append(ps, bridge.Problem{Pos: bridge.Pos{File: file, Line: lineOf(doc, at)}, Msg: msg, Hint: hint})
	})
	return ps
}

// collect reports a validation error's leaves; a failed oneOf or anyOf is
// one problem (its alternatives' failures would only confuse).
func collect(cs *compiledSchema, e *jsonschema.ValidationError, report func(at []string, msg, hint string)) {
	at := e.InstanceLocation
	where := path(at)
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			collect(cs, c, report)
		}
	case *kind.OneOf, *kind.AnyOf:
		report(at, where+" is not written in a form it takes", cs.description(e.SchemaURL))
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			report(append(at[:len(at):len(at)], p), fmt.Sprintf("unknown key %q in %s", p, orTop(where)), "see the keys it takes: "+keysOf(cs, e.SchemaURL))
		}
	case *kind.Type:
		if parent, ok := strings.CutSuffix(e.SchemaURL, "/additionalProperties"); ok && len(at) > 0 && keysOf(cs, parent) != "" {
			// A block of known keys takes other adapters' blocks besides:
			// anything else is a key misspelt.
			report(at, fmt.Sprintf("unknown key %q in %s", at[len(at)-1], orTop(path(at[:len(at)-1]))), "see the keys it takes: "+keysOf(cs, parent))
			return
		}
		report(at, fmt.Sprintf("%s is %s; it takes %s", where, article(k.Got), strings.Join(articles(k.Want), " or ")), cs.description(e.SchemaURL))
	case *kind.Pattern:
		report(at, where+" is not written in the form it takes", cs.description(e.SchemaURL))
	case *kind.Enum:
		report(at, where+" is not one of the values it takes", fmt.Sprintf("use one of %v", k.Want))
	case *kind.Required:
		report(at, fmt.Sprintf("%s needs %s", orTop(where), strings.Join(k.Missing, ", ")), cs.description(e.SchemaURL))
	case *kind.Minimum, *kind.ExclusiveMinimum:
		report(at, where+" is too small", cs.description(e.SchemaURL))
	default:
		report(at, where+" is not valid here", cs.description(e.SchemaURL))
	}
}

// description is the description of the schema at a location, or of the
// definition it refers to, as the hint of a problem.
func (cs *compiledSchema) description(schemaURL string) string {
	if m, ok := cs.at(schemaURL, 0).(map[string]any); ok {
		if d, ok := m["description"].(string); ok {
			return d
		}
		if ref, ok := m["$ref"].(string); ok {
			if m, ok := cs.at(url+ref, 0).(map[string]any); ok {
				d, _ := m["description"].(string)
				return d
			}
		}
	}
	return ""
}

// keysOf lists the properties of the schema at a location.
func keysOf(cs *compiledSchema, schemaURL string) string {
	m, ok := cs.at(schemaURL, 0).(map[string]any)
	if !ok {
		return ""
	}
	props, _ := m["properties"].(map[string]any)
	var keys []string
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// at walks the schema document to a location's JSON pointer, less its
// last up tokens.
func (cs *compiledSchema) at(schemaURL string, up int) any {
	_, ptr, _ := strings.Cut(schemaURL, "#")
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	if ptr == "" {
		toks = nil
	}
	if up > len(toks) {
		return nil
	}
	toks = toks[:len(toks)-up]
	v := cs.doc
	for _, t := range toks {
		t = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
		switch x := v.(type) {
		case map[string]any:
			v = x[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// path spells an instance location as a person writes it: upstreams.shop.timeout, routes[0].method.
func path(at []string) string {
	var b strings.Builder
	for _, t := range at {
		if _, err := strconv.Atoi(t); err == nil && b.Len() > 0 {
			b.WriteString("[" + t + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}

func orTop(where string) string {
	if where == "" {
		return "the config"
	}
	return where
}

func article(t string) string {
	switch t {
	case "object":
		return "a block of keys"
	case "array":
		return "a list"
	case "null":
		return "empty"
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "boolean":
		return "true or false"
	}
	return "a " + t
}

func articles(ts []string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = article(t)
	}
	return out
}

// lineOf finds the line of the key at an instance location: the key's own
// line for a mapping entry, the item's for a list entry.
func lineOf(n *yaml.Node, at []string) int {
	line := n.Line
	for _, t := range at {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == t {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// maxDepth bounds the nesting of the config text walked.
const maxDepth = 64

// toValue turns a YAML node into the JSON data model the validator takes.
func toValue(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("the config nests deeper than %d levels", maxDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return toValue(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := toValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := toValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value, nil //nolint:nilerr // an odd scalar is checked as text
		}
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case uint64, int64, float64, bool, string, nil:
			return x, nil
		}
		return n.Value, nil
	}
	return nil, nil
}
