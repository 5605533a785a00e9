package soap_test

import (
	"context"
	"net/http"
	"testing"

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
