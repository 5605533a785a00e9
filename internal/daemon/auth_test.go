package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// echoIdentity answers with the caller's identity as the item's name.
func echoIdentity(_ context.Context, c *Call, _ int) (proto.Message, error) {
	m := item(c.Route.Method, 1)
	m.ProtoReflect().Set(m.ProtoReflect().Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(c.Identity))
	return m, nil
}

// authTable builds a scripted-adapter table with the given auth block and
// extra YAML (routes:, server:).
func authTable(t *testing.T, auth, extra string) *Table {
	t.Helper()
	s := script(echoIdentity)
	currentScript.Store(&s)
	body := "auth:\n" + indent(auth, "  ") + "upstreams:\n  shop: {kind: scripted, base_url: http://127.0.0.1:1}\n" + extra
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tab, err := Build(context.Background(), cfg, discard())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { _ = tab.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !tab.WaitReady(ctx) {
		t.Fatalf("not ready: %v", tab.NotReady())
	}
	return tab
}

// callAs calls GetItem with the metadata pairs and returns the identity
// the upstream saw.
func callAs(t *testing.T, tab *Table, method string, kv ...string) (string, error) {
	t.Helper()
	_, resp, err := invoke(context.Background(), tab, method, 1, metadata.Pairs(kv...))
	if err != nil {
		return "", err
	}
	return resp.ProtoReflect().Get(resp.ProtoReflect().Descriptor().Fields().ByName("name")).String(), nil
}

// wantDenied checks the caller is refused with code and the fixed message
// that says nothing of which check failed.
func wantDenied(t *testing.T, err error, code codes.Code) {
	t.Helper()
	st := status.Convert(err)
	want := map[codes.Code]string{codes.Unauthenticated: "missing or invalid credentials", codes.PermissionDenied: "the caller may not call this method"}[code]
	if st.Code() != code || st.Message() != want {
		t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), code, want)
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(over map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "https://id.test/", "aud": "protobridge", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestJWTHMAC(t *testing.T) {
	t.Setenv("PB_TEST_JWT_SECRET", "s3cret-hmac-key-of-decent-length!")
	tab := authTable(t, "jwt:\n- issuer: https://id.test/\n  audience: [protobridge]\n  secret: {env: PB_TEST_JWT_SECRET}\n", "")
	key := []byte("s3cret-hmac-key-of-decent-length!")
	bearer := func(c jwt.MapClaims) []string {
		return []string{"authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, key, "", c)}
	}
	if id, err := callAs(t, tab, "GetItem", bearer(claims(nil))...); err != nil || id != "alice" {
		t.Fatalf("valid token: %q %v", id, err)
	}
	for name, c := range map[string]jwt.MapClaims{
		"expired":        claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}),
		"no exp":         claims(map[string]any{"exp": nil}),
		"not yet valid":  claims(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()}),
		"wrong audience": claims(map[string]any{"aud": "someone-else"}),
		"wrong issuer":   claims(map[string]any{"iss": "https://evil.test/"}),
		"no subject":     claims(map[string]any{"sub": nil}),
	} {
		_, err := callAs(t, tab, "GetItem", bearer(c)...)
		if !t.Run(name, func(t *testing.T) { wantDenied(t, err, codes.Unauthenticated) }) {
			return
		}
	}
	// Signed with another key, or not signed at all.
	forged := sign(t, jwt.SigningMethodHS256, []byte("another-key-another-key-another!"), "", claims(nil))
	_, err := callAs(t, tab, "GetItem", "authorization", "Bearer "+forged)
	wantDenied(t, err, codes.Unauthenticated)
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil))
	_, err = callAs(t, tab, "GetItem", "authorization", "Bearer "+none)
	wantDenied(t, err, codes.Unauthenticated)
	_, err = callAs(t, tab, "GetItem")
	wantDenied(t, err, codes.Unauthenticated)
}

func TestJWTPublicKeyFile(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	path := filepath.Join(t.TempDir(), "id.pub.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tab := authTable(t, "jwt:\n- issuer: https://id.test/\n  audience: [protobridge, other]\n  public_key_file: "+path+"\n", "")
	tok := sign(t, jwt.SigningMethodRS256, key, "", claims(nil))
	if id, err := callAs(t, tab, "GetItem", "authorization", "Bearer "+tok); err != nil || id != "alice" {
		t.Fatalf("valid token: %q %v", id, err)
	}
	// Algorithm confusion: an HMAC token keyed with the public key's bytes.
	pemBytes, _ := os.ReadFile(path)
	confused := sign(t, jwt.SigningMethodHS256, pemBytes, "", claims(nil))
	_, err := callAs(t, tab, "GetItem", "authorization", "Bearer "+confused)
	wantDenied(t, err, codes.Unauthenticated)
}

// jwksServer serves a JSON Web Key Set that tests can rotate.
type jwksServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	body    []byte
	fetches int
}

func newJWKSServer(t *testing.T) *jwksServer {
	j := &jwksServer{}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.fetches++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(j.body)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

// publish replaces the set with the public halves of keys, by kid.
func (j *jwksServer) publish(t *testing.T, keys map[string]*ecdsa.PrivateKey) {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for kid, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(&k.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.AlgES256, USE: jwkset.UseSig}})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	j.body = raw
	j.mu.Unlock()
}

func TestJWTJWKSRotation(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	j := newJWKSServer(t)
	j.publish(t, map[string]*ecdsa.PrivateKey{"k1": k1})
	tab := authTable(t, "jwt:\n- issuer: https://id.test/\n  audience: [protobridge]\n  jwks_url: "+j.srv.URL+"\n  jwks_min_refresh: 1ms\n", "")
	call := func(k *ecdsa.PrivateKey, kid string) error {
		_, err := callAs(t, tab, "GetItem", "authorization", "Bearer "+sign(t, jwt.SigningMethodES256, k, kid, claims(nil)))
		return err
	}
	if err := call(k1, "k1"); err != nil {
		t.Fatalf("k1: %v", err)
	}
	for range 3 {
		if err := call(k1, "k1"); err != nil {
			t.Fatal(err)
		}
	}
	j.mu.Lock()
	fetches := j.fetches
	j.mu.Unlock()
	if fetches != 1 {
		t.Fatalf("JWKS fetched %d times for a known key, want 1 (cached)", fetches)
	}
	// The issuer rotates to k2: a token naming the unknown kid triggers a refresh.
	j.publish(t, map[string]*ecdsa.PrivateKey{"k2": k2})
	if err := call(k2, "k2"); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	wantDenied(t, call(k1, "k1"), codes.Unauthenticated)
	// A token signed by k2 but naming k1 fails too.
	wantDenied(t, call(k2, "k1"), codes.Unauthenticated)
}

func TestAllowRules(t *testing.T) {
	t.Setenv("PB_TEST_JWT_SECRET", "s3cret-hmac-key-of-decent-length!")
	sum := sha256.Sum256([]byte("key-of-bob"))
	auth := "api_keys: [{id: bob, sha256: " + hex.EncodeToString(sum[:]) + "}]\njwt:\n- issuer: https://id.test/\n  audience: [protobridge]\n  secret: {env: PB_TEST_JWT_SECRET}\n"
	routes := `routes:
- method: shop.v1.ShopService/GetItem
  policies:
    allow:
    - identities: [bob]
    - claims: {role: admin}
    - claims: {scope: items.read, tenant: acme}
`
	tab := authTable(t, auth, routes)
	key := []byte("s3cret-hmac-key-of-decent-length!")
	bearer := func(over map[string]any) []string {
		return []string{"authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, key, "", claims(over))}
	}
	for name, md := range map[string][]string{
		"api key in list":     {"x-api-key", "key-of-bob"},
		"role claim":          bearer(map[string]any{"role": "admin"}),
		"role in array claim": bearer(map[string]any{"role": []any{"user", "admin"}}),
		"scope and tenant":    bearer(map[string]any{"scope": "items.read items.write", "tenant": "acme"}),
	} {
		if _, err := callAs(t, tab, "GetItem", md...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, md := range map[string][]string{
		"no rule matches":   bearer(nil),
		"half a rule":       bearer(map[string]any{"scope": "items.read"}),
		"role is not split": bearer(map[string]any{"role": "super admin"}),
	} {
		_, err := callAs(t, tab, "GetItem", md...)
		if !t.Run(name, func(t *testing.T) { wantDenied(t, err, codes.PermissionDenied) }) {
			return
		}
	}
	// Routes without rules take every authenticated caller.
	if id, err := callAs(t, tab, "Slow", bearer(nil)...); err != nil || id != "alice" {
		t.Fatalf("Slow: %q %v", id, err)
	}
}

func TestAllowOnOpenRouteIsAProblem(t *testing.T) {
	body := "auth: {open: true}\nupstreams:\n  shop: {kind: scripted, base_url: http://127.0.0.1:1}\nroutes:\n- method: shop.v1.ShopService/GetItem\n  policies: {allow: [{identities: [bob]}]}\n"
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), cfg, discard()); err == nil || !strings.Contains(err.Error(), ":8: shop.v1.ShopService/GetItem: policies allow: the route is open") {
		t.Fatalf("got %v", err)
	}
}

func TestAuthConfigProblems(t *testing.T) {
	body := `auth:
  jwt:
  - issuer: https://id.test/
    jwks_url: http://127.0.0.1:1/jwks
    secret: {env: X}
    algorithms: [HS256]
    bogus: 1
  mtls: {identity: fingerprint}
upstreams:
  shop: {kind: scripted, base_url: http://127.0.0.1:1}
`
	_, err := LoadConfig(writeConfig(t, body))
	text := ""
	if err != nil {
		text = err.Error()
	}
	for _, want := range []string{
		`:10: unknown key "bogus"`,
		`:6: auth.jwt: audience is required`,
		`:6: auth.jwt: give exactly one of jwks_url, secret, public_key_file`,
		`:11: auth.mtls: identity "fingerprint" is not known`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

func TestMTLSIdentity(t *testing.T) {
	pki := newTestPKI(t)
	sum := sha256.Sum256([]byte("key-of-bob"))
	server := "server:\n  tls:\n    cert_file: " + filepath.Join(pki.dir, "server.pem") + "\n    key_file: " + filepath.Join(pki.dir, "server.key") +
		"\n    client_ca_file: " + filepath.Join(pki.dir, "ca.pem") + "\n    client_auth: request\n"
	routes := "routes:\n- method: shop.v1.ShopService/GetItem\n  policies: {allow: [{identities: [team-a]}]}\n"
	s := script(echoIdentity)
	currentScript.Store(&s)
	cfg, err := LoadConfig(writeConfig(t, server+"auth:\n  mtls: {}\n  api_keys: [{id: bob, sha256: "+hex.EncodeToString(sum[:])+"}]\n"+
		"upstreams:\n  shop: {kind: scripted, base_url: http://127.0.0.1:1}\n"+routes))
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
	call := func(method string, certs []tls.Certificate, kv ...string) (string, error) {
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pki.caPool, Certificates: certs, MinVersion: tls.VersionTLS12})))
		if err != nil {
			return "", err
		}
		defer conn.Close()
		md := tab.Routes()[0].Method
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), kv...), 10*time.Second)
		defer cancel()
		resp := dynamicpb.NewMessage(md.Output())
		err = conn.Invoke(ctx, "/shop.v1.ShopService/"+method, dynamicpb.NewMessage(md.Input()), resp)
		return resp.Get(md.Output().Fields().ByName("name")).String(), err
	}
	if id, err := call("GetItem", []tls.Certificate{pki.client}); err != nil || id != "team-a" {
		t.Fatalf("with a client certificate: %q %v", id, err)
	}
	// Without a certificate an API key still identifies the caller, who is
	// then not allowed on GetItem but is on Slow.
	_, err = call("GetItem", nil, "x-api-key", "key-of-bob")
	wantDenied(t, err, codes.PermissionDenied)
	if id, err := call("Slow", nil, "x-api-key", "key-of-bob"); err != nil || id != "bob" {
		t.Fatalf("api key: %q %v", id, err)
	}
	_, err = call("Slow", nil)
	wantDenied(t, err, codes.Unauthenticated)
}

func TestMTLSNeedsClientAuth(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "auth:\n  mtls: {}\nupstreams:\n  shop: {kind: scripted, base_url: http://127.0.0.1:1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), cfg, discard()); err == nil || !strings.Contains(err.Error(), "auth.mtls needs server.tls") {
		t.Fatalf("got %v", err)
	}
}

// TestHangingJWKSDoesNotBlockStart: a JWKS URL that does not answer
// does not hold the daemon's start; meanwhile JWTs of its issuer are
// denied, /readyz answers 503 naming it, and the wait is logged in the
// daemon's format (JSON here). Once the set is served, JWTs pass and
// /readyz is 200.
func TestHangingJWKSDoesNotBlockStart(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	j := newJWKSServer(t)
	j.publish(t, map[string]*ecdsa.PrivateKey{"k1": key})
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			http.Redirect(w, r, j.srv.URL, http.StatusFound)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	body := strings.Replace(daemonConfig("v1", ""), "auth: {open: true}\n", "auth:\n  jwt:\n  - issuer: https://id.test/\n    audience: [protobridge]\n    jwks_url: "+hang.URL+"\n", 1)
	body = strings.Replace(body, "server:\n", "server:\n  log_format: json\n", 1)
	// startDaemon returns once the listeners are open: the hanging fetch
	// does not hold it (the test's own deadline is the bound).
	td := startDaemon(t, body)
	bearer := "Bearer " + sign(t, jwt.SigningMethodES256, key, "k1", claims(nil))
	callJWT := func() error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", bearer)
		_, err := td.call(ctx, "GetItem", "id", 1)
		return err
	}
	wantDenied(t, callJWT(), codes.Unauthenticated)
	if code, text := td.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(text, "JWKS of issuer https://id.test/ not loaded") {
		t.Errorf("/readyz while the JWKS hangs: %d %q", code, text)
	}
	if logs := td.logLines.String(); !strings.Contains(logs, `"msg":"loading JWKS in the background; JWTs of the issuer are denied until it loads","issuer":"https://id.test/"`) {
		t.Errorf("the pending JWKS is not logged as JSON:\n%s", logs)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !td.d.Router().Table().WaitReady(ctx) {
		t.Fatal("the JWKS never loaded")
	}
	if err := callJWT(); err != nil {
		t.Errorf("JWT once the keys loaded: %v", err)
	}
	if code, text := td.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once the keys loaded: %d %q", code, text)
	}
	for _, l := range strings.Split(strings.TrimSpace(td.logLines.String()), "\n") {
		if !strings.HasPrefix(l, "{") {
			t.Errorf("a log line is not JSON: %q", l)
		}
	}
}
