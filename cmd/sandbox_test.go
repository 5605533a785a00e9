package protobridgecmd

import (
	"bytes"
	"strings"
	"testing"
)

func TestServeSandboxFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main([]string{"serve", "--help"}, &out, &errs); code != 0 {
		t.Fatalf("serve --help: exit %d: %s", code, errs.String())
	}
	for _, want := range []string{"--record DIR", "--replay DIR", "--mock", "HAR 1.2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	errs.Reset()
	code := Main([]string{"serve", "--config", "none.yaml", "--record", "rec", "--mock"}, &out, &errs)
	if code != exitUsage || !strings.Contains(errs.String(), "--record, --replay and --mock exclude each other") {
		t.Errorf("two modes: exit %d, stderr %q", code, errs.String())
	}
}
