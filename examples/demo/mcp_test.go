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
	how := MCPHowTo(cfg.MCP.Listen, d.ConfigPath)
	for _, want := range []string{"http://" + DefaultMCPListen + "/mcp", "protobridge mcp --config " + d.ConfigPath, `"mcpServers"`} {
		if !strings.Contains(how, want) {
			t.Errorf("how-to lacks %q:\n%s", want, how)
		}
	}
}
