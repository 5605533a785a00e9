package mcpfront

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/protobridge/protobridge/internal/spelling"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxProblems bounds the problems one call's arguments report.
const maxProblems = 10

// argProblem is one thing wrong with a tool's arguments: where, and what
// to do about it.
type argProblem struct {
	Path string
	Msg  string
}

func (p argProblem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Msg)
}

// decodeArgs reads a tool call's JSON arguments as md, checking them
// first against the descriptor so that every mistake is named with its
// field path, the rule it breaks and what is allowed: unknown fields get
// the closest valid names, wrong types the type wanted, enum values the
// values allowed, and missing required fields are listed. Only arguments
// without problems are decoded (protojson, with resolver for Any).
func decodeArgs(raw json.RawMessage, md protoreflect.MessageDescriptor, resolver resolver) (*dynamicpb.Message, []argProblem) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []argProblem{{Msg: "the arguments are not valid JSON: " + err.Error()}}
	}
	c := &checker{}
	c.message("", v, md)
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	m := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{Resolver: resolver}).Unmarshal(raw, m); err != nil {
		return nil, []argProblem{{Msg: "the arguments do not decode: " + strings.TrimPrefix(err.Error(), "proto: ")}}
	}
	return m, nil
}

type checker struct{ problems []argProblem }

func (c *checker) add(path, format string, args ...any) {
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, argProblem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// message checks v as md's JSON object.
func (c *checker) message(path string, v any, md protoreflect.MessageDescriptor) {
	if _, ok := wellKnown(md); ok {
		c.wellKnown(path, v, md)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.add(path, "expected a JSON object (message %s), got %s", md.Name(), jsonKind(v))
		return
	}
	fields := md.Fields()
	var names []string
	for i := 0; i < fields.Len(); i++ {
		names = append(names, fields.Get(i).JSONName())
	}
	seenOneof := map[protoreflect.Name]string{}
	for _, key := range sortedKeys(obj) {
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		if fd == nil {
			msg := fmt.Sprintf("unknown field %q", key)
			if s := closestNames(key, names); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %s?", quoteList(s))
			}
			if len(names) == 0 {
				msg += fmt.Sprintf("; %s takes no fields", md.Name())
			} else {
				msg += fmt.Sprintf(" (fields of %s: %s)", md.Name(), strings.Join(names, ", "))
			}
			c.add(path, "%s", msg)
			continue
		}
		val := obj[key]
		if val == nil && fd.Message() == nil || val == nil && fd.Message() != nil && fd.Message().FullName() != "google.protobuf.Value" {
			continue // null is "not set"
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other, dup := seenOneof[od.Name()]; dup {
				c.add(path, "fields %q and %q are alternatives (oneof %s): set only one", other, fd.JSONName(), od.Name())
			}
			seenOneof[od.Name()] = fd.JSONName()
		}
		c.field(join(path, fd.JSONName()), val, fd)
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !isRequired(fd) {
			continue
		}
		if _, ok := obj[fd.JSONName()]; ok {
			continue
		}
		if _, ok := obj[fd.TextName()]; ok {
			continue
		}
		c.add(join(path, fd.JSONName()), "required field is missing")
	}
}

// field checks v as fd's value (a list or map when fd is one).
func (c *checker) field(path string, v any, fd protoreflect.FieldDescriptor) {
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			c.add(path, "expected a JSON object (a map), got %s", jsonKind(v))
			return
		}
		for _, k := range sortedKeys(obj) {
			if p := mapKeyPattern(fd.MapKey()); p != "" && !regexp.MustCompile(p).MatchString(k) {
				c.add(path, "map key %q is not a %s", k, fd.MapKey().Kind())
			}
			c.single(path+"["+strconv.Quote(k)+"]", obj[k], fd.MapValue())
		}
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			c.add(path, "expected a JSON array, got %s", jsonKind(v))
			return
		}
		for i, e := range arr {
			c.single(fmt.Sprintf("%s[%d]", path, i), e, fd)
		}
	default:
		c.single(path, v, fd)
	}
}

// single checks one value of fd's type.
func (c *checker) single(path string, v any, fd protoreflect.FieldDescriptor) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		c.message(path, v, fd.Message())
	case protoreflect.EnumKind:
		c.enum(path, v, fd.Enum())
	default:
		c.scalar(path, v, fd.Kind())
	}
}

func (c *checker) enum(path string, v any, ed protoreflect.EnumDescriptor) {
	if ed.FullName() == "google.protobuf.NullValue" {
		if v != nil {
			c.add(path, "expected null, got %s", jsonKind(v))
		}
		return
	}
	var allowed []string
	for i := 0; i < ed.Values().Len(); i++ {
		allowed = append(allowed, string(ed.Values().Get(i).Name()))
	}
	switch x := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) != nil {
			return
		}
		msg := fmt.Sprintf("%q is not a value of enum %s", x, ed.Name())
		if s := closestNames(x, allowed); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", quoteList(s))
		}
		c.add(path, "%s (allowed: %s)", msg, strings.Join(allowed, ", "))
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 32); err != nil {
			c.add(path, "expected one of %s, got %s", strings.Join(allowed, ", "), x)
		}
	default:
		c.add(path, "expected one of %s as a string, got %s", strings.Join(allowed, ", "), jsonKind(v))
	}
}

func (c *checker) scalar(path string, v any, k protoreflect.Kind) {
	switch k {
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			c.add(path, "expected true or false, got %s", jsonKind(v))
		}
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			c.add(path, "expected a string, got %s", jsonKind(v))
		}
	case protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			c.add(path, "expected base64 text (bytes), got %s", jsonKind(v))
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch x := v.(type) {
		case json.Number:
		case string:
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				if _, err := strconv.ParseFloat(x, 64); err != nil {
					c.add(path, "expected a number, got the string %q", x)
				}
			}
		default:
			c.add(path, "expected a number, got %s", jsonKind(v))
		}
	default:
		bits, signed := 64, true
		switch k {
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			bits = 32
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
			bits, signed = 32, false
		case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			signed = false
		}
		var text, shown string
		switch x := v.(type) {
		case json.Number:
			text, shown = string(x), string(x)
		case string:
			text, shown = x, strconv.Quote(x)
		default:
			c.add(path, "expected an integer (%s), got %s", k, jsonKind(v))
			return
		}
		if !intFits(text, bits, signed) {
			lo, hi := intRange(bits, signed)
			c.add(path, "%s is not an %s: use a whole number from %s to %s", shown, intName(k), lo, hi)
		}
	}
}

// intFits reports whether text is an integer in range (protojson also
// takes exponent forms of whole numbers, such as 1e3).
func intFits(text string, bits int, signed bool) bool {
	if signed {
		if _, err := strconv.ParseInt(text, 10, bits); err == nil {
			return true
		}
	} else if _, err := strconv.ParseUint(text, 10, bits); err == nil {
		return true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || !strings.ContainsAny(text, ".eE") {
		return false
	}
	lo, hi := -math.Pow(2, float64(bits-1)), math.Pow(2, float64(bits-1))
	if !signed {
		lo, hi = 0, math.Pow(2, float64(bits))
	}
	return f >= lo && f < hi
}

func intRange(bits int, signed bool) (string, string) {
	if !signed {
		if bits == 32 {
			return "0", strconv.FormatUint(math.MaxUint32, 10)
		}
		return "0", strconv.FormatUint(math.MaxUint64, 10)
	}
	if bits == 32 {
		return strconv.Itoa(math.MinInt32), strconv.Itoa(math.MaxInt32)
	}
	return strconv.FormatInt(math.MinInt64, 10), strconv.FormatInt(math.MaxInt64, 10)
}

// wellKnown checks the outer JSON kind of a well-known type's value.
func (c *checker) wellKnown(path string, v any, md protoreflect.MessageDescriptor) {
	want := ""
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		if s, ok := v.(string); !ok || !rfc3339.MatchString(s) {
			c.add(path, "expected an RFC 3339 timestamp string such as \"2024-01-02T15:04:05Z\", got %s", jsonKind(v))
		}
		return
	case "google.protobuf.Duration":
		if s, ok := v.(string); !ok || !durationRE.MatchString(s) {
			c.add(path, "expected a duration string such as \"1.5s\", got %s", jsonKind(v))
		}
		return
	case "google.protobuf.Struct", "google.protobuf.Any", "google.protobuf.Empty":
		if _, ok := v.(map[string]any); !ok {
			want = "a JSON object"
		}
	case "google.protobuf.ListValue":
		if _, ok := v.([]any); !ok {
			want = "a JSON array"
		}
	case "google.protobuf.FieldMask", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		if _, ok := v.(string); !ok {
			want = "a string"
		}
	case "google.protobuf.BoolValue":
		if _, ok := v.(bool); !ok {
			want = "true or false"
		}
	case "google.protobuf.Int32Value":
		c.scalar(path, v, protoreflect.Int32Kind)
	case "google.protobuf.UInt32Value":
		c.scalar(path, v, protoreflect.Uint32Kind)
	case "google.protobuf.Int64Value":
		c.scalar(path, v, protoreflect.Int64Kind)
	case "google.protobuf.UInt64Value":
		c.scalar(path, v, protoreflect.Uint64Kind)
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue":
		c.scalar(path, v, protoreflect.DoubleKind)
	}
	if want != "" {
		c.add(path, "expected %s (%s), got %s", want, md.FullName(), jsonKind(v))
	}
}

var (
	rfc3339    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$`)
	durationRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?s$`)
)

// jsonKind words the JSON kind of a decoded value, with the value when short.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case json.Number:
		return "the number " + string(x)
	case string:
		if len(x) > 40 {
			return "a string"
		}
		return fmt.Sprintf("the string %q", x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// closestNames returns the candidates nearest to s (case-insensitive edit
// distance within a third of the length, or a case-insensitive or
// snake/camel match), best first, at most three.
func closestNames(s string, candidates []string) []string {
	type scored struct {
		name string
		d    int
	}
	norm := func(x string) string { return strings.ToLower(strings.ReplaceAll(x, "_", "")) }
	var out []scored
	for _, c := range candidates {
		d := spelling.Distance(norm(s), norm(c))
		limit := max(2, len(s)/3)
		if d <= limit || strings.Contains(norm(c), norm(s)) && len(s) >= 3 {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	var names []string
	for i := 0; i < len(out) && i < 3; i++ {
		names = append(names, out[i].name)
	}
	return names
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, " or ")
}

// resolver finds message and extension types for Any fields.
type resolver interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
}

// intName names an integer kind for the agent ("int32", "uint64").
func intName(k protoreflect.Kind) string {
	switch k {
	case protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32"
	case protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64"
	case protoreflect.Fixed32Kind:
		return "uint32"
	case protoreflect.Fixed64Kind:
		return "uint64"
	}
	return k.String()
}
