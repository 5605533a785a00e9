package mcpfront_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/daemontest"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"
	"github.com/protobridge/protobridge/internal/router"
)

const shopProto = `syntax = "proto3";
package shop.v1;

import "google/api/annotations.proto";
import "buf/validate/validate.proto";
import "protobridge/v1/options.proto";

// ShopService sells things.
service ShopService {
  option (protobridge.v1.service) = {upstream: "shop"};
  // GetItem fetches one item by id.
  rpc GetItem(GetItemRequest) returns (Item) {
    option (google.api.http) = {get: "/items/{id}"};
  }
  // Slow answers only when cancelled.
  rpc Slow(GetItemRequest) returns (Item) {
    option (google.api.http) = {get: "/slow/{id}"};
  }
  // PutItem stores an item.
  rpc PutItem(Item) returns (Item) {
    option (google.api.http) = {put: "/items/{id}" body: "*"};
    option (protobridge.v1.mcp) = {name: "put_item", description: "Store an item under its id."};
  }
  // Internal is for operators only.
  rpc Internal(Item) returns (Item) {
    option (google.api.http) = {post: "/internal"};
    option (protobridge.v1.mcp) = {exclude: true};
  }
  // DeleteItem removes an item.
  rpc DeleteItem(GetItemRequest) returns (Item) {
    option (google.api.http) = {delete: "/items/{id}"};
  }
}

// GetItemRequest names an item.
message GetItemRequest {
  // The item's id, 2 to 8 characters.
  string id = 1 [(buf.validate.field).string = {min_len: 2, max_len: 8}];
}

// Item is one thing for sale.
message Item {
  string id = 1;
  string name = 2;
}
`

type shop struct {
	*demoServer
	calls     atomic.Int32
	cancelled chan struct{}
	cfgPath   string
	cfgText   string
}

func startShop(t testing.TB, stateless bool, mcpYAML string) *shop {
	t.Helper()
	s := &shop{cancelled: make(chan struct{}, 1)}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if strings.HasPrefix(r.URL.Path, "/slow/") {
			<-r.Context().Done()
			s.cancelled <- struct{}{}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch id {
		case "404":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"message":"no item 404 in this shop"}}`))
		case "429":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case "401":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			_, _ = w.Write([]byte(`{"id":"` + id + `","name":"thing"}`))
		}
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "shop", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop", "v1", "shop.proto"), []byte(shopProto), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cfgText = "server: {listen: 127.0.0.1:0}\ndescriptors: {import_paths: [.], protos: [shop/v1/shop.proto]}\nauth: {open: true}\n" +
		"upstreams:\n  shop: {kind: rest, base_url: " + up.URL + "}\nmcp:\n  stateless: " + map[bool]string{true: "true", false: "false"}[stateless] + "\n" + mcpYAML
	s.cfgPath = filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(s.cfgPath, []byte(s.cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := daemontest.Start(t, s.cfgPath, daemontest.Options{})
	m := mcpfront.New(srv.Router, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: m.Handler(srv.Config, lis.Addr().String()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(lis) }()
	t.Cleanup(func() { _ = hs.Close() })
	s.demoServer = &demoServer{URL: "http://" + lis.Addr().String() + mcpfront.Path, MCP: m, D: srv}
	return s
}

// reload rewrites the config with mcp lines appended and swaps the table
// in, as the daemon's Reload does.
func (s *shop) reload(t *testing.T, extra string) {
	t.Helper()
	if err := os.WriteFile(s.cfgPath, []byte(s.cfgText+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadConfig(s.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := router.Build(context.Background(), cfg, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.D.Router.Swap(tab)
}

func TestShopTools(t *testing.T) {
	s := startShop(t, false, "  tools:\n    shop.v1.ShopService/GetItem: {name: get_item, title: Get an item}\n")
	cs := connectHTTP(t, s.URL, nil, nil)
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]*mcp.Tool{}
	for _, tl := range lt.Tools {
		tools[tl.Name] = tl
	}
	gi := tools["get_item"]
	if gi == nil || gi.Title != "Get an item" || !strings.Contains(gi.Description, "GetItem fetches one item by id.") || !strings.Contains(gi.Description, "ShopService sells things.") {
		t.Fatalf("override or comments missing: %+v", gi)
	}
	if a := gi.Annotations; !a.ReadOnlyHint || !a.IdempotentHint || a.OpenWorldHint == nil || !*a.OpenWorldHint {
		t.Errorf("GET annotations %+v", a)
	}
	if tools["ShopService_Internal"] != nil || tools["put_item"] == nil || !strings.HasPrefix(tools["put_item"].Description, "Store an item under its id.") {
		t.Fatalf("(protobridge.v1.mcp) options not applied: %v", tools)
	}
	if a := tools["put_item"].Annotations; a.ReadOnlyHint || !a.IdempotentHint || *a.DestructiveHint {
		t.Errorf("PUT annotations %+v", a)
	}
	if a := tools["ShopService_DeleteItem"].Annotations; a.ReadOnlyHint || !a.IdempotentHint || !*a.DestructiveHint {
		t.Errorf("DELETE annotations %+v", a)
	}

	for _, c := range []struct {
		id   string
		want []string
	}{
		{"404", []string{"found nothing", "The upstream said: no item 404 in this shop", "UPSTREAM_HTTP_404"}},
		{"429", []string{"retry after 7 s"}},
		{"401", []string{"credentials"}},
	} {
		r := callTool(t, cs, "get_item", map[string]any{"id": c.id})
		for _, w := range c.want {
			if !r.IsError || !strings.Contains(text(r), w) {
				t.Errorf("id %s: %q lacks %q", c.id, text(r), w)
			}
		}
		if strings.Contains(text(r), "rpc error") {
			t.Errorf("Go wording in %q", text(r))
		}
	}

	before := s.calls.Load()
	r := callTool(t, cs, "get_item", map[string]any{"id": "x"})
	if !r.IsError || !strings.Contains(text(r), "- id: must be at least 2 characters (rule string.min_len)") {
		t.Errorf("validation: %s", text(r))
	}
	r = callTool(t, cs, "get_item", map[string]any{"idd": "xyz"})
	if !r.IsError || !strings.Contains(text(r), `did you mean "id"`) {
		t.Errorf("unknown field: %s", text(r))
	}
	if n := s.calls.Load(); n != before {
		t.Errorf("invalid calls reached the upstream %d times", n-before)
	}
	r = callTool(t, cs, "get_item", map[string]any{"id": "abc"})
	if r.IsError || structured(t, r)["name"] != "thing" {
		t.Errorf("get_item: %s", text(r))
	}
	// Unknown tools are protocol errors, not tool results.
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "nope", Arguments: map[string]any{}}); err == nil {
		t.Error("unknown tool: no protocol error")
	}
}

func TestCancellationReachesUpstream(t *testing.T) {
	s := startShop(t, false, "")
	cs := connectHTTP(t, s.URL, nil, &mcp.ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ShopService_Slow", Arguments: map[string]any{"id": "abc"}})
		errc <- err
	}()
	for s.calls.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel() // the client sends notifications/cancelled
	select {
	case <-s.cancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream call was not cancelled")
	}
	<-errc
}

func TestReloadNotifiesClients(t *testing.T) {
	for _, c := range []struct {
		name      string
		stateless bool
		version   string
	}{
		{"2025-11-25 session", false, "2025-11-25"},
		{"2026-07-28 stateless subscription", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startShop(t, c.stateless, "")
			changed := make(chan struct{}, 4)
			tr := &mcp.StreamableClientTransport{Endpoint: s.URL}
			cl := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
				ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
			})
			cs, err := cl.Connect(context.Background(), tr, &mcp.ClientSessionOptions{ProtocolVersion: c.version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; c.version != "" && got != c.version {
				t.Errorf("negotiated %s, want %s", got, c.version)
			}
			if !toolNames(t, cs)["ShopService_DeleteItem"] {
				t.Fatal("DeleteItem missing before the reload")
			}
			s.reload(t, "  exclude: [shop.v1.ShopService/DeleteItem]\n")
			select {
			case <-changed:
			case <-time.After(20 * time.Second):
				t.Fatal("no notifications/tools/list_changed after the reload")
			}
			if toolNames(t, cs)["ShopService_DeleteItem"] {
				t.Error("DeleteItem still listed after the reload")
			}
		})
	}
}
