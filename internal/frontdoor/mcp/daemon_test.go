package mcpfront_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/protobridge/protobridge/examples/demo"
	"github.com/protobridge/protobridge/internal/daemon"
)

// TestDaemonServesMCP: mcp.listen opens the listener in Run, a reload
// keeps it (and refuses to move it), and the drain closes it.
func TestDaemonServesMCP(t *testing.T) {
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	dm, err := daemon.New(context.Background(), d.ConfigPath, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- dm.Run(ctx, func(_, _ net.Addr) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	url := "http://" + dm.MCPAddr().String() + "/mcp"
	if names := toolNames(t, connectHTTP(t, url, nil, nil)); !names["CalculatorService_Add"] {
		t.Errorf("tools %v", names)
	}
	if err := dm.Reload(context.Background()); err != nil {
		t.Errorf("reload: %v", err)
	}
	b, _ := os.ReadFile(d.ConfigPath)
	if err := os.WriteFile(d.ConfigPath, []byte(strings.Replace(string(b), "mcp:\n  listen: 127.0.0.1:0", "mcp:\n  listen: 127.0.0.1:1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dm.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Errorf("moving mcp.listen: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Post(url, "application/json", strings.NewReader("{}")); err == nil {
		t.Error("the MCP listener is still open after the drain")
	}
}

// TestProtocolVersionNegotiation: initialize answers a version the server
// supports with that version, and an unknown one with its newest
// handshake version.
func TestProtocolVersionNegotiation(t *testing.T) {
	s := startShop(t, false, "")
	for asked, want := range map[string]string{"2025-03-26": "2025-03-26", "2025-06-18": "2025-06-18", "2025-11-25": "2025-11-25", "1999-01-01": "2025-11-25"} {
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + asked + `","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
		req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		i := strings.Index(string(b), "{")
		var msg struct {
			Result struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"result"`
		}
		if i < 0 || json.NewDecoder(strings.NewReader(string(b[i:]))).Decode(&msg) != nil || msg.Result.ProtocolVersion != want {
			t.Errorf("asked %s: %s", asked, b)
		}
	}
}
