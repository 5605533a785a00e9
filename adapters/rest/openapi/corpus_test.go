package openapi

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
)

// The OpenAPI corpus (testenv.CorpusDir) is the shared corpus of published specs, beside the repository.

// corpusSpecs lists the corpus's specs; skips locally and fails in CI when
// the corpus is missing.
func corpusSpecs(t *testing.T) []string {
	t.Helper()
	var specs []string
	_ = filepath.WalkDir(filepath.Join(testenv.CorpusDir(t), "openapi"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			specs = append(specs, p)
		}
		return nil
	})
	if len(specs) == 0 {
		if testenv.CI() {
			t.Fatalf("no specs under %s", filepath.Join(testenv.CorpusDir(t), "openapi"))
		}
		t.Skipf("no specs under %s", filepath.Join(testenv.CorpusDir(t), "openapi"))
	}
	return specs
}

// TestCorpus generates every corpus spec, compiles the output as the
// daemon would, lints it and regenerates it with its lock: the same bytes.
func TestCorpus(t *testing.T) {
	specs := corpusSpecs(t)
	if len(specs) < 42 {
		t.Errorf("%d specs in the corpus, want 42 (41 published APIs and the Petstore)", len(specs))
	}
	rpcs := 0
	for _, p := range specs {
		name := strings.TrimPrefix(p, filepath.Join(testenv.CorpusDir(t), "openapi")+"/")
		t.Run(name, func(t *testing.T) {
			s, err := Load(p, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pkg := DefaultPackage(s.Title)
			f, err := Generate(s, Options{Package: pkg, Source: name})
			if err != nil {
				t.Fatal(err)
			}
			path := strings.ReplaceAll(pkg, ".", "/") + "/" + f.Name
			fd, err := Compile(context.Background(), path, f.Content)
			if err != nil {
				t.Fatal(err)
			}
			for _, problem := range lint(fd) {
				t.Errorf("lint: %s", problem)
			}
			for i := 0; i < fd.Services().Len(); i++ {
				rpcs += fd.Services().Get(i).Methods().Len()
			}
			s2, err := Load(p, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			lock, err := ParseLock(f.Lock.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			f2, err := Generate(s2, Options{Package: pkg, Source: name, Lock: lock})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Content, f2.Content) || !bytes.Equal(f.Lock.Marshal(), f2.Lock.Marshal()) {
				t.Errorf("regeneration with the lock differs")
			}
		})
	}
	t.Logf("corpus: %d specs, %d rpcs generated, compiled and linted", len(specs), rpcs)
}
