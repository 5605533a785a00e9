package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/examples/demo"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/sandbox"
	"github.com/protobridge/protobridge/internal/testenv"
)

// demoConfig copies the demo's files, stops its upstreams (a mock never
// calls them) and returns its config with add appended to each named
// upstream's block.
func demoConfig(t *testing.T, add map[string]string) string {
	t.Helper()
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	own := t.TempDir()
	if err := os.CopyFS(own, os.DirFS(filepath.Dir(d.ConfigPath))); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(own, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for name, block := range add {
		head := "  " + name + ":\n"
		i := strings.Index(s, head)
		if i < 0 {
			t.Fatalf("no upstream %s in the demo config", name)
		}
		s = s[:i+len(head)] + block + s[i+len(head):]
	}
	p := filepath.Join(own, "mock.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const fastMock = "    sandbox: {mock: {interval: 5ms, messages: 3, seed: 7}}\n"

func TestMockTheDemo(t *testing.T) {
	cfg := demoConfig(t, map[string]string{"library": fastMock, "inventory": fastMock, "calculator": fastMock, "ticker": fastMock,
		"chat": "    sandbox: {mock: {messages: 2}}\n"})
	s := daemontest.Start(t, cfg, daemontest.Options{Sandbox: sandbox.New(sandbox.Flags{Mode: sandbox.Mock}, "test", nil)})

	book, err := unary(t, s, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/1"}`)
	if err != nil || !strings.Contains(book, `"title":`) || !strings.Contains(book, `"author":`) {
		t.Fatalf("GetBook: %s, %v", book, err)
	}
	again, _ := unary(t, s, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/1"}`)
	if again != book {
		t.Errorf("the same request got two answers:\n%s\n%s", book, again)
	}
	other, _ := unary(t, s, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/2"}`)
	if other == book {
		t.Errorf("different requests got the same answer %s", book)
	}

	sum, err := unary(t, s, "calculator.v1.CalculatorService/Add", `{"int_a":2,"int_b":3}`)
	if err != nil || !strings.Contains(sum, `"addResult":`) {
		t.Fatalf("Add: %s, %v", sum, err)
	}

	ticks, err := stream(t, s, "ticker.v1.TickerService/Watch", `{"symbol":"GOPH","count":3}`)
	if err != nil || len(ticks) != 3 || !strings.Contains(ticks[0], `"symbol":`) {
		t.Fatalf("Watch: %v, %v", ticks, err)
	}
	said, err := stream(t, s, "chat.v1.ChatService/Chat", `{"user":"ann","text":"hello"}`, `{"user":"ann","text":"bye"}`)
	if err != nil || len(said) != 2 {
		t.Fatalf("Chat: %v, %v", said, err)
	}

	// The XML REST upstream: the reply as XML the adapter reads.
	stock, err := unary(t, s, "inventory.v1.InventoryService/GetStock", `{"warehouse":"north"}`)
	if err != nil || !strings.Contains(stock, `"warehouse":`) || !strings.Contains(stock, `"sku":`) {
		t.Fatalf("GetStock: %s, %v", stock, err)
	}
}

func TestMockSOAPFaultsOnDemand(t *testing.T) {
	cfg := demoConfig(t, map[string]string{"calculator": "    sandbox: {mode: mock, mock: {fault_rate: 1}}\n"})
	s := daemontest.Start(t, cfg, daemontest.Options{})
	_, err := unary(t, s, "calculator.v1.CalculatorService/Add", `{"int_a":2,"int_b":3}`)
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "mock fault") {
		t.Fatalf("want the SOAP Server fault as INTERNAL, got %v", err)
	}
}

// TestChaosRehearsesThePolicies injects failures into a mocked upstream
// and watches the policy chain handle them: a 5xx burst is retried away,
// a 429 carries its Retry-After as RetryInfo, knobs change at run time
// through the admin endpoint.
func TestChaosRehearsesThePolicies(t *testing.T) {
	cfg := demoConfig(t, map[string]string{"library": `    sandbox:
      mode: mock
      chaos: {burst: {every: 3, length: 2, status: 503}, latency: {min: 1ms, max: 3ms}}
    policies:
      idempotent: true
      retry: {attempts: 3, initial_backoff: 1ms, max_backoff: 2ms}
`})
	sb := sandbox.New(sandbox.Flags{}, "test", nil)
	s := daemontest.Start(t, cfg, daemontest.Options{Sandbox: sb})
	for i := 0; i < 4; i++ {
		if _, err := unary(t, s, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/1"}`); err != nil {
			t.Fatalf("call %d: the retries should outlast a burst of 2: %v", i, err)
		}
	}

	admin := httptest.NewServer(sb.Handler())
	defer admin.Close()
	put := func(body string) int {
		req, _ := http.NewRequest(http.MethodPut, admin.URL+"/sandbox/chaos/library", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(`{"rate_limit_rate": 2}`); code != http.StatusBadRequest {
		t.Fatalf("a share of 2 was accepted: %d", code)
	}
	if code := put(`{"rate_limit_rate": 1, "retry_after": "1s"}`); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	_, err := unary(t, s, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/1"}`)
	st := status.Convert(err)
	var ri *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			ri = r
		}
	}
	if st.Code() != codes.Unavailable && st.Code() != codes.ResourceExhausted || ri == nil || ri.GetRetryDelay().AsDuration() != time.Second {
		t.Fatalf("a 429 with Retry-After: 1 became %v (retry info %v)", err, ri)
	}

	req, _ := http.NewRequest(http.MethodDelete, admin.URL+"/sandbox/chaos/library", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
	// Back to the config's knobs: a burst of two, then a success.
	if _, err := unary(t, s, "library.v1.LibraryService/GetBook", `{"name":"shelves/1/books/1"}`); err != nil {
		t.Fatalf("after DELETE: %v", err)
	}
}

// TestMockUsesOpenAPIExamples mocks the Petstore's REST routes with the
// spec at hand: a pet carries the spec's property examples (name doggie,
// category Dogs), the rest made up from the proto types.
func TestMockUsesOpenAPIExamples(t *testing.T) {
	spec := testenv.Corpus(t, "openapi", "petstore.yaml")
	protos, _ := filepath.Abs(filepath.Join("..", "..", "examples", "petstore", "proto"))
	cfg := daemontest.WriteConfig(t, sprintf(`
descriptors:
  import_paths: [%q]
  protos: [petstore/v1/petstore.proto]
auth:
  open: true
upstreams:
  petstore:
    kind: rest
    base_url: http://127.0.0.1:9/api/v3
    sandbox: {mode: mock, mock: {openapi: %q}}
`, protos, spec))
	s := daemontest.Start(t, cfg, daemontest.Options{})
	pet, err := unary(t, s, "petstore.v1.PetService/GetPetById", `{"pet_id":"10"}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"doggie"`, `"category":{"id":"1","name":"Dogs"}`, `"photoUrls":[`} {
		if !strings.Contains(strings.ReplaceAll(pet, " ", ""), want) {
			t.Errorf("GetPetById = %s, want %s in it", pet, want)
		}
	}
}

// TestMockUnaryOverASharedSocket mocks unary calls over one WebSocket: each
// reply carries its request's correlation id, so every call gets its own.
func TestMockUnaryOverASharedSocket(t *testing.T) {
	testdata, _ := filepath.Abs(filepath.Join("..", "..", "adapters", "websocket", "testdata"))
	cfg := daemontest.WriteConfig(t, sprintf(`
descriptors:
  import_paths: [%q]
  protos: [wstest.proto]
auth:
  open: true
upstreams:
  echo:
    kind: websocket
    base_url: ws://127.0.0.1:9/
    sandbox: {mode: mock}
routes:
  - {method: wstest.v1.Echo/Call, upstream: echo}
  - {method: wstest.v1.Echo/Chat, upstream: echo}
  - {method: wstest.v1.Echo/Tick, upstream: echo}
  - {method: wstest.v1.Echo/Collect, upstream: echo}
`, testdata))
	s := daemontest.Start(t, cfg, daemontest.Options{})
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		out, err := unary(t, s, "wstest.v1.Echo/Call", sprintf(`{"text":"call %d"}`, i))
		if err != nil || !strings.Contains(out, `"id":`) {
			t.Fatalf("Call %d: %s, %v", i, out, err)
		}
		seen[out] = true
	}
	if len(seen) != 3 {
		t.Errorf("three calls, %d different replies", len(seen))
	}
}

// TestMockSharedSocketAnswersEachRoute mocks two unary routes of
// different types that share one WebSocket: each call gets a reply of its
// own method's output type, not the first route's.
func TestMockSharedSocketAnswersEachRoute(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "quotes.proto"), []byte(`syntax = "proto3";
package quotes.v1;
message PriceRequest { string sku = 1; string id = 2; }
message Price { string sku = 1; int64 cents = 2; string id = 3; }
message StockRequest { string warehouse = 1; string id = 2; }
message Stock { repeated string skus = 1; int32 count = 2; string id = 3; }
service Quotes {
  rpc GetPrice(PriceRequest) returns (Price);
  rpc GetStock(StockRequest) returns (Stock);
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := daemontest.WriteConfig(t, sprintf(`
descriptors:
  import_paths: [%q]
  protos: [quotes.proto]
auth:
  open: true
upstreams:
  quotes:
    kind: websocket
    base_url: ws://127.0.0.1:9/
    sandbox: {mode: mock, mock: {seed: 3}}
routes:
  - {method: quotes.v1.Quotes/GetPrice, upstream: quotes}
  - {method: quotes.v1.Quotes/GetStock, upstream: quotes}
`, dir))
	s := daemontest.Start(t, cfg, daemontest.Options{})
	for i := 0; i < 2; i++ {
		price, err := unary(t, s, "quotes.v1.Quotes/GetPrice", `{"sku":"a-1"}`)
		if err != nil || !strings.Contains(price, `"cents":`) {
			t.Fatalf("GetPrice: %s, %v", price, err)
		}
		stock, err := unary(t, s, "quotes.v1.Quotes/GetStock", `{"warehouse":"north"}`)
		if err != nil || !strings.Contains(stock, `"count":`) || strings.Contains(stock, `"cents":`) {
			t.Fatalf("GetStock: %s, %v", stock, err)
		}
	}
}

// TestKindMockSaysWhatToWrite: `kind: mock` is refused with the way to
// write a mock upstream.
func TestKindMockSaysWhatToWrite(t *testing.T) {
	cfg := daemontest.WriteConfig(t, "upstreams:\n  calc:\n    kind: mock\n    base_url: http://127.0.0.1:9/\n")
	_, err := config.LoadConfig(cfg)
	if err == nil || !strings.Contains(err.Error(), "sandbox: {mode: mock}") {
		t.Fatalf("kind mock: %v", err)
	}
}
