// Command p9bench times `gen openapi` on the corpus's largest spec and
// prints the BENCH P9 line `make bench` collects:
//
//	go run ./adapters/rest/openapi/p9bench [SPEC]
//
// One run is load (parse, resolve $refs), generate and compile the .proto
// as `gen openapi` does (with its GC setting); the line reports the median
// of five runs.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/protobridge/protobridge/adapters/rest/openapi"
)

func main() {
	spec := "../shared/corpus/openapi/apis-guru/mailchimp.com.json"
	if len(os.Args) > 1 {
		spec = os.Args[1]
	}
	// As `gen openapi` does (cmd/genopenapi.go).
	debug.SetGCPercent(400)
	var runs []time.Duration
	for range 5 {
		start := time.Now()
		if err := once(spec); err != nil {
			fmt.Fprintln(os.Stderr, "p9bench:", err)
			os.Exit(1)
		}
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	fmt.Printf("BENCH P9 gen-openapi %s seconds=%.3f\n", filepath.Base(spec), runs[len(runs)/2].Seconds())
}

func once(spec string) error {
	s, err := openapi.Load(spec, openapi.LoadOptions{})
	if err != nil {
		return err
	}
	pkg := openapi.DefaultPackage(s.Title)
	f, err := openapi.Generate(s, openapi.Options{Package: pkg})
	if err != nil {
		return err
	}
	_, err = openapi.Compile(context.Background(), strings.ReplaceAll(pkg, ".", "/")+"/"+f.Name, f.Content)
	return err
}
