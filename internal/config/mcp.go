package config

import (
	"net"
	"regexp"

	"github.com/protobridge/protobridge/bridge"
)

// MCPConfig is the Model Context Protocol front door: every unary and
// server-streaming route as a tool an agent can list and call, through
// the same policy chain as a gRPC call.
//
//	mcp:
//	  listen: 127.0.0.1:8765
//	  stateless: true
//	  exclude: [admin.v1.AdminService]
//	  tools:
//	    library.v1.LibraryService/GetBook: {name: get_book, description: Fetch one book by name}
type MCPConfig struct {
	// Listen is the streamable HTTP address (path /mcp); empty turns the
	// HTTP listener off. `protobridge mcp` serves stdio regardless.
	Listen string `yaml:"listen"`
	// Stateless serves streamable HTTP without sessions, so replicas
	// behind a load balancer need no sticky sessions.
	Stateless bool `yaml:"stateless"`
	// Include, when set, lists the services ("pkg.Service") or methods
	// ("pkg.Service/Method") served as tools; every route otherwise.
	Include []string `yaml:"include"`
	// Exclude lists services or methods never served as tools.
	Exclude []string `yaml:"exclude"`
	// Tools override a tool's name, title or description, by method
	// (over the method's (protobridge.v1.mcp) option).
	Tools map[string]MCPTool `yaml:"tools"`
	// MaxStreamMessages bounds the messages a server-streaming tool
	// collects before it ends the call (default 100).
	MaxStreamMessages int `yaml:"max_stream_messages"`
	// ResourceURL is this server's public URL, announced in the OAuth
	// Protected Resource Metadata when auth.jwt is set (default
	// http://LISTEN/mcp).
	ResourceURL string `yaml:"resource_url"`
}

// MCPTool overrides how one route is shown as a tool.
type MCPTool struct {
	// Name replaces the generated tool name.
	Name string `yaml:"name"`
	// Title replaces the title from the rpc's comment.
	Title string `yaml:"title"`
	// Description replaces the description from the comments.
	Description string `yaml:"description"`
}

// DefaultMCPStreamMessages bounds what a streaming tool collects.
const DefaultMCPStreamMessages = 100

var (
	mcpToolName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	mcpSelector = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*(/[A-Za-z_][A-Za-z0-9_]*)?$`)
)

// checkMCP checks the mcp: section and applies its defaults.
func (c *Config) checkMCP(ps *bridge.Problems) {
	m := &c.MCP
	if m.MaxStreamMessages < 0 {
		ps.Add(c.at("mcp", "max_stream_messages"), "use a positive count such as 100", "mcp.max_stream_messages is negative")
	}
	if m.MaxStreamMessages == 0 {
		m.MaxStreamMessages = DefaultMCPStreamMessages
	}
	if m.Listen != "" {
		if _, _, err := net.SplitHostPort(m.Listen); err != nil {
			ps.Add(c.at("mcp", "listen"), "use host:port such as 127.0.0.1:8765", "mcp.listen %q: %v", m.Listen, err)
		}
	}
	for _, list := range [][]string{m.Include, m.Exclude} {
		for _, s := range list {
			if !mcpSelector.MatchString(s) {
				ps.Add(c.at("mcp"), `name a service "pkg.Service" or a method "pkg.Service/Method"`, "mcp include/exclude entry %q is not a service or method name", s)
			}
		}
	}
	for method, t := range m.Tools {
		if !mcpSelector.MatchString(method) {
			ps.Add(c.at("mcp", "tools", method), `key tools by method, "pkg.Service/Method"`, "mcp.tools key %q is not a method name", method)
		}
		if t.Name != "" && !mcpToolName.MatchString(t.Name) {
			ps.Add(c.at("mcp", "tools", method, "name"), "use 1-128 letters, digits, _ . or -", "mcp.tools[%s].name %q is not a valid tool name", method, t.Name)
		}
	}
}
