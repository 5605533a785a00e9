package mcpfront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/internal/daemontest"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"
)

// P7 compares the same REST-backed route called as an MCP tool over
// streamable HTTP and over gRPC, on one daemon, and times tools/list over
// 1,000 routes. `make bench` runs TestBenchP7 (PROTOBRIDGE_BENCH=1) and
// prints the BENCH lines; the Benchmark functions are for -bench runs.

type p7 struct {
	shop   *shop
	cs     *mcp.ClientSession
	in     protoreflect.MessageDescriptor
	out    protoreflect.MessageDescriptor
	args   map[string]any
	method string
}

func newP7(t testing.TB) *p7 {
	s := startShop(t, false, "")
	route, ok := s.D.Router.Route("shop.v1.ShopService/GetItem")
	if !ok {
		t.Fatal("no GetItem route")
	}
	return &p7{shop: s, cs: connectHTTP(t, s.URL, nil, nil), in: route.Method.Input(), out: route.Method.Output(),
		args: map[string]any{"id": "abc"}, method: route.FullMethod()}
}

func (p *p7) grpcCall(ctx context.Context) error {
	req := dynamicpb.NewMessage(p.in)
	req.Set(p.in.Fields().ByName("id"), protoreflect.ValueOfString("abc"))
	return p.shop.D.Conn.Invoke(ctx, p.method, req, dynamicpb.NewMessage(p.out))
}

func (p *p7) mcpCall(ctx context.Context) error {
	r, err := p.cs.CallTool(ctx, &mcp.CallToolParams{Name: "ShopService_GetItem", Arguments: p.args})
	if err == nil && r.IsError {
		err = fmt.Errorf("tool error")
	}
	return err
}

// rawCaller calls a tool with one plain HTTP POST of JSON-RPC, as a lean
// agent runtime does against a stateless endpoint.
type rawCaller struct {
	url    string
	client *http.Client
	body   []byte
}

func (r *rawCaller) call(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"structuredContent"`)) || bytes.Contains(b, []byte(`"isError":true`)) {
		return fmt.Errorf("%d: %s", resp.StatusCode, b)
	}
	return nil
}

func BenchmarkP7GRPC(b *testing.B) {
	p := newP7(b)
	ctx := context.Background()
	for b.Loop() {
		if err := p.grpcCall(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkP7MCP(b *testing.B) {
	p := newP7(b)
	ctx := context.Background()
	for b.Loop() {
		if err := p.mcpCall(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// measure returns the median latency of n sequential calls and the
// calls/s of conc callers making n calls in all.
func measure(t testing.TB, n, conc int, call func(context.Context) error) (time.Duration, float64) {
	ctx := context.Background()
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		if err := call(ctx); err != nil {
			t.Fatal(err)
		}
		lat[i] = time.Since(start)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/conc; i++ {
				if err := call(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return lat[n/2], float64(n/conc*conc) / time.Since(start).Seconds()
}

func TestBenchP7(t *testing.T) {
	if os.Getenv("PROTOBRIDGE_BENCH") == "" {
		t.Skip("set PROTOBRIDGE_BENCH=1 (make bench) to measure P7")
	}
	p := newP7(t)
	const n, conc = 3000, 8
	// Warm both paths, then measure them alternately, twice, keeping the best.
	measure(t, 200, conc, p.grpcCall)
	measure(t, 200, conc, p.mcpCall)
	var gl, ml time.Duration
	var gr, mr float64
	for range 2 {
		l, r := measure(t, n, conc, p.grpcCall)
		if gl == 0 || l < gl {
			gl = l
		}
		gr = max(gr, r)
		l, r = measure(t, n, conc, p.mcpCall)
		if ml == 0 || l < ml {
			ml = l
		}
		mr = max(mr, r)
	}
	fmt.Printf("BENCH P7 mcp-call protobridge-mcp/protobridge-grpc latency=%.2f rps=%.2f (median latency mcp %v grpc %v; rps mcp %.0f grpc %.0f)\n",
		float64(ml)/float64(gl), mr/gr, ml, gl, mr, gr)

	// The floor any MCP front door on the SDK starts from: the same client
	// calling a tool of a bare SDK server that answers at once, without
	// calling anything.
	fc := sdkFloor(t)
	measure(t, 200, conc, fc)
	fl, fr := measure(t, n, conc, fc)
	fmt.Printf("BENCH P7 mcp-sdk-floor sdk-noop-tool/protobridge-grpc latency=%.2f rps=%.2f (median latency %v, %.0f rps; the SDK's own cost per call, no upstream)\n",
		float64(fl)/float64(gl), fr/gr, fl, fr)

	// The same against a stateless endpoint, called with plain POSTs.
	st := startShop(t, true, "")
	rc := &rawCaller{url: st.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}},
		body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ShopService_GetItem","arguments":{"id":"abc"}}}`)}
	measure(t, 200, conc, rc.call)
	rl, rr := measure(t, n, conc, rc.call)
	fmt.Printf("BENCH P7 mcp-call-stateless-post protobridge-mcp/protobridge-grpc latency=%.2f rps=%.2f (median latency %v, %.0f rps)\n",
		float64(rl)/float64(gl), rr/gr, rl, rr)

	sdk, raw, build := listOver(t, 1000)
	fmt.Printf("BENCH P7 mcp-list tools=1000 ms=%.2f (one POST, the whole reply read; tool generation at load/reload %.0f ms)\n", raw, build)
	fmt.Printf("BENCH P7 mcp-list-go-client tools=1000 ms=%.2f (the Go SDK client's ListTools, its decoding of 1,000 schemas included)\n", sdk)
}

// sdkFloor serves one tool on a bare SDK server over streamable HTTP,
// answering a GetItem-sized result at once, and returns a call of it by
// the SDK's client.
func sdkFloor(t testing.TB) func(context.Context) error {
	srv := mcp.NewServer(&mcp.Implementation{Name: "floor", Version: "1"}, nil)
	const item = `{"id":"abc","name":"thing"}` // what the shop upstream answers
	srv.AddTool(&mcp.Tool{Name: "noop", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: item}}, StructuredContent: json.RawMessage(item)}, nil
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(hs.Close)
	cs := connectHTTP(t, hs.URL, nil, nil) // closed before hs (cleanups run last first)
	args := map[string]any{"id": "abc"}
	return func(ctx context.Context) error {
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "noop", Arguments: args})
		if err == nil && r.IsError {
			err = fmt.Errorf("tool error")
		}
		return err
	}
}

// listOver serves n REST routes and returns the median tools/list time
// in ms, and the time New took to build the tools.
func listOver(t *testing.T, n int) (float64, float64, float64) {
	cs, url, build := listSetupN(t, n)
	var times []time.Duration
	for i := 0; i < 15; i++ {
		start := time.Now()
		lt, err := cs.ListTools(context.Background(), nil)
		if err != nil || len(lt.Tools) != n {
			t.Fatalf("tools/list: %v, %d tools", err, len(lt.Tools))
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	sdk := times[len(times)/2]
	// The same list as one plain POST to a stateless session.
	post := func() time.Duration {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if n := bytes.Count(b, []byte(`"inputSchema"`)); n != 1000 {
			t.Fatalf("tools/list POST: %d tools: %.300s", n, b)
		}
		return d
	}
	times = times[:0]
	for i := 0; i < 15; i++ {
		times = append(times, post())
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(sdk), ms(times[len(times)/2]), ms(build)
}

// listSetupN serves n REST routes as tools (stateless) and connects a
// client; it returns the endpoint and how long building the tools took.
func listSetupN(t testing.TB, n int) (*mcp.ClientSession, string, time.Duration) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\npackage many.v1;\nimport \"google/api/annotations.proto\";\nimport \"protobridge/v1/options.proto\";\n")
	b.WriteString("// Thing is one record.\nmessage Thing {\n  // Its id.\n  string id = 1;\n  int64 count = 2;\n  repeated string tags = 3;\n  map<string, string> labels = 4;\n  Thing parent = 5;\n}\n")
	for s := 0; s < n/100; s++ {
		fmt.Fprintf(&b, "// Service%d serves things.\nservice Service%d {\n  option (protobridge.v1.service) = {upstream: \"up\"};\n", s, s)
		for m := 0; m < 100; m++ {
			fmt.Fprintf(&b, "  // Get%d gets a thing.\n  rpc Get%d(Thing) returns (Thing) { option (google.api.http) = {get: \"/s%d/m%d/{id}\"}; }\n", m, m, s, m)
		}
		b.WriteString("}\n")
	}
	if err := os.MkdirAll(filepath.Join(dir, "many", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "many", "v1", "many.proto"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "many.yaml")
	if err := os.WriteFile(cfg, []byte("server: {listen: 127.0.0.1:0}\ndescriptors: {import_paths: [.], protos: [many/v1/many.proto]}\nauth: {open: true}\nupstreams:\n  up: {kind: rest, base_url: http://127.0.0.1:9}\nmcp: {stateless: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := daemontest.Start(t, cfg, daemontest.Options{})
	start := time.Now()
	m := mcpfront.New(srv.Router, nil)
	build := time.Since(start)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: m.Handler(srv.Config, lis.Addr().String()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(lis) }()
	t.Cleanup(func() { _ = hs.Close() })
	url := "http://" + lis.Addr().String() + mcpfront.Path
	return connectHTTP(t, url, nil, nil), url, build
}
