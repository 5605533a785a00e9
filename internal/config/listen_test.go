package config

import (
	"net"
	"strings"
	"testing"
)

// TestListenerInUse: a port held by another listener is reported at the
// key's line, worded for a person.
func TestListenerInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	text := "descriptors: {sets: [x.binpb]}\nauth: {open: true}\nserver:\n  log_format: text\n  listen: 127.0.0.1:0\nadmin:\n  listen: " + held.Addr().String() + "\n"
	cfg, err := ParseConfig("c.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ls := cfg.Listeners()
	if len(ls) != 2 || ls[0].Key != "server.listen" || ls[0].Pos.Line != 5 || ls[1].Key != "admin.listen" || ls[1].Pos.Line != 7 {
		t.Fatalf("listeners %+v", ls)
	}
	ps := cfg.CheckListeners()
	if len(ps) != 1 {
		t.Fatalf("want one problem, got %v", ps)
	}
	want := "c.yaml:7: admin.listen " + held.Addr().String() + " is in use by another process (stop what listens there"
	if !strings.HasPrefix(ps[0].String(), want) {
		t.Errorf("got %q, want it to start %q", ps[0], want)
	}
}

// TestProblemsPointAtTheKey: a value the checks refuse is reported at its
// key's line, not at line 1.
func TestProblemsPointAtTheKey(t *testing.T) {
	text := `descriptors: {sets: [x.binpb]}
auth:
  api_keys:
    - id: ci
      sha256: abc
server:
  log_format: yaml
tracing:
  exporter: zipkin
mcp:
  tools:
    a.v1.S/M: {name: "no spaces allowed"}
`
	_, err := ParseConfig("c.yaml", []byte(text))
	if err == nil {
		t.Fatal("want problems")
	}
	for _, want := range []string{
		"c.yaml:5: auth.api_keys[0] sha256 is not 64 hex digits",
		`c.yaml:7: server.log_format "yaml" is not known`,
		`c.yaml:9: tracing.exporter "zipkin" is not known`,
		`c.yaml:12: mcp.tools[a.v1.S/M].name "no spaces allowed" is not a valid tool name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
