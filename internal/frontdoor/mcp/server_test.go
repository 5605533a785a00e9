package mcpfront_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protobridge/protobridge/examples/demo"
	"github.com/protobridge/protobridge/internal/daemontest"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"

	_ "github.com/protobridge/protobridge/adapters/all"
)

// demoServer serves the demo's routes as MCP tools over streamable HTTP on
// 127.0.0.1, stateless or not, with the config edited by edit.
type demoServer struct {
	URL  string
	MCP  *mcpfront.Server
	D    *daemontest.Server
	Demo *demo.Demo
}

func startDemo(t testing.TB, stateless bool, edit func(string) string) *demoServer {
	return startDemoWith(t, stateless, edit, daemontest.Options{})
}

func startDemoWith(t testing.TB, stateless bool, edit func(string) string, o daemontest.Options) *demoServer {
	t.Helper()
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if stateless || edit != nil {
		b, err := os.ReadFile(d.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if stateless {
			s = strings.Replace(s, "mcp:\n", "mcp:\n  stateless: true\n", 1)
		}
		if edit != nil {
			s = edit(s)
		}
		if err := os.WriteFile(d.ConfigPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := daemontest.Start(t, d.ConfigPath, o)
	m := mcpfront.New(srv.Router, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: m.Handler(srv.Config, lis.Addr().String()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(lis) }()
	t.Cleanup(func() { _ = hs.Close() })
	return &demoServer{URL: "http://" + lis.Addr().String() + mcpfront.Path, MCP: m, D: srv, Demo: d}
}

func connectHTTP(t testing.TB, url string, header http.Header, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: url}
	if header != nil {
		tr.HTTPClient = &http.Client{Transport: headerTransport{h: header}}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// headerTransport adds h to every request sent over base (nil: the
// default transport).
type headerTransport struct {
	h    http.Header
	base http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.h {
		r.Header[k] = v
	}
	if h.base != nil {
		return h.base.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func structured(t *testing.T, r *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(r.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("structuredContent %s: %v", b, err)
	}
	return m
}

// exerciseDemo lists the demo's tools and calls REST-, SOAP- and
// WebSocket-backed ones through cs.
func exerciseDemo(t *testing.T, cs *mcp.ClientSession) {
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]*mcp.Tool{}
	for _, tl := range lt.Tools {
		tools[tl.Name] = tl
	}
	for _, want := range []string{"LibraryService_GetBook", "LibraryService_CreateBook", "InventoryService_GetStock", "CalculatorService_Add", "TickerService_Watch"} {
		if tools[want] == nil {
			t.Errorf("tools/list lacks %s (has %d tools)", want, len(tools))
		}
	}
	if tools["ChatService_Chat"] != nil {
		t.Error("a bidi route is listed as a tool")
	}
	gb := tools["LibraryService_GetBook"]
	if gb != nil {
		if !strings.Contains(gb.Description, "GetBook returns one book") || gb.Annotations == nil || !gb.Annotations.ReadOnlyHint {
			t.Errorf("GetBook tool: description %q, annotations %+v", gb.Description, gb.Annotations)
		}
		if gb.OutputSchema == nil {
			t.Error("GetBook has no outputSchema")
		}
	}
	if cb := tools["LibraryService_CreateBook"]; cb != nil && (cb.Annotations.ReadOnlyHint || cb.Annotations.DestructiveHint == nil || *cb.Annotations.DestructiveHint) {
		t.Errorf("CreateBook annotations %+v", cb.Annotations)
	}

	t.Run("rest", func(t *testing.T) {
		r := callTool(t, cs, "LibraryService_GetBook", map[string]any{"name": "shelves/1/books/1"})
		if r.IsError || structured(t, r)["title"] != "The Go Programming Language" || !strings.Contains(text(r), "The Go Programming Language") {
			t.Fatalf("GetBook: %+v %s", r, text(r))
		}
		r = callTool(t, cs, "InventoryService_GetStock", map[string]any{"warehouse": "north"})
		if r.IsError || !strings.Contains(text(r), "9007199254740993") {
			t.Fatalf("GetStock (XML REST): %s", text(r))
		}
	})
	t.Run("rest-not-found", func(t *testing.T) {
		r := callTool(t, cs, "LibraryService_GetBook", map[string]any{"name": "shelves/1/books/99"})
		if !r.IsError || !strings.Contains(text(r), "found nothing") || !strings.Contains(text(r), "UPSTREAM_HTTP_404") {
			t.Fatalf("GetBook 404: %s", text(r))
		}
	})
	t.Run("unknown-field", func(t *testing.T) {
		r := callTool(t, cs, "LibraryService_GetBook", map[string]any{"nmae": "shelves/1/books/1"})
		if !r.IsError || !strings.Contains(text(r), `did you mean "name"`) || !strings.Contains(text(r), "nothing was sent") {
			t.Fatalf("unknown field: %s", text(r))
		}
	})
	t.Run("soap", func(t *testing.T) {
		r := callTool(t, cs, "CalculatorService_Add", map[string]any{"intA": 2, "intB": 3})
		if r.IsError || !strings.Contains(text(r), "5") {
			t.Fatalf("Add: %s", text(r))
		}
		r = callTool(t, cs, "CalculatorService_Divide", map[string]any{"intA": 1, "intB": 0})
		if !r.IsError || !strings.Contains(text(r), "divide by zero") {
			t.Fatalf("Divide by zero: %s", text(r))
		}
		r = callTool(t, cs, "CalculatorService_Add", map[string]any{"intA": "two"})
		if !r.IsError || !strings.Contains(text(r), "intA") || !strings.Contains(text(r), "int32") {
			t.Fatalf("wrong type: %s", text(r))
		}
	})
	t.Run("websocket-stream", func(t *testing.T) {
		var mu sync.Mutex
		var progress []string
		_ = progress
		r, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "TickerService_Watch", Arguments: map[string]any{"symbol": "GOPH", "count": 3}})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		msgs, _ := structured(t, r)["messages"].([]any)
		if r.IsError || len(msgs) != 3 || !strings.Contains(text(r), "GOPH") {
			t.Fatalf("Watch: %s", text(r))
		}
	})
}

func TestGoClientHTTP(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		name := "stateful"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) {
			s := startDemo(t, stateless, nil)
			exerciseDemo(t, connectHTTP(t, s.URL, nil, nil))
		})
	}
}

func TestGoClientStdio(t *testing.T) {
	s := startDemo(t, false, nil)
	exerciseDemo(t, connectPipes(t, s))
}

// connectPipes connects a client to s over the stdio transport's framing
// (newline-delimited JSON) on two pipes, as `protobridge mcp` serves it
// on stdin and stdout (test/e2e runs the binary itself).
func connectPipes(t testing.TB, s *demoServer) *mcp.ClientSession {
	t.Helper()
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.MCP.RunTransport(ctx, &mcp.IOTransport{Reader: sr, Writer: sw}) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.IOTransport{Reader: cr, Writer: cw}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		cancel()
		<-done
	})
	return cs
}

func TestStreamProgressAndBound(t *testing.T) {
	s := startDemo(t, false, func(c string) string {
		return strings.Replace(c, "mcp:\n", "mcp:\n  max_stream_messages: 2\n", 1)
	})
	var mu sync.Mutex
	var progress []string
	cs := connectHTTP(t, s.URL, nil, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, r.Params.Message)
	}})
	p := &mcp.CallToolParams{Name: "TickerService_Watch", Arguments: map[string]any{"symbol": "GOPH", "count": 3}}
	p.SetProgressToken("watch-1")
	r, err := cs.CallTool(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	st := structured(t, r)
	if msgs, _ := st["messages"].([]any); r.IsError || len(msgs) != 2 || st["truncated"] != true {
		t.Fatalf("bounded Watch: %s", text(r))
	}
	// The client handles notifications on goroutines of its own: wait.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(progress)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) != 2 || !strings.Contains(strings.Join(progress, " "), `"seq":"1"`) {
		t.Errorf("progress %q", progress)
	}
}
