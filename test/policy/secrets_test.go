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

// TestOutboundSecretsNeverLogged sends calls through an upstream with an
// outbound bearer token and API key from the environment: the upstream gets
// both, and no log line or error (message and details) quotes either, even
// when the upstream refuses them.
func TestOutboundSecretsNeverLogged(t *testing.T) {
	const bearer, key = "outbound-bearer-s3cret", "outbound-api-key-s3cret"
	t.Setenv("PB_TEST_OUT_BEARER", bearer)
	t.Setenv("PB_TEST_OUT_KEY", key)
	var mu sync.Mutex
	var seen []string
	refuse := false
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+"|"+r.URL.Query().Get("key"))
		no := refuse
		mu.Unlock()
		if no {
			http.Error(w, "token rejected", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"1","name":"one"}`))
	}))
	defer up.Close()
	for _, creds := range []string{
		"    credentials:\n      bearer: {env: PB_TEST_OUT_BEARER}\n",
		"    credentials:\n      api_key: {query: key, value: {env: PB_TEST_OUT_KEY}}\n",
	} {
		mu.Lock()
		seen, refuse = nil, false
		mu.Unlock()
		text := strings.Replace(config(up.URL, "", ""), "    timeout: 20s\n", "    timeout: 20s\n"+creds, 1)
		b := startBridge(t, text)
		if r := b.call(ctx(t), t, "GetItem", 1); r.err != nil {
			t.Fatalf("%s: %v", creds, r.err)
		}
		mu.Lock()
		refuse = true
		mu.Unlock()
		r := b.call(ctx(t), t, "GetItem", 1)
		if status.Code(r.err) != codes.Unauthenticated {
			t.Fatalf("%s: refused token: %v", creds, r.err)
		}
		mu.Lock()
		got := append([]string(nil), seen...)
		mu.Unlock()
		if len(got) != 2 || (got[0] != "Bearer "+bearer+"|" && got[0] != "|"+key) {
			t.Fatalf("%s: upstream saw %q", creds, got)
		}
		lines := strings.Split(b.logs.String(), "\n")
		lines = append(lines, r.err.Error())
		for _, d := range status.Convert(r.err).Proto().GetDetails() {
			j, _ := protojson.Marshal(d)
			lines = append(lines, string(j))
		}
		for _, line := range lines {
			if strings.Contains(line, bearer) || strings.Contains(line, key) {
				t.Errorf("an outbound secret appears in %q", line)
			}
		}
	}
}
