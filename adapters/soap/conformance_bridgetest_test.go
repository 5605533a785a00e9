package soap_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/adapters/soap"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/bridgetest"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestBridgetestConformance runs the adapter conformance suite against a
// SOAP 1.1 peer answering canned document/literal wrapped envelopes, with
// routes generated from echoWSDL as `protobridge gen wsdl` would write them.
func TestBridgetestConformance(t *testing.T) {
	bridgetest.Run(t, bridgetest.Harness{
		Kind:      soap.Kind,
		Start:     startSOAPPeer,
		Shapes:    bridgetest.Unary,
		RequestID: bridgetest.Unary,
		FailCode:  codes.InvalidArgument, // a soap:Client fault
	})
}

// echoNS is the target namespace of echoWSDL.
const echoNS = "urn:bridgetest:v1"

// echoWSDL describes the unary methods of bridgetest.v1.Echo as a
// document/literal wrapped SOAP 1.1 service whose parameters are
// unqualified elements named like the proto fields.
const echoWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<definitions name="Echo" targetNamespace="urn:bridgetest:v1"
    xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:bridgetest:v1">
  <types>
    <xs:schema targetNamespace="urn:bridgetest:v1" elementFormDefault="unqualified">
      <xs:complexType name="EchoRequest">
        <xs:sequence>
          <xs:element name="text" type="xs:string"/>
          <xs:element name="id" type="xs:string"/>
          <xs:element name="n" type="xs:int"/>
          <xs:element name="hold" type="xs:boolean"/>
          <xs:element name="last" type="xs:boolean"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="EchoResponse">
        <xs:sequence>
          <xs:element name="text" type="xs:string"/>
          <xs:element name="id" type="xs:string"/>
          <xs:element name="request_id" type="xs:string"/>
          <xs:element name="seq" type="xs:int"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="Echo" type="tns:EchoRequest"/>
      <xs:element name="EchoResult" type="tns:EchoResponse"/>
      <xs:element name="Fail" type="tns:EchoRequest"/>
      <xs:element name="FailResult" type="tns:EchoResponse"/>
      <xs:element name="Hang" type="tns:EchoRequest"/>
      <xs:element name="HangResult" type="tns:EchoResponse"/>
    </xs:schema>
  </types>
  <message name="EchoIn"><part name="parameters" element="tns:Echo"/></message>
  <message name="EchoOut"><part name="parameters" element="tns:EchoResult"/></message>
  <message name="FailIn"><part name="parameters" element="tns:Fail"/></message>
  <message name="FailOut"><part name="parameters" element="tns:FailResult"/></message>
  <message name="HangIn"><part name="parameters" element="tns:Hang"/></message>
  <message name="HangOut"><part name="parameters" element="tns:HangResult"/></message>
  <portType name="EchoPortType">
    <operation name="Echo"><input message="tns:EchoIn"/><output message="tns:EchoOut"/></operation>
    <operation name="Fail"><input message="tns:FailIn"/><output message="tns:FailOut"/></operation>
    <operation name="Hang"><input message="tns:HangIn"/><output message="tns:HangOut"/></operation>
  </portType>
  <binding name="EchoBinding" type="tns:EchoPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Echo">
      <soap:operation soapAction="urn:bridgetest:v1#Echo"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output>
    </operation>
    <operation name="Fail">
      <soap:operation soapAction="urn:bridgetest:v1#Fail"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output>
    </operation>
    <operation name="Hang">
      <soap:operation soapAction="urn:bridgetest:v1#Hang"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="EchoService">
    <port name="EchoPort" binding="tns:EchoBinding">
      <soap:address location="http://127.0.0.1/echo"/>
    </port>
  </service>
</definitions>`

// echoRoutes generates the (protobridge.v1.route).soap options of the
// WSDL's operations, as protobridge gen wsdl writes them.
func echoRoutes(t *testing.T) map[string]bridgetest.Route {
	t.Helper()
	d, err := wsdl.Parse([]byte(echoWSDL), "", wsdl.Options{})
	if err != nil {
		t.Fatalf("echo WSDL: %v", err)
	}
	eps := d.Endpoints()
	if len(eps) != 1 {
		t.Fatalf("echo WSDL has %d SOAP endpoints, want 1", len(eps))
	}
	clark := func(n xml.Name) string { return "{" + n.Space + "}" + n.Local }
	routes := map[string]bridgetest.Route{}
	for _, op := range eps[0].Operations {
		if op.SOAPVersion != wsdl.SOAP11 || op.Style != wsdl.Document || !op.Wrapped {
			t.Fatalf("operation %s is %v %v (wrapped %v), want SOAP 1.1 document/literal wrapped", op.Name, op.SOAPVersion, op.Style, op.Wrapped)
		}
		routes[op.Name] = bridgetest.Route{Options: &pbv1.RouteOptions{Soap: &pbv1.SoapOperation{
			Operation:       op.Name,
			Action:          op.Action,
			Version:         pbv1.SoapVersion_SOAP_VERSION_1_1,
			Style:           pbv1.SoapStyle_SOAP_STYLE_DOCUMENT,
			RequestElement:  clark(op.Input.Wrapper),
			ResponseElement: clark(op.Output.Wrapper),
			Wrapped:         true,
		}}}
	}
	for _, m := range []string{"Echo", "Fail", "Hang"} {
		if _, ok := routes[m]; !ok {
			t.Fatalf("echo WSDL has no operation %s", m)
		}
	}
	// SOAP has no streams: the streaming methods get Echo's binding, which
	// Bind must refuse for their shape.
	for _, m := range []string{"Count", "Collect", "Chat"} {
		routes[m] = routes["Echo"]
	}
	return routes
}

// soapCall is a request envelope of echoWSDL.
type soapCall struct {
	Body struct {
		Op struct {
			XMLName xml.Name
			Text    string `xml:"text"`
			ID      string `xml:"id"`
		} `xml:",any"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// startSOAPPeer serves echoWSDL's operations with canned envelopes: Echo
// echoes, Fail answers a soap:Client fault, Hang never answers.
func startSOAPPeer(t *testing.T) *bridgetest.Peer {
	stop := make(chan struct{})
	escape := func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	fault := func(w http.ResponseWriter, code, msg string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
<faultcode>soap:%s</faultcode><faultstring>%s</faultstring></soap:Fault></soap:Body></soap:Envelope>`, code, escape(msg))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var env soapCall
		if err := xml.Unmarshal(body, &env); err != nil {
			fault(w, "Client", "not a SOAP envelope: "+err.Error())
			return
		}
		op := env.Body.Op.XMLName
		if op.Space != echoNS || r.Header.Get("SOAPAction") != `"`+echoNS+"#"+op.Local+`"` {
			fault(w, "Client", fmt.Sprintf("body element {%s}%s does not match SOAPAction %s", op.Space, op.Local, r.Header.Get("SOAPAction")))
			return
		}
		switch op.Local {
		case "Echo":
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><t:EchoResult xmlns:t="urn:bridgetest:v1">
<text>%s</text><id>%s</id><request_id>%s</request_id><seq>0</seq></t:EchoResult></soap:Body></soap:Envelope>`,
				escape(env.Body.Op.Text), escape(env.Body.Op.ID), escape(r.Header.Get("X-Request-Id")))
		case "Fail":
			fault(w, "Client", "the peer refuses Fail")
		case "Hang":
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		default:
			fault(w, "Client", "unknown operation "+op.Local)
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return &bridgetest.Peer{
		Upstream: &bridge.Upstream{BaseURL: srv.URL + "/echo"},
		Routes:   echoRoutes(t),
	}
}
