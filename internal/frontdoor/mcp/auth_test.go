package mcpfront_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/telemetry"
)

const jwtSecret = "mcp-test-secret-mcp-test-secret!"

func digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// authEdit replaces the demo's open auth with API keys and a JWT issuer,
// restricts CreateBook to alice and limits Add to one call per caller.
func authEdit(s string) string {
	s = strings.Replace(s, "auth:\n  open: true\n", "auth:\n  api_keys:\n  - {id: alice, sha256: "+digest("alice-key")+"}\n  - {id: bob, sha256: "+digest("bob-key")+"}\n"+
		"  jwt:\n  - issuer: https://id.test/\n    audience: [protobridge]\n    secret: {env: PB_MCP_TEST_JWT}\n", 1)
	return s + `
routes:
- method: library.v1.LibraryService/CreateBook
  policies: {allow: [{identities: [alice]}]}
- method: calculator.v1.CalculatorService/Add
  policies: {inbound_rate_limit: {rate: 0.01, burst: 1}}
`
}

func bearer(t *testing.T, sub string) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://id.test/", "aud": "protobridge", "sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

func toolNames(t *testing.T, cs *mcp.ClientSession) map[string]bool {
	t.Helper()
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tl := range lt.Tools {
		out[tl.Name] = true
	}
	return out
}

func TestAuthAndPolicies(t *testing.T) {
	t.Setenv("PB_MCP_TEST_JWT", jwtSecret)
	metrics := telemetry.NewMetrics()
	s := startDemoWith(t, false, authEdit, daemontest.Options{Telemetry: &telemetry.Telemetry{Metrics: metrics}})

	t.Run("401 with protected resource metadata", func(t *testing.T) {
		for _, h := range []string{"", "Bearer not-a-token", bearer(t, "x")[:20] + "x.y.z"} {
			req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			wa := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(wa, `resource_metadata="`) {
				t.Fatalf("Authorization %q: %d, WWW-Authenticate %q", h, resp.StatusCode, wa)
			}
			meta := wa[strings.Index(wa, `"`)+1 : strings.LastIndex(wa, `"`)]
			mr, err := http.Get(meta)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(mr.Body)
			mr.Body.Close()
			var prm map[string]any
			if err := json.Unmarshal(body, &prm); err != nil || prm["resource"] != s.URL || !strings.Contains(string(body), "https://id.test/") {
				t.Fatalf("PRM at %s: %s", meta, body)
			}
		}
	})

	alice := connectHTTP(t, s.URL, http.Header{"X-Api-Key": {"alice-key"}}, nil)
	bob := connectHTTP(t, s.URL, http.Header{"X-Api-Key": {"bob-key"}}, nil)
	jwtAlice := connectHTTP(t, s.URL, http.Header{"Authorization": {bearer(t, "alice")}}, nil)

	t.Run("tools/list filtered by allow rules", func(t *testing.T) {
		if a := toolNames(t, alice); !a["LibraryService_CreateBook"] || !a["LibraryService_GetBook"] {
			t.Errorf("alice sees %v", a)
		}
		if b := toolNames(t, bob); b["LibraryService_CreateBook"] || !b["LibraryService_GetBook"] {
			t.Errorf("bob sees %v", b)
		}
		if j := toolNames(t, jwtAlice); !j["LibraryService_CreateBook"] {
			t.Errorf("alice by JWT sees %v", j)
		}
	})
	t.Run("permission denied", func(t *testing.T) {
		r := callTool(t, bob, "LibraryService_CreateBook", map[string]any{"parent": "shelves/1", "book": map[string]any{"title": "x"}})
		if !r.IsError || !strings.Contains(text(r), "may not call") {
			t.Fatalf("bob CreateBook: %s", text(r))
		}
		r = callTool(t, jwtAlice, "LibraryService_CreateBook", map[string]any{"parent": "shelves/1", "book": map[string]any{"title": "x"}})
		if r.IsError {
			t.Fatalf("alice CreateBook: %s", text(r))
		}
	})
	t.Run("rate limit says when to retry", func(t *testing.T) {
		if r := callTool(t, alice, "CalculatorService_Add", map[string]any{"intA": 1, "intB": 2}); r.IsError {
			t.Fatal(text(r))
		}
		r := callTool(t, alice, "CalculatorService_Add", map[string]any{"intA": 1, "intB": 2})
		if !r.IsError || !strings.Contains(text(r), "retry after") || !strings.Contains(text(r), "RATE_LIMITED") {
			t.Fatalf("second Add: %s", text(r))
		}
	})
	t.Run("metrics labelled mcp", func(t *testing.T) {
		n := testutil.ToFloat64(metrics.Calls().WithLabelValues("library.v1.LibraryService/CreateBook", "library", "mcp", "PermissionDenied"))
		if n != 1 {
			t.Errorf("mcp PermissionDenied CreateBook calls = %v", n)
		}
	})
}

func TestStdioCredentials(t *testing.T) {
	t.Setenv("PB_MCP_TEST_JWT", jwtSecret)
	t.Setenv("PROTOBRIDGE_MCP_API_KEY", "bob-key")
	s := startDemo(t, false, authEdit)
	cs := connectPipes(t, s)
	if names := toolNames(t, cs); names["LibraryService_CreateBook"] || !names["LibraryService_GetBook"] {
		t.Errorf("stdio as bob sees %v", names)
	}
	if r := callTool(t, cs, "LibraryService_GetBook", map[string]any{"name": "shelves/1/books/1"}); r.IsError {
		t.Fatal(text(r))
	}
}
