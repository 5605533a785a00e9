package protogen

import (
	"fmt"
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

// choiceWSDL declares Get whose complex type List holds a, the choice given, and d.
func choiceWSDL(t *testing.T, choice string) *wsdl.Definitions {
	return oneOpWSDL(t, `
    <xs:complexType name="List"><xs:sequence>
      <xs:element name="a" type="xs:string"/>`+choice+`
      <xs:element name="d" type="xs:string" minOccurs="0"/>
    </xs:sequence></xs:complexType>
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="list" type="tns:List"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>`, "", "")
}

// TestRepeatedChoice (issue 10, item 4) maps a repeated xs:choice to a repeated field
// of a nested message holding a oneof of the alternatives, which keeps their order;
// regenerating over a lock written before keeps the numbers of the other fields and
// reserves the flattened fields' ones.
func TestRepeatedChoice(t *testing.T) {
	const items = `<xs:element name="Item" type="xs:string"/><xs:element name="Message" type="xs:string" maxOccurs="unbounded"/><xs:element name="CalendarItem" type="xs:int"/>`
	for name, choice := range map[string]string{
		"choice*":           `<xs:choice minOccurs="0" maxOccurs="unbounded">` + items + `</xs:choice>`,
		"sequence*(choice)": `<xs:sequence maxOccurs="unbounded"><xs:choice>` + items + `</xs:choice></xs:sequence>`,
	} {
		t.Run(name, func(t *testing.T) {
			f, fd := generateChecked(t, choiceWSDL(t, choice), Options{Package: "choice.v1"})
			list := fd.Messages().ByName("List")
			gf := list.Fields().ByName("item_choice")
			if gf == nil || !gf.IsList() || gf.Message() == nil || gf.Message().FullName() != "choice.v1.List.ItemChoice" {
				t.Fatalf("List.item_choice: %v\n%s", gf, f.Content)
			}
			if !strings.Contains(string(f.Content), `repeated ItemChoice item_choice = 2 [(protobridge.v1.xml) = {xsd_type: "{http://www.w3.org/2001/XMLSchema}choice"}];`) {
				t.Errorf("the choice field is not marked xs:choice:\n%s", f.Content)
			}
			item := gf.Message()
			if item.Oneofs().Len() != 1 || item.Oneofs().Get(0).Name() != "choice" || item.Oneofs().Get(0).Fields().Len() != 3 {
				t.Errorf("ItemChoice's oneof: %v", item.Oneofs())
			}
			for _, n := range []protoreflect.Name{"item", "message", "calendar_item"} {
				if fd := item.Fields().ByName(n); fd == nil || fd.ContainingOneof() == nil || fd.IsList() {
					t.Errorf("ItemChoice.%s is not a singular member of the oneof", n)
				}
			}
		})
	}

	// The lock of the flattened mapping (before): a 1, item 2, message 3,
	// calendar_item 4, d 5.
	old := &Lock{Version: LockVersion, Names: map[string]string{"type {urn:t}List": "List"}, Messages: map[string]*LockEntry{
		"List": {Numbers: map[string]int{"a": 1, "item": 2, "message": 3, "calendar_item": 4, "d": 5}},
	}}
	f, fd := generateChecked(t, choiceWSDL(t, `<xs:choice minOccurs="0" maxOccurs="unbounded">`+items+`</xs:choice>`), Options{Package: "choice.v1", Lock: old})
	if got, want := fieldNumbers(fd, "List"), map[string]int{"a": 1, "d": 5, "item_choice": 6}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List numbers %v, want %v", got, want)
	}
	if !strings.Contains(string(f.Content), "reserved 4, 2, 3;") && !strings.Contains(string(f.Content), "reserved 2, 3, 4;") {
		t.Errorf("the flattened fields' numbers are not reserved:\n%s", f.Content)
	}
	if e := f.Lock.Messages["List"]; e == nil || e.Retired["item"] != 2 || e.Retired["message"] != 3 || e.Retired["calendar_item"] != 4 {
		t.Errorf("lock entry %+v", e)
	}
}
