package mcpfront_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/protobridge/protobridge/internal/daemontest"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// TestSpanFrontDoor: a tool call's upstream span says it came through the
// MCP front door.
func TestSpanFrontDoor(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	s := startDemoWith(t, false, nil, daemontest.Options{Telemetry: &telemetry.Telemetry{Provider: tp}})
	cs := connectHTTP(t, s.URL, nil, nil)
	if r := callTool(t, cs, "LibraryService_GetBook", map[string]any{"name": "shelves/1/books/1"}); r.IsError {
		t.Fatal(text(r))
	}
	var door string
	for _, sp := range rec.Ended() {
		if sp.Name() != "protobridge.upstream" {
			continue
		}
		for _, a := range sp.Attributes() {
			if a.Key == "protobridge.front_door" {
				door = a.Value.AsString()
			}
		}
	}
	if door != mcpfront.FrontDoor {
		t.Fatalf("upstream span front_door = %q, want %q", door, mcpfront.FrontDoor)
	}
}

// TestMutualTLSIdentity serves MCP over TLS with the gRPC port's server.tls
// (client certificates required) and auth.mtls: the agent's certificate
// names it, and allow rules filter tools/list and calls by that name. The
// agents also send a Protobridge-Mcp-Peer header of their own, which the
// front door replaces.
func TestMutualTLSIdentity(t *testing.T) {
	pki := newPKI(t)
	edit := func(s string) string {
		s = strings.Replace(s, "server:\n", "server:\n  tls:\n    cert_file: "+pki.file("server.pem")+"\n    key_file: "+pki.file("server.key")+
			"\n    client_ca_file: "+pki.file("ca.pem")+"\n    client_auth: require\n", 1)
		s = strings.Replace(s, "auth:\n  open: true\n", "auth:\n  mtls: {identity: cn}\n", 1)
		return s + `
routes:
- method: library.v1.LibraryService/CreateBook
  policies: {allow: [{identities: [team-a]}]}
`
	}
	s := startDemoWith(t, false, edit, daemontest.Options{})
	// Serve the same handler over TLS as the daemon does (server.tls).
	tc, err := s.D.Config.Server.TLS.ServerConfig(s.D.Config.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.MCP.Handler(s.D.Config, lis.Addr().String()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(tls.NewListener(lis, tc)) }()
	t.Cleanup(func() { _ = hs.Close() })
	url := "https://" + lis.Addr().String() + mcpfront.Path

	connect := func(cn string) *mcp.ClientSession {
		cert := pki.client(cn)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		t.Cleanup(tr.CloseIdleConnections)
		hc := &http.Client{Transport: headerTransport{h: http.Header{"Protobridge-Mcp-Peer": {"forged"}}, base: tr}}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.Close() })
		return cs
	}
	teamA, teamB := connect("team-a"), connect("team-b")
	if names := toolNames(t, teamA); !names["LibraryService_CreateBook"] || !names["LibraryService_GetBook"] {
		t.Errorf("team-a sees %v", names)
	}
	if names := toolNames(t, teamB); names["LibraryService_CreateBook"] || !names["LibraryService_GetBook"] {
		t.Errorf("team-b sees %v", names)
	}
	if r := callTool(t, teamA, "LibraryService_CreateBook", map[string]any{"parent": "shelves/1", "book": map[string]any{"title": "x"}}); r.IsError {
		t.Errorf("team-a CreateBook: %s", text(r))
	}
	if r := callTool(t, teamB, "LibraryService_CreateBook", map[string]any{"parent": "shelves/1", "book": map[string]any{"title": "x"}}); !r.IsError || !strings.Contains(text(r), "may not call") {
		t.Errorf("team-b CreateBook: %s", text(r))
	}
	if r := callTool(t, teamB, "LibraryService_GetBook", map[string]any{"name": "shelves/1/books/1"}); r.IsError {
		t.Errorf("team-b GetBook: %s", text(r))
	}
}

// pki is a CA with a server certificate for 127.0.0.1 and client
// certificates on demand.
type pki struct {
	dir  string
	pool *x509.CertPool
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	t    *testing.T
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), pool: x509.NewCertPool(), ca: ca, key: key, t: t}
	p.pool.AddCert(ca)
	p.write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	c, k := p.sign("server", true)
	p.write("server.pem", c)
	p.write("server.key", k)
	return p
}

func (p *pki) file(name string) string { return filepath.Join(p.dir, name) }

func (p *pki) write(name string, b []byte) {
	if err := os.WriteFile(p.file(name), b, 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pki) sign(cn string, server bool) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func (p *pki) client(cn string) tls.Certificate {
	c, k := p.sign(cn, false)
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		p.t.Fatal(err)
	}
	return cert
}
