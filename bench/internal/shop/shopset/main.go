// Command shopset writes the FileDescriptorSet that `make gen` hands to buf
// to generate package shoppb: shop.proto, compiled as shop.GeneratedPath,
// and its imports (google/api/annotations.proto and http.proto, taken from
// the Go module that carries them, so generating needs no download).
//
// Usage: go run ./internal/shop/shopset -o FILE.binpb
package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/protobridge/protobridge/bench/internal/shop"
)

func main() {
	out := flag.String("o", "", "output file (.binpb, a serialized FileDescriptorSet)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	s, err := shop.CompileAt(context.Background(), shop.GeneratedPath)
	if err != nil {
		log.Fatal(err)
	}
	set, err := s.Protoset()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, set, 0o644); err != nil {
		log.Fatal(err)
	}
}
