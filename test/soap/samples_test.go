package soap

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/internal/testenv"
)

// sample is the folder of one case of ../shared/corpus/soap-samples.
func sample(t *testing.T, name string) string {
	t.Helper()
	return testenv.Corpus(t, "soap-samples", name)
}

// elementsIn lists the {namespace}local names of the elements of an XML
// document, and "@{namespace}local=value" for their attributes, in document
// order.
func elementsIn(t *testing.T, doc string) []string {
	t.Helper()
	var names []string
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("%v in %s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, "{"+se.Name.Space+"}"+se.Name.Local)
			for _, a := range se.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					names = append(names, "@{"+a.Name.Space+"}"+a.Name.Local+"="+a.Value)
				}
			}
		}
	}
}

// count is how many of names equal name.
func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

// TestNodeSoapSamples serves WSDLs of node-soap's request/response samples
// and of the corpus with node-soap and calls them through the daemon:
// attributes and simpleContent text (Dummy), xsi:nil (Dummy), arrays of
// complex types with decimals (GetItemInformation), and xs:choice as a
// oneof in replies (Workday) and requests (CalculatorChoice).
func TestNodeSoapSamples(t *testing.T) {
	t.Parallel()

	t.Run("Dummy", func(t *testing.T) {
		t.Parallel()
		// Dummy__should_handle_attributes_in_response and
		// Dummy__should_handle_nil share this soap.wsdl (document/literal bare).
		wsdl := filepath.Join(sample(t, "Dummy__should_handle_attributes_in_response"), "soap.wsdl")
		g := genWSDL(t, wsdl, "dummy")
		peer := startNodeSoap(t, "dummy", wsdl, "--declare-xsi")
		d := serve(t, g, peer.url, "")

		t.Run("attributes", func(t *testing.T) {
			// The sample's request.json, in protobuf JSON.
			d.mustCall(t, g, "Dummy", `{"dummyRequest": {"dummyField1": "Humpty", "dummyFilter": {"dummyStringFilter": "Dumpty"}}}`,
				`{"dummyResponse": {"dummyResult": {"code": "OK", "dummyList": {"dummyElement": [
					{"value": "Humpty", "language": "en-US"}, {"value": "  Dumpty  ", "language": "de-DE"}]}}}}`)
			// What the daemon sent is what node-soap's client sent for the same
			// arguments (the sample's request.xml), infoset for infoset.
			want, err := os.ReadFile(filepath.Join(sample(t, "Dummy__should_handle_attributes_in_response"), "request.xml"))
			if err != nil {
				t.Fatal(err)
			}
			got := peer.next(t)
			if diff, err := xmltest.Diff(want, []byte(got.Body), xmltest.Options{}); err != nil || diff != "" {
				t.Errorf("request differs from node-soap's request.xml (-node-soap +protobridge), %v:\n%s", err, diff)
			}
		})
		t.Run("nil", func(t *testing.T) {
			// DummyElement is not nillable in the schema, so the generated list
			// has no nil marker: the nil element is a zero item.
			d.mustCall(t, g, "Dummy", `{"dummyRequest": {"dummyField1": "nil"}}`,
				`{"dummyResponse": {"dummyResult": {"dummyList": {"dummyElement": [{}]}}}}`)
		})
		t.Run("fault", func(t *testing.T) {
			_, err := d.call(t, g, "Dummy", `{"dummyRequest": {"dummyField1": "fault"}}`)
			f := wantFault(t, err, codes.InvalidArgument, map[string]string{"faultcode": "Client", "http_status": "500"})
			f.wantAt(t, "fault", "detail", "DummyFault", "field")
		})
	})

	t.Run("GetItemInformation", func(t *testing.T) {
		t.Parallel()
		wsdl := filepath.Join(sample(t, "GetItemInformation__should_ignore_default_namespace_from_schema"), "soap.wsdl")
		g := genWSDL(t, wsdl, "items")
		peer := startNodeSoap(t, "items", wsdl)
		d := serve(t, g, peer.url, "")
		// node-soap reads xs:decimal as a JavaScript number, so "1.00" comes
		// back as "1" and "12.50" as "12.5"; the daemon keeps each as written.
		d.mustCall(t, g, "GetItemInformation",
			`{"items": {"item": [{"itemNumber": "1234", "requestedQuantity": {"value": "1.00"}},
			                     {"itemNumber": "77", "supplierId": 3, "requestedQuantity": {"value": "12.50"}}]}}`,
			`{"getItemInformationResult": {"items": {"item": [
				{"itemNumber": "1234", "supplierId": 7, "supplierName": "Supplier 1", "requestedQuantity": {"value": "1"},
				 "availState": {"availState": 1}, "warehouses": {"warehouse": [{"default": true, "id": "W1"}, {"id": "W2"}]}},
				{"itemNumber": "77", "supplierId": 8, "supplierName": "Supplier 2", "requestedQuantity": {"value": "12.5"},
				 "availState": {"availState": 2}, "warehouses": {"warehouse": [{"default": true, "id": "W1"}, {"id": "W3"}]}}]}}}`)
		got := elementsIn(t, peer.next(t).Body)
		if n := count(got, "{SAMPLE}Item"); n != 2 {
			t.Errorf("request has %d {SAMPLE}Item elements, want 2: %v", n, got)
		}
		if n := count(got, "{SAMPLE}Value"); n != 2 {
			t.Errorf("request has %d {SAMPLE}Value elements, want 2: %v", n, got)
		}
		_, err := d.call(t, g, "GetItemInformation", `{}`)
		f := wantFault(t, err, codes.InvalidArgument, map[string]string{"faultcode": "Client"})
		f.wantAt(t, "no items", "reason")
		// A handler that throws an Error: node-soap's own fault is not a
		// SOAP 1.1 fault (no faultcode), so it is an unusable reply quoted in
		// the status, not a guess at a fault code.
		_, err = d.call(t, g, "GetItemInformation", `{"items": {"item": [{"itemNumber": "crash"}]}}`)
		info, ue := wantStatusDetails(t, err, codes.Internal)
		if info.GetReason() != "UPSTREAM_BAD_RESPONSE" || info.GetMetadata()["http_status"] != "500" {
			t.Errorf("ErrorInfo = %v, want UPSTREAM_BAD_RESPONSE with http_status 500", info)
		}
		if !strings.Contains(ue.GetBody(), "inventory backend crashed") {
			t.Errorf("UpstreamError detail = %v, want node-soap's reply quoted", ue)
		}
	})

	t.Run("WorkdayChoice", func(t *testing.T) {
		t.Parallel()
		// ChoiceInProperties.wsdl binds a soap:header part of a message it
		// never defines; `gen wsdl` refuses that, so the test serves a copy
		// without the dangling soap:header.
		wsdl := copyWSDL(t, testenv.Corpus(t, "wsdl", "postman", "valid", "ChoiceInProperties.wsdl"),
			[2]string{`<soapbind:header message="wd-wsdl:Workday_Common_HeaderMsg" part="header" use="literal" />`, ""})
		g := genWSDL(t, wsdl, "workday")
		peer := startNodeSoap(t, "workday", wsdl)
		d := serve(t, g, peer.url, "")
		d.mustCall(t, g, "GetEmployeePersonalInfo",
			`{"employeePersonalInfoGet": {"asOfDate": "2026-01-01", "licenseIdData": [{"licenseId": "X", "countryReference": {"countryIsoCode": "FR"}}]}}`,
			`{"employeePersonalInfo": {"asOfDate": "2026-11-28", "licenseIdData": [
				{"licenseId": "X", "countryReference": {"countryIsoCode": "FR"}},
				{"licenseId": "L-1", "licenseClass": "B", "issuedDate": "2020-01-31", "countryReference": {"countryIsoCode": "US"}},
				{"licenseId": "L-2", "countryRegionReference": {"countryReference": {"countryIsoCode": "CA"}, "countryRegionName": "Ontario"}},
				{"licenseId": "L-3", "expirationDate": "2030-12-31Z", "authorityReference": {"authorityName": "DMV"}}]}}`)
		got := elementsIn(t, peer.next(t).Body)
		for _, w := range []struct {
			name string
			n    int
		}{
			{"{urn:com.workday/bsvc}Employee_Personal_Info_Get", 1},
			{"@{urn:com.workday/bsvc}As_Of_Date=2026-01-01", 1}, // attributeFormDefault="qualified"
			{"{}License_ID_Data", 1},                            // elementFormDefault="unqualified"
			{"{}Country_Reference", 1},
			{"{}Country_Region_Reference", 0},
			{"{}Authority_Reference", 0},
		} {
			if n := count(got, w.name); n != w.n {
				t.Errorf("request has %s %d times, want %d: %v", w.name, n, w.n, got)
			}
		}
	})

	t.Run("CalculatorChoice", func(t *testing.T) {
		t.Parallel()
		wsdl := testenv.Corpus(t, "wsdl", "postman", "valid", "CalculatorChoice.wsdl")
		g := genWSDL(t, wsdl, "calculatorchoice")
		peer := startNodeSoap(t, "calculatorchoice", wsdl)
		d := serve(t, g, peer.url, "")
		d.mustCall(t, g, "Add", `{"intB": 5}`, `{"addResult": 5}`)
		got := elementsIn(t, peer.next(t).Body)
		if count(got, "{}intB") != 1 || count(got, "{}intA") != 0 {
			t.Errorf("request for the choice intB holds %v", got)
		}
		// intA 0 is set: the oneof member is sent with its zero value.
		d.mustCall(t, g, "Add", `{"intA": 0}`, `{}`)
		if got := elementsIn(t, peer.next(t).Body); count(got, "{}intA") != 1 {
			t.Errorf("request for the choice intA=0 holds %v", got)
		}
		_, err := d.call(t, g, "Add", `{}`)
		f := wantFault(t, err, codes.InvalidArgument, map[string]string{"faultcode": "Client"})
		f.wantAt(t, "want one of intA, intB; got none", "reason")
	})
}
