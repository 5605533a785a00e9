package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCalculatorSOAP calls the calculator in both SOAP versions: results,
// and the faults of each version.
func TestCalculatorSOAP(t *testing.T) {
	srv := httptest.NewServer(calculator{}.handler())
	defer srv.Close()
	for _, tc := range []struct {
		name, ctype, envNS, body string
		status                   int
		want                     []string
	}{
		{"1.1 add", "text/xml; charset=utf-8", soap11NS, `<Add xmlns="http://tempuri.org/"><intA>2</intA><intB>3</intB></Add>`,
			200, []string{`<t:AddResponse xmlns:t="http://tempuri.org/"><AddResult>5</AddResult></t:AddResponse>`}},
		{"1.2 multiply", `application/soap+xml; charset=utf-8; action="http://tempuri.org/Multiply"`, soap12NS,
			`<t:Multiply xmlns:t="http://tempuri.org/"><intA>-4</intA><intB>5</intB></t:Multiply>`,
			200, []string{`<MultiplyResult>-20</MultiplyResult>`, soap12NS}},
		{"1.1 divide by zero", "text/xml", soap11NS, `<Divide xmlns="http://tempuri.org/"><intA>1</intA><intB>0</intB></Divide>`,
			500, []string{`<faultcode>soap:Client</faultcode>`, `Attempted to divide by zero.`}},
		{"1.2 overflow", "application/soap+xml", soap12NS, `<Add xmlns="http://tempuri.org/"><intA>2147483647</intA><intB>1</intB></Add>`,
			500, []string{`<soap:Value>soap:Sender</soap:Value>`, `Add overflows a 32-bit int.`}},
		{"version mismatch", "application/soap+xml", soap11NS, `<Add xmlns="http://tempuri.org/"/>`,
			500, []string{`soap:Receiver`}},
		{"unknown operation", "text/xml", soap11NS, `<Pow xmlns="http://tempuri.org/"/>`, 500, []string{`unknown operation Pow`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := `<?xml version="1.0"?><s:Envelope xmlns:s="` + tc.envNS + `"><s:Body>` + tc.body + `</s:Body></s:Envelope>`
			resp, err := http.Post(srv.URL, tc.ctype, strings.NewReader(env))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("reply lacks %s:\n%s", w, got)
				}
			}
		})
	}
}
