package sandbox_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	calculatorv1 "github.com/protobridge/protobridge/examples/soap/calculator/v1"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/sandbox"
	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/test/internal/proc"
)

var (
	soapListeningRE = regexp.MustCompile(`node-soap listening on (http://\S+)`)
	wsReadyRE       = regexp.MustCompile(`ready (\d+)`)
	generatedID     = regexp.MustCompile(`"id":\s*"[A-Z0-9]{26}",?\s*`)
)

// peersConfig serves the calculator (gen wsdl's .proto of the corpus
// calculator) on node-soap and the websocket adapter's test service on the
// ws peers: a bidi echo, a client stream and a ticker.
const peersConfig = `
descriptors:
  import_paths: [proto, %q]
  protos: [calculator/v1/calculator.proto, wstest.proto]
auth:
  open: true
upstreams:
  calculator:
    kind: soap
    base_url: %s
  echo:
    kind: websocket
    base_url: "ws://127.0.0.1:%s/?tag=sandbox"
    # Unary calls share a socket and match replies by a generated id.
    sandbox: {match: {ignore_fields: [id]}}
  ticker:
    kind: websocket
    base_url: "ws://127.0.0.1:%s/?count=3&tag=sandbox"
routes:
  - method: wstest.v1.Echo/Chat
    upstream: echo
    websocket: {half_close: close}
  - method: wstest.v1.Echo/Collect
    upstream: echo
    websocket: {path: /collect}
  - method: wstest.v1.Echo/Tick
    upstream: ticker
  - method: wstest.v1.Echo/Call
    upstream: echo
`

var peerCalls = []struct {
	method string
	reqs   []string
	stream bool
}{
	{method: "calculator.v1.CalculatorService/Add", reqs: []string{`{"int_a":20,"int_b":22}`}},
	{method: "calculator.v1.CalculatorService/Multiply", reqs: []string{`{"int_a":6,"int_b":7}`}},
	{method: "calculator.v1.CalculatorService/Divide", reqs: []string{`{"int_a":1,"int_b":0}`}},
	{method: "wstest.v1.Echo/Chat", reqs: []string{`{"text":"m0"}`, `{"text":"m1","seq":"2"}`}, stream: true},
	{method: "wstest.v1.Echo/Collect", reqs: []string{`{"text":"a"}`, `{"text":"b"}`, `{"text":"."}`}, stream: true},
	{method: "wstest.v1.Echo/Tick", reqs: []string{`{"after_seq":"0"}`}, stream: true},
	{method: "wstest.v1.Echo/Call", reqs: []string{`{"text":"ping"}`}},
	{method: "wstest.v1.Echo/Call", reqs: []string{`{"text":"pong","meta":{"rid":"7"}}`}},
}

// TestRecordThenReplayPeers records node-soap and the ws peers through
// the daemon, stops the peers and replays: every reply and status over
// gRPC is the same.
func TestRecordThenReplayPeers(t *testing.T) {
	testenv.Peer(t, "soap")
	testenv.Peer(t, "ws")
	node := testenv.LookPath(t, "node")
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	wsdl := testenv.Corpus(t, "wsdl", "postman", "valid", "calculator-soap11and12.wsdl")

	soap := proc.Start(t, filepath.Join(root, "test", "peers", "soap"), nil, node, filepath.Join(root, "test", "peers", "soap", "server.js"), "calculator", wsdl)
	m, ok := soap.Out.Wait(soapListeningRE)
	if !ok {
		t.Fatalf("node-soap: %v\n%s", soap.Err(), soap.Out)
	}
	soapURL := m[1]
	wsPort := func(script string) (*proc.Process, string) {
		p := proc.Start(t, filepath.Join(root, "test", "peers", "ws"), nil, node, filepath.Join(root, "test", "peers", "ws", script), "0")
		m, ok := p.Out.Wait(wsReadyRE)
		if !ok {
			t.Fatalf("%s: %v\n%s", script, p.Err(), p.Out)
		}
		return p, m[1]
	}
	echo, echoPort := wsPort("echo.js")
	ticker, tickerPort := wsPort("ticker.js")

	dir := t.TempDir()
	protoDir := filepath.Join(dir, "proto", "calculator", "v1")
	if err := os.MkdirAll(protoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(protoDir, "calculator.proto"), calculatorv1.Proto, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := proc.WriteFile(t, dir, "protobridge.yaml", sprintf(peersConfig, filepath.Join(root, "adapters", "websocket", "testdata"), soapURL, echoPort, tickerPort))
	rec := filepath.Join(dir, "recordings")

	run := func(s *daemontest.Server) []string {
		out := make([]string, len(peerCalls))
		for i, c := range peerCalls {
			out[i] = callOutcome(t, s, c.method, c.reqs, c.stream)
		}
		return out
	}
	r := daemontest.Start(t, cfg, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Record, Dir: rec}, "test", nil)})
	recorded := run(r)
	r.Shutdown(t, 5*time.Second)
	for _, p := range []*proc.Process{soap, echo, ticker} {
		p.SignalAndWait(t, syscall.SIGTERM, 5*time.Second)
	}

	files, _ := filepath.Glob(filepath.Join(rec, "*.har"))
	if len(files) != 3 {
		t.Fatalf("want a HAR file for each of calculator, echo and ticker: %v", files)
	}
	t.Run("har-validator", func(t *testing.T) { validateHAR(t, files) })

	p := daemontest.Start(t, cfg, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Replay, Dir: rec}, "test", nil)})
	for i, got := range run(p) {
		if strings.Contains(recorded[i], "DeadlineExceeded") {
			t.Errorf("%s timed out while recording: %s", peerCalls[i].method, recorded[i])
		}
		// The correlation id of a unary call over the shared socket is
		// generated per call: the reply carries this call's.
		if generatedID.ReplaceAllString(got, "") != generatedID.ReplaceAllString(recorded[i], "") {
			t.Errorf("%s replayed\n%s\nrecorded\n%s", peerCalls[i].method, got, recorded[i])
		}
	}
	t.Logf("recorded and replayed:\n%v", recorded)
}
