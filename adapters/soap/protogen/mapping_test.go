package protogen

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
)

// oneOpWSDL is a document/literal wrapped WSDL (service Svc, operation Get, SOAP 1.1)
// whose schema (namespace urn:t, qualified, prefix tns) holds types and the wrapper
// elements Get and GetResponse; binding holds extra soap:header bindings of the input.
func oneOpWSDL(t *testing.T, types, messages, headers string) *wsdl.Definitions {
	t.Helper()
	doc := `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:t" targetNamespace="urn:t">
  <types><xs:schema targetNamespace="urn:t" elementFormDefault="qualified">` + types + `</xs:schema></types>
  <message name="In"><part name="parameters" element="tns:Get"/></message>
  <message name="Out"><part name="parameters" element="tns:GetResponse"/></message>` + messages + `
  <portType name="P"><operation name="Get"><input message="tns:In"/><output message="tns:Out"/></operation></portType>
  <binding name="B" type="tns:P"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Get"><soap:operation soapAction="urn:t/Get"/>
      <input><soap:body use="literal" parts="parameters"/>` + headers + `</input>
      <output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="Svc"><port name="SvcPort" binding="tns:B"><soap:address location="http://127.0.0.1/svc"/></port></service>
</definitions>`
	d, err := wsdl.Parse([]byte(doc), "", wsdl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTrimmedNames generates from names written with trailing white space
// (name="ResultCode "): the XML names in the output are the trimmed ones, so the
// codec (what `check` and `serve` run) accepts every message.
func TestTrimmedNames(t *testing.T) {
	d := oneOpWSDL(t, `
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="Query " type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence>
      <xs:element name="ResultCode " type="xs:int"/>
      <xs:element name=" Detail" minOccurs="0"><xs:complexType><xs:sequence><xs:element name="Text	" type="xs:string"/></xs:sequence>
        <xs:attribute name="lang " type="xs:language"/></xs:complexType></xs:element>
    </xs:sequence></xs:complexType></xs:element>`, "", "")
	f, _ := generateChecked(t, d, Options{Package: "trim.v1"})
	text := string(f.Content)
	for _, want := range []string{`name: "ResultCode"`, `name: "Query"`, `name: "Detail"`, `name: "Text"`, `name: "lang"`} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %s:\n%s", want, text)
		}
	}
}

// TestHeaderPartsHavePresence generates simple-typed soap:header parts (Exchange's
// MailboxCulture, an xs:language, and an enumeration) as fields with presence: unset
// must mean no header block, not an empty one.
func TestHeaderPartsHavePresence(t *testing.T) {
	d := oneOpWSDL(t, `
    <xs:element name="MailboxCulture" type="xs:language"/>
    <xs:element name="Mode"><xs:simpleType><xs:restriction base="xs:string">
      <xs:enumeration value="Fast"/><xs:enumeration value="Safe"/></xs:restriction></xs:simpleType></xs:element>
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="q" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>`,
		`<message name="H"><part name="culture" element="tns:MailboxCulture"/><part name="mode" element="tns:Mode"/></message>`,
		`<soap:header message="tns:H" part="culture" use="literal"/><soap:header message="tns:H" part="mode" use="literal"/>`)
	_, fd := generateChecked(t, d, Options{Package: "hdr.v1"})
	req := fd.Messages().ByName("GetRequest")
	for _, name := range []string{"mailbox_culture", "mode"} {
		f := req.Fields().ByName(protoreflect.Name(name))
		if f == nil || !f.HasPresence() {
			t.Errorf("header field %s is missing or has no presence", name)
		}
	}
	if f := req.Fields().ByName("q"); f.HasPresence() {
		t.Errorf("body field q has presence; it is a required element")
	}
}
