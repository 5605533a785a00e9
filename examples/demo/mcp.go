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
func mcpListen(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	if p, err := strconv.Atoi(port); err == nil && p == 50051 {
		return net.JoinHostPort(host, "8765")
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
