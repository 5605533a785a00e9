package soap

import (
	"mime"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
)

// calculatorWSDL is the corpus calculator (service Calculator, one port
// type bound twice: CalculatorSoap over SOAP 1.1 and CalculatorSoap12 over
// 1.2, both at the same address). `gen wsdl` binds the first SOAP port of a
// port type, so for 1.2 the test serves a copy whose service lists only
// CalculatorSoap12; everything else is the corpus file.
func calculatorWSDL(t *testing.T, soap12 bool) string {
	t.Helper()
	src := testenv.Corpus(t, "wsdl", "postman", "valid", "calculator-soap11and12.wsdl")
	if !soap12 {
		return src
	}
	return copyWSDL(t, src, [2]string{`        <wsdl:port name="CalculatorSoap" binding="tns:CalculatorSoap">
            <soap:address location="http://www.dneonline.com/calculator.asmx" />
        </wsdl:port>
`, ""})
}

// soapVersions are the two SOAP versions the calculator is called over.
var soapVersions = []struct {
	name   string
	soap12 bool
}{{"SOAP11", false}, {"SOAP12", true}}

// genCalculator generates the calculator .proto for a version and checks
// the binding `gen wsdl` wrote.
func genCalculator(t *testing.T, soap12 bool) (string, *generated) {
	t.Helper()
	wsdl := calculatorWSDL(t, soap12)
	g := genWSDL(t, wsdl, "calculator")
	op := soapOption(t, g.method(t, "Add"))
	want := pbv1.SoapVersion_SOAP_VERSION_1_1
	if soap12 {
		want = pbv1.SoapVersion_SOAP_VERSION_1_2
	}
	if op.GetVersion() != want || op.GetAction() != "http://tempuri.org/Add" || op.GetRequestElement() != "{http://tempuri.org/}Add" || !op.GetWrapped() {
		t.Fatalf("Add's binding = %v, want %v document/literal wrapped {http://tempuri.org/}Add with action http://tempuri.org/Add", op, want)
	}
	return wsdl, g
}

// faultCodes are a version's names for the client and server fault codes.
func faultCodes(soap12 bool) (client, server, version string) {
	if soap12 {
		return "Sender", "Receiver", "1.2"
	}
	return "Client", "Server", "1.1"
}

// checkCalculator calls the four operations through the daemon and the
// faults every calculator peer raises: Add with a negative intA is a
// client fault with a <BadArgument> detail, Divide by zero a server fault
// with a <DivideByZero> detail, Multiply with a negative intA a server fault
// without detail.
func checkCalculator(t *testing.T, d *daemon, g *generated, soap12 bool) {
	t.Helper()
	d.mustCall(t, g, "Add", `{"intA": 2, "intB": 3}`, `{"addResult": 5}`)
	d.mustCall(t, g, "Subtract", `{"intA": 10, "intB": 4}`, `{"subtractResult": 6}`)
	d.mustCall(t, g, "Multiply", `{"intA": 6, "intB": 7}`, `{"multiplyResult": 42}`)
	d.mustCall(t, g, "Divide", `{"intA": 7, "intB": 2}`, `{"divideResult": 3}`)
	// Zero values are required elements: they are sent and come back.
	d.mustCall(t, g, "Add", `{}`, `{}`)
	d.mustCall(t, g, "Add", `{"intA": 2147483647, "intB": -2147483647}`, `{"addResult": 0}`)

	client, server, version := faultCodes(soap12)
	_, err := d.call(t, g, "Add", `{"intA": -1, "intB": 3}`)
	f := wantFault(t, err, codes.InvalidArgument, map[string]string{
		"upstream": "up", "faultcode": client, "http_status": "500", "soap_version": version,
		"method": "calculator.v1.CalculatorService/Add",
	})
	f.wantAt(t, client, "code")
	f.wantAt(t, "intA must not be negative", "reason")
	f.wantAt(t, "intA", "detail", "BadArgument", "name")
	f.wantAt(t, "-1", "detail", "BadArgument", "value")

	_, err = d.call(t, g, "Divide", `{"intA": 7, "intB": 0}`)
	f = wantFault(t, err, codes.Internal, map[string]string{"faultcode": server, "http_status": "500", "soap_version": version})
	f.wantAt(t, "division by zero", "reason")
	f.wantAt(t, "7", "detail", "DivideByZero", "dividend")

	_, err = d.call(t, g, "Multiply", `{"intA": -1, "intB": 2}`)
	f = wantFault(t, err, codes.Internal, map[string]string{"faultcode": server, "http_status": "500"})
	f.wantAt(t, "multiplier offline", "reason")
	if f.at("detail") != nil {
		t.Errorf("Multiply's fault has detail %v, want none", f.at("detail"))
	}
}

// checkCalculatorGrpcurl calls Add and a faulting Divide with grpcurl over
// the daemon's reflection service.
func checkCalculatorGrpcurl(t *testing.T, d *daemon) {
	t.Helper()
	out, code := grpcurl(t, "-plaintext", "-d", `{"intA": 40, "intB": 2}`, d.addr, "calculator.v1.CalculatorService/Add")
	if code != 0 {
		t.Fatalf("grpcurl Add: exit %d\n%s", code, out)
	}
	wantOutput(t, out, `"addResult": 42`)
	out, code = grpcurl(t, "-plaintext", "-d", `{"intA": 1, "intB": 0}`, d.addr, "calculator.v1.CalculatorService/Divide")
	if code != 64+int(codes.Internal) {
		t.Errorf("grpcurl Divide by zero: exit %d, want %d\n%s", code, 64+int(codes.Internal), out)
	}
	wantOutput(t, out, "Code: Internal", "SOAP fault", "division by zero")
	out, code = grpcurl(t, "-plaintext", "-d", `{"intA": -5, "intB": 1}`, d.addr, "calculator.v1.CalculatorService/Add")
	if code != 64+int(codes.InvalidArgument) {
		t.Errorf("grpcurl Add with a negative intA: exit %d, want %d\n%s", code, 64+int(codes.InvalidArgument), out)
	}
	wantOutput(t, out, "Code: InvalidArgument", "intA must not be negative")
}

// TestNodeSoapCalculator serves the corpus calculator with node-soap over
// SOAP 1.1 and 1.2 and calls it through the daemon: values, the HTTP
// framing node-soap received (Content-Type, SOAPAction or action=), faults
// of both shapes arriving with HTTP 500 and with HTTP 200, and grpcurl.
func TestNodeSoapCalculator(t *testing.T) {
	t.Parallel()
	for _, v := range soapVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			wsdl, g := genCalculator(t, v.soap12)
			var flags []string
			if v.soap12 {
				flags = append(flags, "--soap12")
			}
			peer := startNodeSoap(t, "calculator", wsdl, flags...)
			d := serve(t, g, peer.url, "")

			d.mustCall(t, g, "Add", `{"intA": 20, "intB": 22}`, `{"addResult": 42}`)
			r := peer.next(t)
			mt, params, err := mime.ParseMediaType(r.ContentType)
			if err != nil {
				t.Fatalf("Content-Type %q: %v", r.ContentType, err)
			}
			switch {
			case r.Method != "POST":
				t.Errorf("method %s, want POST", r.Method)
			case v.soap12 && (mt != "application/soap+xml" || params["action"] != "http://tempuri.org/Add" || r.SOAPAction != nil):
				t.Errorf("SOAP 1.2 request with Content-Type %q and SOAPAction %v, want application/soap+xml with action=\"http://tempuri.org/Add\" and no SOAPAction", r.ContentType, r.SOAPAction)
			case !v.soap12 && (mt != "text/xml" || r.SOAPAction == nil || strings.Trim(*r.SOAPAction, `"`) != "http://tempuri.org/Add"):
				t.Errorf("SOAP 1.1 request with Content-Type %q and SOAPAction %v, want text/xml and SOAPAction \"http://tempuri.org/Add\"", r.ContentType, r.SOAPAction)
			}
			envNS := "http://schemas.xmlsoap.org/soap/envelope/"
			if v.soap12 {
				envNS = "http://www.w3.org/2003/05/soap-envelope"
			}
			if !strings.Contains(r.Body, envNS) {
				t.Errorf("request body is not a SOAP %s envelope:\n%s", v.name, r.Body)
			}

			checkCalculator(t, d, g, v.soap12)

			// node-soap sends this fault with HTTP 200 (statusCode: 200).
			client, _, _ := faultCodes(v.soap12)
			_, err = d.call(t, g, "Subtract", `{"intA": -1, "intB": 1}`)
			f := wantFault(t, err, codes.InvalidArgument, map[string]string{"faultcode": client, "http_status": "200"})
			f.wantAt(t, "intA", "detail", "BadArgument", "name")

			checkCalculatorGrpcurl(t, d)
		})
	}
}

// TestPHPSoapServerCalculator serves the corpus calculator with PHP's
// SoapServer (ext/soap), which answers in the request's SOAP version, and
// calls it through the daemon over 1.1 and 1.2: values, SoapFault as
// Client/Sender and Server/Receiver faults with and without detail, grpcurl.
func TestPHPSoapServerCalculator(t *testing.T) {
	t.Parallel()
	phpSoap(t)
	for _, v := range soapVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			wsdl, g := genCalculator(t, v.soap12)
			url := startPHP(t, "calculator.php", wsdl)
			d := serve(t, g, url, "")
			checkCalculator(t, d, g, v.soap12)
			checkCalculatorGrpcurl(t, d)
		})
	}
}
