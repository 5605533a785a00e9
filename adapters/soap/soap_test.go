package soap_test

import (
	"context"
	"crypto/sha1" //nolint:gosec // the digest under test is SHA-1
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/testenv"
)

const (
	env11 = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>%s</s:Body></s:Envelope>`
	env12 = `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>%s</e:Body></e:Envelope>`
)

func envelope11(body string) string { return strings.Replace(env11, "%s", body, 1) }
func envelope12(body string) string { return strings.Replace(env12, "%s", body, 1) }

// TestCalls runs successful calls: the request envelope (compared by
// infoset), its HTTP headers, and the decoded reply.
func TestCalls(t *testing.T) {
	sample := func(dir, file string) string {
		b, err := os.ReadFile(testenv.Corpus(t, "soap-samples", dir, file))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, method, req string
		reply             http.HandlerFunc
		wantEnvelope      string
		wantCT, wantAct   string
		want              string
	}{
		{
			name: "SOAP 1.1 document/literal wrapped with a header block", method: "Add",
			req:   `{"int_a": 2, "int_b": 3, "auth": {"token": "t0k"}}`,
			reply: replyXML(200, "text/xml; charset=utf-8", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse>`)),
			wantEnvelope: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><a:AuthHeader xmlns:a="urn:auth"><a:token>t0k</a:token></a:AuthHeader></soap:Header>
				<soap:Body><t:Add xmlns:t="http://tempuri.org/"><t:intA>2</t:intA><t:intB>3</t:intB></t:Add></soap:Body></soap:Envelope>`,
			wantCT: "text/xml; charset=utf-8", wantAct: `"http://tempuri.org/Add"`,
			want: `{"add_result":5}`,
		},
		{
			name: "reply header blocks fill response fields of the same element", method: "Add",
			req: `{"int_a": 1, "int_b": 1}`,
			reply: replyXML(200, "text/xml", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>
				<x:Other xmlns:x="urn:x" soap:mustUnderstand="0"><x:y>ignored</x:y></x:Other><a:Session xmlns:a="urn:auth"><a:token>s1</a:token></a:Session>
				</soap:Header><soap:Body><AddResponse xmlns="http://tempuri.org/"><AddResult>2</AddResult></AddResponse></soap:Body></soap:Envelope>`),
			wantEnvelope: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><t:Add xmlns:t="http://tempuri.org/"><t:intA>1</t:intA><t:intB>1</t:intB></t:Add></soap:Body></soap:Envelope>`,
			wantCT:       "text/xml; charset=utf-8", wantAct: `"http://tempuri.org/Add"`,
			want: `{"add_result":2,"session":{"token":"s1"}}`,
		},
		{
			name: "SOAP 1.2", method: "Add12", req: `{"int_a": 0, "int_b": -1}`,
			reply:        replyXML(200, "application/soap+xml", envelope12(`<AddResponse xmlns="http://tempuri.org/"><AddResult>-1</AddResult></AddResponse>`)),
			wantEnvelope: `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><t:Add xmlns:t="http://tempuri.org/"><t:intA>0</t:intA><t:intB>-1</t:intB></t:Add></e:Body></e:Envelope>`,
			wantCT:       `application/soap+xml; charset=utf-8; action="http://tempuri.org/Add"`,
			want:         `{"add_result":-1}`,
		},
		{
			name: "checkVat with nil and empty", method: "CheckVat", req: `{"country_code": "DE", "vat_number": "123"}`,
			reply: replyXML(200, "text/xml", envelope11(`<checkVatResponse xmlns="urn:ec.europa.eu:taxud:vies:services:checkVat:types" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
				<countryCode>DE</countryCode><vatNumber>123</vatNumber><requestDate>2024-05-01+02:00</requestDate><valid>true</valid>
				<name xsi:nil="true"/><address></address></checkVatResponse>`)),
			wantEnvelope: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><v:checkVat xmlns:v="urn:ec.europa.eu:taxud:vies:services:checkVat:types">
				<v:countryCode>DE</v:countryCode><v:vatNumber>123</v:vatNumber></v:checkVat></soap:Body></soap:Envelope>`,
			wantCT: "text/xml; charset=utf-8", wantAct: `""`,
			want: `{"address":"","country_code":"DE","name_nil":true,"request_date":"2024-05-01+02:00","valid":true,"vat_number":"123"}`,
		},
		{
			name: "document/literal bare", method: "Echo", req: `{"echo": {"text": "hi"}}`,
			reply:        replyXML(200, "text/xml", envelope11(`<echoResponse xmlns="urn:echo"><text>hi</text></echoResponse>`)),
			wantEnvelope: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x:echo xmlns:x="urn:echo"><x:text>hi</x:text></x:echo></soap:Body></soap:Envelope>`,
			wantCT:       "text/xml; charset=utf-8", wantAct: `"urn:echo#echo"`,
			want: `{"echo":{"text":"hi"}}`,
		},
		{
			name: "rpc/literal", method: "Login", req: `{"username": "u", "password": "p"}`,
			reply:        replyXML(200, "text/xml", envelope11(`<m:loginResponse xmlns:m="urn:Magento"><sessionId>abc</sessionId></m:loginResponse>`)),
			wantEnvelope: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:login xmlns:m="urn:Magento"><username>u</username><password>p</password></m:login></soap:Body></soap:Envelope>`,
			wantCT:       "text/xml; charset=utf-8", wantAct: `""`,
			want: `{"session_id":"abc"}`,
		},
		{
			name: "node-soap Dummy__should_handle_nil", method: "Dummy", req: `{"dummy_field1": "Humpty", "dummy_filter": {"dummy_string_filter": "Dumpty"}}`,
			reply:        replyXML(200, "text/xml", sample("Dummy__should_handle_nil", "response.xml")),
			wantEnvelope: sample("Dummy__should_handle_nil", "request.xml"),
			wantCT:       "text/xml; charset=utf-8", wantAct: `""`,
			want: `{"dummy_result":{"dummy_list":{"dummy_element":[{}],"dummy_element_nil":[0]}}}`,
		},
		{
			name: "node-soap Dummy__should_handle_attributes_in_response", method: "Dummy", req: `{"dummy_field1": "Humpty", "dummy_filter": {"dummy_string_filter": "Dumpty"}}`,
			reply:        replyXML(200, "text/xml", sample("Dummy__should_handle_attributes_in_response", "response.xml")),
			wantEnvelope: sample("Dummy__should_handle_attributes_in_response", "request.xml"),
			wantCT:       "text/xml; charset=utf-8", wantAct: `""`,
			want: `{"dummy_result":{"dummy_list":{"dummy_element":[{"language":"en-US","value":"\n                    Dummy Element Entry\n                   "}]}}}`,
		},
		{
			name: "one-way returns empty after 202", method: "Notify", req: `{"echo": {"text": "x"}}`,
			reply:        replyXML(202, "text/plain", ""),
			wantEnvelope: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x:echo xmlns:x="urn:echo"><x:text>x</x:text></x:echo></soap:Body></soap:Envelope>`,
			wantCT:       "text/xml; charset=utf-8", wantAct: `""`,
			want: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, tt.reply)
			ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL + "/svc"}, tt.method)
			got, err := call(t, ep, r, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("reply\n got %s\nwant %s", got, tt.want)
			}
			req, body := up.last()
			if req.Method != http.MethodPost || req.URL.Path != "/svc" {
				t.Errorf("request %s %s", req.Method, req.URL.Path)
			}
			if ct := req.Header.Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			if act, ok := req.Header["Soapaction"]; tt.wantAct != "" && (!ok || act[0] != tt.wantAct) || tt.wantAct == "" && ok {
				t.Errorf("SOAPAction %q, want %q", act, tt.wantAct)
			}
			diff, err := xmltest.Diff([]byte(tt.wantEnvelope), body, xmltest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("request envelope differs (-want +got):\n%s\n%s", diff, body)
			}
		})
	}
}

// TestFaults maps SOAP 1.1 and 1.2 faults, with HTTP 500 and 200.
func TestFaults(t *testing.T) {
	fault11 := func(code, str, detail string) string {
		return envelope11(`<s:Fault><faultcode>` + code + `</faultcode><faultstring>` + str + `</faultstring><faultactor>urn:actor</faultactor>` + detail + `</s:Fault>`)
	}
	fault12 := func(code, sub, reason, detail string) string {
		sc := ""
		if sub != "" {
			sc = `<e:Subcode><e:Value xmlns:app="urn:app">` + sub + `</e:Value></e:Subcode>`
		}
		return envelope12(`<e:Fault><e:Code><e:Value>` + code + `</e:Value>` + sc + `</e:Code><e:Reason><e:Text xml:lang="en">` + reason + `</e:Text><e:Text xml:lang="de">Grund</e:Text></e:Reason>
			<e:Node>urn:node</e:Node><e:Role>urn:role</e:Role>` + detail + `</e:Fault>`)
	}
	tests := []struct {
		name, method string
		status       int
		body         string
		code         codes.Code
		faultcode    string
		wantStruct   string
	}{
		{"1.1 Client, HTTP 500, with detail", "Add", 500,
			fault11("s:Client", "bad input", `<detail><e:err xmlns:e="urn:e"><e:field>intA</e:field><e:field>intB</e:field><e:msg lang="en">too big</e:msg></e:err></detail>`),
			codes.InvalidArgument, "Client",
			`{"actor":"urn:actor","code":"Client","code_namespace":"http://schemas.xmlsoap.org/soap/envelope/","detail":{"err":{"field":["intA","intB"],"msg":{"#text":"too big","@lang":"en"}}},"reason":"bad input"}`},
		{"1.1 Server, HTTP 200, no detail", "Add", 200, fault11("s:Server", "boom", ""), codes.Internal, "Server",
			`{"actor":"urn:actor","code":"Server","code_namespace":"http://schemas.xmlsoap.org/soap/envelope/","reason":"boom"}`},
		{"1.1 Server says busy", "Add", 500, fault11("s:Server.Busy", "Server too busy, try later", ""), codes.Unavailable, "Server.Busy", ""},
		{"1.1 VersionMismatch", "Add", 500, fault11("s:VersionMismatch", "v", ""), codes.FailedPrecondition, "VersionMismatch", ""},
		{"1.1 MustUnderstand", "Add", 500, fault11("s:MustUnderstand", "m", ""), codes.InvalidArgument, "MustUnderstand", ""},
		{"1.1 custom code", "Add", 500, fault11("x:Oops", "o", ""), codes.Internal, "Oops", ""},
		{"1.2 Sender, HTTP 400, subcode and detail", "Add12", 400,
			fault12("e:Sender", "app:InvalidNumber", "number too large", `<e:Detail><n xmlns="urn:d">42</n></e:Detail>`),
			codes.InvalidArgument, "Sender",
			`{"actor":"urn:node","code":"Sender","code_namespace":"http://www.w3.org/2003/05/soap-envelope","detail":{"n":"42"},"reason":"number too large","role":"urn:role","subcodes":["{urn:app}InvalidNumber"]}`},
		{"1.2 Receiver, HTTP 200", "Add12", 200, fault12("e:Receiver", "", "db down", ""), codes.Internal, "Receiver", ""},
		{"1.2 Receiver unavailable subcode", "Add12", 500, fault12("e:Receiver", "app:ServiceUnavailable", "later", ""), codes.Unavailable, "Receiver", ""},
		{"1.2 MustUnderstand", "Add12", 500, fault12("e:MustUnderstand", "", "hdr", ""), codes.InvalidArgument, "MustUnderstand", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype := "text/xml"
			if tt.method == "Add12" {
				ctype = "application/soap+xml"
			}
			up := newUpstream(t, replyXML(tt.status, ctype, tt.body))
			ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL}, tt.method)
			_, err := call(t, ep, r, `{"int_a": 1}`)
			code, info, s := statusParts(t, err)
			if code != tt.code || info.Reason != "SOAP_FAULT" || info.Metadata["faultcode"] != tt.faultcode ||
				info.Metadata["upstream"] != "calc" || info.Metadata["http_status"] != itoa(tt.status) {
				t.Errorf("got %v %v %v", code, info.Reason, info.Metadata)
			}
			if s == nil {
				t.Fatal("no Struct detail")
			}
			if tt.wantStruct != "" {
				if got := jsonOf(t, s); got != tt.wantStruct {
					t.Errorf("fault detail\n got %s\nwant %s", got, tt.wantStruct)
				}
			}
		})
	}
}

// TestBadReplies checks that every kind of unusable reply fails with a
// precise status and no panic.
func TestBadReplies(t *testing.T) {
	deep := strings.Repeat("<x>", 500) + strings.Repeat("</x>", 500)
	ok := `<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse>`
	tests := []struct {
		name   string
		up     bridge.Upstream
		reply  http.HandlerFunc
		code   codes.Code
		reason string
		path   string
	}{
		{"HTML page with 200", bridge.Upstream{}, replyXML(200, "text/html", "<html><body>Oops</body></html>"), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"HTML page with 200 as text/xml", bridge.Upstream{}, replyXML(200, "text/xml", "<html><body>Oops</body></html>"), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"SOAP 1.2 reply to 1.1", bridge.Upstream{}, replyXML(200, "application/soap+xml", envelope12(ok)), codes.Internal, "SOAP_VERSION_MISMATCH", ""},
		{"envelope in wrong namespace", bridge.Upstream{}, replyXML(200, "text/xml", `<Envelope xmlns="urn:nope"><Body/></Envelope>`), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"response element in wrong namespace", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(`<AddResponse><AddResult>5</AddResult></AddResponse>`)), codes.Internal, "UPSTREAM_BAD_RESPONSE", "/Envelope/Body/AddResponse"},
		{"unknown element", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult><Extra/></AddResponse>`)), codes.Internal, "UPSTREAM_BAD_RESPONSE", "/Envelope/Body/AddResponse/Extra"},
		{"bad integer", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>5.5</AddResult></AddResponse>`)), codes.Internal, "UPSTREAM_BAD_RESPONSE", "/Envelope/Body/AddResponse/AddResult"},
		{"malformed", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>5</Add></AddResponse>`)), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"truncated", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(ok)[:60]), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"empty 200", bridge.Upstream{}, replyXML(200, "text/xml", ""), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"empty Body", bridge.Upstream{}, replyXML(200, "text/xml", envelope11("")), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"no Body", bridge.Upstream{}, replyXML(200, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>`), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"DOCTYPE", bridge.Upstream{}, replyXML(200, "text/xml", `<!DOCTYPE s [<!ENTITY x "y">]>`+envelope11(ok)), codes.Internal, "UPSTREAM_XML_FORBIDDEN", ""},
		{"entity reference", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>&x;</AddResult></AddResponse>`)), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"over-deep nesting (lax)", bridge.Upstream{Config: soapConfig(t, soap.Config{XMLLax: true})}, replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/">`+deep+`</AddResponse>`)), codes.Internal, "UPSTREAM_XML_LIMIT", ""},
		{"oversized text", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>`+strings.Repeat("1", 2<<20)+`</AddResult></AddResponse>`)), codes.Internal, "UPSTREAM_XML_LIMIT", ""},
		{"body over max_response_bytes", bridge.Upstream{MaxResponseBytes: 100}, replyXML(200, "text/xml", envelope11(ok)), codes.ResourceExhausted, "RESPONSE_TOO_LARGE", ""},
		{"503 without fault", bridge.Upstream{}, replyXML(503, "text/html", "<html>down</html>"), codes.Unavailable, "UPSTREAM_HTTP_503", ""},
		{"404 with XML that is no envelope", bridge.Upstream{}, replyXML(404, "text/xml", "<error/>"), codes.NotFound, "UPSTREAM_HTTP_404", ""},
		{"500 with a normal envelope", bridge.Upstream{}, replyXML(500, "text/xml", envelope11(ok)), codes.Internal, "UPSTREAM_HTTP_500", ""},
		{"SOAP 1.1 reply to 1.2", bridge.Upstream{}, replyXML(200, "text/xml", envelope11(ok)), codes.Internal, "SOAP_VERSION_MISMATCH", ""},
		{"over-deep reply Header", bridge.Upstream{}, replyXML(200, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>`+deep+`</s:Header><s:Body>`+ok+`</s:Body></s:Envelope>`), codes.Internal, "UPSTREAM_XML_LIMIT", ""},
		{"bad value in a reply header block", bridge.Upstream{}, replyXML(200, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><a:Session xmlns:a="urn:auth"><a:token><b/></a:token></a:Session></s:Header><s:Body>`+ok+`</s:Body></s:Envelope>`), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"billion laughs", bridge.Upstream{}, replyXML(200, "text/xml", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>`+envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>&lol2;</AddResult></AddResponse>`)), codes.Internal, "UPSTREAM_XML_FORBIDDEN", ""},
		{"multipart", bridge.Upstream{}, replyXML(200, "multipart/related; boundary=x", "--x--"), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
		{"fault without code", bridge.Upstream{}, replyXML(500, "text/xml", envelope11(`<s:Fault><faultstring>x</faultstring></s:Fault>`)), codes.Internal, "UPSTREAM_BAD_RESPONSE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, tt.reply)
			u := tt.up
			u.BaseURL = up.srv.URL
			method := "Add"
			if strings.HasSuffix(tt.name, "reply to 1.2") {
				method = "Add12"
			}
			ep, r := bind(t, &u, method)
			_, err := call(t, ep, r, `{"int_a": 1}`)
			code, info, _ := statusParts(t, err)
			if code != tt.code || info.Reason != tt.reason {
				t.Errorf("got %v %s (%v), want %v %s", code, info.Reason, err, tt.code, tt.reason)
			}
			if tt.path != "" && info.Metadata["path"] != tt.path {
				t.Errorf("path %q, want %q", info.Metadata["path"], tt.path)
			}
		})
	}
	t.Run("lax accepts unknown elements and another response name", func(t *testing.T) {
		up := newUpstream(t, replyXML(200, "text/xml", envelope11(`<Other xmlns="http://tempuri.org/"><AddResult>5</AddResult><Extra><y/></Extra></Other>`)))
		ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL, Config: soapConfig(t, soap.Config{XMLLax: true})}, "Add")
		got, err := call(t, ep, r, `{}`)
		if err != nil || got != `{"add_result":5}` {
			t.Errorf("got %s, %v", got, err)
		}
	})
}

// TestCredentials checks basic auth and WS-Security UsernameToken headers.
func TestCredentials(t *testing.T) {
	t.Setenv("SOAP_TEST_PASS", "s3cret")
	ok := replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse>`))
	t.Run("basic", func(t *testing.T) {
		up := newUpstream(t, ok)
		// Basic credentials come with the transport the core wraps.
		wrap, err := auth.Outbound(&config.Credentials{Basic: &config.BasicCredentials{Username: "alice", Password: bridge.Secret{Env: "SOAP_TEST_PASS"}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ep, r := bindEnv(t, &bridge.Upstream{BaseURL: up.srv.URL}, "Add", &bridge.Env{WrapTransport: wrap})
		if _, err := call(t, ep, r, `{}`); err != nil {
			t.Fatal(err)
		}
		req, _ := up.last()
		if u, p, ok := req.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			t.Errorf("basic auth %q %q %v", u, p, ok)
		}
	})
	for _, digest := range []bool{false, true} {
		for _, version := range []string{"Add", "Add12"} {
			t.Run(map[bool]string{false: "PasswordText", true: "PasswordDigest"}[digest]+" "+version, func(t *testing.T) {
				reply := ok
				if version == "Add12" {
					reply = replyXML(200, "application/soap+xml", envelope12(`<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse>`))
				}
				up := newUpstream(t, reply)
				ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL, Config: soapConfig(t, soap.Config{
					WSSecurity: &soap.WSSecurityConfig{Username: "bob", Password: bridge.Secret{Env: "SOAP_TEST_PASS"}, Digest: digest}})}, version)
				if _, err := call(t, ep, r, `{}`); err != nil {
					t.Fatal(err)
				}
				_, body := up.last()
				checkUsernameToken(t, body, version == "Add12", digest)
			})
		}
	}
}

const (
	wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	wsu  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
)

// checkUsernameToken parses the header and verifies the token; a digest is
// recomputed from Nonce, Created and the password.
func checkUsernameToken(t *testing.T, body []byte, soap12, digest bool) {
	t.Helper()
	d := xmlcodec.NewDecoder(strings.NewReader(string(body)), xmlcodec.Limits{})
	root, err := d.Root()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := d.Tree(root)
	if err != nil {
		t.Fatal(err)
	}
	envNS, mu := "http://schemas.xmlsoap.org/soap/envelope/", "1"
	if soap12 {
		envNS, mu = "http://www.w3.org/2003/05/soap-envelope", "true"
	}
	child := func(n *xmlcodec.Node, ns, local string) *xmlcodec.Node {
		t.Helper()
		c := n.Child(xmlName(ns, local))
		if c == nil {
			t.Fatalf("no %s in %s", local, n.Name.Local)
		}
		return c
	}
	sec := child(child(tree, envNS, "Header"), wsse, "Security")
	if v, _ := sec.AttrValue(xmlName(envNS, "mustUnderstand")); v != mu {
		t.Errorf("mustUnderstand %q, want %q", v, mu)
	}
	tok := child(sec, wsse, "UsernameToken")
	if u := child(tok, wsse, "Username").Text(); u != "bob" {
		t.Errorf("username %q", u)
	}
	pw := child(tok, wsse, "Password")
	typ, _ := pw.AttrValue(xmlName("", "Type"))
	if !digest {
		if !strings.HasSuffix(typ, "#PasswordText") || pw.Text() != "s3cret" {
			t.Errorf("password %q type %q", pw.Text(), typ)
		}
		return
	}
	if !strings.HasSuffix(typ, "#PasswordDigest") {
		t.Errorf("type %q", typ)
	}
	nonceNode := child(tok, wsse, "Nonce")
	if enc, _ := nonceNode.AttrValue(xmlName("", "EncodingType")); !strings.HasSuffix(enc, "#Base64Binary") {
		t.Errorf("nonce encoding %q", enc)
	}
	nonce, err := base64.StdEncoding.DecodeString(nonceNode.Text())
	if err != nil || len(nonce) != 16 {
		t.Fatalf("nonce %q: %v", nonceNode.Text(), err)
	}
	created := child(tok, wsu, "Created").Text()
	ct, err := time.Parse(time.RFC3339, created)
	if err != nil || !strings.HasSuffix(created, "Z") || time.Since(ct) > time.Minute {
		t.Errorf("created %q: %v", created, err)
	}
	h := sha1.New() //nolint:gosec
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte("s3cret"))
	if want := base64.StdEncoding.EncodeToString(h.Sum(nil)); pw.Text() != want {
		t.Errorf("digest %q, want %q", pw.Text(), want)
	}
}

// TestDeadline checks that the caller's deadline bounds the call.
func TestDeadline(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL}, "Add")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := callCtx(ctx, t, ep, r, `{}`)
	if code, info, _ := statusParts(t, err); code != codes.DeadlineExceeded || info.Reason != "DEADLINE_EXCEEDED" {
		t.Errorf("got %v %s", code, info.Reason)
	}
}

// TestRequestErrors checks requests that cannot be written or sent.
func TestRequestErrors(t *testing.T) {
	up := newUpstream(t, replyXML(200, "text/xml", ""))
	t.Run("control character", func(t *testing.T) {
		ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL}, "Echo")
		_, err := call(t, ep, r, `{"echo": {"text": "a\u0000b"}}`)
		if code, info, _ := statusParts(t, err); code != codes.InvalidArgument || info.Reason != "INVALID_REQUEST" || info.Metadata["path"] != "/Envelope/Body/echo/text" {
			t.Errorf("got %v %s %v", code, info.Reason, info.Metadata)
		}
	})
	t.Run("request too large", func(t *testing.T) {
		ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL, MaxRequestBytes: 100}, "Echo")
		_, err := call(t, ep, r, `{"echo": {"text": "`+strings.Repeat("a", 200)+`"}}`)
		if code, info, _ := statusParts(t, err); code != codes.ResourceExhausted || info.Reason != "REQUEST_TOO_LARGE" {
			t.Errorf("got %v %s", code, info.Reason)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ep, r := bind(t, &bridge.Upstream{BaseURL: "http://127.0.0.1:1"}, "Add")
		_, err := call(t, ep, r, `{}`)
		if code, info, _ := statusParts(t, err); code != codes.Unavailable || info.Reason != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("got %v %s", code, info.Reason)
		}
	})
}

// TestBindErrors checks routes the adapter refuses.
func TestBindErrors(t *testing.T) {
	u := &bridge.Upstream{Name: "calc", BaseURL: "http://127.0.0.1:1"}
	a, err := soapNew(u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	for method, want := range map[string]string{
		"NoBinding":  "no SOAP binding",
		"BadWrapped": "needs request_element",
		"BadHeader":  `no field "nope"`,
	} {
		_, err := a.Bind(route(t, method, u))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", method, err, want)
		}
	}
	for _, bad := range []*bridge.Upstream{
		{BaseURL: "ftp://x"},
		{BaseURL: "http://x", Headers: map[string]string{"SOAPAction": "x"}},
		{BaseURL: "http://x", Config: soapConfig(t, soap.Config{WSSecurity: &soap.WSSecurityConfig{Username: "u", Password: bridge.Secret{Env: "SOAP_TEST_UNSET_VAR"}}})},
		{BaseURL: "http://x", Config: soapConfig(t, map[string]any{"xml_lacks": true})},
	} {
		if a, err := soapNew(bad); err == nil {
			_ = a.Close()
			t.Errorf("New(%+v) succeeded", bad)
		}
	}
}

// TestNoticesAndRequestID passes the call's request id upstream and reports
// Deprecation and Sunset headers of the reply to the bridge.
func TestNoticesAndRequestID(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Deprecation", "@1767225600")
		w.Header().Set("Sunset", "Wed, 01 Jul 2026 00:00:00 GMT")
		replyXML(200, "text/xml", envelope11(`<AddResponse xmlns="http://tempuri.org/"><AddResult>2</AddResult></AddResponse>`))(w, r)
	})
	u := &bridge.Upstream{Name: "calc", BaseURL: up.srv.URL}
	var notices []bridge.Notice
	a, err := soap.New(u, &bridge.Env{Notify: func(_ *bridge.Route, n bridge.Notice) { notices = append(notices, n) }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := route(t, "Add", u)
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	in := dynamicpb.NewMessage(r.Method.Input())
	if _, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: in, RequestID: "req-7"}); err != nil {
		t.Fatal(err)
	}
	req, _ := up.last()
	if got := req.Header.Get("X-Request-Id"); got != "req-7" {
		t.Errorf("X-Request-Id = %q", got)
	}
	if len(notices) != 2 || notices[0].Kind != "deprecation" || notices[1].Kind != "sunset" || notices[1].Date.Year() != 2026 {
		t.Errorf("notices = %+v", notices)
	}
}
