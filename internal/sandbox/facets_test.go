package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"buf.build/go/protovalidate"

	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// facetsWSDL answers GetCode with values whose types carry every facet
// the mock respects.
const facetsWSDL = `<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:facets" targetNamespace="urn:facets">
  <types>
    <xs:schema targetNamespace="urn:facets" elementFormDefault="qualified">
      <xs:simpleType name="Sku"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{3}-[0-9]{4}"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Color"><xs:restriction base="xs:string"><xs:enumeration value="red"/><xs:enumeration value="green"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Short"><xs:restriction base="xs:string"><xs:minLength value="2"/><xs:maxLength value="3"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Long"><xs:restriction base="xs:string"><xs:length value="40"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Percent"><xs:restriction base="xs:int"><xs:minInclusive value="200"/><xs:maxExclusive value="301"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Price"><xs:restriction base="xs:decimal"><xs:totalDigits value="4"/><xs:fractionDigits value="2"/><xs:minExclusive value="10"/></xs:restriction></xs:simpleType>
      <xs:element name="GetCode"><xs:complexType><xs:sequence><xs:element name="id" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="GetCodeResponse"><xs:complexType><xs:sequence>
        <xs:element name="sku" type="tns:Sku"/>
        <xs:element name="color" type="tns:Color" maxOccurs="unbounded"/>
        <xs:element name="short" type="tns:Short"/>
        <xs:element name="long" type="tns:Long"/>
        <xs:element name="percent" type="tns:Percent"/>
        <xs:element name="price" type="tns:Price"/>
      </xs:sequence><xs:attribute name="tag" type="tns:Short"/></xs:complexType></xs:element>
    </xs:schema>
  </types>
  <message name="In"><part name="p" element="tns:GetCode"/></message>
  <message name="Out"><part name="p" element="tns:GetCodeResponse"/></message>
  <portType name="Codes"><operation name="GetCode"><input message="tns:In"/><output message="tns:Out"/></operation></portType>
  <binding name="CodesSoap" type="tns:Codes"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetCode"><soap:operation soapAction="urn:GetCode"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="Codes"><port name="CodesSoap" binding="tns:CodesSoap"><soap:address location="http://127.0.0.1:9/codes"/></port></service>
</definitions>`

func TestMockRespectsXSDFacets(t *testing.T) {
	for _, withWSDL := range []bool{true, false} {
		t.Run(map[bool]string{true: "mock.wsdl", false: "buf.validate rules of gen wsdl"}[withWSDL], func(t *testing.T) { mockFacets(t, withWSDL) })
	}
}

// mockFacets checks the mock's answers against the WSDL's facets, with the
// WSDL given as mock.wsdl, or against the buf.validate rules gen wsdl
// writes into the .proto from them (with protovalidate) when it is not.
func mockFacets(t *testing.T, withWSDL bool) {
	p := filepath.Join(t.TempDir(), "codes.wsdl")
	if err := os.WriteFile(p, []byte(facetsWSDL), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := wsdl.Load(p, wsdl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := protogen.Generate(d, protogen.Options{Package: "codes.v1"})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protogen.Compile(context.Background(), "codes/v1/"+f.Name, f.Content)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Services().Get(0).Methods().ByName("GetCode")
	ro, _ := bridge.ReadOption(md.Options(), pbv1.E_Route).(*pbv1.RouteOptions)
	u := &bridge.Upstream{Name: "codes", Kind: "soap", BaseURL: "http://127.0.0.1:9/codes"}
	sb := New(Flags{}, "test", nil)
	c := &Config{Mode: Mock, Mock: MockConfig{Items: 3}}
	if withWSDL {
		c.Mock.WSDL = p
	}
	wrap, err := sb.Transport(u, c, "", bridge.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	factory, _ := bridge.LookupAdapter("soap")
	a, err := factory(u, &bridge.Env{WrapTransport: wrap})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := &bridge.Route{Method: md, Upstream: u, Options: ro}
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	ep = sb.Endpoint(r, ep)
	m := &mocker{defs: d}
	for i := 0; i < 20; i++ {
		req := (&generator{r: newRand(uint64(i)), items: 1}).message(md.Input(), nil)
		out, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: req})
		if err != nil {
			t.Fatal(err)
		}
		// Six values with facets besides the colors (an enum: its literals are the facet): sku, short, long, percent, price, tag.
		if !withWSDL {
			// The rules gen wsdl wrote, checked by protovalidate.
			if err := protovalidate.Validate(out); err != nil {
				t.Fatalf("%v breaks its buf.validate rules: %v", out, err)
			}
			continue
		}
		if n := checkFacets(t, "GetCode", out.ProtoReflect(), m.schemaType(ro.GetSoap(), md.Output()), 0); n < 6 {
			t.Fatalf("%d values checked in %v", n, out)
		}
	}
}
