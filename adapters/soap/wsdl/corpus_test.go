package wsdl

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir returns ../shared/corpus beside the repository root, skipping the test when
// it is absent outside CI (CI=true never skips).
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found above the test directory")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s is missing (CI=true never skips): %v", corpus, err)
		}
		t.Skipf("corpus %s not found; it is expected at ../shared/corpus beside the repository", corpus)
	}
	return corpus
}

// corpusRemotePrefix is where the postman corpus's remote imports point; the corpus
// holds the same files locally under wsdl/postman/imports.
const corpusRemotePrefix = "https://raw.githubusercontent.com/postmanlabs/wsdl-to-postman/development/test/data/separatedFiles/"

// corpusFetch serves the corpus's remote imports from its local copy and refuses any
// other URL, so the test never touches the network.
func corpusFetch(corpus string) func(string) ([]byte, error) {
	return func(loc string) ([]byte, error) {
		if rest, ok := strings.CutPrefix(loc, corpusRemotePrefix); ok {
			return os.ReadFile(filepath.Join(corpus, "wsdl", "postman", "imports", filepath.FromSlash(rest)))
		}
		if isRemote(loc) {
			return nil, errors.New("no network in tests")
		}
		return readFile(loc)
	}
}

// corpusExclusions are corpus files expected not to load, with why. Paths are relative
// to the corpus directory.
var corpusExclusions = map[string]string{}

func corpusWSDLs(t *testing.T, corpus string) []string {
	var files []string
	err := filepath.WalkDir(filepath.Join(corpus, "wsdl"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".wsdl") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := filepath.Glob(filepath.Join(corpus, "soap-samples", "*", "soap.wsdl"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, samples...)
	sort.Strings(files)
	return files
}

func TestLoadCorpus(t *testing.T) {
	corpus := corpusDir(t)
	files := corpusWSDLs(t, corpus)
	if len(files) == 0 {
		t.Fatalf("no WSDL found under %s", corpus)
	}
	opts := Options{AllowRemote: true, Fetch: corpusFetch(corpus)}
	loaded := 0
	for _, f := range files {
		rel, _ := filepath.Rel(corpus, f)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			defs, err := Load(f, opts)
			reason, excluded := corpusExclusions[rel]
			switch {
			case err == nil && excluded:
				t.Errorf("loads now; remove its exclusion (%s)", reason)
			case err == nil:
				loaded++
				checkInvariants(t, defs)
			case excluded:
				t.Logf("excluded (%s): %v", reason, err)
			default:
				t.Errorf("load failed: %v", err)
			}
		})
	}
	t.Logf("corpus: loaded %d/%d WSDLs (%d excluded)", loaded, len(files), len(corpusExclusions))
}

// checkInvariants asserts what every loaded model guarantees.
func checkInvariants(t *testing.T, d *Definitions) {
	t.Helper()
	for _, m := range d.Messages {
		for _, p := range m.Parts {
			if (p.Element == nil) == (p.Type == nil) {
				t.Errorf("message %s part %s: want exactly one of element and type", m.Name.Local, p.Name)
			}
		}
	}
	for _, sc := range d.Schemas.Schemas {
		for _, e := range sc.Elements {
			if e.Type == nil {
				t.Errorf("global element %s has no type", fmtName(e.Name))
			}
		}
	}
	for _, ct := range d.Schemas.complexTypes {
		walkParticles(ct.Content, func(p Particle) {
			if e, ok := p.(*Element); ok && (e.Type == nil || e.Name.Local == "") {
				t.Errorf("element particle %s in %s unresolved", fmtName(e.Name), typeDesc(ct))
			}
		})
	}
	for _, ep := range d.Endpoints() {
		for _, op := range ep.Operations {
			if op.Input == nil && op.Output == nil {
				t.Errorf("operation %s has neither input nor output", op.Name)
			}
		}
	}
}

// walkParticles calls f for every particle under g, not entering element types.
func walkParticles(g *ModelGroup, f func(Particle)) {
	if g == nil {
		return
	}
	for _, p := range g.Particles {
		f(p)
		if sub, ok := p.(*ModelGroup); ok {
			walkParticles(sub, f)
		}
	}
}
