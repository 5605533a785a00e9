package mapping_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/telemetry"
)

const apiProto = `syntax = "proto3";
package api.v1;

import "google/api/annotations.proto";
import "protobridge/v1/options.proto";

service Api {
  option (protobridge.v1.service).upstream = "api";
  rpc Send(SendRequest) returns (SendReply) {
    option (google.api.http) = {post: "/send", body: "*"};
  }
  rpc Slow(SlowRequest) returns (SlowReply) {
    option (google.api.http) = {get: "/slow/{name}"};
  }
  rpc Both(SlowRequest) returns (SlowReply);
  rpc OpenBoth(SlowRequest) returns (SlowReply);
  rpc Ratio(SendRequest) returns (SendReply) {
    option (google.api.http) = {post: "/send", body: "*"};
  }
}

message SendRequest { string to = 1; string tenant = 2; }
message SendReply { bool ok = 1; string error = 2; string code = 3; }
message SlowRequest { string name = 1; }
message SlowReply { string name = 1; }
`

const apiRoutes = `
routes:
  - method: api.v1.Api/Send
    map:
      headers: {X-Tenant: request.tenant, X-Empty: '""'}
      query: {dry: '"1"', to: request.to}
    guards:
      reply:
        - name: quota
          fail: '!reply.ok && reply.code == "quota"'
          code: RESOURCE_EXHAUSTED
          message: '"upstream: " + reply.error'
        - name: not_ok
          fail: '!reply.ok'
  - method: api.v1.Api/Ratio
    map:
      query: {per_tenant_char: 'string(100 / size(request.tenant))'}
      reply: {error: 'string(1 / size(reply.error))'}
  - method: api.v1.Api/OpenBoth
    open: true
    steps:
      - {name: a, call: api.v1.Api/Slow, request: {name: request.name}}
    reply: {name: a.name}
  - method: api.v1.Api/Both
    steps:
      - name: a
        call: api.v1.Api/Slow
        request: {name: '"a-" + request.name'}
      - name: b
        call: api.v1.Api/Slow
        request: {name: '"b"'}
      - name: c
        call: api.v1.Api/Slow
        request: {name: 'a.name + "+c"'}
    reply: {name: 'c.name + "," + b.name'}
`

// httpUpstream answers /send from its body (the "to" decides the answer)
// and /slow/{name} after 50ms; it records what /send received.
type httpUpstream struct {
	mu     sync.Mutex
	header http.Header
	query  string
}

func (u *httpUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if name, ok := strings.CutPrefix(r.URL.Path, "/slow/"); ok {
		time.Sleep(50 * time.Millisecond)
		_ = json.NewEncoder(w).Encode(map[string]string{"name": name})
		return
	}
	u.mu.Lock()
	u.header, u.query = r.Header.Clone(), r.URL.RawQuery
	u.mu.Unlock()
	var body struct{ To string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch body.To {
	case "quota":
		_, _ = w.Write([]byte(`{"ok": false, "code": "quota", "error": "daily quota used"}`))
	case "bad":
		_, _ = w.Write([]byte(`{"ok": false, "error": "no such recipient"}`))
	default:
		_, _ = w.Write([]byte(`{"ok": true}`))
	}
}

func startAPI(t *testing.T, o daemontest.Options) (*daemontest.Server, *httpUpstream) {
	t.Helper()
	return startAPIAuth(t, o, "auth: {open: true}")
}

// startAPIAuth serves the api with the given auth: line.
func startAPIAuth(t *testing.T, o daemontest.Options, auth string) (*daemontest.Server, *httpUpstream) {
	t.Helper()
	up := &httpUpstream{}
	hs := httptest.NewServer(up)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api.proto"), []byte(apiProto), 0o600); err != nil {
		t.Fatal(err)
	}
	text := `server: {listen: 127.0.0.1:0}
descriptors: {import_paths: [` + dir + `], protos: [api.proto]}
` + auth + `
upstreams:
  api: {kind: rest, base_url: ` + hs.URL + `}
` + apiRoutes
	return daemontest.Start(t, daemontest.WriteConfig(t, text), o), up
}

// TestBodyGuard turns a 200 whose body says it failed into a status.
func TestBodyGuard(t *testing.T) {
	srv, up := startAPI(t, daemontest.Options{})
	if _, err := invoke(t, srv, "api.v1.Api/Send", `{"to":"ann","tenant":"acme"}`); err != nil {
		t.Fatal(err)
	}
	up.mu.Lock()
	if got := up.header.Get("X-Tenant"); got != "acme" {
		t.Errorf("X-Tenant = %q, want acme", got)
	}
	if _, sent := up.header["X-Empty"]; sent {
		t.Error("an empty header value was sent")
	}
	if up.query != "dry=1&to=ann" {
		t.Errorf("query %q, want dry=1&to=ann", up.query)
	}
	up.mu.Unlock()

	_, err := invoke(t, srv, "api.v1.Api/Send", `{"to":"quota"}`)
	st := status.Convert(err)
	if info := errorInfo(st); st.Code() != codes.ResourceExhausted || st.Message() != "upstream: daily quota used" ||
		info.GetReason() != "GUARD_FAILED" || info.GetMetadata()["guard"] != "quota" {
		t.Errorf("status %v (%v), want RESOURCE_EXHAUSTED from guard quota", err, info)
	}
	_, err = invoke(t, srv, "api.v1.Api/Send", `{"to":"bad"}`)
	st = status.Convert(err)
	if info := errorInfo(st); st.Code() != codes.Unknown || info.GetMetadata()["guard"] != "not_ok" {
		t.Errorf("status %v (%v), want UNKNOWN from guard not_ok", err, info)
	}
}

// TestEvalErrors: an expression that fails at run time is the caller's
// mistake when it read the request, the upstream's when it read the reply.
func TestEvalErrors(t *testing.T) {
	srv, _ := startAPI(t, daemontest.Options{})
	for _, tc := range []struct {
		req  string
		code codes.Code
	}{
		{`{"to":"ann"}`, codes.InvalidArgument},         // size(request.tenant) == 0
		{`{"to":"ann","tenant":"acme"}`, codes.Unknown}, // size(reply.error) == 0
	} {
		_, err := invoke(t, srv, "api.v1.Api/Ratio", tc.req)
		st := status.Convert(err)
		if info := errorInfo(st); st.Code() != tc.code || info.GetReason() != "MAPPING_FAILED" || !strings.Contains(st.Message(), "division by zero") {
			t.Errorf("%s: status %v (%v), want %v MAPPING_FAILED", tc.req, err, info, tc.code)
		}
	}
}

// TestCompositeAuth: an open composite route does not open the routes its
// steps call: an anonymous caller is refused by the step's route, and an
// authenticated caller passes through.
func TestCompositeAuth(t *testing.T) {
	const key = "composite-test-key"
	sum := sha256.Sum256([]byte(key))
	srv, _ := startAPIAuth(t, daemontest.Options{}, "auth: {api_keys: [{id: tester, sha256: "+hex.EncodeToString(sum[:])+"}]}")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := pbv1.NewBridgeServiceClient(srv.Conn)
	req := &pbv1.InvokeRequest{Method: "api.v1.Api/OpenBoth", Payload: &structpb.Struct{Fields: map[string]*structpb.Value{"name": structpb.NewStringValue("x")}}}
	_, err := client.Invoke(ctx, req)
	st := status.Convert(err)
	if info := errorInfo(st); st.Code() != codes.Unauthenticated || info.GetReason() != "COMPOSITE_STEP_FAILED" || info.GetMetadata()["step_reason"] != "UNAUTHENTICATED" {
		t.Errorf("anonymous: status %v (%v), want UNAUTHENTICATED from a step", err, info)
	}
	resp, err := client.Invoke(metadata.AppendToOutgoingContext(ctx, "x-api-key", key), req)
	if err != nil || resp.GetResult().AsMap()["name"] != "x" {
		t.Errorf("with a key: %v, %v", resp, err)
	}
}

// TestCompositeSpans checks the step graph: a and b run side by side, c
// after a, each step in a span of its own.
func TestCompositeSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv, _ := startAPI(t, daemontest.Options{Telemetry: &telemetry.Telemetry{Provider: tp}})
	got, err := invoke(t, srv, "api.v1.Api/Both", `{"name":"x"}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"a-x+c,b"}`; got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	a, b, c := spans["protobridge.step a"], spans["protobridge.step b"], spans["protobridge.step c"]
	if a == nil || b == nil || c == nil {
		t.Fatalf("spans %v lack a step", spans)
	}
	if !b.StartTime().Before(a.EndTime()) || !a.StartTime().Before(b.EndTime()) {
		t.Error("steps a and b did not overlap")
	}
	if c.StartTime().Before(a.EndTime()) {
		t.Error("step c started before step a, which it reads, ended")
	}
	if c.Parent().SpanID() != a.Parent().SpanID() {
		t.Error("steps are not children of the same call")
	}
}
