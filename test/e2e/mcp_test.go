package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protobridge/protobridge/examples/demo"
)

var servingMCPRE = regexp.MustCompile(`msg="serving MCP" address=(\S+)`)

// conformanceScenarios are the official conformance suite's server
// scenarios that apply to a gateway: the others call fixture tools,
// prompts and resources of the suite's own reference server.
var conformanceScenarios = []string{
	"server-initialize", "ping", "tools-list", "logging-set-level",
	"server-sse-multiple-streams", "dns-rebinding-protection",
}

// startMCPDemo serves the demo (upstreams in process) with the built
// binary, MCP on a free port, stateless when asked; it returns the MCP
// URL and the config path.
func startMCPDemo(t *testing.T, stateless bool) (string, string) {
	t.Helper()
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if stateless {
		b, err := os.ReadFile(d.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d.ConfigPath, []byte(strings.Replace(string(b), "mcp:\n", "mcp:\n  stateless: true\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dm := startDaemon(t, d.ConfigPath)
	m, ok := dm.Out.Wait(servingMCPRE)
	if !ok {
		t.Fatalf("no MCP listener:\n%s", dm.Out)
	}
	return m[1], d.ConfigPath
}

func nodePeer(t *testing.T) (node, peers string) {
	t.Helper()
	testenv.Peer(t, "@modelcontextprotocol/sdk/package.json")
	return testenv.LookPath(t, "node"), filepath.Join(root, "test", "peers")
}

func runNode(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args[1:], " "), err, out)
	}
	return string(out)
}

// TestMCPTypeScriptClient: the official TypeScript SDK client lists and
// calls REST, SOAP and WebSocket tools over streamable HTTP (stateful and
// stateless) and over stdio (`protobridge mcp`).
func TestMCPTypeScriptClient(t *testing.T) {
	node, peers := nodePeer(t)
	for _, stateless := range []bool{false, true} {
		url, cfg := startMCPDemo(t, stateless)
		if out := runNode(t, peers, node, "mcp/client.mjs", "http", url); !strings.HasPrefix(out, "ok ") {
			t.Errorf("http (stateless %v): %s", stateless, out)
		}
		if !stateless {
			if out := runNode(t, peers, node, "mcp/client.mjs", "stdio", binary, cfg); !strings.HasPrefix(out, "ok ") {
				t.Errorf("stdio: %s", out)
			}
		}
	}
}

// TestMCPConformance runs the official conformance suite's server
// scenarios against the daemon.
func TestMCPConformance(t *testing.T) {
	node, peers := nodePeer(t)
	cli := filepath.Join(peers, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	testenv.Peer(t, "@modelcontextprotocol/conformance/dist/index.js")
	url, _ := startMCPDemo(t, false)
	for _, s := range conformanceScenarios {
		t.Run(s, func(t *testing.T) {
			out := runNode(t, peers, node, cli, "server", "--url", url, "--scenario", s)
			if !strings.Contains(out, " 0 failed") || strings.Contains(out, "FAILURE") {
				t.Errorf("%s", out)
			}
		})
	}
}

// TestMCPStdioGoClient: the Go SDK's client starts `protobridge mcp` as
// desktop agents do and calls tools over its stdin and stdout.
func TestMCPStdioGoClient(t *testing.T) {
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: exec.Command(binary, "mcp", "--config", d.ConfigPath)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil || len(lt.Tools) < 5 {
		t.Fatalf("tools/list: %v, %d tools", err, len(lt.Tools))
	}
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"LibraryService_GetBook", map[string]any{"name": "shelves/1/books/1"}, "The Go Programming Language"},
		{"CalculatorService_Add", map[string]any{"intA": 20, "intB": 22}, "42"},
		{"TickerService_Watch", map[string]any{"symbol": "GOPH", "count": 2}, `"seq": "2"`},
	} {
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Fatalf("%s: %v", c.tool, err)
		}
		got := ""
		for _, ct := range r.Content {
			if tc, ok := ct.(*mcp.TextContent); ok {
				got += tc.Text
			}
		}
		if r.IsError || !strings.Contains(got, c.want) {
			t.Errorf("%s: %s", c.tool, got)
		}
	}
}
