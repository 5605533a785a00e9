package goclient

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../../.."

// corpusDir is ../shared/corpus beside the repository; tests skip without it
// unless CI=true.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing at %s", dir)
		}
		t.Skipf("corpus missing at %s", dir)
	}
	return dir
}

// TestGoClientsAreCurrent regenerates the committed gowsdl clients in gen/soap.
func TestGoClientsAreCurrent(t *testing.T) {
	corpus := corpusDir(t)
	for _, c := range []struct{ pkg, wsdl string }{
		{"calculator", "wsdl/postman/valid/calculator-soap11and12.wsdl"},
		{"checkvat", "wsdl/public/checkVatService.wsdl"},
	} {
		code, err := Generate(filepath.Join(corpus, filepath.FromSlash(c.wsdl)), c.pkg)
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
	if _, err := Generate(filepath.Join(t.TempDir(), "missing.wsdl"), "x"); err == nil {
		t.Error("missing WSDL: no error")
	}
}
