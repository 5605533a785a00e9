package soap

import (
	"mime"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
)

// zeepCall is one call made through the daemon and, for the same
// arguments, built by zeep.
type zeepCall struct {
	method, request   string // the gRPC method and its protojson request
	operation, kwargs string // the WSDL operation and zeep's keyword arguments (JSON)
}

// TestZeepOracle checks that the envelope the daemon sends (as node-soap
// received it) is the same XML infoset as the one zeep builds for the same
// arguments (client.create_message), and that the SOAP action travels as
// zeep would send it: calculator Add over SOAP 1.1 and 1.2, checkVat and
// checkVatApprox (qualified elements, optional parts, escaped text) and
// FullCountryInfo (unqualified). (zeep refuses the Dummy sample's schemas,
// even with strict off: name.xsd imports common.xsd under the wrong
// namespace; TestNodeSoapSamples compares that request with node-soap's.)
func TestZeepOracle(t *testing.T) {
	t.Parallel()
	python := zeepPython(t)
	for _, c := range []struct {
		name, service, wsdl, zeepService, zeepPort string
		soap12                                     bool
		calls                                      []zeepCall
	}{
		{
			name: "calculator-SOAP11", service: "calculator", wsdl: calculatorWSDL(t, false),
			zeepService: "Calculator", zeepPort: "CalculatorSoap",
			calls: []zeepCall{{"Add", `{"intA": 2, "intB": 3}`, "Add", `{"intA": 2, "intB": 3}`},
				{"Divide", `{"intA": -7, "intB": 2}`, "Divide", `{"intA": -7, "intB": 2}`}},
		},
		{
			name: "calculator-SOAP12", service: "calculator", wsdl: calculatorWSDL(t, true), soap12: true,
			zeepService: "Calculator", zeepPort: "CalculatorSoap12",
			calls: []zeepCall{{"Add", `{"intA": 2147483647, "intB": 0}`, "Add", `{"intA": 2147483647, "intB": 0}`}},
		},
		{
			name: "checkVat", service: "checkvat", wsdl: checkVatWSDL(t),
			zeepService: "checkVatService", zeepPort: "checkVatPort",
			calls: []zeepCall{
				{"CheckVat", `{"countryCode": "DE", "vatNumber": "123456789"}`, "checkVat", `{"countryCode": "DE", "vatNumber": "123456789"}`},
				{"CheckVatApprox", `{"countryCode": "DE", "vatNumber": "123456789", "traderName": "ACME & Söhne <GmbH>", "traderCity": "Berlin", "requesterCountryCode": "FR"}`,
					"checkVatApprox", `{"countryCode": "DE", "vatNumber": "123456789", "traderName": "ACME & Söhne <GmbH>", "traderCity": "Berlin", "requesterCountryCode": "FR"}`},
			},
		},
		{
			name: "countryInfo", service: "country", wsdl: countryWSDL(t, false),
			zeepService: "CountryInfoService", zeepPort: "CountryInfoServiceSoap",
			calls: []zeepCall{{"FullCountryInfo", `{"sCountryIsoCode": "NL"}`, "FullCountryInfo", `{"sCountryISOCode": "NL"}`}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := genWSDL(t, c.wsdl, c.service)
			var flags []string
			if c.soap12 {
				flags = append(flags, "--soap12")
			}
			peer := startNodeSoap(t, c.service, c.wsdl, flags...)
			d := serve(t, g, peer.url, "")
			for _, call := range c.calls {
				t.Run(call.method, func(t *testing.T) {
					peer.skipReceived()
					// The peer's answer does not matter here (it may be a fault).
					_, _ = d.call(t, g, call.method, call.request)
					got := peer.next(t)
					want, headers := zeepEnvelope(t, python, c.wsdl, c.zeepService, c.zeepPort, call.operation, call.kwargs)
					diff, err := xmltest.Diff(want, []byte(got.Body), xmltest.Options{})
					if err != nil || diff != "" {
						t.Errorf("envelope differs from zeep's (-zeep +protobridge), %v:\n%s\nzeep:\n%s\nprotobridge:\n%s", err, diff, want, got.Body)
					}
					action := headers["soapaction"]
					if c.soap12 {
						if headers["soap_version"] != "1.2" {
							t.Errorf("zeep bound SOAP %s, want 1.2", headers["soap_version"])
						}
						_, params, err := mime.ParseMediaType(got.ContentType)
						if err != nil || params["action"] != action {
							t.Errorf("Content-Type %q, want action=%q as zeep's binding says", got.ContentType, action)
						}
					} else if got.SOAPAction == nil || strings.Trim(*got.SOAPAction, `"`) != action {
						t.Errorf("SOAPAction %v, want %q as zeep's binding says", got.SOAPAction, action)
					}
				})
			}
		})
	}
}
