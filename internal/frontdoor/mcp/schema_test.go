package mcpfront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/protobridge/protobridge/internal/testenv"

	"buf.build/go/protovalidate"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
)

// compileSchema compiles a generated schema as JSON Schema 2020-12,
// which also checks it against the 2020-12 meta-schema.
func compileSchema(t testing.TB, s Schema) *jsonschema.Schema {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("not a valid 2020-12 schema: %v\n%s", err, raw)
	}
	return sch
}

func validateJSON(sch *jsonschema.Schema, raw []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// fixture is a proto with every construct the schema rules cover.
const fixture = `syntax = "proto3";
package fixture.v1;

import "google/api/field_behavior.proto";
import "buf/validate/validate.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/any.proto";
import "google/protobuf/field_mask.proto";

// Color of a thing.
enum Color {
  // Unknown color.
  COLOR_UNSPECIFIED = 0;
  // Red as blood.
  COLOR_RED = 1;
  COLOR_BLUE = 2;
}

// Node is a tree: recursion.
message Node {
  // The node's name.
  string name = 1 [(google.api.field_behavior) = REQUIRED];
  repeated Node children = 2;
  Node parent = 3;
}

// Everything holds every kind of field.
message Everything {
  int32 i32 = 1;
  int64 i64 = 2;
  uint32 u32 = 3;
  uint64 u64 = 4;
  sint32 s32 = 5;
  sint64 s64 = 6;
  fixed32 f32 = 7;
  fixed64 f64 = 8;
  sfixed32 sf32 = 9;
  sfixed64 sf64 = 10;
  float fl = 11;
  double db = 12;
  bool b = 13;
  string s = 14;
  bytes by = 15;
  Color color = 16;
  repeated string tags = 17;
  repeated int64 big = 18;
  map<string, int64> counts = 19;
  map<int32, Node> nodes = 20;
  map<bool, Color> flags = 21;
  Node root = 22;
  oneof choice {
    string text = 23;
    int64 number = 24;
    Node tree = 25;
  }
  optional string maybe = 26;
  google.protobuf.Timestamp at = 27;
  google.protobuf.Duration took = 28;
  google.protobuf.Int64Value wrapped_i64 = 29;
  google.protobuf.StringValue wrapped_s = 30;
  google.protobuf.BoolValue wrapped_b = 31;
  google.protobuf.DoubleValue wrapped_d = 32;
  google.protobuf.Struct st = 33;
  google.protobuf.Value val = 34;
  google.protobuf.Any any = 35;
  google.protobuf.FieldMask mask = 36;
  google.protobuf.ListValue list = 37;
  repeated Color colors = 38;
  map<uint64, string> by_id = 39;
}

// Rules carries protovalidate rules.
message Rules {
  string email = 1 [(buf.validate.field).string.email = true, (buf.validate.field).required = true];
  string code = 2 [(buf.validate.field).string = {min_len: 2, max_len: 5, pattern: "^[A-Z]+$"}];
  int32 age = 3 [(buf.validate.field).int32 = {gte: 0, lt: 150}];
  repeated string items = 4 [(buf.validate.field).repeated = {min_items: 1, max_items: 3, unique: true, items: {string: {min_len: 1}}}];
  double ratio = 5 [(buf.validate.field).double = {gt: 0, lte: 1}];
  string kind = 6 [(buf.validate.field).string = {in: ["a", "b"]}];
  string id = 7 [(buf.validate.field).string.uuid = true];
  Color color = 8 [(buf.validate.field).enum = {defined_only: true, not_in: [0]}];
}
`

func compileFixture(t testing.TB) protoreflect.FileDescriptor {
	t.Helper()
	fd, err := protogen.Compile(context.Background(), "fixture/v1/fixture.proto", []byte(fixture))
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestSchemaRules(t *testing.T) {
	fd := compileFixture(t)
	get := func(s Schema, p ...string) any {
		var v any = s
		for _, k := range p {
			v = v.(Schema)[k]
		}
		return v
	}
	ev := MessageSchema(fd.Messages().ByName("Everything"))
	compileSchema(t, ev)
	if got := get(ev, "properties", "i64", "type"); fmt.Sprint(got) != "[integer string]" {
		t.Errorf("int64 type %v", got)
	}
	if got := get(ev, "properties", "color"); fmt.Sprint(got.(Schema)["enum"]) != "[COLOR_UNSPECIFIED COLOR_RED COLOR_BLUE]" || !strings.Contains(got.(Schema)["description"].(string), "COLOR_RED: Red as blood.") {
		t.Errorf("enum %v", got)
	}
	if got := get(ev, "properties", "at", "format"); got != "date-time" {
		t.Errorf("timestamp %v", got)
	}
	if got := get(ev, "properties", "nodes", "propertyNames", "pattern"); got != "^-?[0-9]+$" {
		t.Errorf("map key %v", got)
	}
	if _, ok := ev["allOf"].([]any)[0].(Schema)["oneOf"]; !ok {
		t.Errorf("oneof: %v", ev["allOf"])
	}
	node := ev["$defs"].(Schema)["fixture.v1.Node"].(Schema)
	if fmt.Sprint(node["required"]) != "[name]" || get(node, "properties", "parent", "$ref") != "#/$defs/fixture.v1.Node" {
		t.Errorf("Node def %v", node)
	}
	if got := get(node, "properties", "name", "description"); got != "The node's name." {
		t.Errorf("field comment %v", got)
	}

	rs := MessageSchema(fd.Messages().ByName("Rules"))
	sch := compileSchema(t, rs)
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"properties", "email", "format"}, "email"},
		{[]string{"properties", "code", "minLength"}, uint64(2)},
		{[]string{"properties", "code", "maxLength"}, uint64(5)},
		{[]string{"properties", "code", "pattern"}, "^[A-Z]+$"},
		{[]string{"properties", "age", "minimum"}, int32(0)},
		{[]string{"properties", "age", "exclusiveMaximum"}, int32(150)},
		{[]string{"properties", "items", "minItems"}, uint64(1)},
		{[]string{"properties", "items", "maxItems"}, uint64(3)},
		{[]string{"properties", "items", "uniqueItems"}, true},
		{[]string{"properties", "items", "items", "minLength"}, uint64(1)},
		{[]string{"properties", "id", "format"}, "uuid"},
	} {
		if got := get(rs, c.path...); got != c.want {
			t.Errorf("%s = %v (%T), want %v", strings.Join(c.path, "."), got, got, c.want)
		}
	}
	if fmt.Sprint(rs["required"]) != "[email]" {
		t.Errorf("required %v", rs["required"])
	}
	if fmt.Sprint(get(rs, "properties", "color", "enum")) != "[COLOR_RED COLOR_BLUE]" {
		t.Errorf("enum not_in: %v", get(rs, "properties", "color"))
	}
	for _, bad := range []string{`{}`, `{"email":"x@y.z","code":"abc"}`, `{"email":"x@y.z","age":150}`, `{"email":"x@y.z","items":[]}`, `{"email":"x@y.z","ratio":0}`, `{"email":"x@y.z","kind":"c"}`, `{"email":"nope"}`} {
		if validateJSON(sch, []byte(bad)) == nil {
			t.Errorf("%s validates", bad)
		}
	}
	if err := validateJSON(sch, []byte(`{"email":"x@y.z","code":"AB","age":3,"items":["a"],"ratio":0.5,"kind":"a","color":"COLOR_RED"}`)); err != nil {
		t.Error(err)
	}
}

func TestDecodeArgsErrors(t *testing.T) {
	fd := compileFixture(t)
	ev := fd.Messages().ByName("Everything")
	for _, c := range []struct{ in, want string }{
		{`{"i32": "x"}`, `i32: "x" is not an int32`},
		{`{"i32": 3000000000}`, `from -2147483648 to 2147483647`},
		{`{"colr": "COLOR_RED"}`, `did you mean "color"`},
		{`{"color": "RED"}`, `allowed: COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE`},
		{`{"tags": "a"}`, `tags: expected a JSON array`},
		{`{"root": {"children": [{"nme": "x"}]}}`, `root.children[0]: unknown field "nme"; did you mean "name"`},
		{`{"root": {}}`, `root.name: required field is missing`},
		{`{"text": "a", "number": 1}`, `alternatives (oneof choice)`},
		{`{"at": "yesterday"}`, `RFC 3339`},
		{`{"b": "true"}`, `expected true or false, got the string "true"`},
		{`{"counts": {"a": 1.5}}`, `counts["a"]: 1.5 is not an int64`},
		{`[1]`, `expected a JSON object`},
	} {
		_, ps := decodeArgs(json.RawMessage(c.in), ev, protoregistry.GlobalTypes)
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if !strings.Contains(strings.Join(got, "\n"), c.want) {
			t.Errorf("%s: %q, want %q", c.in, got, c.want)
		}
	}
	m, ps := decodeArgs(json.RawMessage(`{"i64": "9007199254740993", "u64": 18446744073709551615, "s": "x", "by_id": {"7": "a"}, "wrapped_i64": 5}`), ev, protoregistry.GlobalTypes)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if got := m.Get(ev.Fields().ByName("i64")).Int(); got != 9007199254740993 {
		t.Errorf("i64 = %d", got)
	}
}

// randomMessage fills m at random; depth bounds recursion.
func randomMessage(r *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if r.IntN(3) == 0 {
			continue
		}
		if od := fd.ContainingOneof(); od != nil && m.WhichOneof(od) != nil {
			continue
		}
		if fd.Message() != nil && (depth <= 0 || !randomizable(fd.Message())) && !fd.IsMap() {
			continue
		}
		switch {
		case fd.IsMap():
			if depth <= 0 || fd.MapValue().Message() != nil && !randomizable(fd.MapValue().Message()) {
				continue
			}
			mp := m.Mutable(fd).Map()
			for j := r.IntN(3); j > 0; j-- {
				k := randomScalar(r, fd.MapKey()).MapKey()
				if fd.MapValue().Message() != nil {
					v := mp.NewValue()
					randomMessage(r, v.Message(), depth-1)
					mp.Set(k, v)
				} else {
					mp.Set(k, randomScalar(r, fd.MapValue()))
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := r.IntN(3); j > 0; j-- {
				if fd.Message() != nil {
					v := l.NewElement()
					randomMessage(r, v.Message(), depth-1)
					l.Append(v)
				} else {
					l.Append(randomScalar(r, fd))
				}
			}
		case fd.Message() != nil:
			v := m.NewField(fd)
			randomMessage(r, v.Message(), depth-1)
			m.Set(fd, v)
		default:
			m.Set(fd, randomScalar(r, fd))
		}
	}
}

// randomizable: messages the generator fills field by field (well-known
// types with a JSON form of their own only where any value is valid).
func randomizable(md protoreflect.MessageDescriptor) bool {
	if !strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return true
	}
	return strings.HasSuffix(string(md.Name()), "Value") && md.Name() != "Value" && md.Name() != "ListValue" || md.Name() == "Empty"
}

func randomScalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 0)
	case protoreflect.StringKind:
		const alphabet = "abcXYZ 019-_é\"\\/\n☃"
		rs := []rune(alphabet)
		var b strings.Builder
		for j := r.IntN(8); j > 0; j-- {
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		return protoreflect.ValueOfString(b.String())
	case protoreflect.BytesKind:
		b := make([]byte, r.IntN(6))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		return protoreflect.ValueOfBytes(b)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(r.NormFloat64() * 1e3))
	case protoreflect.DoubleKind:
		if r.IntN(10) == 0 {
			return protoreflect.ValueOfFloat64(math.Inf(1))
		}
		return protoreflect.ValueOfFloat64(r.NormFloat64() * 1e6)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(r.IntN(vals.Len())).Number())
	}
	panic(fd.Kind())
}

// checkRoundTrip validates protojson of random md messages against md's
// schema, and decodes the schema-valid JSON back to the same message. A
// random message that breaks md's buf.validate rules (XSD facets) is not
// expected to validate; one that keeps them must. It returns how many
// messages kept the rules and were checked.
func checkRoundTrip(t *testing.T, md protoreflect.MessageDescriptor, sch *jsonschema.Schema, r *rand.Rand, n int) (checked int) {
	t.Helper()
	pv, err := protovalidate.New(protovalidate.WithMessageDescriptors(md))
	if err != nil {
		t.Fatalf("%s: protovalidate: %v", md.FullName(), err)
	}
	for i := 0; i < n; i++ {
		m := dynamicpb.NewMessage(md)
		randomMessage(r, m, 3)
		fillRequired(m, 3)
		if pv.Validate(m) != nil {
			continue
		}
		checked++
		for _, opts := range []protojson.MarshalOptions{{}, {UseProtoNames: false, UseEnumNumbers: false, EmitUnpopulated: false}} {
			raw, err := opts.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(sch, raw); err != nil {
				t.Fatalf("%s: protojson %s does not validate: %v", md.FullName(), raw, err)
			}
			back, ps := decodeArgs(raw, md, protoregistry.GlobalTypes)
			if len(ps) > 0 {
				t.Fatalf("%s: schema-valid %s does not decode: %v", md.FullName(), raw, ps)
			}
			if !proto.Equal(m, back) {
				t.Fatalf("%s: %s decodes to %v", md.FullName(), raw, back)
			}
		}
	}
	return checked
}

// fillRequired sets required fields left empty (the schema requires them).
func fillRequired(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if isRequired(fd) && !m.Has(fd) && !fd.IsList() && !fd.IsMap() {
			if fd.Message() != nil {
				v := m.NewField(fd)
				if depth > 0 {
					fillRequired(v.Message(), depth-1)
				}
				m.Set(fd, v)
			} else if fd.Kind() == protoreflect.StringKind {
				m.Set(fd, protoreflect.ValueOfString("x"))
			} else {
				m.Set(fd, fd.Default())
			}
		}
		if fd.Message() != nil && m.Has(fd) && !fd.IsMap() && !fd.IsList() {
			fillRequired(m.Mutable(fd).Message(), depth-1)
		}
		if fd.IsList() && fd.Message() != nil && m.Has(fd) {
			l := m.Mutable(fd).List()
			for j := 0; j < l.Len(); j++ {
				fillRequired(l.Get(j).Message(), depth-1)
			}
		}
		if fd.IsMap() && fd.MapValue().Message() != nil && m.Has(fd) {
			m.Mutable(fd).Map().Range(func(_ protoreflect.MapKey, v protoreflect.Value) bool {
				fillRequired(v.Message(), depth-1)
				return true
			})
		}
	}
}

func TestSchemaProperty(t *testing.T) {
	fd := compileFixture(t)
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for _, name := range []protoreflect.Name{"Everything", "Node"} {
		md := fd.Messages().ByName(name)
		if n := checkRoundTrip(t, md, compileSchema(t, MessageSchema(md)), r, 300); n != 300 {
			t.Errorf("%s: %d of 300 random messages checked", name, n)
		}
	}
	// Instances the schema accepts beyond protojson's own output decode too.
	md := fd.Messages().ByName("Everything")
	sch := compileSchema(t, MessageSchema(md))
	for _, in := range []string{`{"i64": 5, "u64": "18446744073709551615", "fl": "NaN", "color": "COLOR_BLUE", "counts": {"a": "-3"}, "at": "2024-01-02T15:04:05.5+01:00", "took": "1.5s", "st": {"a": [1, null]}, "val": null, "list": [1, "x"], "mask": "a,b.c", "flags": {"true": "COLOR_RED"}, "tree": {"name": "n"}}`} {
		if err := validateJSON(sch, []byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if _, ps := decodeArgs(json.RawMessage(in), md, protoregistry.GlobalTypes); len(ps) > 0 {
			t.Fatalf("%s: %v", in, ps)
		}
	}
}

// corpusDir returns ../shared/corpus beside the repository root (internal/testenv
// says what its absence does).
func corpusDir(t testing.TB) string {
	t.Helper()
	return testenv.Corpus(t)
}

const corpusRemotePrefix = "https://raw.githubusercontent.com/postmanlabs/wsdl-to-postman/development/test/data/separatedFiles/"

// loadWSDL loads a corpus WSDL without the network, as protogen's tests do.
func loadWSDL(corpus, file string) (*wsdl.Definitions, error) {
	fetch := func(loc string) ([]byte, error) {
		if rest, ok := strings.CutPrefix(loc, corpusRemotePrefix); ok {
			return os.ReadFile(filepath.Join(corpus, "wsdl", "postman", "imports", filepath.FromSlash(rest)))
		}
		if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
			sibling := filepath.Join(filepath.Dir(file), path.Base(loc))
			if _, err := os.Stat(sibling); err == nil {
				return os.ReadFile(sibling)
			}
			return nil, errors.New("no network in tests")
		}
		return os.ReadFile(loc)
	}
	return wsdl.Load(file, wsdl.Options{AllowRemote: true, Fetch: fetch})
}

// TestCorpusSchemas generates the .proto of every WSDL of the shared
// corpus (as `gen wsdl` does), and checks every method's input and output
// schema as JSON Schema 2020-12, with random messages round-tripping.
func TestCorpusSchemas(t *testing.T) {
	corpus := corpusDir(t)
	var files []string
	_ = filepath.WalkDir(filepath.Join(corpus, "wsdl"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wsdl") {
			files = append(files, p)
		}
		return err
	})
	samples, _ := filepath.Glob(filepath.Join(corpus, "soap-samples", "*", "soap.wsdl"))
	files = append(files, samples...)
	sort.Strings(files)
	r := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	var schemas, wsdls, checked int
	for _, file := range files {
		d, err := loadWSDL(corpus, file)
		if err != nil {
			continue // outside what the wsdl package loads (its corpus test says which)
		}
		f, err := protogen.Generate(d, protogen.Options{Package: "corpus.v1"})
		if err != nil {
			continue
		}
		fd, err := protogen.Compile(context.Background(), "corpus/v1/"+f.Name, f.Content)
		if err != nil {
			continue
		}
		wsdls++
		rel, _ := filepath.Rel(corpus, file)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			svcs := fd.Services()
			for i := 0; i < svcs.Len(); i++ {
				ms := svcs.Get(i).Methods()
				for j := 0; j < ms.Len(); j++ {
					for _, md := range []protoreflect.MessageDescriptor{ms.Get(j).Input(), ms.Get(j).Output()} {
						s := MessageSchema(md)
						if s["type"] != "object" {
							t.Errorf("%s: schema type %v", md.FullName(), s["type"])
						}
						checked += checkRoundTrip(t, md, compileSchema(t, s), r, 5)
						schemas++
					}
				}
			}
		})
	}
	t.Logf("%d schemas of %d corpus WSDLs validated, %d random messages round-tripped", schemas, wsdls, checked)
	if wsdls < 10 {
		t.Errorf("only %d corpus WSDLs generated", wsdls)
	}
}

// TestXSDFacetsInSchema: the XSD facets `gen wsdl` writes as buf.validate
// rules (adapters/soap/protogen's features.wsdl) become JSON Schema
// constraints of the tool's schema, which accepts values inside them and
// refuses values outside.
func TestXSDFacetsInSchema(t *testing.T) {
	d, err := wsdl.Load(filepath.Join("..", "..", "..", "adapters", "soap", "protogen", "testdata", "features.wsdl"), wsdl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := protogen.Generate(d, protogen.Options{Package: "features.v1"})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protogen.Compile(context.Background(), "features/v1/"+f.Name, f.Content)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().ByName("Limits")
	s := MessageSchema(md)
	props := s["properties"].(Schema)
	for field, want := range map[string]Schema{
		"code":    {"type": "string", "pattern": `^(([A-Z]{2}-\d{3}\$)|(x\^[a-z\-]+))$`, "minLength": uint64(3), "maxLength": uint64(8)},
		"percent": {"minimum": int32(0), "exclusiveMaximum": int32(101)},
		"ratio":   {"exclusiveMinimum": float64(0), "maximum": 1.5},
		"small":   {"minimum": int64(-999), "maximum": int64(999)},
	} {
		got, _ := props[field].(Schema)
		if alts, ok := got["anyOf"].([]any); ok { // double: the number branch
			got = alts[0].(Schema)
		}
		for k, v := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Errorf("%s.%s = %v, want %v (schema %v)", field, k, got[k], v, got)
			}
		}
	}
	if desc, _ := props["amount"].(Schema)["description"].(string); !strings.Contains(desc, "totalDigits 7, fractionDigits 2") {
		t.Errorf("amount's facets are not in its description: %q", desc)
	}
	sch := compileSchema(t, s)
	base := `"percent": 100, "ratio": 1.5, "digest": "` + strings.Repeat("A", 43) + `=", "level": 5, "word": "w"`
	for doc, ok := range map[string]bool{
		`{"code": "AB-123$", "codes": ["x^ab-c"], ` + base + `}`:      true,
		`{"code": "AB-12", ` + base + `}`:                             false, // pattern
		`{"code": "AB-123$", "codes": ["AB-1234$"], ` + base + `}`:    false, // item pattern and max_len
		`{"code": "AB-123$", "percent": 101, "ratio": 1, "word": ""}`: false, // lt 101
		`{"code": "AB-123$", "ratio": 0}`:                             false, // gt 0
		`{"code": "AB-123$", "small": 1000}`:                          false, // totalDigits 3
		`{"code": "AB-123$", "level": 2}`:                             false, // enumeration 1, 5
	} {
		if err := validateJSON(sch, []byte(doc)); (err == nil) != ok {
			t.Errorf("%s: valid %v, want %v (%v)", doc, err == nil, ok, err)
		}
	}
}
