// Command upstream is the REST (JSON) backend of the load benchmark: it
// answers POST /v1/shops/{shop}/orders with the benchmark's order, and serves
// control paths under /_bench/ for the same-work check.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/protobridge/protobridge/bench/internal/shop"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "HTTP listen address")
	flag.Parse()
	schema, err := shop.Compile(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	pay, err := schema.NewPayloads()
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *listen, Handler: shop.ControlHandler(shop.NewUpstream(pay.ResponseJSON)), ReadHeaderTimeout: 10 * time.Second}
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
