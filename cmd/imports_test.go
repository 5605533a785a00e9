package protobridgecmd

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the architecture: bridge (the plugin contract) and
// its toolkit import no adapter, daemon code or front door; an adapter
// imports no other adapter and nothing of the daemon. Only cmd wires it
// all together.
func TestImportRules(t *testing.T) {
	const mod = "github.com/protobridge/protobridge/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	core := []string{"internal/config", "internal/router", "internal/policy", "internal/auth", "internal/state",
		"internal/telemetry", "internal/descriptors", "internal/daemon", "internal/frontdoor", "cmd"}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := strings.TrimPrefix(fields[0], mod), fields[1:]
		var forbidden []string
		switch {
		case pkg == "bridge" || strings.HasPrefix(pkg, "bridge/"):
			forbidden = append([]string{"adapters/"}, core...)
		case strings.HasPrefix(pkg, "adapters/") && !strings.HasPrefix(pkg, "adapters/all") && !strings.HasPrefix(pkg, "adapters/internal"):
			own := strings.SplitN(pkg, "/", 3)[1]
			forbidden = core
			for _, other := range []string{"rest", "soap", "websocket"} {
				if other != own {
					forbidden = append(forbidden, "adapters/"+other)
				}
			}
		default:
			continue
		}
		checked++
		for _, imp := range imports {
			rel, ok := strings.CutPrefix(imp, mod)
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if rel == f || strings.HasPrefix(rel, strings.TrimSuffix(f, "/")+"/") {
					t.Errorf("%s imports %s", pkg, rel)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; the listing is wrong", checked)
	}
}
