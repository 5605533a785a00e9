package soap_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/adapters/soap"
	"github.com/protobridge/protobridge/bridge"
)

// TestBodyCutOff: a reply whose body the connection cuts off after the
// headers (closed before the announced length, or reset) is a transport
// failure — UNAVAILABLE, UPSTREAM_UNAVAILABLE, saying the body was cut
// off — not a reply that does not decode.
func TestBodyCutOff(t *testing.T) {
	ok := `<AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse>`
	for name, reset := range map[string]bool{"closed": false, "reset": true} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, envelope11(ok)[:60])
				w.(http.Flusher).Flush()
				if !reset {
					panic(http.ErrAbortHandler)
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0)
					_ = conn.Close()
				}
			})
			ep, r := bind(t, &bridge.Upstream{BaseURL: up.srv.URL}, "Add")
			_, err := call(t, ep, r, `{"int_a": 1}`)
			code, info, _ := statusParts(t, err)
			msg := status.Convert(err).Message()
			if code != codes.Unavailable || info.Reason != "UPSTREAM_UNAVAILABLE" || !strings.Contains(msg, "cut off after 60 bytes") || bridge.IsNotSent(err) {
				t.Errorf("got %v %s %q", code, info.Reason, msg)
			}
		})
	}
}

// TestQuotedSecretsRedacted: a fault or an error body quoting the
// WS-Security password, or a credential the core's Redactor holds, never
// reaches the caller; the fault string and quoted body show [REDACTED].
func TestQuotedSecretsRedacted(t *testing.T) {
	t.Setenv("SOAP_TEST_PASS", "wss-pa<ss>-s3cret")
	fault := envelope11(`<s:Fault><faultcode>s:Client</faultcode><faultstring>password wss-pa&lt;ss&gt;-s3cret or token core-s3cret-token rejected</faultstring></s:Fault>`)
	for name, reply := range map[string]http.HandlerFunc{
		"fault":    replyXML(500, "text/xml", fault),
		"http 401": replyXML(401, "text/plain", "password wss-pa<ss>-s3cret or token core-s3cret-token rejected"),
	} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, reply)
			red := bridge.NewRedactor()
			red.Add("core-s3cret-token")
			u := &bridge.Upstream{BaseURL: up.srv.URL, Config: soapConfig(t, soap.Config{
				WSSecurity: &soap.WSSecurityConfig{Username: "bob", Password: bridge.Secret{Env: "SOAP_TEST_PASS"}}})}
			ep, r := bindEnv(t, u, "Add", &bridge.Env{Redactor: red})
			_, err := call(t, ep, r, `{"int_a": 1}`)
			all := err.Error()
			for _, d := range status.Convert(err).Proto().GetDetails() {
				all += string(d.GetValue())
			}
			if err == nil || strings.Contains(all, "s3cret") || !strings.Contains(all, "[REDACTED]") {
				t.Errorf("status quotes a secret or shows no redaction: %q", all)
			}
		})
	}
}
