package protogen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../../.."

// TestExampleIsCurrent regenerates examples/soap/calculator/v1 from the corpus
// calculator with its committed lock: the committed .proto must match (and compile,
// which generateChecked checks).
func TestExampleIsCurrent(t *testing.T) {
	corpus := testenv.Corpus(t)
	dir := filepath.Join(repoRoot, "examples", "soap", "calculator", "v1")
	data, err := os.ReadFile(filepath.Join(dir, "calculator.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := ParseLock(data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := loadCorpus(corpus, filepath.Join(corpus, "wsdl", "postman", "valid", "calculator-soap11and12.wsdl"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := generateChecked(t, d, Options{Package: "calculator.v1", Lock: lock})
	want, err := os.ReadFile(filepath.Join(dir, f.Name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Content, want) {
		t.Errorf("%s is stale; regenerate it with `protobridge gen wsdl ../shared/corpus/wsdl/postman/valid/calculator-soap11and12.wsdl --out examples/soap/calculator/v1`", filepath.Join(dir, f.Name))
	}
}
