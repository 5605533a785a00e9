package demo

import (
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/config"
)

func TestDemoTurnsMCPOn(t *testing.T) {
	d, err := Start(config.DefaultListen)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cfg, err := config.LoadConfig(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MCP.Listen != DefaultMCPListen {
		t.Errorf("mcp.listen %q, want %q", cfg.MCP.Listen, DefaultMCPListen)
	}
	if cfg.Admin.Listen != "127.0.0.1:9090" {
		t.Errorf("admin.listen %q: the demo serves its status page on 127.0.0.1:9090", cfg.Admin.Listen)
	}
	if other := adminListen("127.0.0.1:6000"); other != "127.0.0.1:0" {
		t.Errorf("beside another gRPC port the admin listener takes a free port, got %q", other)
	}
	how := MCPHowTo(cfg.MCP.Listen, d.ConfigPath)
	for _, want := range []string{"http://" + DefaultMCPListen + "/mcp", "protobridge mcp --config " + d.ConfigPath, `"mcpServers"`} {
		if !strings.Contains(how, want) {
			t.Errorf("how-to lacks %q:\n%s", want, how)
		}
	}
}
