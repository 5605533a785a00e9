// Command vanguardd is the anchor daemon of the load benchmark: the
// benchmark's service served over gRPC by connectrpc.com/vanguard, which
// calls the REST (JSON) upstream. -types generated (the default) runs it with
// the Go types generated from the .proto (package shoppb), what vanguard's
// users run; -types dynamicpb with the .proto compiled at run time (rebuilt
// with the protobuf runtime's descriptors, as a descriptor set would give
// them) and dynamicpb messages. See package anchor.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/protobridge/protobridge/bench/internal/anchor"
	"github.com/protobridge/protobridge/bench/internal/shop"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:50061", "gRPC (cleartext HTTP/2) listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:8080", "base URL of the REST upstream")
	types := flag.String("types", string(anchor.Generated), "message types: generated (package shoppb) or dynamicpb")
	flag.Parse()
	up, err := url.Parse(*upstream)
	if err != nil || up.Host == "" {
		log.Fatalf("-upstream %q is not an absolute URL", *upstream)
	}
	schema, err := shop.Compile(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h, err := anchor.New(anchor.Types(*types), schema, up, anchor.NewTransport())
	if err != nil {
		log.Fatal(err)
	}
	srv := anchor.NewServer(h)
	srv.Addr = *listen
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
