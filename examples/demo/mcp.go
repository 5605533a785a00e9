package demo

import (
	"fmt"
	"net"
	"strconv"
)

// DefaultMCPListen is the demo's MCP address beside the default gRPC one.
const DefaultMCPListen = "127.0.0.1:8765"

// mcpListen is the MCP address of a demo serving gRPC on listen: the
// default one, or a free port beside a port of the caller's choosing.
func mcpListen(listen string) string { return besideListen(listen, "8765") }

// adminListen is the demo's admin listener (status page, /metrics): 9090
// beside the default gRPC port, else a free port on the same host.
func adminListen(listen string) string { return besideListen(listen, "9090") }

func besideListen(listen, port string) string {
	host, gport, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	if p, err := strconv.Atoi(gport); err == nil && p == 50051 {
		return net.JoinHostPort(host, port)
	}
	return net.JoinHostPort(host, "0")
}

// MCPHowTo says how to try the demo's tools from an MCP client, for an
// MCP endpoint at addr.
func MCPHowTo(addr, configPath string) string {
	return fmt.Sprintf(`Every route is also an MCP tool for agents:

  streamable HTTP: http://%s/mcp
  npx @modelcontextprotocol/inspector --cli http://%s/mcp --transport http --method tools/list
  stdio (desktop agents): protobridge mcp --config %s
    e.g. {"mcpServers":{"protobridge":{"command":"protobridge","args":["mcp","--config","%s"]}}}`, addr, addr, configPath, configPath)
}
