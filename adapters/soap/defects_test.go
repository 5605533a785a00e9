package soap_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/adapters/soap"
	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/bridge"
)

// The tests of this file reproduce the SOAP defects of issue 10 through the adapter:
// each generates the .proto of a small WSDL as `protobridge gen wsdl` does, binds its
// operation and calls it against a canned-reply upstream on 127.0.0.1.

// defectsWSDL is a document/literal wrapped SOAP 1.1 WSDL: service Svc, operation
// Get (action urn:t/Get), schema namespace urn:t (qualified, prefix tns) holding
// types, which must declare the wrapper elements Get and GetResponse. messages and
// headers add wsdl:messages and soap:header bindings of the input.
func defectsWSDL(types, messages, headers string) string {
	return `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
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
}

// wsdlRoute generates, compiles and returns the route of the operation Get of a
// defectsWSDL document.
func wsdlRoute(t *testing.T, doc string) *bridge.Route {
	t.Helper()
	d, err := wsdl.Parse([]byte(doc), "", wsdl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := protogen.Generate(d, protogen.Options{Package: "defects.v1"})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protogen.Compile(context.Background(), "defects/v1/"+f.Name, f.Content)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.Content)
	}
	md := fd.Services().Get(0).Methods().ByName("Get")
	return &bridge.Route{Method: md, Options: routeOptions(md)}
}

// bindWSDL binds the route of a defectsWSDL document to a canned-reply upstream
// answering body (a SOAP 1.1 Body's content) with HTTP 200.
func bindWSDL(t *testing.T, doc, body string, u bridge.Upstream) (bridge.Endpoint, *bridge.Route, *upstream) {
	t.Helper()
	up := newUpstream(t, replyXML(http.StatusOK, "text/xml; charset=utf-8", envelope11(body)))
	r := wsdlRoute(t, doc)
	u.Name, u.BaseURL = "defects", up.srv.URL
	r.Upstream = &u
	a, err := soapNew(&u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	return ep, r, up
}

// wantEnvelope fails unless the last request's envelope equals want by infoset.
func wantEnvelope(t *testing.T, up *upstream, want string) {
	t.Helper()
	_, body := up.last()
	diff, err := xmltest.Diff([]byte(want), body, xmltest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("request envelope differs (-want +got):\n%s\n%s", diff, body)
	}
}

// TestHeaderPartUnsetIsAbsent (issue 10, item 2): an unset simple-typed header part
// (Exchange's MailboxCulture, an xs:language) sends no header block; before, it went
// as an empty <MailboxCulture/>, which is not a valid xs:language.
func TestHeaderPartUnsetIsAbsent(t *testing.T) {
	doc := defectsWSDL(`
    <xs:element name="MailboxCulture" type="xs:language"/>
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="q" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>`,
		`<message name="H"><part name="culture" element="tns:MailboxCulture"/></message>`,
		`<soap:header message="tns:H" part="culture" use="literal"/>`)
	ep, r, up := bindWSDL(t, doc, `<GetResponse xmlns="urn:t"/>`, bridge.Upstream{})
	if _, err := call(t, ep, r, `{"q": "x"}`); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, up, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><t:Get xmlns:t="urn:t"><t:q>x</t:q></t:Get></s:Body></s:Envelope>`)
	if _, err := call(t, ep, r, `{"q": "x", "mailbox_culture": "en-US"}`); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, up, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><t:MailboxCulture xmlns:t="urn:t">en-US</t:MailboxCulture></s:Header>
		<s:Body><t:Get xmlns:t="urn:t"><t:q>x</t:q></t:Get></s:Body></s:Envelope>`)
}

// TestRepeatedElementGoesToAny (issue 10, item 1): a Salesforce partner query record
// (sObject: sequence(type, Id, any ##targetNamespace lax unbounded)) repeats sf:Id;
// the second Id is content for the xs:any field, strict or lax, and never overwrites
// the first. Before, strict decoding failed INTERNAL "appears more than once" and lax
// kept the second.
func TestRepeatedElementGoesToAny(t *testing.T) {
	doc := defectsWSDL(`
    <xs:complexType name="sObject"><xs:sequence>
      <xs:element name="type" type="xs:string"/>
      <xs:element name="Id" type="xs:string" minOccurs="0" nillable="true"/>
      <xs:any namespace="##targetNamespace" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="q" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence>
      <xs:element name="records" type="tns:sObject" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType></xs:element>`, "", "")
	reply := `<GetResponse xmlns="urn:t"><records><type>Account</type><Id>001A</Id><Id>001A</Id><Name>Acme</Name></records>
		<records><type>Account</type><Id>001B</Id><Id>001B</Id><Name>Beta</Name></records></GetResponse>`
	for _, lax := range []bool{false, true} {
		ep, r, _ := bindWSDL(t, doc, reply, bridge.Upstream{Config: soapConfig(t, soap.Config{XMLLax: lax})})
		got, err := call(t, ep, r, `{"q": "select Id, Id, Name from Account"}`)
		if err != nil {
			t.Errorf("xml_lax %v: %v", lax, err)
			continue
		}
		var out struct {
			Records []struct{ Type, ID, Any string } `json:"records"`
		}
		if err := json.Unmarshal([]byte(got), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Records) != 2 {
			t.Errorf("xml_lax %v: reply %s, want 2 records", lax, got)
			continue
		}
		for i, name := range []string{"Acme", "Beta"} {
			rec, id := out.Records[i], "001"+string(rune('A'+i))
			if rec.ID != id || !strings.Contains(rec.Any, ">"+id+"</") || !strings.Contains(rec.Any, ">"+name+"</") {
				t.Errorf("xml_lax %v: record %d = %+v, want id %s and the second Id and Name in any", lax, i, rec, id)
			}
		}
	}
}

// TestInvalidDateIsRefused (issue 10, item 5): an invalid xs:dateTime, xs:date or
// xs:duration in a request fails INVALID_ARGUMENT naming the field, as an invalid
// decimal does, and nothing is sent; before, it went upstream unchanged.
func TestInvalidDateIsRefused(t *testing.T) {
	doc := defectsWSDL(`
    <xs:element name="Get"><xs:complexType><xs:sequence>
      <xs:element name="start" type="xs:dateTime"/>
      <xs:element name="day" type="xs:date" minOccurs="0"/>
      <xs:element name="span" type="xs:duration" minOccurs="0"/>
    </xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>`, "", "")
	ep, r, up := bindWSDL(t, doc, `<GetResponse xmlns="urn:t"/>`, bridge.Upstream{})
	if _, err := call(t, ep, r, `{"start": "2024-02-29T10:00:00+01:00", "day": "2024-02-29", "span": "PT1H"}`); err != nil {
		t.Fatalf("valid values: %v", err)
	}
	for _, tt := range []struct{ req, path string }{
		{`{"start": "2024-02-30T10:00:00"}`, "/Envelope/Body/Get/start"},
		{`{"start": "2024-05-01 10:00:00"}`, "/Envelope/Body/Get/start"},
		{`{"start": "2024-05-01T10:00:00Z", "day": "01.05.2024"}`, "/Envelope/Body/Get/day"},
		{`{"start": "2024-05-01T10:00:00Z", "span": "1 hour"}`, "/Envelope/Body/Get/span"},
		{`{}`, "/Envelope/Body/Get/start"},
	} {
		before, _ := up.last()
		_, err := call(t, ep, r, tt.req)
		code, info, _ := statusParts(t, err)
		if code != codes.InvalidArgument || info.Reason != "INVALID_REQUEST" || info.Metadata["path"] != tt.path {
			t.Errorf("%s: %v %s %v, want INVALID_ARGUMENT INVALID_REQUEST at %s", tt.req, code, info.Reason, info.Metadata, tt.path)
		}
		if after, _ := up.last(); after != before {
			t.Errorf("%s was sent upstream", tt.req)
		}
	}
}

// TestTolerantReplyNumbers (issue 10, item 6): a reply spelling numbers the way many
// servers print floats (nan, inf, -inf, Infinity; 1E+3 for a decimal; 1.0E2 for an
// int) decodes instead of failing the whole call; the decimal stays an exact string
// ("1E+3" becomes "1000", never a float). Before, each failed INTERNAL.
func TestTolerantReplyNumbers(t *testing.T) {
	doc := defectsWSDL(`
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="q" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence>
      <xs:element name="price" type="xs:decimal"/>
      <xs:element name="exact" type="xs:decimal"/>
      <xs:element name="ratio" type="xs:double"/>
      <xs:element name="low" type="xs:float"/>
      <xs:element name="high" type="xs:double"/>
      <xs:element name="count" type="xs:int"/>
      <xs:element name="total" type="xs:integer"/>
      <xs:element name="ok" type="xs:boolean"/>
    </xs:sequence></xs:complexType></xs:element>`, "", "")
	ep, r, _ := bindWSDL(t, doc, `<GetResponse xmlns="urn:t"><price>1E+3</price><exact>1.2345678901234567890123E+2</exact>
		<ratio>nan</ratio><low>-inf</low><high>Infinity</high><count>1.0E2</count><total>12345678901234567890.0</total><ok>True</ok></GetResponse>`, bridge.Upstream{})
	got, err := call(t, ep, r, `{"q": "x"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"count":100,"exact":"123.45678901234567890123","high":"Infinity","low":"-Infinity","ok":true,"price":"1000","ratio":"NaN","total":"12345678901234567890"}`
	if got != want {
		t.Errorf("reply\n got %s\nwant %s", got, want)
	}
	// What has no value of its type still fails, naming where.
	ep, r, _ = bindWSDL(t, doc, `<GetResponse xmlns="urn:t"><price>NaN</price><exact>1</exact><ratio>1</ratio><low>1</low><high>1</high>
		<count>1</count><total>1</total><ok>1</ok></GetResponse>`, bridge.Upstream{})
	_, err = call(t, ep, r, `{"q": "x"}`)
	if code, info, _ := statusParts(t, err); code != codes.Internal || info.Reason != "UPSTREAM_BAD_RESPONSE" || !strings.Contains(err.Error(), "/GetResponse/price") {
		t.Errorf("NaN for a decimal: %v", err)
	}
}

// TestRepeatedChoiceOrder (issue 10, item 4): an Exchange FindItem-style
// ArrayOfRealItemsType, (Item | Message | CalendarItem)*, keeps the server's order:
// Message, CalendarItem, Message comes back as three items in that order (before,
// as a list of Messages and a list of CalendarItems), and a request's items are
// written in their order.
func TestRepeatedChoiceOrder(t *testing.T) {
	doc := defectsWSDL(`
    <xs:complexType name="ItemType"><xs:sequence><xs:element name="Subject" type="xs:string" minOccurs="0"/></xs:sequence></xs:complexType>
    <xs:complexType name="ArrayOfRealItemsType">
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element name="Item" type="tns:ItemType"/>
        <xs:element name="Message" type="tns:ItemType"/>
        <xs:element name="CalendarItem" type="tns:ItemType"/>
      </xs:choice>
    </xs:complexType>
    <xs:element name="Get"><xs:complexType><xs:sequence><xs:element name="Items" type="tns:ArrayOfRealItemsType"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence><xs:element name="Items" type="tns:ArrayOfRealItemsType"/></xs:sequence></xs:complexType></xs:element>`, "", "")
	ep, r, up := bindWSDL(t, doc, `<GetResponse xmlns="urn:t"><Items><Message><Subject>m1</Subject></Message>
		<CalendarItem><Subject>c1</Subject></CalendarItem><Message><Subject>m2</Subject></Message></Items></GetResponse>`, bridge.Upstream{})
	got, err := call(t, ep, r, `{"items": {"item_choice": [{"calendar_item": {"subject": "c0"}}, {"item": {}}, {"calendar_item": {"subject": "c1"}}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"items":{"item_choice":[{"message":{"subject":"m1"}},{"calendar_item":{"subject":"c1"}},{"message":{"subject":"m2"}}]}}`
	if got != want {
		t.Errorf("reply\n got %s\nwant %s", got, want)
	}
	wantEnvelope(t, up, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><t:Get xmlns:t="urn:t"><t:Items>
		<t:CalendarItem><t:Subject>c0</t:Subject></t:CalendarItem><t:Item/><t:CalendarItem><t:Subject>c1</t:Subject></t:CalendarItem>
		</t:Items></t:Get></s:Body></s:Envelope>`)
}
