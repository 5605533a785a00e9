package openapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
)

// BenchmarkGenMailchimp is BENCH P9 (see p9bench): load, generate and
// compile the corpus's largest spec.
func BenchmarkGenMailchimp(b *testing.B) {
	spec := filepath.Join(testenv.CorpusDir(b), "openapi", "apis-guru", "mailchimp.com.json")
	if _, err := os.Stat(spec); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		s, err := Load(spec, LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		pkg := DefaultPackage(s.Title)
		f, err := Generate(s, Options{Package: pkg})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(context.Background(), strings.ReplaceAll(pkg, ".", "/")+"/"+f.Name, f.Content); err != nil {
			b.Fatal(err)
		}
	}
}
