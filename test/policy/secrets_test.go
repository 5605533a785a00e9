package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
