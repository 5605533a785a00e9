package config

import (
	"strings"
	"testing"
)

func TestMCPConfig(t *testing.T) {
	base := "descriptors: {protos: [a.proto]}\n"
	cfg, err := ParseConfig("/x/c.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MCP.Listen != "" || cfg.MCP.MaxStreamMessages != DefaultMCPStreamMessages {
		t.Errorf("defaults: %+v", cfg.MCP)
	}
	cfg, err = ParseConfig("/x/c.yaml", []byte(base+"mcp:\n  listen: 127.0.0.1:8765\n  stateless: true\n  include: [a.v1.S]\n  exclude: [a.v1.S/M]\n  max_stream_messages: 5\n  tools:\n    a.v1.S/N: {name: n_tool, title: N, description: Does N}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.MCP; !m.Stateless || m.MaxStreamMessages != 5 || m.Tools["a.v1.S/N"].Name != "n_tool" || m.Include[0] != "a.v1.S" {
		t.Errorf("parsed %+v", m)
	}
	for body, want := range map[string]string{
		"mcp: {listn: x}\n":                                 "did you mean listen",
		"mcp: {listen: nope}\n":                             `mcp.listen "nope"`,
		"mcp: {max_stream_messages: -1}\n":                  "negative",
		"mcp: {exclude: [\"a b\"]}\n":                       "not a service or method name",
		"mcp: {tools: {a.v1.S/M: {name: \"has space\"}}}\n": "not a valid tool name",
		"mcp: {tools: {a.v1.S/M: {nam: x}}}\n":              "did you mean name",
	} {
		_, err := ParseConfig("/x/c.yaml", []byte(base+body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}
