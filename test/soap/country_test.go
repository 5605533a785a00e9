package soap

import (
	"testing"

	"google.golang.org/grpc/codes"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
)

// countryWSDL is the corpus CountryInfoService; for SOAP 1.2 a copy whose
// service lists only the CountryInfoServiceSoap12 port (see calculatorWSDL).
func countryWSDL(t *testing.T, soap12 bool) string {
	t.Helper()
	src := testenv.Corpus(t, "wsdl", "postman", "valid", "countryInformation.wsdl")
	if !soap12 {
		return src
	}
	return copyWSDL(t, src, [2]string{`        <port name="CountryInfoServiceSoap" binding="tns:CountryInfoServiceSoapBinding">
            <soap:address location="http://webservices.oorsprong.org/websamples.countryinfo/CountryInfoService.wso" />
        </port>
`, ""})
}

// TestNodeSoapCountryInfo serves the corpus CountryInfoService with
// node-soap over SOAP 1.1 and 1.2 and calls it through the daemon: strings
// with non-ASCII characters and apostrophes, nested complex types, arrays of
// complex types (several items, none), a request without parts, faults of
// both shapes, grpcurl.
func TestNodeSoapCountryInfo(t *testing.T) {
	t.Parallel()
	for _, v := range soapVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			wsdl := countryWSDL(t, v.soap12)
			g := genWSDL(t, wsdl, "country")
			if v.soap12 != (soapOption(t, g.method(t, "CountryName")).GetVersion() == pbv1.SoapVersion_SOAP_VERSION_1_2) {
				t.Fatalf("CountryName's binding is %v", soapOption(t, g.method(t, "CountryName")))
			}
			var flags []string
			if v.soap12 {
				flags = append(flags, "--soap12")
			}
			peer := startNodeSoap(t, "country", wsdl, flags...)
			d := serve(t, g, peer.url, "")

			d.mustCall(t, g, "CountryName", `{"sCountryIsoCode": "NL"}`, `{"countryNameResult": "Netherlands"}`)
			d.mustCall(t, g, "CapitalCity", `{"sCountryIsoCode": "CI"}`, `{"capitalCityResult": "Yamoussoukro"}`)
			d.mustCall(t, g, "CountryCurrency", `{"sCountryIsoCode": "JP"}`, `{"countryCurrencyResult": {"sIsoCode": "JPY", "sName": "Yen"}}`)
			d.mustCall(t, g, "ListOfCountryNamesByName", `{}`, `{"listOfCountryNamesByNameResult": {"tCountryCodeAndName": [
				{"sIsoCode": "CI", "sName": "Côte d'Ivoire"}, {"sIsoCode": "JP", "sName": "Japan"}, {"sIsoCode": "NL", "sName": "Netherlands"}]}}`)
			d.mustCall(t, g, "FullCountryInfo", `{"sCountryIsoCode": "NL"}`, `{"fullCountryInfoResult": {
				"sIsoCode": "NL", "sName": "Netherlands", "sCapitalCity": "Amsterdam", "sPhoneCode": "31", "sContinentCode": "EU",
				"sCurrencyIsoCode": "EUR", "sCountryFlag": "http://www.oorsprong.org/WebSamples.CountryInfo/Flags/Netherlands.jpg",
				"languages": {"tLanguage": [{"sIsoCode": "nl", "sName": "Dutch"}, {"sIsoCode": "fy", "sName": "Frisian"}]}}}`)
			// No languages: an empty Languages element, present but empty.
			d.mustCall(t, g, "FullCountryInfo", `{"sCountryIsoCode": "CI"}`, `{"fullCountryInfoResult": {
				"sIsoCode": "CI", "sName": "Côte d'Ivoire", "sCapitalCity": "Yamoussoukro", "sPhoneCode": "225", "sContinentCode": "AF",
				"sCurrencyIsoCode": "XOF", "sCountryFlag": "http://www.oorsprong.org/WebSamples.CountryInfo/Flags/Côte d'Ivoire.jpg",
				"languages": {}}}`)

			client, server, version := faultCodes(v.soap12)
			_, err := d.call(t, g, "CapitalCity", `{"sCountryIsoCode": "QQ"}`)
			f := wantFault(t, err, codes.InvalidArgument, map[string]string{"faultcode": client, "soap_version": version, "http_status": "500"})
			f.wantAt(t, "Country not found in the database", "reason")
			f.wantAt(t, "QQ", "detail", "CountryFault", "sCountryISOCode")
			_, err = d.call(t, g, "CountryName", `{"sCountryIsoCode": "XX"}`)
			f = wantFault(t, err, codes.Internal, map[string]string{"faultcode": server, "soap_version": version})
			f.wantAt(t, "database offline", "reason")

			svc := string(g.service(t).FullName())
			out, code := grpcurl(t, "-plaintext", "-d", `{"s_country_iso_code": "JP"}`, d.addr, svc+"/FullCountryInfo")
			if code != 0 {
				t.Fatalf("grpcurl FullCountryInfo: exit %d\n%s", code, out)
			}
			wantOutput(t, out, `"sCapitalCity": "Tokyo"`, `"sName": "Japanese"`)
			out, code = grpcurl(t, "-plaintext", "-d", `{"s_country_iso_code": "QQ"}`, d.addr, svc+"/CountryName")
			if code != 64+int(codes.InvalidArgument) {
				t.Errorf("grpcurl CountryName QQ: exit %d, want %d\n%s", code, 64+int(codes.InvalidArgument), out)
			}
			wantOutput(t, out, "Code: InvalidArgument", "Country not found in the database")
		})
	}
}
