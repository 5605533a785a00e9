package protogen

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
)

// largestWSDL is the largest corpus WSDL that wsdl.Load accepts (75 KB; the larger
// hrextract.wsdl is excluded by the wsdl package's corpus test).
const largestWSDL = "wsdl/postman/valid/TexasGeocoderService_V04_01.wsdl"

var p6 = flag.Bool("p6", false, "print the BENCH P6 line (gen wsdl on the largest corpus WSDL)")

// BenchmarkGenerateLargest measures what `protobridge gen wsdl` does for the largest
// corpus WSDL, without writing files: load, generate, and compile the output.
func BenchmarkGenerateLargest(b *testing.B) {
	corpus := testenv.Corpus(b)
	file := filepath.Join(corpus, filepath.FromSlash(largestWSDL))
	for b.Loop() {
		d, err := loadCorpus(corpus, file)
		if err != nil {
			b.Fatal(err)
		}
		f, err := Generate(d, Options{Package: "texas.v1"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(context.Background(), "texas/v1/"+f.Name, f.Content); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchP6 prints `BENCH P6 gen-wsdl FILE seconds=S` (seconds per run of
// BenchmarkGenerateLargest) when run with -p6:
//
//	go test ./adapters/soap/protogen -run TestBenchP6 -p6 -v
func TestBenchP6(t *testing.T) {
	if !*p6 {
		t.Skip("run with -p6 to print the BENCH P6 line")
	}
	res := testing.Benchmark(BenchmarkGenerateLargest)
	if res.N == 0 {
		t.Fatal("benchmark did not run (corpus missing?)")
	}
	fmt.Printf("BENCH P6 gen-wsdl %s seconds=%.4f\n", largestWSDL, res.T.Seconds()/float64(res.N))
}
