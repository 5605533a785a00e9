package wirejson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/bufbuild/protocompile"
	_ "google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// testTypes compiles testdata/*.proto at run time, as the daemon compiles
// user protos, and rebuilds them as standard descriptors.
var testTypes = sync.OnceValues(func() (map[string]protoreflect.MessageDescriptor, error) {
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{"testdata"}})}
	files, err := comp.Compile(context.Background(), "wj.proto", "wj2.proto", "shop.proto")
	if err != nil {
		return nil, err
	}
	out := map[string]protoreflect.MessageDescriptor{}
	reg := new(protoregistry.Files)
	for _, f := range files {
		fd, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(f), resolver{reg})
		if err != nil {
			return nil, err
		}
		if err := reg.RegisterFile(fd); err != nil {
			return nil, err
		}
		msgs := fd.Messages()
		for i := 0; i < msgs.Len(); i++ {
			out[string(msgs.Get(i).FullName())] = msgs.Get(i)
		}
	}
	return out, nil
})

type resolver struct{ reg *protoregistry.Files }

func (r resolver) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.reg.FindFileByPath(p); err == nil {
		return fd, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(p)
}

func (r resolver) FindDescriptorByName(n protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.reg.FindDescriptorByName(n); err == nil {
		return d, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(n)
}

func messageType(tb testing.TB, name string) protoreflect.MessageDescriptor {
	tb.Helper()
	types, err := testTypes()
	if err != nil {
		tb.Fatal(err)
	}
	md := types[name]
	if md == nil {
		tb.Fatalf("no message %s", name)
	}
	return md
}

func codec(tb testing.TB, md protoreflect.MessageDescriptor) *Codec {
	tb.Helper()
	c, err := NewCodec(md)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// sameJSON compares two JSON documents as values (key order and
// whitespace aside, numbers by their text).
func sameJSON(a, b []byte) error {
	va, err := decodeJSON(a)
	if err != nil {
		return fmt.Errorf("first: %v", err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return fmt.Errorf("second: %v", err)
	}
	if !reflect.DeepEqual(va, vb) {
		return fmt.Errorf("documents differ:\n%s\n%s", a, b)
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkJSON transcodes wire and compares with protojson on the message
// proto.Unmarshal reads from it.
func checkJSON(t testing.TB, c *Codec, md protoreflect.MessageDescriptor, wire []byte) {
	t.Helper()
	got, err := c.AppendJSON(nil, wire, EncodeOptions{})
	ref := dynamicpb.NewMessage(md)
	refErr := unmarshalNoPanic(wire, ref)
	if verr := Validate(wire, md); (verr == nil) != (refErr == nil) {
		t.Fatalf("Validate: %v, proto.Unmarshal: %v\nwire %x", verr, refErr, wire)
	}
	if verr := validateMessage(wire, md, recursionLimit); (verr == nil) != (refErr == nil) {
		t.Fatalf("Validate on the descriptor: %v, proto.Unmarshal: %v\nwire %x", verr, refErr, wire)
	}
	var want []byte
	if refErr == nil {
		want, refErr = protojson.Marshal(ref)
	}
	if (err == nil) != (refErr == nil) {
		t.Fatalf("AppendJSON error %v, protojson error %v\nwire %x\ngot  %s\nwant %s", err, refErr, wire, got, want)
	}
	if err != nil {
		return
	}
	if err := sameJSON(got, want); err != nil {
		t.Fatalf("%v\nwire %x", err, wire)
	}
}

// unmarshalNoPanic is proto.Unmarshal with its panic on a map entry whose
// last key has the wrong wire type turned into an error.
func unmarshalNoPanic(wire []byte, m proto.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return proto.UnmarshalOptions{AllowPartial: true}.Unmarshal(wire, m)
}

// checkWire transcodes a JSON document and compares with protojson.
func checkWire(t testing.TB, c *Codec, md protoreflect.MessageDescriptor, doc []byte) {
	t.Helper()
	got, err := c.AppendWire(nil, doc)
	ref := dynamicpb.NewMessage(md)
	refErr := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(doc, ref)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("AppendWire error %v, protojson error %v\njson %s", err, refErr, doc)
	}
	if err != nil {
		return
	}
	m := dynamicpb.NewMessage(md)
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(got, m); err != nil {
		t.Fatalf("AppendWire wrote bad wire: %v\njson %s", err, doc)
	}
	if !proto.Equal(m, ref) {
		gj, _ := protojson.Marshal(m)
		wj, _ := protojson.Marshal(ref)
		t.Fatalf("AppendWire differs for %s\ngot  %s\nwant %s", doc, gj, wj)
	}
	if len(m.GetUnknown()) > 0 {
		t.Fatalf("AppendWire wrote unknown fields for %s: %x", doc, m.GetUnknown())
	}
}

// gen fills random messages.
type gen struct {
	r *rand.Rand
}

var sampleStrings = []string{"", "a", "hello world", "ünïcødé ✓", "quote\" back\\slash", "ctl\x01\x1f\n\t\r\b\f",
	"\u2028\u2029", "emoji 😀", "<html>&amp;", "a.b_c", "foo_bar.baz", "fooBar", "\x00", "\ufffd"}

func (g *gen) str() string {
	if g.r.IntN(4) == 0 {
		b := make([]byte, g.r.IntN(12))
		for i := range b {
			b[i] = byte(' ' + g.r.IntN(95))
		}
		return string(b)
	}
	return sampleStrings[g.r.IntN(len(sampleStrings))]
}

func (g *gen) u64() uint64 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64
	case 2:
		return uint64(g.r.IntN(300))
	case 3:
		return 1 << 63
	}
	return g.r.Uint64() >> g.r.IntN(64)
}

func (g *gen) f64() float64 {
	switch g.r.IntN(10) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return math.Copysign(0, -1)
	case 4:
		return 1e21
	case 5:
		return 1e-7
	case 6:
		return math.MaxFloat64
	case 7:
		return math.SmallestNonzeroFloat64
	}
	return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20))
}

func (g *gen) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(g.r.IntN(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if g.r.IntN(5) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(g.r.Int32N(100) - 50))
		}
		return protoreflect.ValueOfEnum(vals.Get(g.r.IntN(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(g.u64()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(g.u64()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(g.u64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(g.u64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(g.f64()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(g.f64())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(g.str())
	case protoreflect.BytesKind:
		b := make([]byte, g.r.IntN(10))
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return protoreflect.ValueOfBytes(b)
	}
	panic(fd.Kind())
}

// fill sets random fields of m; well-known types get mostly valid values.
func (g *gen) fill(m protoreflect.Message, depth int) {
	md := m.Descriptor()
	if g.wellKnown(m, depth) {
		return
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if g.r.IntN(3) != 0 {
			continue
		}
		if fd.Message() != nil && !fd.IsMap() && depth <= 0 {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for n := g.r.IntN(4); n > 0; n-- {
				if fd.Message() != nil {
					v := l.NewElement()
					g.fill(v.Message(), depth-1)
					l.Append(v)
				} else {
					l.Append(g.scalar(fd))
				}
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil && depth <= 0 {
				continue
			}
			mp := m.Mutable(fd).Map()
			for n := g.r.IntN(4); n > 0; n-- {
				k := g.scalar(fd.MapKey()).MapKey()
				if fd.MapValue().Message() != nil {
					v := mp.NewValue()
					g.fill(v.Message(), depth-1)
					mp.Set(k, v)
				} else {
					mp.Set(k, g.scalar(fd.MapValue()))
				}
			}
		case fd.Message() != nil:
			v := m.NewField(fd)
			g.fill(v.Message(), depth-1)
			m.Set(fd, v)
		default:
			m.Set(fd, g.scalar(fd))
		}
	}
}

// wellKnown fills a well-known type, true when m is one.
func (g *gen) wellKnown(m protoreflect.Message, depth int) bool {
	md := m.Descriptor()
	fields := md.Fields()
	invalid := g.r.IntN(20) == 0
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		secs := g.r.Int64N(253402300799+62135596800) - 62135596800
		nanos := g.r.Int32N(1e9)
		if g.r.IntN(2) == 0 {
			nanos = nanos / 1e6 * 1e6
		}
		if invalid {
			secs = -1e15
		}
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(secs))
		m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(nanos))
	case "google.protobuf.Duration":
		secs := g.r.Int64N(2*315576000000) - 315576000000
		nanos := g.r.Int32N(1e9)
		if secs < 0 {
			nanos = -nanos
		}
		if invalid {
			nanos = -nanos + 1
		}
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(secs))
		m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(nanos))
	case "google.protobuf.FieldMask":
		l := m.Mutable(fields.ByNumber(1)).List()
		paths := []string{"a", "foo_bar", "foo.bar_baz", "x1", "a_b_c"}
		if invalid {
			paths = append(paths, "Foo", "a__b", "_x")
		}
		for n := g.r.IntN(3); n > 0; n-- {
			l.Append(protoreflect.ValueOfString(paths[g.r.IntN(len(paths))]))
		}
	case "google.protobuf.Any":
		switch g.r.IntN(3) {
		case 0:
			a, _ := anypb.New(durationpb.New(1500000000))
			m.Set(fields.ByNumber(1), protoreflect.ValueOfString(a.TypeUrl))
			m.Set(fields.ByNumber(2), protoreflect.ValueOfBytes(a.Value))
		case 1:
			a, _ := anypb.New(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue("x")}})
			m.Set(fields.ByNumber(1), protoreflect.ValueOfString(a.TypeUrl))
			m.Set(fields.ByNumber(2), protoreflect.ValueOfBytes(a.Value))
		}
		if invalid {
			m.Set(fields.ByNumber(1), protoreflect.ValueOfString("type.googleapis.com/no.such.Type"))
		}
	case "google.protobuf.Value":
		if invalid {
			return true // no kind: an error
		}
		switch g.r.IntN(6) {
		case 0:
			m.Set(fields.ByNumber(1), protoreflect.ValueOfEnum(0))
		case 1:
			f := g.f64()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = 1.5
			}
			m.Set(fields.ByNumber(2), protoreflect.ValueOfFloat64(f))
		case 2:
			m.Set(fields.ByNumber(3), protoreflect.ValueOfString(g.str()))
		case 3:
			m.Set(fields.ByNumber(4), protoreflect.ValueOfBool(g.r.IntN(2) == 0))
		case 4:
			if depth <= 0 {
				m.Set(fields.ByNumber(4), protoreflect.ValueOfBool(true))
				break
			}
			v := m.NewField(fields.ByNumber(5))
			g.fill(v.Message(), depth-1)
			m.Set(fields.ByNumber(5), v)
		case 5:
			if depth <= 0 {
				m.Set(fields.ByNumber(3), protoreflect.ValueOfString(""))
				break
			}
			v := m.NewField(fields.ByNumber(6))
			g.fill(v.Message(), depth-1)
			m.Set(fields.ByNumber(6), v)
		}
	default:
		return false
	}
	return true
}

// wires returns encodings of random messages of type md: plain, and
// concatenations (proto merges them), with some fields duplicated.
func (g *gen) wires(md protoreflect.MessageDescriptor) [][]byte {
	var out [][]byte
	var parts [][]byte
	for range 3 {
		m := dynamicpb.NewMessage(md)
		g.fill(m, 3)
		if md.Fields().ByName("req") != nil && g.r.IntN(10) != 0 {
			m.Set(md.Fields().ByName("req"), protoreflect.ValueOfInt32(g.r.Int32()))
		}
		b, err := proto.MarshalOptions{AllowPartial: true, Deterministic: g.r.IntN(2) == 0}.Marshal(m)
		if err != nil {
			continue
		}
		parts = append(parts, b)
		out = append(out, b)
	}
	if len(parts) >= 2 {
		out = append(out, append(append([]byte(nil), parts[0]...), parts[1]...))
	}
	return out
}

func TestAppendJSONRandom(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	for _, name := range []string{"wj.All", "wj.Scalars", "wj2.P2", "wj2.Holder"} {
		md := messageType(t, name)
		c := codec(t, md)
		for range 1500 {
			for _, w := range g.wires(md) {
				checkJSON(t, c, md, w)
			}
		}
	}
}

func TestAppendWireRandom(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(3, 4))}
	for _, name := range []string{"wj.All", "wj.Scalars", "wj2.P2", "wj2.Holder"} {
		md := messageType(t, name)
		c := codec(t, md)
		for range 1500 {
			m := dynamicpb.NewMessage(md)
			g.fill(m, 3)
			for _, o := range []protojson.MarshalOptions{{}, {UseProtoNames: true}, {UseEnumNumbers: true}, {EmitUnpopulated: true}, {EmitDefaultValues: true}, {AllowPartial: true, Multiline: true}} {
				o.AllowPartial = true
				doc, err := o.Marshal(m)
				if err != nil {
					continue
				}
				checkWire(t, c, md, doc)
			}
		}
	}
}

func TestAppendWireCases(t *testing.T) {
	md := messageType(t, "wj.All")
	c := codec(t, md)
	docs := []string{
		`{}`, ` { } `, `{"scalars":{}}`, `{"scalars":null}`, `{"scalars":{"i32":"12"}}`, `{"scalars":{"i32":1e2}}`,
		`{"scalars":{"i32":1.0}}`, `{"scalars":{"i32":1.5}}`, `{"scalars":{"i32":"1e2"}}`, `{"scalars":{"i32":" 1"}}`,
		`{"scalars":{"i32":2147483648}}`, `{"scalars":{"i32":-2147483648}}`, `{"scalars":{"u32":-1}}`, `{"scalars":{"u32":"-0"}}`,
		`{"scalars":{"i64":"9223372036854775807"}}`, `{"scalars":{"i64":9223372036854775808}}`, `{"scalars":{"u64":"18446744073709551615"}}`,
		`{"scalars":{"i32":1e}}`, `{"scalars":{"i32":1E+1}}`, `{"scalars":{"i32":01}}`, `{"scalars":{"i32":-}}`, `{"scalars":{"i32":1.}}`,
		`{"scalars":{"fl":"NaN","db":"-Infinity"}}`, `{"scalars":{"fl":1e39}}`, `{"scalars":{"fl":"1.5"}}`, `{"scalars":{"db":"1e400"}}`,
		`{"scalars":{"b":"true"}}`, `{"scalars":{"b":true,"s":"x\u00e9\ud83d\ude00"}}`, `{"scalars":{"s":"\ud800"}}`, `{"scalars":{"s":"\udc00\ud800"}}`,
		`{"scalars":{"by":"aGVsbG8="}}`, `{"scalars":{"by":"aGVsbG8"}}`, `{"scalars":{"by":"-_-_"}}`, `{"scalars":{"by":"a"}}`, `{"scalars":{"by":"aGVs\nbG8="}}`,
		`{"scalars":{"e":"E_ONE"}}`, `{"scalars":{"e":"NOPE"}}`, `{"scalars":{"e":2}}`, `{"scalars":{"e":"2"}}`, `{"scalars":{"e":null}}`, `{"scalars":{"e":1.0}}`,
		`{"re":["E_ONE","NOPE",2]}`, `{"re":[null]}`, `{"ri32":[]}`, `{"ri32":null}`, `{"ri32":[1,"2",3e0]}`, `{"ri32":[1,]}`, `{"unpacked":[1,2]}`,
		`{"cI32":1,"cS":"x"}`, `{"cI32":null,"cS":"x"}`, `{"c_i32":0}`, `{"cE":"NOPE","cS":"x"}`, `{"cI32":1,"c_i32":2}`,
		`{"mSs":{"a":"b","a":"c"}}`, `{"mLl":{"1":"2","01":"3"}}`, `{"mLl":{"+1":"2"}}`, `{"mBb":{"true":"","false":"AA=="}}`, `{"mBb":{"yes":""}}`,
		`{"mUe":{"1":"NOPE","1":"E_ONE"}}`, `{"mUe":{"1":null}}`, `{"mIm":{"1":null}}`, `{"mUv":{"1":null,"2":[1,{"a":null}]}}`, `{"mSd":{"-5":"NaN"}}`,
		`{"ts":"1970-01-01T00:00:00Z"}`, `{"ts":"2024-02-29T12:34:56.123456789+01:00"}`, `{"ts":"2024-02-29T12:34:56.1234567891Z"}`, `{"ts":"0000-01-01T00:00:00Z"}`, `{"ts":1}`,
		`{"dur":"1.5s"}`, `{"dur":"-0.5s"}`, `{"dur":".5s"}`, `{"dur":"1.s"}`, `{"dur":"1.0000000001s"}`, `{"dur":"315576000001s"}`, `{"dur":"s"}`, `{"dur":"+1s"}`,
		`{"wI32":0}`, `{"wI32":null}`, `{"wS":""}`, `{"wBy":""}`, `{"wB":false}`, `{"wI64":"5"}`, `{"rw":[1,null]}`, `{"rw":["1",2]}`,
		`{"st":{}}`, `{"st":{"a":null,"b":[true,1.5,"x",{}],"c":{"d":[]}}}`, `{"st":null}`, `{"st":[]}`, `{"val":null}`, `{"val":1e400}`, `{"val":[]}`, `{"val":{}}`,
		`{"lv":[]}`, `{"lv":[null,null]}`, `{"lv":{}}`, `{"rval":[null]}`, `{"rval":null}`, `{"nv":null}`, `{"nv":"NULL_VALUE"}`, `{"nv":0}`, `{"rnv":[null,0]}`,
		`{"fm":""}`, `{"fm":"a,fooBar,x.yZ"}`, `{"fm":" a "}`, `{"fm":"a_b"}`, `{"fm":"a,,b"}`, `{"fm":"1a"}`,
		`{"any":{}}`, `{"any":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1s"}}`, `{"any":{"x":1}}`, `{"any":{"@type":"nope"}}`,
		`{"empty":{}}`, `{"empty":{"x":[1,2]}}`, `{"empty":null}`,
		`{"otherName":"x"}`, `{"named":"x"}`, `{"named":"x","otherName":"y"}`, `{"fieldWithUnderscore2":1}`, `{"field_with_underscore_2":1}`, `{"bigNumber":1}`,
		`{"unknown":{"a":[1,{"b":null}]},"x":1}`, `{"unknown":[1,]}`, `{"unknown":nul}`, `{"unknown":"\x"}`, `{"[foo.bar]":1}`, `{"[google.api.http]":{}}`,
		`{"oVal":null}`, `{"oVal":null,"oSt":{}}`, `{"oNv":null,"oSt":{}}`, `{"oSt":null,"oVal":1}`,
		`{"child":{"child":{"scalars":{"s":"deep"}}}}`, `{"children":[{},{"cS":"x"},null]}`, `{"mFa":{"7":{"child":{}}}}`,
		`{"scalars":{}} x`, `{"scalars":{}}}`, `{"scalars"}`, `[]`, `null`, `{"a":1 "b":2}`, `{"s":"x"`, "{\"scalars\":{\"s\":\"a\tb\"}}", "{\"scalars\":{\"s\":\"\xff\"}}",
		`{"scalars":{"i32":-0}}`, `{"scalars":{"i32":"-0"}}`, `{"scalars":{"i32":0.0e5}}`, `{"scalars":{"i64":100000000000000000000e-2}}`, `{"scalars":{"u64":1e19}}`, `{"scalars":{"u64":1e20}}`,
		`{"scalars":{"i32":truex}}`, `{"scalars":{"b":true1}}`, `{"scalars":{"fl":"Infinity "}}`,
	}
	for _, doc := range docs {
		checkWire(t, c, md, []byte(doc))
	}
	md2 := messageType(t, "wj2.P2")
	c2 := codec(t, md2)
	for _, doc := range []string{`{}`, `{"req":1}`, `{"req":null}`, `{"req":1,"g":{"a":1}}`, `{"req":1,"G":{"a":1}}`, `{"req":1,"rg":[{"x":1},{}]}`,
		`{"req":1,"child":{}}`, `{"req":1,"child":{"req":2}}`, `{"req":1,"c":"C_ALIAS_B"}`, `{"req":1,"c":7}`, `{"req":1,"mc":{"a":"1"}}`} {
		checkWire(t, c2, md2, []byte(doc))
	}
}

func TestAppendJSONCases(t *testing.T) {
	md := messageType(t, "wj.All")
	c := codec(t, md)
	tag := func(n protowire.Number, t protowire.Type) []byte { return protowire.AppendTag(nil, n, t) }
	msg := func(n protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(tag(n, protowire.BytesType), b)
	}
	varint := func(n protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(tag(n, protowire.VarintType), v)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	wires := [][]byte{
		nil,
		varint(2, 5),                  // ri32 unpacked element
		msg(2, []byte{1, 2, 0x80, 1}), // ri32 packed
		msg(2, nil),                   // empty packed run: unpopulated
		cat(msg(2, []byte{1}), varint(2, 2), msg(2, []byte{3})),
		msg(2, []byte{0x80}),                              // truncated packed varint
		varint(23, 1),                                     // oneof int
		cat(varint(23, 1), msg(24, []byte("x"))),          // later member wins
		cat(msg(25, varint(1, 1)), msg(25, varint(2, 2))), // merged
		cat(msg(25, varint(1, 1)), varint(23, 3), msg(25, varint(2, 2))),
		cat(msg(25, []byte{0xff}), varint(23, 3)), // invalid loser
		cat(msg(1, varint(1, 1)), msg(1, varint(16, 2))),
		msg(1, varint(1, 1<<32)), // int32 truncation to zero
		msg(1, varint(16, 1<<33|1)),
		varint(1, 5),                  // wrong wire type: unknown
		msg(1, msg(14, []byte{0xff})), // invalid UTF-8 in proto3
		cat(msg(28, cat(msg(1, []byte("k")), msg(2, []byte("v")))), msg(28, cat(msg(1, []byte("k")), msg(2, []byte("w"))))),
		msg(28, nil),          // entry with neither key nor value
		msg(29, varint(1, 7)), // missing message value
		msg(29, cat(varint(1, 7), msg(2, varint(1, 1)), msg(2, varint(2, 2)))),
		msg(31, varint(1, 3)), // missing enum value
		msg(30, cat(varint(1, math.MaxUint64), varint(1, 2), varint(2, 9))),
		msg(33, cat(varint(1, 3), tag(2, protowire.Fixed64Type), make([]byte, 8))),
		msg(51, nil), // Value without kind
		msg(51, cat(varint(1, 0), msg(3, []byte("s")))),
		msg(51, cat(msg(5, nil), msg(5, msg(1, cat(msg(1, []byte("a")), msg(2, varint(4, 1))))))),
		msg(39, cat(varint(1, 1), varint(2, 5e8))),
		msg(40, cat(varint(1, 1), varint(2, math.MaxUint64))),
		msg(53, cat(msg(1, []byte("a_b")), msg(1, []byte("c")))),
		msg(42, nil),
		msg(50, nil),
		msg(52, nil),
		msg(54, nil),
		cat(tag(99, protowire.StartGroupType), varint(1, 1), tag(99, protowire.EndGroupType)),
		cat(tag(99, protowire.StartGroupType), varint(1, 1)),
		tag(0, protowire.VarintType),
		varint(59, 3),
		cat(varint(19, 0), msg(20, nil), varint(21, 0)),
	}
	for _, w := range wires {
		checkJSON(t, c, md, w)
	}
}

func TestSkip(t *testing.T) {
	md := messageType(t, "wj.All")
	c := codec(t, md)
	m := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(`{"scalars":{"i32":1,"s":"x"},"named":"n","child":{"named":"c"}}`), m); err != nil {
		t.Fatal(err)
	}
	wire, _ := proto.Marshal(m)
	got, err := c.AppendJSON(nil, wire, EncodeOptions{Skip: FieldSet{1: {14: nil}, 61: nil}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sameJSON(got, []byte(`{"scalars":{"i32":1},"child":{"otherName":"c"}}`)); err != nil {
		t.Fatal(err)
	}
}

func TestInt64AsNumbers(t *testing.T) {
	md := messageType(t, "wj.All")
	c := codec(t, md)
	m := dynamicpb.NewMessage(md)
	doc := `{"scalars":{"i64":"-5","u64":"18446744073709551615","s64":"1","i32":3},"wI64":"7","rw":["1"],"mLl":{"1":"2"},"mW":{"a":"3"},` +
		`"any":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"4"},"ts":"1970-01-01T00:00:01Z"}`
	if err := protojson.Unmarshal([]byte(doc), m); err != nil {
		t.Fatal(err)
	}
	wire, _ := proto.Marshal(m)
	got, err := c.AppendJSON(nil, wire, EncodeOptions{Int64AsNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"scalars":{"i64":-5,"u64":18446744073709551615,"s64":1,"i32":3},"wI64":7,"rw":[1],"mLl":{"1":2},"mW":{"a":3},` +
		`"any":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"4"},"ts":"1970-01-01T00:00:01Z"}`
	if err := sameJSON(got, []byte(want)); err != nil {
		t.Fatal(err)
	}
}

func TestNewCodecRefuses(t *testing.T) {
	// google.api.http extends MethodOptions in the global registry.
	if _, err := NewCodec((&descriptorpb.MethodOptions{}).ProtoReflect().Descriptor()); err == nil {
		t.Error("a message with registered extensions was accepted")
	}
	if _, err := NewCodec((&anypb.Any{}).ProtoReflect().Descriptor()); err != nil {
		t.Errorf("Any: %v", err)
	}
}
