package protobridgecmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageAndExitCodes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("descriptors:\n  protos: [x.proto]\nupstreams:\n  a:\n    kind: rest\n    base_url: http://127.0.0.1:1\n    colour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"help"}, 0, "protobridge [command]", ""},
		{[]string{"--help"}, 0, "Available Commands:", ""},
		{[]string{"serve", "--help"}, 0, "--config string", ""},
		{nil, 2, "", "Usage:"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "--confg", "x"}, 2, "", "unknown flag: --confg"},
		{[]string{"serve", "extra"}, 2, "", `unexpected argument "extra" (the config is given with --config FILE)`},
		{[]string{"serve"}, 2, "", "no config: pass --config FILE, set $PROTOBRIDGE_CONFIG"},
		{[]string{"check", "--config", missing}, 1, "", missing + ": cannot read config"},
		{[]string{"check", "--config", bad}, 1, "", bad + `:7: unknown key "colour"`},
		{[]string{"serve", "--config", bad}, 1, "", bad + `:7: unknown key "colour"`},
		{[]string{"routes", "--config", bad}, 1, "", "1 problem(s)"},
	}
	for _, c := range cases {
		var out, errs bytes.Buffer
		code := Main(c.args, &out, &errs)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errs.String(), c.errs) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", c.args, code, c.code, out.String(), errs.String())
		}
	}
}

// TestCheckPrintsWarnings: check passes a config whose auth block is likely
// a mistake, printing the warning with its file and line.
func TestCheckPrintsWarnings(t *testing.T) {
	dir := t.TempDir()
	proto := "syntax = \"proto3\";\npackage w.v1;\nmessage M { string id = 1; }\nservice S {\n  rpc Get(M) returns (M);\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "w.proto"), []byte(proto), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "protobridge.yaml")
	text := "server:\n  listen: 0.0.0.0:50051\ndescriptors:\n  import_paths: [.]\n  protos: [w.proto]\nauth: {open: true}\n" +
		"upstreams:\n  u:\n    kind: rest\n    base_url: http://127.0.0.1:1\nroutes:\n- method: w.v1.S/Get\n  upstream: u\n  http: {get: /m}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	code := Main([]string{"check", "--config", cfg}, &out, &errs)
	want := "warning: " + cfg + `:6: auth.open serves every route without authentication on server.listen "0.0.0.0:50051"`
	if code != 0 || !strings.Contains(errs.String(), want) || !strings.Contains(out.String(), ": ok, 1 route(s)") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errs.String())
	}
}
