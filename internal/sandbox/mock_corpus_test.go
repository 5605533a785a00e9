package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	_ "github.com/protobridge/protobridge/adapters/soap"
	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
)

// TestMockAnswersOfTheWSDLCorpusDecode mocks every SOAP operation of every
// WSDL of the shared corpus that gen wsdl turns into a service, and has
// the soap adapter — strict, as configured by default — decode each
// answer: every mocked envelope must round-trip through the schema-driven
// codec into the operation's output message, and obey the facets — as
// the WSDL states them and as the buf.validate rules gen wsdl wrote
// (checked by protovalidate). Two runs with the same seed
// must answer alike.
func TestMockAnswersOfTheWSDLCorpusDecode(t *testing.T) {
	root := testenv.Corpus(t, "wsdl")
	var wsdls []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wsdl") {
			wsdls = append(wsdls, p)
		}
		return nil
	})
	if len(wsdls) < 50 {
		t.Fatalf("the corpus holds %d WSDL files; want the shared corpus", len(wsdls))
	}
	sb := New(Flags{Mode: Mock}, "test", nil)
	ops, generated, empty, checked := 0, 0, 0, 0
	for _, p := range wsdls {
		rel, _ := filepath.Rel(root, p)
		d, err := wsdl.Load(p, wsdl.Options{})
		if err != nil {
			continue // a WSDL the loader refuses says so in its own tests
		}
		f, err := protogen.Generate(d, protogen.Options{Package: "mock.v1"})
		if err != nil {
			continue
		}
		fd, err := protogen.Compile(context.Background(), "mock/v1/"+f.Name, f.Content)
		if err != nil {
			continue
		}
		generated++
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			u := &bridge.Upstream{Name: "up", Kind: "soap", BaseURL: "http://127.0.0.1:9/soap"}
			wrap, err := sb.Transport(u, &Config{Mock: MockConfig{WSDL: p}}, "", bridge.NewRedactor())
			if err != nil {
				t.Fatal(err)
			}
			factory, _ := bridge.LookupAdapter("soap")
			a, err := factory(u, &bridge.Env{WrapTransport: wrap})
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				ro, _ := bridge.ReadOption(md.Options(), pbv1.E_Route).(*pbv1.RouteOptions)
				if ro.GetSoap() == nil || ro.GetSoap().GetOneWay() {
					continue
				}
				r := &bridge.Route{Method: md, Upstream: u, Options: ro}
				ep, err := a.Bind(r)
				if err != nil {
					continue
				}
				ep = sb.Endpoint(r, ep)
				// A request that the codec can write: required values set.
				req := (&generator{r: newRand(1), items: 1}).message(md.Input(), nil)
				call := func() proto.Message {
					out, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: req})
					if err != nil {
						t.Errorf("%s %s: the mock's answer does not decode: %v", rel, md.FullName(), err)
					}
					return out
				}
				first, second := call(), call()
				if first == nil || second == nil {
					continue
				}
				// The buf.validate rules gen wsdl wrote from the facets, by protovalidate.
				if err := protovalidate.Validate(first); err != nil {
					t.Errorf("%s %s: the mocked answer breaks its rules: %v", rel, md.FullName(), err)
				}
				m := &mocker{defs: d}
				checked += checkFacets(t, rel+" "+string(md.FullName()), first.ProtoReflect(), m.schemaType(ro.GetSoap(), md.Output()), 0)
				if !proto.Equal(first, second) {
					t.Errorf("%s %s: the same request got two answers:\n%v\n%v", rel, md.FullName(), first, second)
				}
				if md.Output().Fields().Len() > 0 && len(protojson.Format(first)) <= 2 {
					empty++ // a lone false or zero is fine; most answers hold values
				}
				ops++
			}
			_ = a.Close()
		}
	}
	t.Logf("%d WSDL files generated services; %d operations mocked and decoded; %d values checked against their facets", generated, ops, checked)
	if checked == 0 {
		t.Error("no mocked value had facets to check")
	}
	if empty > ops/20 {
		t.Errorf("%d of %d mocked answers are empty", empty, ops)
	}
	if ops < 100 {
		t.Fatalf("only %d operations were mocked; the corpus has many more", ops)
	}
}

// checkFacets checks every scalar of m whose schema type has facets
// against them and returns how many it checked.
func checkFacets(t *testing.T, where string, m protoreflect.Message, typ wsdl.Type, depth int) int {
	if typ == nil || depth > maxDepth {
		return 0
	}
	n := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		ft := schemaOf(typ, fd)
		if ft == nil {
			return true
		}
		var vals []protoreflect.Value
		switch {
		case fd.IsMap():
			return true
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				vals = append(vals, v.List().Get(i))
			}
		default:
			vals = []protoreflect.Value{v}
		}
		for _, x := range vals {
			if fd.Kind() == protoreflect.MessageKind {
				n += checkFacets(t, where, x.Message(), ft, depth+1)
				continue
			}
			st := simpleOf(ft)
			if st == nil || fd.Kind() == protoreflect.EnumKind || fd.Kind() == protoreflect.BoolKind || fd.Kind() == protoreflect.BytesKind {
				continue
			}
			s := fmt.Sprint(x.Interface())
			f := st.Facets
			bad := ""
			switch {
			case len(f.Enumeration) > 0 && !slices.ContainsFunc(f.Enumeration, func(e wsdl.Enumeration) bool { return e.Value == s }):
				bad = "not one of the enumeration"
			case f.Length != nil && utf8.RuneCountInString(s) != *f.Length,
				f.MinLength != nil && utf8.RuneCountInString(s) < *f.MinLength,
				f.MaxLength != nil && utf8.RuneCountInString(s) > *f.MaxLength:
				bad = "of a length outside the facets"
			case outside(s, f):
				bad = "outside the range"
			}
			for _, p := range f.Patterns {
				if re, err := regexp.Compile(`^(?:` + p + `)$`); err == nil && !re.MatchString(s) {
					bad = "not matching the pattern " + p
				}
			}
			if len(f.Enumeration)+len(f.Patterns) > 0 || f.Length != nil || f.MinLength != nil || f.MaxLength != nil || f.MinInclusive != nil || f.MaxInclusive != nil || f.MinExclusive != nil || f.MaxExclusive != nil {
				n++
			}
			if bad != "" {
				t.Errorf("%s: %s = %q is %s", where, fd.Name(), s, bad)
			}
		}
		return true
	})
	return n
}

func outside(s string, f wsdl.Facets) bool {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false
	}
	for _, c := range []struct {
		p   *string
		bad func(v, b float64) bool
	}{
		{f.MinInclusive, func(v, b float64) bool { return v < b }},
		{f.MaxInclusive, func(v, b float64) bool { return v > b }},
		{f.MinExclusive, func(v, b float64) bool { return v <= b }},
		{f.MaxExclusive, func(v, b float64) bool { return v >= b }},
	} {
		if c.p == nil {
			continue
		}
		if b, err := strconv.ParseFloat(*c.p, 64); err == nil && c.bad(v, b) {
			return true
		}
	}
	return false
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 2)) }
