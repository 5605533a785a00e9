// Package sandbox_test drives the sandbox (internal/sandbox) end to end:
// it records real upstreams through the daemon, stops them, and replays.
package sandbox_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	_ "github.com/protobridge/protobridge/adapters/all"
	"github.com/protobridge/protobridge/examples/demo"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/sandbox"
	"github.com/protobridge/protobridge/internal/testenv"
)

// secrets are outbound credentials the recording config gives the demo's
// upstreams; none may appear in a recording.
var secrets = map[string]string{
	"SANDBOX_TEST_BEARER":  "bearer-s3cret-7f2a9c",
	"SANDBOX_TEST_API_KEY": "apikey-s3cret-81bd02",
	"SANDBOX_TEST_WSS":     "wss-pa55word-c0ffee",
}

// withCredentials adds credentials to the demo config: a bearer token on
// the JSON REST API, an API key in the query of the XML one, WS-Security
// on the SOAP calculator.
func withCredentials(t *testing.T, cfg string) string {
	t.Helper()
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The demo removes its files when it stops; the replay needs them after.
	own := t.TempDir()
	if err := os.CopyFS(own, os.DirFS(filepath.Dir(cfg))); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range []struct{ after, add string }{
		{"  library:\n    kind: rest\n", "    credentials: {bearer: {env: SANDBOX_TEST_BEARER}}\n"},
		{"  inventory:\n    kind: rest\n", "    credentials: {api_key: {query: api_key, value: {env: SANDBOX_TEST_API_KEY}}}\n"},
		{"  calculator:\n    kind: soap\n", "    soap: {ws_security: {username: calc, password: {env: SANDBOX_TEST_WSS}}}\n"},
	} {
		if !strings.Contains(s, r.after) {
			t.Fatalf("demo config has no %q", r.after)
		}
		s = strings.Replace(s, r.after, r.after+r.add, 1)
	}
	out := filepath.Join(own, "sandbox.yaml")
	if err := os.WriteFile(out, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// demoCalls are the calls recorded and replayed: every upstream kind of
// the demo (JSON and XML REST, SOAP with a fault, WebSocket server stream
// and bidi).
var demoCalls = []struct {
	method string
	reqs   []string
	stream bool
}{
	{method: "library.v1.LibraryService/GetBook", reqs: []string{`{"name":"shelves/1/books/1"}`}},
	{method: "library.v1.LibraryService/ListBooks", reqs: []string{`{"parent":"shelves/1","author":"brian kernighan","limit":5}`}},
	{method: "library.v1.LibraryService/GetBook", reqs: []string{`{"name":"shelves/1/books/99"}`}},
	{method: "library.v1.LibraryService/CreateBook", reqs: []string{`{"parent":"shelves/2","book":{"title":"Go in Practice","author":"Matt Butcher","year":2016}}`}},
	{method: "inventory.v1.InventoryService/GetStock", reqs: []string{`{"warehouse":"north"}`}},
	{method: "calculator.v1.CalculatorService/Add", reqs: []string{`{"int_a":2,"int_b":3}`}},
	{method: "calculator.v1.CalculatorService/Divide", reqs: []string{`{"int_a":1,"int_b":0}`}},
	{method: "ticker.v1.TickerService/Watch", reqs: []string{`{"symbol":"GOPH","count":3}`}, stream: true},
	{method: "chat.v1.ChatService/Chat", reqs: []string{`{"user":"ann","text":"hello"}`, `{"user":"ann","text":"bye"}`}, stream: true},
}

// outcome is a demo call's replies or its status, as compared across runs.
func outcome(t *testing.T, s *daemontest.Server, i int) string {
	c := demoCalls[i]
	return callOutcome(t, s, c.method, c.reqs, c.stream)
}

// callOutcome is a call's replies or its status, as compared across runs.
func callOutcome(t *testing.T, s *daemontest.Server, method string, reqs []string, isStream bool) string {
	var out []string
	var err error
	if isStream {
		out, err = stream(t, s, method, reqs...)
	} else {
		var r string
		r, err = unary(t, s, method, reqs[0])
		out = []string{r}
	}
	res := strings.Join(out, "\n")
	if err != nil {
		st := status.Convert(err)
		res += "\nstatus " + st.Code().String() + ": " + st.Message()
	}
	return res
}

func TestRecordThenReplayTheDemo(t *testing.T) {
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	cfg := withCredentials(t, d.ConfigPath)
	dir := t.TempDir()

	rec := daemontest.Start(t, cfg, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Record, Dir: dir}, "test", nil)})
	recorded := make([]string, len(demoCalls))
	for i, c := range demoCalls {
		recorded[i] = outcome(t, rec, i)
		if recorded[i] == "" {
			t.Fatalf("%s: recorded nothing", c.method)
		}
	}
	// The demo's Divide by zero is a SOAP fault, GetBook 99 a 404: both
	// are recorded and must replay as the same status.
	if !strings.Contains(recorded[2], "NotFound") || !strings.Contains(recorded[6], "InvalidArgument") {
		t.Fatalf("the failures did not happen while recording:\n%s\n%s", recorded[2], recorded[6])
	}
	rec.Shutdown(t, 5e9)
	if err := d.Close(); err != nil {
		t.Fatalf("stopping the upstreams: %v", err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) != 5 {
		t.Fatalf("want one HAR file per upstream (5), got %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range secrets {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the secret of %s", filepath.Base(f), name)
			}
		}
	}

	t.Run("har-validator", func(t *testing.T) { validateHAR(t, files) })

	// Replaying needs none of the upstreams' credentials: a developer
	// replays a recording without its secrets (the SOAP adapter's own
	// WS-Security block still resolves its password).
	for _, k := range []string{"SANDBOX_TEST_BEARER", "SANDBOX_TEST_API_KEY"} {
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	rep := daemontest.Start(t, cfg, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Replay, Dir: dir}, "test", nil)})
	for i, c := range demoCalls {
		if got := outcome(t, rep, i); got != recorded[i] {
			t.Errorf("%s replayed\n%s\nrecorded\n%s", c.method, got, recorded[i])
		}
	}

	// A call never recorded fails naming the closest recording and the difference.
	_, err = unary(t, rep, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/2"}`)
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "closest is GET /v1/shelves/1/books/1") {
		t.Fatalf("unrecorded call: %v", err)
	}
	t.Logf("unrecorded call: %s", st.Message())

	// A socket whose client frame differs from the recording is refused the same way.
	_, err = stream(t, rep, "chat.v1.ChatService/Chat", `{"user":"bob","text":"hello"}`)
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), `recorded $.user = "ann"; sent $.user = "bob"`) {
		t.Fatalf("unrecorded frame: %v", err)
	}
}

// validateHAR checks files against the HAR 1.2 schema with har-validator
// (test/peers/har/validate.js), a validator this project did not write.
func validateHAR(t *testing.T, files []string) {
	t.Helper()
	testenv.Peer(t, "har-validator")
	node := testenv.LookPath(t, "node")
	script, _ := filepath.Abs(filepath.Join("..", "peers", "har", "validate.js"))
	out, err := exec.Command(node, append([]string{script}, files...)...).CombinedOutput()
	if err != nil || strings.Count(string(out), "VALID ") != len(files) {
		t.Fatalf("har-validator: %v\n%s", err, out)
	}
	t.Logf("har-validator:\n%s", out)
}
