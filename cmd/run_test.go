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
		{[]string{"help"}, 0, "protobridge serve  --config FILE", ""},
		{[]string{"--help"}, 0, "Usage:", ""},
		{nil, 2, "", "Usage:"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve"}, 2, "", "--config FILE is required"},
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
