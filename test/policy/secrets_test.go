package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestSecretsNeverLogged makes calls with good and bad credentials and
// failing upstreams, then greps every log line and every error (message and
// details) for the secrets involved.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	const (
		apiKey    = "inbound-api-key-s3cret"
		wrongKey  = "wrong-api-key-s3cret"
		jwtSecret = "jwt-hmac-s3cret-of-decent-length"
	)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "jwt.secret")
	if err := os.WriteFile(secretFile, []byte(jwtSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(apiKey))
	auth := fmt.Sprintf("auth:\n  api_keys: [{id: svc, sha256: %s}]\n  jwt:\n  - {issuer: https://id.test/, audience: [pb], secret: {file: %s}}\n", hex.EncodeToString(sum[:]), secretFile)
	up := newUpstream(t, ok, err500, reset, ok)
	b := startBridge(t, strings.Replace(config(up.srv.URL, "", ""), "auth: {open: true}\n", auth, 1))

	sign := func(key string, exp time.Duration) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://id.test/", "aud": "pb", "sub": "alice", "exp": time.Now().Add(exp).Unix()}).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good, expired, forged := sign(jwtSecret, time.Hour), sign(jwtSecret, -time.Hour), sign("forged-key-of-decent-length-0000", time.Hour)
	var errs []string
	for _, c := range []struct {
		md   []string
		code codes.Code
	}{
		{[]string{"x-api-key", apiKey}, codes.OK},
		{[]string{"x-api-key", apiKey}, codes.Internal},
		{[]string{"authorization", "Bearer " + good}, codes.Unavailable},
		{[]string{"authorization", "Bearer " + good}, codes.OK},
		{[]string{"x-api-key", wrongKey}, codes.Unauthenticated},
		{[]string{"authorization", "Bearer " + expired}, codes.Unauthenticated},
		{[]string{"authorization", "Bearer " + forged}, codes.Unauthenticated},
		{[]string{"authorization", "Bearer " + apiKey + "x"}, codes.Unauthenticated},
	} {
		r := b.call(ctx(t), t, "CreateItem", 1, c.md...)
		if status.Code(r.err) != c.code {
			t.Fatalf("%v: got %v, want %v", c.md[0], r.err, c.code)
		}
		if r.err != nil {
			st := status.Convert(r.err)
			errs = append(errs, r.err.Error())
			for _, d := range st.Proto().GetDetails() {
				j, _ := protojson.Marshal(d)
				errs = append(errs, string(j))
			}
		}
	}
	logs := b.logs.String()
	if strings.Count(logs, "msg=call") != 8 {
		t.Fatalf("expected a log line per call:\n%s", logs)
	}
	for _, secret := range []string{apiKey, wrongKey, jwtSecret, good, expired, forged} {
		for _, line := range append(strings.Split(logs, "\n"), errs...) {
			if strings.Contains(line, secret) {
				t.Errorf("secret %.12s... appears in %q", secret, line)
			}
		}
	}
}

// TestOutboundSecretsNeverLogged sends calls through an upstream with each
// kind of outbound credential (bearer token, API key, basic password, OAuth2
// client secret and the access token fetched with it, JWT assertions signed
// with a secret): the upstream gets them, and when it refuses them with a
// body quoting what it got (`401 {"error":"token Bearer … rejected"}`), no
// log line or error (message and details) quotes a secret: the quoted
// body has them redacted.
func TestOutboundSecretsNeverLogged(t *testing.T) {
	const (
		bearer       = "outbound-bearer-s3cret"
		key          = "outbound-api-key-s3cret"
		password     = "outbound-basic-s3cret"
		clientSecret = "oauth2-client-s3cret"
		accessToken  = "oauth2-access-token-s3cret"
		jwtSecret    = "outbound-jwt-hmac-s3cret-of-length"
	)
	t.Setenv("PB_TEST_OUT_BEARER", bearer)
	t.Setenv("PB_TEST_OUT_KEY", key)
	t.Setenv("PB_TEST_OUT_PASSWORD", password)
	t.Setenv("PB_TEST_OUT_CLIENT_SECRET", clientSecret)
	t.Setenv("PB_TEST_OUT_JWT", jwtSecret)
	var mu sync.Mutex
	var seen []string
	refuse := false
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			// The token endpoint answers with the client secret echoed, too.
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600,"note":%q}`, accessToken, r.Header.Get("Authorization")+r.Form.Get("client_secret"))
			return
		}
		got := r.Header.Get("Authorization") + "|" + r.URL.Query().Get("key")
		mu.Lock()
		seen = append(seen, got)
		no := refuse
		mu.Unlock()
		if no {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"token %s rejected for %s"}`, r.Header.Get("Authorization"), r.URL.String())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"1","name":"one"}`))
	}))
	defer up.Close()
	for _, c := range []struct {
		creds string
		sent  func(string) bool
	}{
		{"bearer: {env: PB_TEST_OUT_BEARER}", func(s string) bool { return s == "Bearer "+bearer+"|" }},
		{"api_key: {query: key, value: {env: PB_TEST_OUT_KEY}}", func(s string) bool { return s == "|"+key }},
		{"basic: {username: ann, password: {env: PB_TEST_OUT_PASSWORD}}", func(s string) bool { return strings.HasPrefix(s, "Basic ") }},
		{"oauth2: {token_url: " + up.URL + "/token, client_id: pb, client_secret: {env: PB_TEST_OUT_CLIENT_SECRET}}", func(s string) bool { return s == "Bearer "+accessToken+"|" }},
		{"jwt: {issuer: pb, audience: up, secret: {env: PB_TEST_OUT_JWT}}", func(s string) bool { return strings.HasPrefix(s, "Bearer ey") }},
	} {
		mu.Lock()
		seen, refuse = nil, false
		mu.Unlock()
		creds := "    credentials:\n      " + c.creds + "\n"
		text := strings.Replace(config(up.URL, "", ""), "    timeout: 20s\n", "    timeout: 20s\n"+creds, 1)
		b := startBridge(t, text)
		if r := b.call(ctx(t), t, "GetItem", 1); r.err != nil {
			t.Fatalf("%s: %v", c.creds, r.err)
		}
		mu.Lock()
		refuse = true
		mu.Unlock()
		r := b.call(ctx(t), t, "GetItem", 1)
		if status.Code(r.err) != codes.Unauthenticated {
			t.Fatalf("%s: refused token: %v", c.creds, r.err)
		}
		mu.Lock()
		got := append([]string(nil), seen...)
		mu.Unlock()
		if len(got) < 2 || !c.sent(got[0]) {
			t.Fatalf("%s: upstream saw %q", c.creds, got)
		}
		// What the upstream received is a secret too (a signed assertion,
		// the basic header's base64).
		secrets := []string{bearer, key, password, clientSecret, accessToken, jwtSecret}
		for _, g := range got {
			if v, _, _ := strings.Cut(g, "|"); v != "" {
				secrets = append(secrets, strings.TrimPrefix(strings.TrimPrefix(v, "Bearer "), "Basic "))
			}
		}
		lines := strings.Split(b.logs.String(), "\n")
		lines = append(lines, r.err.Error())
		body := ""
		for _, d := range status.Convert(r.err).Proto().GetDetails() {
			j, _ := protojson.Marshal(d)
			lines = append(lines, string(j))
			body += string(j)
		}
		if !strings.Contains(body, "[REDACTED]") {
			t.Errorf("%s: the quoted body shows no redaction: %s", c.creds, body)
		}
		for _, line := range lines {
			for _, secret := range secrets {
				if strings.Contains(line, secret) {
					t.Errorf("%s: an outbound secret (%.8s...) appears in %q", c.creds, secret, line)
				}
			}
		}
	}
}
