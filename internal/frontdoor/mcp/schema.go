package mcpfront

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
)

// SchemaDraft is the JSON Schema dialect of every generated schema.
const SchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// Schema is a JSON Schema as a JSON object.
type Schema = map[string]any

// MessageSchema returns the JSON Schema 2020-12 of md's protojson form, as
// the MCP front door accepts it (int64 as integer or decimal string, enums
// by name) and emits it: field descriptions from comments, required from
// google.api.field_behavior and buf.validate, buf.validate rules as
// constraints, oneofs, maps, repeated fields, well-known types, and every
// message other than md in $defs (recursion goes through $ref).
func MessageSchema(md protoreflect.MessageDescriptor) Schema {
	g := &schemaGen{defs: map[string]Schema{}}
	root := g.message(md, true)
	if len(g.defs) > 0 {
		defs := Schema{}
		for k, v := range g.defs {
			defs[k] = v
		}
		root["$defs"] = defs
	}
	root["$schema"] = SchemaDraft
	return root
}

type schemaGen struct {
	defs map[string]Schema
}

// ref returns a $ref to md's definition, generating it on first use.
func (g *schemaGen) ref(md protoreflect.MessageDescriptor) Schema {
	if s, ok := wellKnown(md); ok {
		return s
	}
	name := string(md.FullName())
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = Schema{} // placeholder: recursion stops here
		g.defs[name] = g.message(md, false)
	}
	return Schema{"$ref": "#/$defs/" + name}
}

// message is md's object schema.
func (g *schemaGen) message(md protoreflect.MessageDescriptor, root bool) Schema {
	if s, ok := wellKnown(md); ok && !root {
		return s
	}
	s := Schema{"type": "object"}
	if d := comment(md); d != "" {
		s["description"] = d
	}
	if s2, ok := wellKnown(md); ok {
		// A well-known type as a tool's whole input: its JSON form is not
		// always an object, so the root stays a plain object.
		_ = s2
		return s
	}
	props := Schema{}
	var required []string
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		fs := g.field(fd)
		props[fd.JSONName()] = fs
		if isRequired(fd) {
			required = append(required, fd.JSONName())
		}
	}
	s["properties"] = props
	s["additionalProperties"] = false
	if len(required) > 0 {
		s["required"] = required
	}
	var allOf []any
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		od := oneofs.Get(i)
		if od.IsSynthetic() || od.Fields().Len() < 2 {
			continue
		}
		var each, alts []any
		names := make([]string, 0, od.Fields().Len())
		for j := 0; j < od.Fields().Len(); j++ {
			n := od.Fields().Get(j).JSONName()
			names = append(names, n)
			each = append(each, Schema{"required": []string{n}})
		}
		alts = append(alts, each...)
		if !oneofRequired(od) {
			alts = append(alts, Schema{"not": Schema{"anyOf": each}})
		}
		allOf = append(allOf, Schema{"oneOf": alts, "description": fmt.Sprintf("oneof %s: set at most one of %s", od.Name(), strings.Join(names, ", "))})
	}
	if len(allOf) > 0 {
		s["allOf"] = allOf
	}
	return s
}

// field is the schema of one field's value, with its description and rules.
func (g *schemaGen) field(fd protoreflect.FieldDescriptor) Schema {
	rules := fieldRules(fd)
	var s Schema
	switch {
	case fd.IsMap():
		v := g.single(fd.MapValue(), rulesOf(rules.GetMap().GetValues()))
		s = Schema{"type": "object", "additionalProperties": v}
		if p := mapKeyPattern(fd.MapKey()); p != "" {
			s["propertyNames"] = Schema{"pattern": p}
		}
		if r := rules.GetMap(); r != nil {
			if r.HasMinPairs() {
				s["minProperties"] = r.GetMinPairs()
			}
			if r.HasMaxPairs() {
				s["maxProperties"] = r.GetMaxPairs()
			}
		}
	case fd.IsList():
		s = Schema{"type": "array", "items": g.single(fd, rulesOf(rules.GetRepeated().GetItems()))}
		if r := rules.GetRepeated(); r != nil {
			if r.HasMinItems() {
				s["minItems"] = r.GetMinItems()
			}
			if r.HasMaxItems() {
				s["maxItems"] = r.GetMaxItems()
			}
			if r.GetUnique() {
				s["uniqueItems"] = true
			}
		}
	default:
		s = g.single(fd, rules)
	}
	if d := comment(fd); d != "" {
		if _, isRef := s["$ref"]; isRef {
			s = Schema{"allOf": []any{s}, "description": d}
		} else if old, ok := s["description"].(string); ok && old != "" {
			s["description"] = d + "\n" + old
		} else {
			s["description"] = d
		}
	}
	return s
}

// single is the schema of one value of fd's type (an element of a list or
// the value of a map for those), with rules applied.
func (g *schemaGen) single(fd protoreflect.FieldDescriptor, rules *validate.FieldRules) Schema {
	var s Schema
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return g.ref(fd.Message())
	case protoreflect.EnumKind:
		s = enumSchema(fd.Enum(), rules.GetEnum())
	default:
		s = scalar(fd.Kind())
	}
	applyRules(s, fd.Kind(), rules)
	return s
}

// scalar is the JSON form of a scalar kind as protojson reads and writes it.
func scalar(k protoreflect.Kind) Schema {
	switch k {
	case protoreflect.BoolKind:
		return Schema{"type": "boolean"}
	case protoreflect.StringKind:
		return Schema{"type": "string"}
	case protoreflect.BytesKind:
		return Schema{"type": "string", "contentEncoding": "base64"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return Schema{"type": "integer", "minimum": -1 << 31, "maximum": 1<<31 - 1}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return Schema{"type": "integer", "minimum": 0, "maximum": 1<<32 - 1}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return Schema{"type": []string{"integer", "string"}, "pattern": `^-?[0-9]+$`,
			"description": "64-bit integer: a JSON number, or a decimal string when it is beyond ±2^53"}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return Schema{"type": []string{"integer", "string"}, "minimum": 0, "pattern": `^[0-9]+$`,
			"description": "unsigned 64-bit integer: a JSON number, or a decimal string when it is beyond 2^53"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return Schema{"anyOf": []any{Schema{"type": "number"}, Schema{"enum": []string{"NaN", "Infinity", "-Infinity"}}}}
	}
	return Schema{}
}

// enumSchema is an enum as the string names of its values, each value's
// comment in the description.
func enumSchema(ed protoreflect.EnumDescriptor, r *validate.EnumRules) Schema {
	if ed.FullName() == "google.protobuf.NullValue" {
		return Schema{"type": "null"}
	}
	in := map[int32]bool{}
	for _, v := range r.GetIn() {
		in[v] = true
	}
	notIn := map[int32]bool{}
	for _, v := range r.GetNotIn() {
		notIn[v] = true
	}
	var names []string
	var docs []string
	vals := ed.Values()
	for i := 0; i < vals.Len(); i++ {
		v := vals.Get(i)
		if (len(in) > 0 && !in[int32(v.Number())]) || notIn[int32(v.Number())] {
			continue
		}
		names = append(names, string(v.Name()))
		if c := comment(v); c != "" {
			docs = append(docs, fmt.Sprintf("%s: %s", v.Name(), c))
		}
	}
	s := Schema{"type": "string", "enum": names}
	d := comment(ed)
	if len(docs) > 0 {
		if d != "" {
			d += "\n"
		}
		d += strings.Join(docs, "\n")
	}
	if d != "" {
		s["description"] = d
	}
	return s
}

// wellKnown is the JSON form protojson gives the well-known types.
func wellKnown(md protoreflect.MessageDescriptor) (Schema, bool) {
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		return Schema{"type": "string", "format": "date-time", "description": "RFC 3339 timestamp, such as 2024-01-02T15:04:05Z"}, true
	case "google.protobuf.Duration":
		return Schema{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]{1,9})?s$`, "description": "duration in seconds with an s suffix, such as 1.5s"}, true
	case "google.protobuf.Struct":
		return Schema{"type": "object"}, true
	case "google.protobuf.Value":
		return Schema{}, true
	case "google.protobuf.ListValue":
		return Schema{"type": "array"}, true
	case "google.protobuf.Any":
		return Schema{"type": "object", "properties": Schema{"@type": Schema{"type": "string"}}, "required": []string{"@type"},
			"description": "any message: @type names it (type.googleapis.com/pkg.Message), its fields beside it"}, true
	case "google.protobuf.FieldMask":
		return Schema{"type": "string", "description": "comma-separated lowerCamel field paths"}, true
	case "google.protobuf.Empty":
		return Schema{"type": "object", "additionalProperties": false}, true
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue":
		return scalar(protoreflect.DoubleKind), true
	case "google.protobuf.Int64Value":
		return scalar(protoreflect.Int64Kind), true
	case "google.protobuf.UInt64Value":
		return scalar(protoreflect.Uint64Kind), true
	case "google.protobuf.Int32Value":
		return scalar(protoreflect.Int32Kind), true
	case "google.protobuf.UInt32Value":
		return scalar(protoreflect.Uint32Kind), true
	case "google.protobuf.BoolValue":
		return scalar(protoreflect.BoolKind), true
	case "google.protobuf.StringValue":
		return scalar(protoreflect.StringKind), true
	case "google.protobuf.BytesValue":
		return scalar(protoreflect.BytesKind), true
	}
	return nil, false
}

// comment is a descriptor's leading comment (its trailing one when it has
// none), trimmed.
func comment(d protoreflect.Descriptor) string {
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	c := loc.LeadingComments
	if strings.TrimSpace(c) == "" {
		c = loc.TrailingComments
	}
	lines := strings.Split(strings.TrimSpace(c), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// fieldRules are fd's buf.validate rules (nil when none).
func fieldRules(fd protoreflect.FieldDescriptor) *validate.FieldRules {
	r, _ := bridge.ReadOption(fd.Options(), validate.E_Field).(*validate.FieldRules)
	return r
}

func rulesOf(r *validate.FieldRules) *validate.FieldRules { return r }

// requiredCache remembers isRequired per field: reading options costs a
// marshal round trip, and argument checks ask on every call.
var requiredCache sync.Map // protoreflect.FieldDescriptor → bool

// isRequired reports a field marked REQUIRED by google.api.field_behavior
// or buf.validate, or a proto2 required field.
func isRequired(fd protoreflect.FieldDescriptor) bool {
	if v, ok := requiredCache.Load(fd); ok {
		return v.(bool)
	}
	r := readRequired(fd)
	requiredCache.Store(fd, r)
	return r
}

func readRequired(fd protoreflect.FieldDescriptor) bool {
	if fd.Cardinality() == protoreflect.Required {
		return true
	}
	if fieldRules(fd).GetRequired() {
		return true
	}
	opts := fd.Options()
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return false
	}
	b, err := proto.Marshal(opts)
	if err != nil || len(b) == 0 {
		return false
	}
	typed := opts.ProtoReflect().New().Interface()
	if proto.Unmarshal(b, typed) != nil || !proto.HasExtension(typed, annotations.E_FieldBehavior) {
		return false
	}
	for _, fb := range proto.GetExtension(typed, annotations.E_FieldBehavior).([]annotations.FieldBehavior) {
		if fb == annotations.FieldBehavior_REQUIRED {
			return true
		}
	}
	return false
}

// oneofRequired reports a oneof that buf.validate requires to be set.
func oneofRequired(od protoreflect.OneofDescriptor) bool {
	r, _ := bridge.ReadOption(od.Options(), validate.E_Oneof).(*validate.OneofRules)
	return r.GetRequired()
}

// mapKeyPattern is the pattern of a map's JSON keys of kind fd.
func mapKeyPattern(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return "^(true|false)$"
	case protoreflect.StringKind:
		return ""
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "^[0-9]+$"
	}
	return "^-?[0-9]+$"
}

// applyRules turns buf.validate rules into JSON Schema constraints where
// JSON Schema can say them; the chain's protovalidate check enforces all.
func applyRules(s Schema, k protoreflect.Kind, r *validate.FieldRules) {
	if r == nil {
		return
	}
	if sr := r.GetString(); sr != nil {
		if sr.HasMinLen() {
			s["minLength"] = sr.GetMinLen()
		}
		if sr.HasMaxLen() {
			s["maxLength"] = sr.GetMaxLen()
		}
		if sr.HasLen() {
			s["minLength"], s["maxLength"] = sr.GetLen(), sr.GetLen()
		}
		var pats []string
		if sr.HasPattern() && validRegexp(sr.GetPattern()) {
			pats = append(pats, sr.GetPattern())
		}
		if sr.HasPrefix() {
			pats = append(pats, "^"+regexp.QuoteMeta(sr.GetPrefix()))
		}
		if sr.HasSuffix() {
			pats = append(pats, regexp.QuoteMeta(sr.GetSuffix())+"$")
		}
		if sr.HasContains() {
			pats = append(pats, regexp.QuoteMeta(sr.GetContains()))
		}
		addPatterns(s, pats)
		switch {
		case sr.GetEmail():
			s["format"] = "email"
		case sr.GetUri():
			s["format"] = "uri"
		case sr.GetUriRef():
			s["format"] = "uri-reference"
		case sr.GetUuid():
			s["format"] = "uuid"
		case sr.GetHostname():
			s["format"] = "hostname"
		case sr.GetIpv4():
			s["format"] = "ipv4"
		case sr.GetIpv6():
			s["format"] = "ipv6"
		}
		if sr.HasConst() {
			s["const"] = sr.GetConst()
		}
		if len(sr.GetIn()) > 0 {
			s["enum"] = sr.GetIn()
		}
		if len(sr.GetNotIn()) > 0 {
			s["not"] = Schema{"enum": sr.GetNotIn()}
		}
		return
	}
	if br := r.GetBytes(); br != nil {
		// base64 lengths are not the byte lengths: say it in words only.
		var parts []string
		if br.HasMinLen() {
			parts = append(parts, fmt.Sprintf("at least %d bytes", br.GetMinLen()))
		}
		if br.HasMaxLen() {
			parts = append(parts, fmt.Sprintf("at most %d bytes", br.GetMaxLen()))
		}
		if len(parts) > 0 {
			s["description"] = strings.Join(parts, ", ")
		}
		return
	}
	// Numeric rules share field names across the numeric rule messages.
	var nr protoreflect.Message
	switch k {
	case protoreflect.Int32Kind:
		nr = msgOf(r.GetInt32())
	case protoreflect.Int64Kind:
		nr = msgOf(r.GetInt64())
	case protoreflect.Uint32Kind:
		nr = msgOf(r.GetUint32())
	case protoreflect.Uint64Kind:
		nr = msgOf(r.GetUint64())
	case protoreflect.Sint32Kind:
		nr = msgOf(r.GetSint32())
	case protoreflect.Sint64Kind:
		nr = msgOf(r.GetSint64())
	case protoreflect.Fixed32Kind:
		nr = msgOf(r.GetFixed32())
	case protoreflect.Fixed64Kind:
		nr = msgOf(r.GetFixed64())
	case protoreflect.Sfixed32Kind:
		nr = msgOf(r.GetSfixed32())
	case protoreflect.Sfixed64Kind:
		nr = msgOf(r.GetSfixed64())
	case protoreflect.FloatKind:
		nr = msgOf(r.GetFloat())
	case protoreflect.DoubleKind:
		nr = msgOf(r.GetDouble())
	}
	if nr == nil {
		return
	}
	target := s
	if anyOf, ok := s["anyOf"].([]any); ok { // floats: constrain the number branch
		target = anyOf[0].(Schema)
	}
	for name, kw := range map[string]string{"gt": "exclusiveMinimum", "gte": "minimum", "lt": "exclusiveMaximum", "lte": "maximum", "const": "const"} {
		fd := nr.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd != nil && nr.Has(fd) {
			target[kw] = nr.Get(fd).Interface()
			if kw == "exclusiveMinimum" {
				delete(target, "minimum")
			}
			if kw == "exclusiveMaximum" {
				delete(target, "maximum")
			}
		}
	}
	for name, kw := range map[string]string{"in": "enum"} {
		fd := nr.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd != nil && nr.Has(fd) {
			l := nr.Get(fd).List()
			vals := make([]any, l.Len())
			for i := range vals {
				vals[i] = l.Get(i).Interface()
			}
			target[kw] = vals
		}
	}
}

func msgOf(m proto.Message) protoreflect.Message {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil
	}
	return m.ProtoReflect()
}

// addPatterns sets one pattern, or all of them through allOf.
func addPatterns(s Schema, pats []string) {
	switch len(pats) {
	case 0:
	case 1:
		s["pattern"] = pats[0]
	default:
		var all []any
		for _, p := range pats {
			all = append(all, Schema{"pattern": p})
		}
		s["allOf"] = all
	}
}

// validRegexp reports an RE2 pattern that ECMA-262 validators also take:
// protovalidate patterns are RE2, and JSON Schema's are ECMA-262.
func validRegexp(p string) bool {
	if _, err := regexp.Compile(p); err != nil {
		return false
	}
	return !strings.Contains(p, "(?") && !strings.Contains(p, `\z`) && !strings.Contains(p, `\A`)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
