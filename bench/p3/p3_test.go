package p3

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/bench/internal/ratio"
	"github.com/protobridge/protobridge/gen/soap/calculator"
	"github.com/protobridge/protobridge/gen/soap/checkvat"
)

var (
	p3     = flag.Bool("p3", false, "print the P3 figures and the BENCH P3 line")
	rounds = flag.Int("p3.rounds", 5, "rounds of both sides, alternating; medians are reported")
)

// The wire bodies both sides decode: what a server sends (requests) and
// answers (responses), namespace-exact per the WSDLs (calculator:
// elementFormDefault unqualified; checkVat: qualified).
var (
	addRequestXML  = []byte(`<tns:Add xmlns:tns="http://tempuri.org/"><intA>1234</intA><intB>5678</intB></tns:Add>`)
	addResponseXML = []byte(`<tns:AddResponse xmlns:tns="http://tempuri.org/"><AddResult>6912</AddResult></tns:AddResponse>`)
	vatRequestXML  = []byte(`<v:checkVat xmlns:v="urn:ec.europa.eu:taxud:vies:services:checkVat:types">` +
		`<v:countryCode>DE</v:countryCode><v:vatNumber>123456789</v:vatNumber></v:checkVat>`)
	vatResponseXML = []byte(`<v:checkVatResponse xmlns:v="urn:ec.europa.eu:taxud:vies:services:checkVat:types">` +
		`<v:countryCode>DE</v:countryCode><v:vatNumber>123456789</v:vatNumber><v:requestDate>2026-11-28+01:00</v:requestDate>` +
		`<v:valid>true</v:valid><v:name>ACME Werkzeuge GmbH</v:name><v:address>Hauptstr. 1 10115 Berlin</v:address></v:checkVatResponse>`)
)

// The values both sides encode (the same as the wire bodies hold).
const (
	addRequestJSON  = `{"intA": 1234, "intB": 5678}`
	addResponseJSON = `{"addResult": 6912}`
	vatRequestJSON  = `{"countryCode": "DE", "vatNumber": "123456789"}`
	vatResponseJSON = `{"countryCode": "DE", "vatNumber": "123456789", "requestDate": "2026-11-28+01:00", "valid": true,
		"name": "ACME Werkzeuge GmbH", "address": "Hauptstr. 1 10115 Berlin"}`
)

// body is one SOAP body element on protobridge's side: its plan, its
// element name, the message to encode and the wire bytes to decode.
type body struct {
	plan *xmlcodec.Plan
	name xml.Name
	msg  *dynamicpb.Message
	wire []byte
}

// protobridgeSide is the codec work of protobridge: the four bodies.
type protobridgeSide struct{ bodies []body }

// corpus is ../shared/corpus beside the repository.
func corpus(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "corpus"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("corpus %s is missing: %v", dir, err)
	}
	return dir
}

// generate does what `protobridge gen wsdl` does for a WSDL (load, generate,
// compile) and returns the service's method called name.
func generate(tb testing.TB, file, pkg, name string) protoreflect.MethodDescriptor {
	tb.Helper()
	d, err := wsdl.Load(file, wsdl.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := protogen.Generate(d, protogen.Options{Package: pkg})
	if err != nil {
		tb.Fatal(err)
	}
	fd, err := protogen.Compile(context.Background(), filepath.ToSlash(filepath.Join(pkg, f.Name)), f.Content)
	if err != nil {
		tb.Fatal(err)
	}
	md := fd.Services().Get(0).Methods().ByName(protoreflect.Name(name))
	if md == nil {
		tb.Fatalf("%s has no method %s", file, name)
	}
	return md
}

func newBody(tb testing.TB, md protoreflect.MessageDescriptor, name xml.Name, text string, wire []byte) body {
	tb.Helper()
	plan, err := xmlcodec.Compile(md)
	if err != nil {
		tb.Fatal(err)
	}
	msg := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(text), msg); err != nil {
		tb.Fatal(err)
	}
	return body{plan: plan, name: name, msg: msg, wire: wire}
}

func newProtobridgeSide(tb testing.TB) *protobridgeSide {
	tb.Helper()
	c := corpus(tb)
	add := generate(tb, filepath.Join(c, "wsdl", "postman", "valid", "calculator-soap11and12.wsdl"), "calculator.v1", "Add")
	vat := generate(tb, filepath.Join(c, "wsdl", "public", "checkVatService.wsdl"), "check_vat.v1", "CheckVat")
	const tempuri, vies = "http://tempuri.org/", "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
	return &protobridgeSide{bodies: []body{
		newBody(tb, add.Input(), xml.Name{Space: tempuri, Local: "Add"}, addRequestJSON, addRequestXML),
		newBody(tb, add.Output(), xml.Name{Space: tempuri, Local: "AddResponse"}, addResponseJSON, addResponseXML),
		newBody(tb, vat.Input(), xml.Name{Space: vies, Local: "checkVat"}, vatRequestJSON, vatRequestXML),
		newBody(tb, vat.Output(), xml.Name{Space: vies, Local: "checkVatResponse"}, vatResponseJSON, vatResponseXML),
	}}
}

// encode writes one body.
func (b body) encode() ([]byte, error) {
	w := xmlcodec.NewWriter()
	if err := b.plan.EncodeElement(w, b.name, b.msg); err != nil {
		return nil, err
	}
	return w.Bytes()
}

// decode reads the body's wire bytes into a new message.
func (b body) decode() (*dynamicpb.Message, error) {
	d := xmlcodec.NewDecoder(bytes.NewReader(b.wire), xmlcodec.Limits{})
	start, err := d.Root()
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(b.msg.Descriptor())
	if err := b.plan.DecodeElement(d, start, m); err != nil {
		return nil, err
	}
	return m, d.Finish()
}

// run encodes and decodes the four bodies once.
func (s *protobridgeSide) run() error {
	for _, b := range s.bodies {
		if _, err := b.encode(); err != nil {
			return err
		}
		if _, err := b.decode(); err != nil {
			return err
		}
	}
	return nil
}

// gowsdlSide is the same work with the gowsdl-generated structs: the same
// values, built once (as protobridge's messages are), marshalled with
// encoding/xml, and the same wire bytes unmarshalled into new structs.
type gowsdlSide struct {
	add     *calculator.Add
	addResp *calculator.AddResponse
	vat     *checkvat.CheckVat
	vatResp *checkvat.CheckVatResponse
}

func newGowsdlSide(tb testing.TB) *gowsdlSide {
	tb.Helper()
	// The response's soap.XSDDate, read from the wire as gowsdl reads it.
	var resp checkvat.CheckVatResponse
	if err := xml.Unmarshal(vatResponseXML, &resp); err != nil {
		tb.Fatal(err)
	}
	name, address := "ACME Werkzeuge GmbH", "Hauptstr. 1 10115 Berlin"
	return &gowsdlSide{
		add:     &calculator.Add{IntA: 1234, IntB: 5678},
		addResp: &calculator.AddResponse{AddResult: 6912},
		vat:     &checkvat.CheckVat{CountryCode: "DE", VatNumber: "123456789"},
		vatResp: &checkvat.CheckVatResponse{CountryCode: "DE", VatNumber: "123456789", RequestDate: resp.RequestDate, Valid: true, Name: &name, Address: &address},
	}
}

// run encodes and decodes the four bodies once.
func (s *gowsdlSide) run() error {
	for _, c := range []struct {
		v    any
		wire []byte
		into any
	}{
		{s.add, addRequestXML, new(calculator.Add)},
		{s.addResp, addResponseXML, new(calculator.AddResponse)},
		{s.vat, vatRequestXML, new(checkvat.CheckVat)},
		{s.vatResp, vatResponseXML, new(checkvat.CheckVatResponse)},
	} {
		if _, err := xml.Marshal(c.v); err != nil {
			return err
		}
		if err := xml.Unmarshal(c.wire, c.into); err != nil {
			return err
		}
	}
	return nil
}

// TestSameWork checks both sides do the same work: protobridge's encodings
// are the wire bodies, infoset for infoset, and its decodings are the
// values it encodes; gowsdl's decodings hold the same values, and its
// encodings are the wire bodies except where gowsdl does not follow the
// schema (logged: the calculator's unqualified intA, intB and AddResult
// inherit the default namespace gowsdl declares).
func TestSameWork(t *testing.T) {
	pb, gw := newProtobridgeSide(t), newGowsdlSide(t)
	for _, b := range pb.bodies {
		out, err := b.encode()
		if err != nil {
			t.Fatal(err)
		}
		if diff, err := xmltest.Diff(b.wire, out, xmltest.Options{}); err != nil || diff != "" {
			t.Errorf("protobridge writes %s unlike the wire body (-wire +protobridge), %v:\n%s", b.name.Local, err, diff)
		}
		m, err := b.decode()
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m, b.msg) {
			t.Errorf("protobridge reads %s as %v, want %v", b.name.Local, m, b.msg)
		}
	}
	var (
		add     calculator.Add
		addResp calculator.AddResponse
		vat     checkvat.CheckVat
		vatResp checkvat.CheckVatResponse
	)
	for _, c := range []struct {
		wire []byte
		into any
	}{{addRequestXML, &add}, {addResponseXML, &addResp}, {vatRequestXML, &vat}, {vatResponseXML, &vatResp}} {
		if err := xml.Unmarshal(c.wire, c.into); err != nil {
			t.Fatal(err)
		}
	}
	if add.IntA != gw.add.IntA || add.IntB != gw.add.IntB || addResp.AddResult != gw.addResp.AddResult ||
		vat.CountryCode != gw.vat.CountryCode || vat.VatNumber != gw.vat.VatNumber || vatResp.CountryCode != "DE" || !vatResp.Valid || vatResp.Name == nil || *vatResp.Name != *gw.vatResp.Name ||
		vatResp.Address == nil || *vatResp.Address != *gw.vatResp.Address {
		t.Errorf("gowsdl reads other values: %+v %+v %+v %+v", add, addResp, vat, vatResp)
	}
	for _, c := range []struct {
		v     any
		wire  []byte
		exact bool
	}{{gw.add, addRequestXML, false}, {gw.addResp, addResponseXML, false}, {gw.vat, vatRequestXML, true}, {gw.vatResp, vatResponseXML, true}} {
		out, err := xml.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		diff, err := xmltest.Diff(c.wire, out, xmltest.Options{})
		switch {
		case err != nil:
			t.Fatal(err)
		case diff != "" && c.exact:
			t.Errorf("gowsdl writes %T unlike the wire body (-wire +gowsdl):\n%s", c.v, diff)
		case diff != "":
			t.Logf("gowsdl writes %T unlike the schema (-wire +gowsdl):\n%s", c.v, diff)
		}
	}
}

// BenchmarkCodec encodes and decodes the four bodies (Add request and
// response, checkVat request and response) once per op, on each side.
func BenchmarkCodec(b *testing.B) {
	pb, gw := newProtobridgeSide(b), newGowsdlSide(b)
	b.Run("protobridge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pb.run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gowsdl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := gw.run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBenchP3 runs both sides in alternating rounds and prints the medians
// and the BENCH P3 lines (ratios protobridge ÷ gowsdl) when run with -p3:
// soap-codec for the four small bodies, soap-codec-large for the
// Salesforce-style queryResponse (query_test.go), whose decode and encode
// alone are also shown.
//
//	go test ./p3 -run TestBenchP3 -p3 -v
func TestBenchP3(t *testing.T) {
	if !*p3 {
		t.Skip("run with -p3 to print the BENCH P3 line")
	}
	pb, gw, q := newProtobridgeSide(t), newGowsdlSide(t), newQuery(t)
	small := compare(t, pb.run, gw.run)
	large := compare(t, q.protobridge, q.gowsdl)
	largeDecode := compare(t, q.protobridgeDecode, q.gowsdlDecode)
	largeEncode := compare(t, q.protobridgeEncode, q.gowsdlEncode)

	var rs ratio.Set
	var lines []string
	abs := func(label, what string, m measured) {
		for _, side := range []string{"protobridge", "gowsdl"} {
			lines = append(lines, fmt.Sprintf("P3 %s%-11s ns/op=%.0f allocs/op=%.0f B/op=%.0f  [median of %d rounds; one op = %s]",
				label, side, median(m.ns[side]), median(m.allocs[side]), median(m.bytes[side]), *rounds, what))
		}
	}
	ratios := func(prefix, what string, m measured) {
		lines = append(lines, fmt.Sprintf("%s protobridge/gowsdl time=%.2f allocs=%.2f", prefix,
			rs.Of("P3 "+what+" time protobridge/gowsdl", median(m.ns["protobridge"]), median(m.ns["gowsdl"])),
			rs.Of("P3 "+what+" allocs protobridge/gowsdl", median(m.allocs["protobridge"]), median(m.allocs["gowsdl"]))))
	}
	abs("", "Add and checkVat, request and response, each encoded and decoded", small)
	ratios("BENCH P3 soap-codec", "soap-codec", small)
	largeWhat := fmt.Sprintf("a Salesforce-style queryResponse of %d Contact records (%d KB), encoded and decoded", queryRecords, len(q.wire)/1024)
	abs("large ", largeWhat, large)
	ratios("P3 large decode", "large decode", largeDecode)
	ratios("P3 large encode", "large encode", largeEncode)
	ratios("BENCH P3 soap-codec-large", "soap-codec-large", large)
	if err := rs.Err(); err != nil {
		t.Fatalf("no BENCH P3 lines: %v", err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
}

// measured are the samples of both sides of one comparison, by side name.
type measured struct{ ns, allocs, bytes map[string][]float64 }

// compare runs protobridge's and gowsdl's op in -p3.rounds alternating
// rounds, each a testing.Benchmark of one side.
func compare(t *testing.T, protobridge, gowsdl func() error) measured {
	t.Helper()
	sides := []struct {
		name string
		run  func() error
	}{{"protobridge", protobridge}, {"gowsdl", gowsdl}}
	m := measured{ns: map[string][]float64{}, allocs: map[string][]float64{}, bytes: map[string][]float64{}}
	for r := range *rounds {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, i := range order {
			s := sides[i]
			res := testing.Benchmark(func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := s.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
			if res.N == 0 {
				t.Fatalf("%s did not run", s.name)
			}
			m.ns[s.name] = append(m.ns[s.name], float64(res.NsPerOp()))
			m.allocs[s.name] = append(m.allocs[s.name], float64(res.AllocsPerOp()))
			m.bytes[s.name] = append(m.bytes[s.name], float64(res.AllocedBytesPerOp()))
		}
	}
	return m
}

// median is the median of xs, ratio.Missing (NaN) when there are none.
var median = ratio.Median
