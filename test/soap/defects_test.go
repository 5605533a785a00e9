package soap

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// issue10WSDL reproduces the SOAP defects of issue 10 in one service, Issue10
// (document/literal wrapped, SOAP 1.1, namespace urn:issue10):
//
//   - query returns Salesforce-style records, sequence(type, Id, xs:any
//     ##targetNamespace lax), whose replies repeat Id (item 1);
//   - Book carries the simple-typed soap:header MailboxCulture (item 2) and
//     takes an xs:dateTime and an xs:date (item 5);
//   - Quote returns a decimal, a double, a float and an int (item 6);
//   - FindItem returns an Exchange-style (Item | Message | CalendarItem)*
//     (item 4).
const issue10WSDL = `<?xml version="1.0" encoding="UTF-8"?>
<definitions name="Issue10" xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:issue10" targetNamespace="urn:issue10">
  <types>
    <xs:schema targetNamespace="urn:issue10" elementFormDefault="qualified">
      <xs:element name="MailboxCulture" type="xs:language"/>
      <xs:complexType name="sObject">
        <xs:sequence>
          <xs:element name="type" type="xs:string"/>
          <xs:element name="Id" type="xs:string" minOccurs="0" nillable="true"/>
          <xs:any namespace="##targetNamespace" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="query"><xs:complexType><xs:sequence><xs:element name="queryString" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="queryResponse"><xs:complexType><xs:sequence>
        <xs:element name="records" type="tns:sObject" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="ResultCode" type="xs:int"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:complexType name="ItemType"><xs:sequence><xs:element name="Subject" type="xs:string" minOccurs="0"/></xs:sequence></xs:complexType>
      <xs:complexType name="ArrayOfRealItemsType">
        <xs:choice minOccurs="0" maxOccurs="unbounded">
          <xs:element name="Item" type="tns:ItemType"/>
          <xs:element name="Message" type="tns:ItemType"/>
          <xs:element name="CalendarItem" type="tns:ItemType"/>
        </xs:choice>
      </xs:complexType>
      <xs:element name="FindItem"><xs:complexType><xs:sequence><xs:element name="Folder" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="FindItemResponse"><xs:complexType><xs:sequence><xs:element name="Items" type="tns:ArrayOfRealItemsType"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="Book"><xs:complexType><xs:sequence>
        <xs:element name="start" type="xs:dateTime"/>
        <xs:element name="day" type="xs:date" minOccurs="0"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="BookResponse"><xs:complexType><xs:sequence><xs:element name="confirmation" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="Quote"><xs:complexType><xs:sequence><xs:element name="symbol" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="QuoteResponse"><xs:complexType><xs:sequence>
        <xs:element name="price" type="xs:decimal"/>
        <xs:element name="ratio" type="xs:double"/>
        <xs:element name="low" type="xs:float"/>
        <xs:element name="count" type="xs:int"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </types>
  <message name="queryIn"><part name="parameters" element="tns:query"/></message>
  <message name="queryOut"><part name="parameters" element="tns:queryResponse"/></message>
  <message name="FindItemIn"><part name="parameters" element="tns:FindItem"/></message>
  <message name="FindItemOut"><part name="parameters" element="tns:FindItemResponse"/></message>
  <message name="BookIn"><part name="parameters" element="tns:Book"/></message>
  <message name="BookOut"><part name="parameters" element="tns:BookResponse"/></message>
  <message name="QuoteIn"><part name="parameters" element="tns:Quote"/></message>
  <message name="QuoteOut"><part name="parameters" element="tns:QuoteResponse"/></message>
  <message name="CultureHeader"><part name="MailboxCulture" element="tns:MailboxCulture"/></message>
  <portType name="Issue10Port">
    <operation name="query"><input message="tns:queryIn"/><output message="tns:queryOut"/></operation>
    <operation name="FindItem"><input message="tns:FindItemIn"/><output message="tns:FindItemOut"/></operation>
    <operation name="Book"><input message="tns:BookIn"/><output message="tns:BookOut"/></operation>
    <operation name="Quote"><input message="tns:QuoteIn"/><output message="tns:QuoteOut"/></operation>
  </portType>
  <binding name="Issue10Binding" type="tns:Issue10Port">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="query"><soap:operation soapAction="urn:issue10/query"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
    <operation name="FindItem"><soap:operation soapAction="urn:issue10/FindItem"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
    <operation name="Book"><soap:operation soapAction="urn:issue10/Book"/>
      <input><soap:body use="literal" parts="parameters"/><soap:header message="tns:CultureHeader" part="MailboxCulture" use="literal"/></input>
      <output><soap:body use="literal"/></output></operation>
    <operation name="Quote"><soap:operation soapAction="urn:issue10/Quote"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="Issue10"><port name="Issue10Port" binding="tns:Issue10Binding"><soap:address location="http://127.0.0.1/issue10"/></port></service>
</definitions>
`

// cannedSOAP is an upstream on 127.0.0.1 answering each SOAPAction with a fixed
// SOAP 1.1 Body and recording the request bodies.
type cannedSOAP struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func startCanned(t *testing.T, replies map[string]string) *cannedSOAP {
	t.Helper()
	c := &cannedSOAP{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.requests = append(c.requests, string(body))
		c.mu.Unlock()
		reply, ok := replies[strings.Trim(r.Header.Get("SOAPAction"), `"`)]
		if !ok {
			http.Error(w, "unknown SOAPAction", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = io.WriteString(w, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`+reply+`</s:Body></s:Envelope>`)
	}))
	t.Cleanup(c.Close)
	return c
}

// last returns the last request body received, "" when none.
func (c *cannedSOAP) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.requests) == 0 {
		return ""
	}
	return c.requests[len(c.requests)-1]
}

// count is how many requests were received.
func (c *cannedSOAP) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}

// issue10Replies are the canned replies of the Issue10 service.
var issue10Replies = map[string]string{
	// Salesforce's partner API repeats sf:Id in every record of a query.
	"urn:issue10/query": `<queryResponse xmlns="urn:issue10">
		<records><type>Account</type><Id>001A</Id><Id>001A</Id><Name>Acme</Name></records>
		<records><type>Account</type><Id>001B</Id><Id>001B</Id><Name>Beta</Name></records>
		<ResultCode>7</ResultCode></queryResponse>`,
	"urn:issue10/FindItem": `<FindItemResponse xmlns="urn:issue10"><Items>
		<Message><Subject>m1</Subject></Message><CalendarItem><Subject>c1</Subject></CalendarItem><Message><Subject>m2</Subject></Message>
		</Items></FindItemResponse>`,
	"urn:issue10/Book": `<BookResponse xmlns="urn:issue10"><confirmation>ok</confirmation></BookResponse>`,
	// Numbers as many platforms print floats.
	"urn:issue10/Quote": `<QuoteResponse xmlns="urn:issue10"><price>1E+3</price><ratio>nan</ratio><low>-inf</low><count>1.0E2</count></QuoteResponse>`,
}

// TestIssue10Defects calls the Issue10 service through the daemon with grpc-go,
// against a canned-reply upstream, once strict and once with xml_lax; each subtest is
// one SOAP item of issue 10.
func TestIssue10Defects(t *testing.T) {
	t.Parallel()
	wsdl := proc.WriteFile(t, t.TempDir(), "issue10.wsdl", issue10WSDL)
	g := genWSDL(t, wsdl, "issue10")
	up := startCanned(t, issue10Replies)
	strict := serve(t, g, up.URL, "")
	lax := serve(t, g, up.URL, "    soap: {xml_lax: true}\n")

	t.Run("repeated Id goes to xs:any", func(t *testing.T) {
		for name, d := range map[string]*daemon{"strict": strict, "xml_lax": lax} {
			resp, err := d.call(t, g, "Query", `{"queryString": "SELECT Id, Id, Name FROM Account"}`)
			if err != nil {
				t.Errorf("%s: %v\n%s", name, err, d.Out)
				continue
			}
			records := resp.Get(resp.Descriptor().Fields().ByName("records")).List()
			if records.Len() != 2 {
				t.Errorf("%s: %d records, want 2", name, records.Len())
				continue
			}
			for i, want := range []struct{ id, name string }{{"001A", "Acme"}, {"001B", "Beta"}} {
				rec := records.Get(i).Message()
				fs := rec.Descriptor().Fields()
				id, raw := rec.Get(fs.ByName("id")).String(), rec.Get(fs.ByName("any")).String()
				if id != want.id || !strings.Contains(raw, ">"+want.id+"</") || !strings.Contains(raw, ">"+want.name+"</") {
					t.Errorf("%s: record %d id %q any %q, want id %s and the second Id and the Name in any", name, i, id, raw, want.id)
				}
			}
		}
	})

	t.Run("unset header part is absent", func(t *testing.T) {
		strict.mustCall(t, g, "Book", `{"start": "2024-02-29T10:00:00Z"}`, `{"confirmation": "ok"}`)
		if got := elementsIn(t, up.last()); count(got, "{urn:issue10}MailboxCulture") != 0 || count(got, "{http://schemas.xmlsoap.org/soap/envelope/}Header") != 0 {
			t.Errorf("request without mailbox_culture holds %v", got)
		}
		strict.mustCall(t, g, "Book", `{"start": "2024-02-29T10:00:00Z", "mailboxCulture": "en-US"}`, `{"confirmation": "ok"}`)
		want := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><t:MailboxCulture xmlns:t="urn:issue10">en-US</t:MailboxCulture></s:Header>
			<s:Body><t:Book xmlns:t="urn:issue10"><t:start>2024-02-29T10:00:00Z</t:start></t:Book></s:Body></s:Envelope>`
		if diff, err := xmltest.Diff([]byte(want), []byte(up.last()), xmltest.Options{}); err != nil || diff != "" {
			t.Errorf("request with mailbox_culture differs (-want +got), %v:\n%s", err, diff)
		}
	})

	t.Run("repeated choice keeps order", func(t *testing.T) {
		strict.mustCall(t, g, "FindItem", `{"folder": "inbox"}`,
			`{"items": {"itemChoice": [{"message": {"subject": "m1"}}, {"calendarItem": {"subject": "c1"}}, {"message": {"subject": "m2"}}]}}`)
	})

	t.Run("invalid dates are refused", func(t *testing.T) {
		strict.mustCall(t, g, "Book", `{"start": "2024-02-29T10:00:00+01:00", "day": "2024-02-29"}`, `{"confirmation": "ok"}`)
		for _, tt := range []struct{ req, path string }{
			{`{"start": "2024-02-30T10:00:00Z"}`, "/Envelope/Body/Book/start"},
			{`{"start": "2024-05-01 10:00"}`, "/Envelope/Body/Book/start"},
			{`{"start": "2024-05-01T10:00:00Z", "day": "2024-13-01"}`, "/Envelope/Body/Book/day"},
		} {
			n := up.count()
			_, err := strict.call(t, g, "Book", tt.req)
			info, _ := wantStatusDetails(t, err, codes.InvalidArgument)
			if info.GetReason() != "INVALID_REQUEST" || info.GetMetadata()["path"] != tt.path {
				t.Errorf("%s: ErrorInfo %v, want INVALID_REQUEST at %s", tt.req, info, tt.path)
			}
			if up.count() != n {
				t.Errorf("%s was sent upstream", tt.req)
			}
		}
	})

	t.Run("tolerant numbers", func(t *testing.T) {
		resp := strict.mustCall(t, g, "Quote", `{"symbol": "X"}`, `{"price": "1000", "ratio": "NaN", "low": "-Infinity", "count": 100}`)
		if fd := resp.Descriptor().Fields().ByName("price"); fd.Kind() != protoreflect.StringKind {
			t.Errorf("price is a %v, want the decimal as a string", fd.Kind())
		}
	})
}

// TestIssue10TrimmedNames (issue 10, item 3): element names written with the
// trailing white space some toolkits export (name="ResultCode ") are the trimmed
// names; before, `gen wsdl` succeeded but wrote XML names the daemon refused to serve.
func TestIssue10TrimmedNames(t *testing.T) {
	t.Parallel()
	doc := issue10WSDL
	for _, name := range []string{"ResultCode", "type"} {
		old := `<xs:element name="` + name + `" `
		if !strings.Contains(doc, old) {
			t.Fatalf("no %s in the WSDL", old)
		}
		doc = strings.ReplaceAll(doc, old, `<xs:element name="`+name+` " `)
	}
	g := genWSDL(t, proc.WriteFile(t, t.TempDir(), "issue10.wsdl", doc), "issue10")
	if !strings.Contains(g.text, `name: "ResultCode"`) || strings.Contains(g.text, `ResultCode "`) {
		t.Errorf("the .proto does not name ResultCode trimmed:\n%s", g.text)
	}
	// xml_lax, so that this test shows item 3 alone: strict, the repeated Ids of the
	// reply needed item 1's fix too.
	d := serve(t, g, startCanned(t, issue10Replies).URL, "    soap: {xml_lax: true}\n")
	resp, err := d.call(t, g, "Query", `{"queryString": "x"}`)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Out)
	}
	if fd := resp.Descriptor().Fields().ByName("result_code"); fd == nil || resp.Get(fd).Int() != 7 {
		t.Errorf("result_code not decoded from <ResultCode>7</ResultCode>: %v", resp)
	}
}

// TestGenWSDLRefusesBrokenReferences (issue 10, item 7): `gen wsdl` on a WSDL whose
// SOAP binding uses an undeclared prefix, or whose xs:import cannot be read, fails
// naming the file and line, as for other broken references, and writes nothing;
// before, it wrote a types-only .proto with a warning.
func TestGenWSDLRefusesBrokenReferences(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	undeclared := proc.WriteFile(t, dir, "undeclared.wsdl", strings.Replace(issue10WSDL,
		` xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"`, "", 1))
	unreadable := proc.WriteFile(t, dir, "unreadable.wsdl", strings.Replace(issue10WSDL,
		`<xs:element name="MailboxCulture" type="xs:language"/>`,
		`<xs:import namespace="urn:common" schemaLocation="common/CommonData.xsd"/><xs:element name="MailboxCulture" type="xs:language"/>`, 1))
	for _, tt := range []struct{ file, want string }{
		{undeclared, fmt.Sprintf(`undeclared.wsdl:%d: namespace prefix "soap" of element <soap:binding> is not declared`, lineOf(t, issue10WSDL, "<soap:binding"))},
		{unreadable, fmt.Sprintf(`unreadable.wsdl:%d: xs:import of namespace "urn:common" from "common/CommonData.xsd" cannot be read`, lineOf(t, issue10WSDL, `name="MailboxCulture"`))},
	} {
		out := filepath.Join(t.TempDir(), "issue10", "v1")
		stdout, stderr, code := runCommand(t, root, binary, "gen", "wsdl", tt.file, "--out", out)
		if code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("gen wsdl %s: exit %d, stderr %q; want exit 1 and %q", filepath.Base(tt.file), code, stderr, tt.want)
		}
		if strings.Contains(stdout, "wrote") || strings.Contains(stderr, "warning") {
			t.Errorf("gen wsdl %s wrote output or warned:\n%s%s", filepath.Base(tt.file), stdout, stderr)
		}
	}
}

// lineOf is the 1-based line of text holding the first occurrence of s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not found", s)
	}
	return strings.Count(text[:i], "\n") + 1
}
