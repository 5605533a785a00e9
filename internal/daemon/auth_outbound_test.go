package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/config"
	"gopkg.in/yaml.v3"
)

// seen records what an upstream received.
type seen struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func (s *seen) last() (*http.Request, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1], s.bodies[len(s.bodies)-1]
}

// recordingUpstream answers 200 unless reject says otherwise.
func recordingUpstream(t *testing.T, reject func(*http.Request) bool) (*httptest.Server, *seen) {
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		if reject != nil && reject(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

// outbound parses credentials YAML and returns its transport over base.
func outbound(t *testing.T, text string, base http.RoundTripper) (http.RoundTripper, error) {
	t.Helper()
	var o config.Credentials
	if err := yaml.Unmarshal([]byte(text), &o); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	wrap, err := auth.Outbound(&o, ".")
	if err != nil {
		return nil, err
	}
	return wrap(base), nil
}

func roundTrip(t *testing.T, rt http.RoundTripper, method, url, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_ = resp.Body.Close()
	return resp
}

func TestOutboundAPIKeyAndBearer(t *testing.T) {
	t.Setenv("PB_TEST_OUT_SECRET", "outbound-secret-value")
	srv, s := recordingUpstream(t, nil)
	for _, tc := range []struct{ cfg, header, query string }{
		{"api_key: {header: X-API-Key, value: {env: PB_TEST_OUT_SECRET}}", "X-API-Key", ""},
		{"api_key: {query: key, value: {env: PB_TEST_OUT_SECRET}}", "", "key"},
		{"bearer: {env: PB_TEST_OUT_SECRET}", "Authorization", ""},
	} {
		rt, err := outbound(t, tc.cfg, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, rt, "GET", srv.URL+"/x?a=1", "")
		r, _ := s.last()
		switch {
		case tc.header == "Authorization" && r.Header.Get("Authorization") != "Bearer outbound-secret-value",
			tc.header == "X-API-Key" && r.Header.Get("X-API-Key") != "outbound-secret-value",
			tc.query != "" && (r.URL.Query().Get("key") != "outbound-secret-value" || r.URL.Query().Get("a") != "1"):
			t.Errorf("%s: got %v %v", tc.cfg, r.Header, r.URL)
		}
	}
	if _, err := outbound(t, "bearer: {env: PB_TEST_UNSET_VAR}", http.DefaultTransport); err == nil || !strings.Contains(err.Error(), "PB_TEST_UNSET_VAR") {
		t.Fatalf("missing variable: %v", err)
	}
}

// TestOutboundAPIKeyBesideBearer: an API key goes with one Authorization
// kind (OpenAPI specs open some operations with each), each secret read
// and sent; an unset key variable is a load error like any other.
func TestOutboundAPIKeyBesideBearer(t *testing.T) {
	t.Setenv("PB_TEST_OUT_KEY", "key-value")
	t.Setenv("PB_TEST_OUT_TOKEN", "token-value")
	srv, s := recordingUpstream(t, nil)
	for _, cfg := range []string{
		"api_key: {header: api_key, value: {env: PB_TEST_OUT_KEY}}\nbearer: {env: PB_TEST_OUT_TOKEN}",
		"bearer: {env: PB_TEST_OUT_TOKEN}\napi_key: {query: key, value: {env: PB_TEST_OUT_KEY}}",
	} {
		rt, err := outbound(t, cfg, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, rt, "GET", srv.URL+"/x?a=1", "")
		r, _ := s.last()
		key := r.Header.Get("api_key")
		if strings.Contains(cfg, "query") {
			key = r.URL.Query().Get("key")
		}
		if key != "key-value" || r.Header.Get("Authorization") != "Bearer token-value" || r.URL.Query().Get("a") != "1" {
			t.Errorf("%s: got %v %v", cfg, r.Header, r.URL)
		}
	}
	if _, err := outbound(t, "bearer: {env: PB_TEST_OUT_TOKEN}\napi_key: {header: k, value: {env: PB_TEST_UNSET_VAR}}", http.DefaultTransport); err == nil || !strings.Contains(err.Error(), "credentials.api_key") {
		t.Fatalf("missing key variable: %v", err)
	}
}

// tokenServer is an OAuth2 token endpoint issuing t1, t2, ... and counting grants.
type tokenServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	issued int
	fail   bool
}

func newTokenServer(t *testing.T, clientSecret string) *tokenServer {
	ts := &tokenServer{}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		_ = r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if ts.fail {
			// A careless endpoint echoing what it was sent.
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"error": "server_error", "error_description": "bad secret %s"}`, secret)
			return
		}
		if id != "bridge" || secret != clientSecret || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("audience") != "api" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ts.issued++
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("t%d", ts.issued), "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued
}

func TestOutboundOAuth2(t *testing.T) {
	t.Setenv("PB_TEST_CLIENT_SECRET", "client-secret-value")
	ts := newTokenServer(t, "client-secret-value")
	var mu sync.Mutex
	valid := "t1"
	srv, s := recordingUpstream(t, func(r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		return r.Header.Get("Authorization") != "Bearer "+valid
	})
	cfg := "oauth2: {token_url: " + ts.srv.URL + ", client_id: bridge, client_secret: {env: PB_TEST_CLIENT_SECRET}, auth_style: header, params: {audience: api}, scopes: [read]}"
	rt, err := outbound(t, cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if resp := roundTrip(t, rt, "GET", srv.URL, ""); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if ts.count() != 1 {
		t.Fatalf("tokens fetched %d, want 1 (cached)", ts.count())
	}
	// The upstream revokes t1: one refresh, and the request (with its body) is sent again.
	mu.Lock()
	valid = "t2"
	mu.Unlock()
	if resp := roundTrip(t, rt, "POST", srv.URL, `{"a": 1}`); resp.StatusCode != 200 {
		t.Fatalf("after revocation: status %d", resp.StatusCode)
	}
	if r, body := s.last(); body != `{"a": 1}` || r.Header.Get("Authorization") != "Bearer t2" || ts.count() != 2 {
		t.Fatalf("retry sent %q with %q; tokens %d", body, r.Header.Get("Authorization"), ts.count())
	}
	// A 401 the new token does not cure is the answer: no loop.
	mu.Lock()
	valid = "never"
	mu.Unlock()
	if resp := roundTrip(t, rt, "GET", srv.URL, ""); resp.StatusCode != 401 || ts.count() != 3 {
		t.Fatalf("status %d, tokens %d", resp.StatusCode, ts.count())
	}
	// Token endpoint failures never quote what the endpoint echoed.
	ts.mu.Lock()
	ts.fail = true
	ts.mu.Unlock()
	rt, _ = outbound(t, cfg, http.DefaultTransport)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err = rt.RoundTrip(req)
	if err == nil || strings.Contains(err.Error(), "client-secret-value") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("got %v", err)
	}
}

func TestOutboundJWTAssertion(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	path := filepath.Join(t.TempDir(), "bridge.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, s := recordingUpstream(t, nil)
	rt, err := outbound(t, "jwt: {issuer: bridge, subject: svc, audience: api, key_file: "+path+", key_id: k1, claims: {tenant: acme}}", http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	var jtis []string
	for range 2 {
		roundTrip(t, rt, "GET", srv.URL, "")
		r, _ := s.last()
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), claims,
			func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("bridge"), jwt.WithAudience("api"), jwt.WithExpirationRequired())
		if err != nil || tok.Header["kid"] != "k1" || claims["sub"] != "svc" || claims["tenant"] != "acme" {
			t.Fatalf("assertion %v: %v %v", err, tok, claims)
		}
		jtis = append(jtis, claims["jti"].(string))
	}
	if jtis[0] != jtis[1] {
		t.Fatal("the assertion was not reused while fresh")
	}
}

func TestOutboundConfigProblems(t *testing.T) {
	var o config.Credentials
	err := yaml.Unmarshal([]byte("bearer: {env: X}\napi_key: {value: {env: Y}}\noauth2:\n  token_url: /relative\n  nope: 1\njwt: {ttl: -1s}\n"), &o)
	text := fmt.Sprint(err)
	for _, want := range []string{
		"line 2: credentials.api_key: give header or query",
		"line 4: credentials.oauth2: token_url must be an absolute URL",
		"line 4: credentials.oauth2: client_id is required",
		`line 5: unknown key "nope"`,
		"line 6: credentials.jwt: give key_file or secret",
		"line 6: credentials.jwt: ttl must not be negative",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in %s", want, text)
		}
	}
	o = config.Credentials{Bearer: &bridge.Secret{Env: "X"}, JWT: &config.OutboundJWT{}}
	if _, err := auth.Outbound(&o, "."); err == nil || !strings.Contains(err.Error(), "set one of basic, bearer, oauth2, jwt") {
		t.Fatalf("two Authorization kinds: %v", err)
	}
}
