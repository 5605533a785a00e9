package wsdl

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memFS serves documents from memory by absolute path under /mem.
func memFS(files map[string]string) Options {
	return Options{Fetch: func(loc string) ([]byte, error) {
		if s, ok := files[filepath.ToSlash(loc)]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}}
}

const (
	tnsA = "urn:a"
	tnsB = "urn:b"
)

// featureFiles exercise the XSD and WSDL features the model must resolve.
var featureFiles = map[string]string{
	"/mem/svc.wsdl": `<?xml version="1.0"?>
<wsdl:definitions name="Svc" targetNamespace="urn:a"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:a="urn:a" xmlns:b="urn:b">
  <wsdl:types>
    <xs:schema targetNamespace="urn:a" elementFormDefault="qualified">
      <xs:import namespace="urn:b" schemaLocation="b.xsd"/>
      <xs:include schemaLocation="chameleon.xsd"/>
      <xs:complexType name="Base">
        <xs:annotation><xs:documentation>The base.</xs:documentation></xs:annotation>
        <xs:sequence>
          <xs:element name="id" type="xs:long"/>
          <xs:element name="name" type="xs:string" minOccurs="0"/>
        </xs:sequence>
        <xs:attribute name="version" type="xs:int" use="required"/>
      </xs:complexType>
      <xs:complexType name="Derived">
        <xs:complexContent>
          <xs:extension base="a:Base">
            <xs:sequence>
              <xs:element name="extra" type="xs:decimal" maxOccurs="unbounded"/>
              <xs:element ref="b:shared"/>
            </xs:sequence>
            <xs:attributeGroup ref="a:common"/>
          </xs:extension>
        </xs:complexContent>
      </xs:complexType>
      <xs:attributeGroup name="common">
        <xs:attribute name="lang" type="xs:language"/>
      </xs:attributeGroup>
      <xs:complexType name="Node">
        <xs:sequence>
          <xs:element name="child" type="a:Node" minOccurs="0" maxOccurs="unbounded" nillable="true"/>
          <xs:choice>
            <xs:element name="text" type="xs:string"/>
            <xs:element name="number" type="xs:int"/>
            <xs:group ref="a:pair"/>
          </xs:choice>
          <xs:any namespace="##other" processContents="lax" minOccurs="0"/>
        </xs:sequence>
        <xs:anyAttribute namespace="##any" processContents="skip"/>
      </xs:complexType>
      <xs:group name="pair">
        <xs:sequence><xs:element name="k" type="xs:string"/><xs:element name="v" type="xs:string"/></xs:sequence>
      </xs:group>
      <xs:simpleType name="Color">
        <xs:restriction base="xs:token">
          <xs:enumeration value="red"><xs:annotation><xs:documentation>Red.</xs:documentation></xs:annotation></xs:enumeration>
          <xs:enumeration value="green"/>
          <xs:maxLength value="5"/>
        </xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="DarkColor">
        <xs:restriction base="a:Color"><xs:pattern value="[a-z]+"/></xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="Colors"><xs:list itemType="a:Color"/></xs:simpleType>
      <xs:simpleType name="IntOrColor"><xs:union memberTypes="xs:int a:Color"/></xs:simpleType>
      <xs:complexType name="Price">
        <xs:simpleContent>
          <xs:extension base="xs:decimal"><xs:attribute name="currency" type="xs:string"/></xs:extension>
        </xs:simpleContent>
      </xs:complexType>
      <xs:complexType name="Shape" abstract="true"><xs:sequence/></xs:complexType>
      <xs:element name="shape" type="a:Shape" abstract="true"/>
      <xs:element name="circle" type="a:Shape" substitutionGroup="a:shape"/>
      <xs:element name="Op">
        <xs:complexType><xs:sequence>
          <xs:element name="in" type="a:Derived"/>
          <xs:element name="color" type="a:Color" default="red"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="OpResponse">
        <xs:complexType><xs:sequence><xs:element name="out" type="a:Node"/></xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="Auth" type="xs:string"/>
      <xs:element name="Fault1"><xs:complexType><xs:sequence><xs:element name="code" type="xs:int"/></xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="OpIn"><wsdl:part name="parameters" element="a:Op"/><wsdl:part name="auth" element="a:Auth"/></wsdl:message>
  <wsdl:message name="OpOut"><wsdl:part name="parameters" element="a:OpResponse"/></wsdl:message>
  <wsdl:message name="F1"><wsdl:part name="detail" element="a:Fault1"/></wsdl:message>
  <wsdl:message name="RpcIn"><wsdl:part name="x" type="xs:int"/><wsdl:part name="y" type="a:Colors"/></wsdl:message>
  <wsdl:portType name="PT">
    <wsdl:operation name="Op">
      <wsdl:documentation>Does Op.</wsdl:documentation>
      <wsdl:input message="a:OpIn"/><wsdl:output message="a:OpOut"/><wsdl:fault name="f1" message="a:F1"/>
    </wsdl:operation>
    <wsdl:operation name="Notify"><wsdl:input message="a:RpcIn"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="B11" type="a:PT">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Op">
      <soap:operation soapAction="urn:a#Op"/>
      <wsdl:input><soap:body use="literal" parts="parameters"/><soap:header message="a:OpIn" part="auth" use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="f1"><soap:fault name="f1" use="literal"/></wsdl:fault>
    </wsdl:operation>
    <wsdl:operation name="Notify">
      <soap:operation soapAction="urn:a#Notify" style="rpc"/>
      <wsdl:input><soap:body use="encoded" namespace="urn:rpc" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></wsdl:input>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:import namespace="urn:a" location="more.wsdl"/>
  <wsdl:service name="S">
    <wsdl:port name="P11" binding="a:B11"><soap:address location="http://example.test/11"/></wsdl:port>
    <wsdl:port name="P12" binding="a:B12"><soap12:address location="http://example.test/12"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>`,
	"/mem/more.wsdl": `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:a"
    xmlns:a="urn:a" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/">
  <import namespace="urn:a" location="svc.wsdl"/>
  <binding name="B12" type="a:PT">
    <soap12:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Op">
      <soap12:operation soapAction="urn:a#Op12" style="document"/>
      <input><soap12:body use="literal" parts="parameters"/></input>
      <output><soap12:body use="literal"/></output>
    </operation>
    <operation name="Notify"><input><soap12:body use="literal" namespace="urn:rpc"/></input></operation>
  </binding>
</definitions>`,
	"/mem/b.xsd": `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:b"
    xmlns:a="urn:a" elementFormDefault="unqualified">
  <xs:import namespace="urn:a"/>
  <xs:element name="shared">
    <xs:complexType><xs:sequence><xs:element name="local" type="xs:string"/></xs:sequence>
      <xs:attribute name="q" type="xs:string" form="qualified"/></xs:complexType>
  </xs:element>
  <xs:complexType name="Arr">
    <xs:complexContent>
      <xs:restriction base="soapenc:Array" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">
        <xs:attribute ref="soapenc:arrayType" wsdl:arrayType="a:Node[]" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"/>
      </xs:restriction>
    </xs:complexContent>
  </xs:complexType>
</xs:schema>`,
	"/mem/chameleon.xsd": `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:complexType name="Cham"><xs:sequence><xs:element name="c" type="Base"/></xs:sequence></xs:complexType>
</xs:schema>`,
}

func loadFeatures(t *testing.T) *Definitions {
	t.Helper()
	d, err := Load("/mem/svc.wsdl", memFS(featureFiles))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return d
}

func qn(ns, local string) xml.Name { return xml.Name{Space: ns, Local: local} }

// particleNames lists the element names of g's direct particles ("choice"/"any" for
// others).
func particleNames(g *ModelGroup) []string {
	var out []string
	for _, p := range g.Particles {
		switch p := p.(type) {
		case *Element:
			out = append(out, fmtName(p.Name))
		case *ModelGroup:
			out = append(out, p.Kind.String())
		case *Any:
			out = append(out, "any")
		}
	}
	return out
}

func TestExtensionEffectiveContent(t *testing.T) {
	d := loadFeatures(t)
	ct := d.Schemas.Type(qn(tnsA, "Derived")).(*ComplexType)
	if ct.Derivation != Extension || ct.Base != d.Schemas.Type(qn(tnsA, "Base")) {
		t.Fatalf("derivation = %v base %v", ct.Derivation, ct.BaseName)
	}
	got := strings.Join(particleNames(ct.Content), ",")
	want := "{urn:a}id,{urn:a}name,{urn:a}extra,{urn:b}shared"
	if got != want {
		t.Errorf("effective content = %s, want %s", got, want)
	}
	if n := len(ct.DeclaredContent.Particles); n != 2 {
		t.Errorf("declared content has %d particles, want 2", n)
	}
	var attrs []string
	for _, a := range ct.Attributes {
		attrs = append(attrs, fmtName(a.Name))
	}
	if strings.Join(attrs, ",") != "version,lang" {
		t.Errorf("attributes = %v, want version,lang (base first, group expanded)", attrs)
	}
	extra := ct.Content.Particles[2].(*Element)
	if !extra.Repeated() || extra.MaxOccurs != Unbounded || extra.Type.(*SimpleType).Kind != KindDecimal {
		t.Errorf("extra = %+v", extra)
	}
	if base := d.Schemas.Type(qn(tnsA, "Base")).(*ComplexType); base.Doc != "The base." {
		t.Errorf("Base doc = %q", base.Doc)
	}
	if got := d.Schemas.DerivedTypes(qn(tnsA, "Base")); len(got) != 1 || got[0] != ct {
		t.Errorf("DerivedTypes(Base) = %v", got)
	}
}

func TestRefAcrossSchemas(t *testing.T) {
	d := loadFeatures(t)
	ct := d.Schemas.Type(qn(tnsA, "Derived")).(*ComplexType)
	ref := ct.Content.Particles[3].(*Element)
	if ref.Ref == nil || ref.Ref != d.Schemas.Element(qn(tnsB, "shared")) {
		t.Fatalf("ref = %+v", ref)
	}
	if ref.Name != qn(tnsB, "shared") {
		t.Errorf("ref name = %v, want {urn:b}shared", ref.Name)
	}
	shared := ref.Type.(*ComplexType)
	local := shared.Content.Particles[0].(*Element)
	if local.Name != qn("", "local") {
		t.Errorf("local element of unqualified schema = %v, want no namespace", local.Name)
	}
	if shared.Attributes[0].Name != qn(tnsB, "q") {
		t.Errorf("form=qualified attribute = %v", shared.Attributes[0].Name)
	}
	// Chameleon include: Cham takes urn:a and its unprefixed Base reference resolves there.
	cham, ok := d.Schemas.Type(qn(tnsA, "Cham")).(*ComplexType)
	if !ok {
		t.Fatal("chameleon type Cham not in urn:a")
	}
	c := cham.Content.Particles[0].(*Element)
	if c.Name != qn(tnsA, "c") || c.Type != d.Schemas.Type(qn(tnsA, "Base")) {
		t.Errorf("chameleon element = %v type %v", c.Name, c.Type)
	}
}

func TestChoiceGroupAnyRecursion(t *testing.T) {
	d := loadFeatures(t)
	node := d.Schemas.Type(qn(tnsA, "Node")).(*ComplexType)
	child := node.Content.Particles[0].(*Element)
	if child.Type != node || !child.Nillable || child.MinOccurs != 0 {
		t.Errorf("recursive child = %+v", child)
	}
	choice := node.Content.Particles[1].(*ModelGroup)
	if choice.Kind != Choice {
		t.Fatalf("kind = %v", choice.Kind)
	}
	if got := strings.Join(particleNames(choice), ","); got != "{urn:a}text,{urn:a}number,sequence" {
		t.Errorf("choice members = %s", got)
	}
	pair := choice.Particles[2].(*ModelGroup)
	if pair.Ref != qn(tnsA, "pair") || strings.Join(particleNames(pair), ",") != "{urn:a}k,{urn:a}v" {
		t.Errorf("group ref = %v %v", pair.Ref, particleNames(pair))
	}
	w := node.Content.Particles[2].(*Any)
	if w.Namespace != "##other" || w.ProcessContents != Lax || w.MinOccurs != 0 || w.TargetNamespace != tnsA {
		t.Errorf("any = %+v", w)
	}
	if node.AnyAttribute == nil || node.AnyAttribute.ProcessContents != Skip {
		t.Errorf("anyAttribute = %+v", node.AnyAttribute)
	}
}

func TestSimpleTypes(t *testing.T) {
	d := loadFeatures(t)
	color := d.Schemas.Type(qn(tnsA, "Color")).(*SimpleType)
	if color.Kind != KindToken || len(color.Facets.Enumeration) != 2 || color.Facets.Enumeration[0].Doc != "Red." || *color.Facets.MaxLength != 5 {
		t.Errorf("Color = %+v", color)
	}
	dark := d.Schemas.Type(qn(tnsA, "DarkColor")).(*SimpleType)
	if dark.Base != color || len(dark.Facets.Enumeration) != 2 || dark.Facets.Patterns[0] != "[a-z]+" {
		t.Errorf("DarkColor facets = %+v", dark.Facets)
	}
	list := d.Schemas.Type(qn(tnsA, "Colors")).(*SimpleType)
	if list.Variety != List || list.Item != color || list.Kind != KindToken {
		t.Errorf("Colors = %+v", list)
	}
	union := d.Schemas.Type(qn(tnsA, "IntOrColor")).(*SimpleType)
	if union.Variety != Union || len(union.Members) != 2 || union.Kind != KindAnySimpleType {
		t.Errorf("IntOrColor = %+v", union)
	}
	price := d.Schemas.Type(qn(tnsA, "Price")).(*ComplexType)
	if price.ContentKind != SimpleContent || price.Value.Kind != KindDecimal || price.Attributes[0].Name.Local != "currency" {
		t.Errorf("Price = %+v", price)
	}
	op := d.Schemas.Element(qn(tnsA, "Op")).Type.(*ComplexType)
	if c := op.Content.Particles[1].(*Element); c.Default == nil || *c.Default != "red" {
		t.Errorf("default = %v", c.Default)
	}
	arr := d.Schemas.Type(qn(tnsB, "Arr")).(*ComplexType)
	if arr.ArrayType != qn(tnsA, "Node") || arr.ArrayDims != "[]" {
		t.Errorf("soapenc array = %v %q", arr.ArrayType, arr.ArrayDims)
	}
	if subs := d.Schemas.Substitutes(qn(tnsA, "shape")); len(subs) != 1 || subs[0].Name.Local != "circle" {
		t.Errorf("substitutes = %v", subs)
	}
	if !d.Schemas.Element(qn(tnsA, "shape")).Abstract || !d.Schemas.Type(qn(tnsA, "Shape")).(*ComplexType).Abstract {
		t.Error("abstract flags lost")
	}
}

func TestEndpoints(t *testing.T) {
	d := loadFeatures(t)
	eps := d.Endpoints()
	if len(eps) != 2 {
		t.Fatalf("%d endpoints, want 2", len(eps))
	}
	e11, e12 := eps[0], eps[1]
	if e11.SOAPVersion != SOAP11 || e12.SOAPVersion != SOAP12 || e12.Address != "http://example.test/12" {
		t.Errorf("versions %v %v address %q", e11.SOAPVersion, e12.SOAPVersion, e12.Address)
	}
	op := e11.Operation("Op")
	if !op.Wrapped || op.Style != Document || op.Action != "urn:a#Op" || op.Doc != "Does Op." || op.OneWay {
		t.Errorf("Op = %+v", op)
	}
	if len(op.Input.BodyParts) != 1 || op.Input.Wrapper != qn(tnsA, "Op") || op.Output.Wrapper != qn(tnsA, "OpResponse") {
		t.Errorf("Op input = %+v", op.Input)
	}
	if len(op.Input.Headers) != 1 || op.Input.Headers[0].Part.Element.Name != qn(tnsA, "Auth") {
		t.Errorf("headers = %+v", op.Input.Headers)
	}
	if len(op.Faults) != 1 || op.Faults[0].Part.Element.Name != qn(tnsA, "Fault1") {
		t.Errorf("faults = %+v", op.Faults)
	}
	n := e11.Operation("Notify")
	if !n.OneWay || n.Style != RPC || n.Input.Use != Encoded || n.Input.Wrapper != qn("urn:rpc", "Notify") || len(n.Input.BodyParts) != 2 || n.Wrapped {
		t.Errorf("Notify = %+v input %+v", n, n.Input)
	}
	if y := n.Input.BodyParts[1]; y.Type != d.Schemas.Type(qn(tnsA, "Colors")) {
		t.Errorf("rpc part type = %v", y.TypeName)
	}
	// SOAP 1.2 binding from the imported WSDL: rpc default, document override.
	if op12 := e12.Operation("Op"); op12.Style != Document || op12.Action != "urn:a#Op12" || !op12.Wrapped {
		t.Errorf("SOAP 1.2 Op = %+v", op12)
	}
	if n12 := e12.Operation("Notify"); n12.Style != RPC {
		t.Errorf("SOAP 1.2 Notify style = %v, want binding default rpc", n12.Style)
	}
	if len(d.Documents) != 4 {
		t.Errorf("documents = %v, want 4 (import cycle read once)", d.Documents)
	}
}

func TestErrors(t *testing.T) {
	wsdl := func(types, rest string) string {
		return `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:a="urn:a" targetNamespace="urn:a"><types><xs:schema targetNamespace="urn:a">` + types + `</xs:schema></types>` + rest + `</definitions>`
	}
	tests := []struct {
		name, doc, want string
	}{
		{"missing type", wsdl(`<xs:element name="bar" type="a:Foo"/>`, ""), "x.wsdl:1: type {urn:a}Foo referenced by element bar not found"},
		{"missing element ref", wsdl(`<xs:complexType name="T"><xs:sequence><xs:element ref="a:nope"/></xs:sequence></xs:complexType>`, ""), "element {urn:a}nope referenced by an element ref not found"},
		{"missing message", wsdl("", `<portType name="P"><operation name="o"><input message="a:M"/></operation></portType>`), "message {urn:a}M referenced by operation o of port type P not found"},
		{"undeclared prefix", wsdl(`<xs:element name="bar" type="zz:Foo"/>`, ""), `undeclared namespace prefix "zz"`},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><definitions/>`, "DOCTYPE and entity declarations are refused"},
		{"malformed", `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><types>`, "malformed XML: element <types> is not closed"},
		{"mismatched end tag", `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><w:types xmlns:w="x"></types></definitions>`, "x.wsdl:1: malformed XML: unexpected end element </types>"},
		{"not wsdl", `<html/>`, "neither wsdl:definitions nor xs:schema"},
		{"remote import", wsdl("", `<import namespace="urn:r" location="http://remote.test/r.wsdl"/>`), "remote document http://remote.test/r.wsdl (referenced at x.wsdl:1) not loaded: set Options.AllowRemote"},
		{"missing include", wsdl(`<xs:include schemaLocation="inc.xsd"/>`, ""), "reading /mem/inc.xsd"},
		{"bad occurs", wsdl(`<xs:complexType name="T"><xs:sequence><xs:element name="e" maxOccurs="many"/></xs:sequence></xs:complexType>`, ""), `invalid maxOccurs "many"`},
		{"derivation cycle", wsdl(`<xs:complexType name="T"><xs:complexContent><xs:extension base="a:T"/></xs:complexContent></xs:complexType>`, ""), "type T derives from itself"},
		{"deep nesting", strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1), "nested deeper than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "/mem/x.wsdl", memFS(nil))
			if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), "/mem/", ""), strings.ReplaceAll(tt.want, "/mem/", "")) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Parse(make([]byte, MaxFileSize+1), "big.wsdl", Options{}); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("oversized document: %v", err)
	}
	_, err := Load("http://remote.test/x.wsdl", Options{})
	if err == nil || !strings.Contains(err.Error(), "http://remote.test/x.wsdl") || !strings.Contains(err.Error(), "AllowRemote") {
		t.Errorf("remote root: %v", err)
	}
}

func TestCircularGroupsAreBroken(t *testing.T) {
	doc := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:g" xmlns:g="urn:g">
  <xs:group name="A"><xs:sequence><xs:element name="a" type="xs:string"/><xs:group ref="g:B"/></xs:sequence></xs:group>
  <xs:group name="B"><xs:sequence><xs:element name="b" type="xs:string"/><xs:group ref="g:A"/></xs:sequence></xs:group>
  <xs:complexType name="T"><xs:sequence><xs:group ref="g:A"/></xs:sequence></xs:complexType>
</xs:schema>`
	d, err := Parse([]byte(doc), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Walking T terminates, and exactly one group reference is marked Circular.
	circular := 0
	var walk func(*ModelGroup, int)
	walk = func(g *ModelGroup, depth int) {
		if depth > 10 {
			t.Fatal("content model is not finite")
		}
		for _, p := range g.Particles {
			if m, ok := p.(*ModelGroup); ok {
				if m.Circular {
					circular++
				}
				walk(m, depth+1)
			}
		}
	}
	walk(d.Schemas.Type(qn("urn:g", "T")).(*ComplexType).Content, 0)
	if circular != 1 {
		t.Errorf("%d circular references, want 1", circular)
	}
}

func TestRemoteFetchHook(t *testing.T) {
	var asked []string
	opts := Options{AllowRemote: true, Fetch: func(loc string) ([]byte, error) {
		asked = append(asked, loc)
		switch loc {
		case "https://h.test/dir/main.wsdl":
			return []byte(`<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:m"><types><xs:schema targetNamespace="urn:m"><xs:import namespace="urn:t" schemaLocation="../t.xsd"/><xs:element name="e" type="t:T" xmlns:t="urn:t"/></xs:schema></types></definitions>`), nil
		case "https://h.test/t.xsd":
			return []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t"><xs:simpleType name="T"><xs:restriction base="xs:date"/></xs:simpleType></xs:schema>`), nil
		}
		return nil, errors.New("unexpected")
	}}
	d, err := Load("https://h.test/dir/main.wsdl", opts)
	if err != nil {
		t.Fatal(err)
	}
	if e := d.Schemas.Element(qn("urn:m", "e")); e.Type.(*SimpleType).Kind != KindDate {
		t.Errorf("e type = %v", e.TypeName)
	}
	if len(asked) != 2 || asked[1] != "https://h.test/t.xsd" {
		t.Errorf("fetched %v", asked)
	}
}

// TestNamesAreTrimmed loads names written with surrounding white space, as some
// toolkits export them (name="ResultCode "): names, and the references to them, are
// the trimmed tokens.
func TestNamesAreTrimmed(t *testing.T) {
	doc := `<definitions name=" Svc " xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:a="urn:a" targetNamespace="urn:a">
  <types><xs:schema targetNamespace="urn:a" elementFormDefault=" qualified ">
    <xs:complexType name="Result ">
      <xs:sequence>
        <xs:element name="ResultCode " type=" xs:int" minOccurs=" 0 "/>
        <xs:element name="	Status" type="a:Status "/>
      </xs:sequence>
      <xs:attribute name=" id" type="xs:string" use="required "/>
    </xs:complexType>
    <xs:simpleType name="Status "><xs:restriction base="xs:string"><xs:enumeration value=" A "/></xs:restriction></xs:simpleType>
    <xs:element name="Get "><xs:complexType><xs:sequence><xs:element name="r" type="a:Result"/></xs:sequence></xs:complexType></xs:element>
  </xs:schema></types>
  <message name="GetIn "><part name="parameters " element=" a:Get"/></message>
  <portType name="P "><operation name="Get "><input message="a:GetIn"/></operation></portType>
  <binding name="B " type="a:P"><soap:binding style="document "/>
    <operation name="Get"><soap:operation soapAction="urn:get"/><input><soap:body use="literal "/></input></operation></binding>
  <service name="S "><port name="SP " binding="a:B"><soap:address location="http://127.0.0.1/x"/></port></service>
</definitions>`
	d, err := Parse([]byte(doc), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Svc" {
		t.Errorf("definitions name %q", d.Name)
	}
	ct, ok := d.Schemas.Type(qn(tnsA, "Result")).(*ComplexType)
	if !ok {
		t.Fatalf("type {urn:a}Result not found: %v", d.Schemas.Schemas[0].Types)
	}
	if got := particleNames(ct.Content); strings.Join(got, " ") != "{urn:a}ResultCode {urn:a}Status" {
		t.Errorf("Result's elements %v", got)
	}
	if e := ct.Content.Particles[0].(*Element); e.MinOccurs != 0 || e.Type.(*SimpleType).Kind != KindInt {
		t.Errorf("ResultCode: minOccurs %d, type %v", e.MinOccurs, e.TypeName)
	}
	if len(ct.Attributes) != 1 || ct.Attributes[0].Name.Local != "id" || ct.Attributes[0].Use != Required {
		t.Errorf("Result's attributes %+v", ct.Attributes)
	}
	st := d.Schemas.Type(qn(tnsA, "Status")).(*SimpleType)
	if v := st.Facets.Enumeration[0].Value; v != " A " {
		t.Errorf("enumeration value %q, want it as written", v)
	}
	eps := d.Endpoints()
	if len(eps) != 1 || eps[0].Service.Name.Local != "S" || eps[0].Port.Name != "SP" || len(eps[0].Operations) != 1 {
		t.Fatalf("endpoints %+v", eps)
	}
	op := eps[0].Operations[0]
	if op.Name != "Get" || op.Input.BodyParts[0].Name != "parameters" || !op.Wrapped {
		t.Errorf("operation %q, part %q, wrapped %v", op.Name, op.Input.BodyParts[0].Name, op.Wrapped)
	}
	// A name that is not an XML name even trimmed is an error at its line.
	bad := strings.Replace(doc, `name="Result "`, `name="Result Code"`, 1)
	if _, err := Parse([]byte(bad), "/mem/x.wsdl", Options{}); err == nil || !strings.Contains(err.Error(), `x.wsdl:4: complexType name "Result Code" is not an XML name`) {
		t.Errorf("a name with inner space: %v", err)
	}
}

// TestUndeclaredPrefixes refuses elements the loader reads whose prefix is not
// declared, naming the file and line: skipping them would silently drop a SOAP
// binding, a service's address or a schema declaration. Elements the loader never
// reads may use undeclared prefixes.
func TestUndeclaredPrefixes(t *testing.T) {
	doc := func(soapNS, portType, schema string) string {
		return `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" ` + soapNS + ` xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:a="urn:a" targetNamespace="urn:a">
<types><xs:schema targetNamespace="urn:a">` + schema + `<xs:element name="E" type="xs:string"/></xs:schema></types>
<message name="M"><part name="p" element="a:E"/></message>
<portType name="P"><operation name="o">` + portType + `<input message="a:M"/></operation></portType>
<binding name="B" type="a:P">
  <soap:binding style="document"/>
  <operation name="o"><soap:operation soapAction=""/><input><soap:body use="literal"/></input></operation>
</binding>
<service name="S"><port name="SP" binding="a:B"><soap:address location="http://127.0.0.1/x"/></port></service>
</definitions>`
	}
	const soap = `xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"`
	if _, err := Parse([]byte(doc(soap, "", "")), "/mem/x.wsdl", Options{}); err != nil {
		t.Fatalf("the well-formed document: %v", err)
	}
	tests := []struct{ name, doc, want string }{
		{"SOAP binding prefix", doc("", "", ""), `x.wsdl:6: namespace prefix "soap" of element <soap:binding> is not declared`},
		{"service address prefix", strings.Replace(doc(soap, "", ""), `<soap:address`, `<soap12:address`, 1), `x.wsdl:9: namespace prefix "soap12" of element <soap12:address> is not declared`},
		{"schema element prefix", doc(soap, "", `<xsd:element name="F" type="xs:string"/>`), `x.wsdl:2: namespace prefix "xsd" of element <xsd:element> is not declared`},
		{"section prefix", strings.Replace(doc(soap, "", ""), `<message name="M">`, `<w:message name="M0"/><message name="M">`, 1), `x.wsdl:3: namespace prefix "w" of element <w:message> is not declared`},
		{"root prefix", `<w:definitions xmlns:w2="x"/>`, `x.wsdl:1: namespace prefix "w" of element <w:definitions> is not declared`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "/mem/x.wsdl", Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// Not read, so not refused: an extension element in a port type operation, an
	// annotation's content, and the lenient wsdl: prefix.
	ok := doc(soap, `<soap12:operation soapAction=""/>`, `<xs:annotation><xs:appinfo><jaxb:x/></xs:appinfo></xs:annotation>`)
	ok = strings.Replace(ok, `<message name="M">`, `<wsdl:documentation>d</wsdl:documentation><message name="M">`, 1)
	if _, err := Parse([]byte(ok), "/mem/x.wsdl", Options{}); err != nil {
		t.Errorf("undeclared prefixes where nothing is read: %v", err)
	}
}

// TestUnreadableImports fails on an xs:import whose document cannot be read, naming
// its file and line, unless IgnoreUnreadableImports; imports of built-in namespaces
// are never read.
func TestUnreadableImports(t *testing.T) {
	doc := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a">
  <xs:import namespace="http://schemas.xmlsoap.org/soap/encoding/" schemaLocation="http://schemas.xmlsoap.org/soap/encoding/"/>
  <xs:import namespace="urn:b" schemaLocation="b.xsd"/>
  <xs:element name="e" type="xs:string"/>
</xs:schema>`
	_, err := Parse([]byte(doc), "/mem/x.xsd", memFS(nil))
	if err == nil || !strings.Contains(err.Error(), `x.xsd:3: xs:import of namespace "urn:b" from "b.xsd" cannot be read`) {
		t.Errorf("error = %v, want the import's place", err)
	}
	opts := memFS(nil)
	opts.IgnoreUnreadableImports = true
	d, err := Parse([]byte(doc), "/mem/x.xsd", opts)
	if err != nil {
		t.Fatalf("with IgnoreUnreadableImports: %v", err)
	}
	if len(d.Documents) != 0 {
		t.Errorf("read %v; the SOAP encoding schema is built in", d.Documents)
	}
	// What then fails to resolve is reported with the import that was skipped.
	refers := strings.Replace(doc, `type="xs:string"`, `type="b:T" xmlns:b="urn:b"`, 1)
	if _, err := Parse([]byte(refers), "/mem/x.xsd", opts); err == nil || !strings.Contains(err.Error(), "type {urn:b}T referenced by element e not found") || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("a reference into the unread import: %v", err)
	}
}
