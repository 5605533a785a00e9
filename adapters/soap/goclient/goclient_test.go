package goclient

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../../.."

// goClientBinary builds cmd/protobridge-goclient without the race detector:
// gowsdl v0.5.0's Start writes one map from two goroutines, a race inside
// gowsdl that -race would report against these tests. The command runs it
// with GOMAXPROCS=1, where the runtime never interleaves the two writes.
func goClientBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "protobridge-goclient")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(repoRoot, "cmd", "protobridge-goclient")).CombinedOutput(); err != nil {
		t.Fatalf("building protobridge-goclient: %v\n%s", err, out)
	}
	return bin
}

// TestGoClientsAreCurrent regenerates the committed gowsdl clients in gen/soap
// with the protobridge-goclient command.
func TestGoClientsAreCurrent(t *testing.T) {
	corpus := testenv.Corpus(t)
	bin := goClientBinary(t)
	for _, c := range []struct{ pkg, wsdl string }{
		{"calculator", "wsdl/postman/valid/calculator-soap11and12.wsdl"},
		{"checkvat", "wsdl/public/checkVatService.wsdl"},
	} {
		code, err := exec.Command(bin, filepath.Join(corpus, filepath.FromSlash(c.wsdl)), c.pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(repoRoot, "gen", "soap", c.pkg, c.pkg+".go")
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(code, want) {
			t.Errorf("%s is stale; regenerate it with `protobridge gen wsdl %s --out DIR --go-client gen/soap/%s`", file, c.wsdl, c.pkg)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	out, err := exec.Command(goClientBinary(t), filepath.Join(t.TempDir(), "missing.wsdl"), "x").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !bytes.Contains(out, []byte("missing.wsdl")) {
		t.Errorf("missing WSDL: %v %s", err, out)
	}
}
