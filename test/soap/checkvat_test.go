package soap

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/internal/testenv"
)

// checkVatWSDL is the EU VIES service from the corpus.
func checkVatWSDL(t *testing.T) string {
	t.Helper()
	return testenv.Corpus(t, "wsdl", "public", "checkVatService.wsdl")
}

// TestNodeSoapCheckVat serves the VIES checkVatService with node-soap and
// calls it through the daemon: qualified elements, xsd:date kept verbatim,
// text with a line break, nillable name and address (absent, present, nil),
// VIES's faults (Client INVALID_INPUT → INVALID_ARGUMENT, Server
// MS_UNAVAILABLE → UNAVAILABLE, Server with detail → INTERNAL), grpcurl.
func TestNodeSoapCheckVat(t *testing.T) {
	t.Parallel()
	g := genWSDL(t, checkVatWSDL(t), "checkvat")
	// node-soap's nil replies need the xsi declaration added
	// (TestNodeSoapUndeclaredXSI calls it without).
	peer := startNodeSoap(t, "checkvat", checkVatWSDL(t), "--declare-xsi")
	d := serve(t, g, peer.url, "")
	svc := string(g.service(t).FullName())

	t.Run("valid", func(t *testing.T) {
		d.mustCall(t, g, "CheckVat", `{"countryCode": "DE", "vatNumber": "123456789"}`,
			`{"countryCode": "DE", "vatNumber": "123456789", "requestDate": "2026-11-28+01:00", "valid": true,
			  "name": "ACME Werkzeuge GmbH", "address": "Hauptstr. 1\n10115 Berlin"}`)
	})
	t.Run("unknown", func(t *testing.T) {
		// Not registered: valid false, name and address absent (not nil, not empty).
		resp := d.mustCall(t, g, "CheckVat", `{"countryCode": "DE", "vatNumber": "999"}`,
			`{"countryCode": "DE", "vatNumber": "999", "requestDate": "2026-11-28+01:00"}`)
		if resp.Has(resp.Descriptor().Fields().ByName("name")) {
			t.Error("name is set, want absent")
		}
	})
	t.Run("nil", func(t *testing.T) {
		resp := d.mustCall(t, g, "CheckVat", `{"countryCode": "FR", "vatNumber": "00000000001"}`,
			`{"countryCode": "FR", "vatNumber": "00000000001", "requestDate": "2026-11-28+01:00", "valid": true,
			  "nameNil": true, "addressNil": true}`)
		if resp.Has(resp.Descriptor().Fields().ByName("name")) {
			t.Error("name is set, want only name_nil")
		}
		d.mustCall(t, g, "CheckVatApprox", `{"countryCode": "FR", "vatNumber": "00000000001", "traderCity": "Paris"}`,
			`{"countryCode": "FR", "vatNumber": "00000000001", "requestDate": "2026-11-28+01:00", "valid": true,
			  "traderNameNil": true, "traderCompanyTypeNil": true, "requestIdentifier": "WAPIAAAAW1"}`)
	})
	t.Run("faults", func(t *testing.T) {
		_, err := d.call(t, g, "CheckVat", `{"countryCode": "de", "vatNumber": "1"}`)
		f := wantFault(t, err, codes.InvalidArgument, map[string]string{"faultcode": "Client", "http_status": "500"})
		f.wantAt(t, "INVALID_INPUT", "reason")
		_, err = d.call(t, g, "CheckVat", `{"countryCode": "ZZ", "vatNumber": "1"}`)
		f = wantFault(t, err, codes.Unavailable, map[string]string{"faultcode": "Server"})
		f.wantAt(t, "MS_UNAVAILABLE", "reason")
		_, err = d.call(t, g, "CheckVat", `{"countryCode": "DE", "vatNumber": "000"}`)
		f = wantFault(t, err, codes.Internal, map[string]string{"faultcode": "Server"})
		f.wantAt(t, "SERVICE_ERROR", "detail", "viesError", "code")
		f.wantAt(t, "DE", "detail", "viesError", "member")
	})
	t.Run("grpcurl", func(t *testing.T) {
		out, code := grpcurl(t, "-plaintext", "-d", `{"country_code": "DE", "vat_number": "123456789"}`, d.addr, svc+"/CheckVat")
		if code != 0 {
			t.Fatalf("grpcurl CheckVat: exit %d\n%s", code, out)
		}
		wantOutput(t, out, `"valid": true`, `"name": "ACME Werkzeuge GmbH"`, `"requestDate": "2026-11-28+01:00"`)
		out, code = grpcurl(t, "-plaintext", "-d", `{"country_code": "ZZ", "vat_number": "1"}`, d.addr, svc+"/CheckVat")
		if code != 64+int(codes.Unavailable) {
			t.Errorf("grpcurl CheckVat ZZ: exit %d, want %d\n%s", code, 64+int(codes.Unavailable), out)
		}
		wantOutput(t, out, "Code: Unavailable", "MS_UNAVAILABLE")
	})
}

// TestNodeSoapUndeclaredXSI calls node-soap serving the corpus
// checkVatService.wsdl as is: its nil reply uses the xsi prefix without
// declaring it, which is not namespace-well-formed XML. The daemon must
// refuse it with a precise status quoting the reply, not guess.
func TestNodeSoapUndeclaredXSI(t *testing.T) {
	t.Parallel()
	g := genWSDL(t, checkVatWSDL(t), "checkvat")
	peer := startNodeSoap(t, "checkvat", checkVatWSDL(t))
	d := serve(t, g, peer.url, "")
	// Without nil elements the reply is fine.
	d.mustCall(t, g, "CheckVat", `{"countryCode": "DE", "vatNumber": "123456789"}`,
		`{"countryCode": "DE", "vatNumber": "123456789", "requestDate": "2026-11-28+01:00", "valid": true,
		  "name": "ACME Werkzeuge GmbH", "address": "Hauptstr. 1\n10115 Berlin"}`)
	_, err := d.call(t, g, "CheckVat", `{"countryCode": "FR", "vatNumber": "00000000001"}`)
	info, ue := wantStatusDetails(t, err, codes.Internal)
	if info == nil || info.GetReason() != "UPSTREAM_BAD_RESPONSE" || info.GetMetadata()["http_status"] != "200" {
		t.Errorf("ErrorInfo = %v, want UPSTREAM_BAD_RESPONSE with http_status 200", info)
	}
	if ue == nil || !strings.Contains(ue.GetBody(), `xsi:nil="true"`) {
		t.Errorf("UpstreamError detail = %v, want the reply quoted", ue)
	}
}
