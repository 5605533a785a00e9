package daemon

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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client certificate.
type testPKI struct {
	dir      string
	caPool   *x509.CertPool
	client   tls.Certificate
	caSigned func(cn string, server bool) (certPEM, keyPEM []byte)
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &testPKI{dir: t.TempDir(), caPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	serial := int64(2)
	p.caSigned = func(cn string, server bool) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		serial++
		if server {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(p.dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	c, k := p.caSigned("server", true)
	write("server.pem", c)
	write("server.key", k)
	c, k = p.caSigned("team-a", false)
	if p.client, err = tls.X509KeyPair(c, k); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServerMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	lastFake.Store(&fakeAdapter{})
	tlsCfg := "server:\n  tls:\n    cert_file: " + filepath.Join(pki.dir, "server.pem") + "\n    key_file: " + filepath.Join(pki.dir, "server.key") +
		"\n    client_ca_file: " + filepath.Join(pki.dir, "ca.pem") + "\n    client_auth: require\n"
	cfg, err := LoadConfig(writeConfig(t, tlsCfg+okUpstreams+openAuth))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Build(context.Background(), cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, tab, discard())
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	defer func() { srv.Shutdown(time.Second); <-done; _ = tab.Close() }()

	dial := func(certs []tls.Certificate) error {
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pki.caPool, Certificates: certs, MinVersion: tls.VersionTLS12})))
		if err != nil {
			return err
		}
		defer conn.Close()
		md := tab.Routes()[0].Method
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return conn.Invoke(ctx, "/shop.v1.ShopService/GetItem", dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output()))
	}
	if err := dial([]tls.Certificate{pki.client}); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if err := dial(nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("without a client certificate: %v", err)
	}

	bad := writeConfig(t, "server:\n  tls: {cert_file: nope.pem, key_file: nope.key, client_auth: require}\n"+okUpstreams)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "server.tls: server certificate") {
		t.Fatalf("missing certificate accepted: %v", err)
	}
}
