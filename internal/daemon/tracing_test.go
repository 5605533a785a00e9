package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/router"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// httpFake calls its upstream over HTTP through Env.WrapTransport.
type httpFake struct{ client *http.Client }

func init() {
	RegisterAdapter("httpfake", func(u *Upstream, env *Env) (Adapter, error) {
		return &httpFake{client: &http.Client{Transport: env.WrapTransport(http.DefaultTransport.(*http.Transport).Clone())}}, nil
	})
}

func (h *httpFake) Bind(*Route) (Endpoint, error) { return h, nil }
func (h *httpFake) Close() error                  { h.client.CloseIdleConnections(); return nil }
func (h *httpFake) Stream(context.Context, *Call, Stream) error {
	return Errorf(codes.Unimplemented, "", nil, "no streams")
}

func (h *httpFake) Unary(ctx context.Context, c *Call) (proto.Message, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.Route.Upstream.BaseURL, nil)
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return item(c.Route.Method, 1), nil
}

func TestTracingSpansAndPropagation(t *testing.T) {
	var mu sync.Mutex
	var traceparents []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparents = append(traceparents, r.Header.Get("Traceparent"))
		mu.Unlock()
	}))
	defer up.Close()

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	cfg, err := config.ParseConfig(writeConfig(t, ""), []byte("descriptors:\n  import_paths: [testdata/proto]\n  protos: [shop/v1/shop.proto]\nauth: {open: true}\nupstreams:\n  shop:\n    kind: httpfake\n    base_url: "+up.URL+"\n    policies:\n      retry: {attempts: 2}\n      circuit_breaker: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseDir = "."
	tab, err := Build(context.Background(), cfg, discard(), WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, tab, discard(), WithTracerProvider(tp))
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	defer func() { srv.Shutdown(0); <-done; _ = tab.Close() }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-"+parentTrace+"-00f067aa0ba902b7-01")
	md := tab.Routes()[0].Method
	req := dynamicpb.NewMessage(md.Input())
	if err := conn.Invoke(ctx, "/shop.v1.ShopService/GetItem", req, dynamicpb.NewMessage(md.Output())); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(traceparents) != 1 || !strings.HasPrefix(traceparents[0], "00-"+parentTrace+"-") {
		t.Fatalf("upstream saw traceparent %q, want the caller's trace %s", traceparents, parentTrace)
	}
	// The server span ends once gRPC has finished the call, which may be
	// just after the caller has its reply.
	waitFor(t, func() bool {
		for _, s := range rec.Ended() {
			if s.Name() == "shop.v1.ShopService/GetItem" {
				return true
			}
		}
		return false
	})
	names := map[string]bool{}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() != parentTrace {
			t.Errorf("span %s in trace %s", s.Name(), s.SpanContext().TraceID())
		}
		names[s.Name()] = true
	}
	for _, want := range []string{"shop.v1.ShopService/GetItem", "protobridge.policy.retry", "protobridge.policy.circuit_breaker", "protobridge.upstream", "HTTP GET"} {
		if !names[want] {
			t.Errorf("no %q span; got %v", want, names)
		}
	}
}

// TestTracedQueryKeyStaysOutOfSpans sends an outbound API key as a query
// parameter with tracing on: the upstream gets it, no span attribute holds it.
func TestTracedQueryKeyStaysOutOfSpans(t *testing.T) {
	const key = "query-key-s3cret"
	t.Setenv("PB_TEST_QUERY_KEY", key)
	var got []string
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Query().Get("key"))
		mu.Unlock()
	}))
	defer up.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	cfg, err := config.ParseConfig(writeConfig(t, ""), []byte("descriptors:\n  import_paths: [testdata/proto]\n  protos: [shop/v1/shop.proto]\nauth: {open: true}\nupstreams:\n  shop:\n    kind: httpfake\n    base_url: "+up.URL+"\n    credentials:\n      api_key: {query: key, value: {env: PB_TEST_QUERY_KEY}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseDir = "."
	tab, err := Build(context.Background(), cfg, discard(), WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	r := tab.Routes()[0]
	if _, err := router.New(tab, discard(), nil).Unary(context.Background(), &Call{Route: r, Request: dynamicpb.NewMessage(r.Method.Input())}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != key {
		t.Fatalf("upstream saw key %q", got)
	}
	spans := rec.Ended()
	if len(spans) == 0 {
		t.Fatal("no spans recorded")
	}
	for _, s := range spans {
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), key) {
				t.Errorf("span %s attribute %s holds the key", s.Name(), a.Key)
			}
		}
	}
}
