package demo

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
)

// SOAP envelope namespaces and media types.
const (
	soap11NS   = "http://schemas.xmlsoap.org/soap/envelope/"
	soap12NS   = "http://www.w3.org/2003/05/soap-envelope"
	soap11Type = "text/xml"
	soap12Type = "application/soap+xml"
	tempuriNS  = "http://tempuri.org/"
)

// calculator is the demo's SOAP upstream: the operations of the corpus
// calculator WSDL (calculator-soap11and12.wsdl, whose generated .proto is
// examples/soap/calculator/v1, embedded there), answered over
// SOAP 1.1 (text/xml) and SOAP 1.2 (application/soap+xml) at one address.
// Dividing by zero, or a result out of int range, is a Client (1.1) or
// Sender (1.2) fault.
type calculator struct{}

// calcRequest is the body element of every operation: <Add><intA/><intB/></Add>.
type calcRequest struct {
	XMLName xml.Name
	A       int32 `xml:"intA"`
	B       int32 `xml:"intB"`
}

// calcEnvelope reads an envelope of either version.
type calcEnvelope struct {
	XMLName xml.Name
	Body    struct {
		Request calcRequest `xml:",any"`
	} `xml:"Body"`
}

// handler serves POST / in both SOAP versions.
func (calculator) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST a SOAP envelope", http.StatusMethodNotAllowed)
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		ns := soap11NS
		switch mt {
		case soap11Type:
		case soap12Type:
			ns = soap12NS
		default:
			http.Error(w, "want text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)", http.StatusUnsupportedMediaType)
			return
		}
		var env calcEnvelope
		if err := xml.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&env); err != nil || env.XMLName.Space != ns {
			writeFault(w, ns, false, "the request is not a SOAP envelope of its Content-Type's version")
			return
		}
		req := env.Body.Request
		if req.XMLName.Space != tempuriNS {
			writeFault(w, ns, false, fmt.Sprintf("unknown operation {%s}%s", req.XMLName.Space, req.XMLName.Local))
			return
		}
		a, b := int64(req.A), int64(req.B)
		var result int64
		switch req.XMLName.Local {
		case "Add":
			result = a + b
		case "Subtract":
			result = a - b
		case "Multiply":
			result = a * b
		case "Divide":
			if b == 0 {
				writeFault(w, ns, true, "Attempted to divide by zero.")
				return
			}
			result = a / b
		default:
			writeFault(w, ns, false, "unknown operation "+req.XMLName.Local)
			return
		}
		if result < math.MinInt32 || result > math.MaxInt32 {
			writeFault(w, ns, true, fmt.Sprintf("%s overflows a 32-bit int.", req.XMLName.Local))
			return
		}
		op := req.XMLName.Local
		// The schema's elementFormDefault is unqualified: only the wrapper
		// is in the target namespace.
		writeEnvelope(w, ns, http.StatusOK, fmt.Sprintf(`<t:%sResponse xmlns:t="%s"><%sResult>%d</%sResult></t:%sResponse>`, op, tempuriNS, op, result, op, op))
	})
}

// writeFault answers a fault: Client (1.1) or Sender (1.2) when the
// caller's input is at fault, else Server or Receiver.
func writeFault(w http.ResponseWriter, ns string, callers bool, reason string) {
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(reason))
	var body string
	if ns == soap12NS {
		code := "soap:Receiver"
		if callers {
			code = "soap:Sender"
		}
		body = fmt.Sprintf(`<soap:Fault><soap:Code><soap:Value>%s</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">%s</soap:Text></soap:Reason></soap:Fault>`, code, esc.String())
	} else {
		code := "soap:Server"
		if callers {
			code = "soap:Client"
		}
		body = fmt.Sprintf(`<soap:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring></soap:Fault>`, code, esc.String())
	}
	writeEnvelope(w, ns, http.StatusInternalServerError, body)
}

// writeEnvelope wraps body in an envelope of the version of ns.
func writeEnvelope(w http.ResponseWriter, ns string, code int, body string) {
	ct := soap11Type
	if ns == soap12NS {
		ct = soap12Type
	}
	w.Header().Set("Content-Type", ct+"; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body></soap:Envelope>`, ns, body)
}
