package p1

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/protobridge/protobridge/bench/internal/shop"
)

// TestSameWork checks that both bridges send the upstream the same request
// and return the same reply; the benchmark runs the same check before timing.
func TestSameWork(t *testing.T) {
	setup(t)
}

// BenchmarkUnary times one unary gRPC call translated to POST
// /v1/shops/{shop}/orders with a JSON body and back, end to end on loopback:
// client → bridge → upstream → bridge → client. Client, upstream and payload
// are shared, so the difference between the two sub-benchmarks is the
// bridges' own cost. allocs/op and cpu-ns/op count the whole process
// (client, bridge and upstream); cpu-ns/op is the CPU time the process spent
// per call, which a busy machine disturbs less than ns/op (wall time).
func BenchmarkUnary(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	for _, t := range e.targets {
		b.Run(t.name, func(b *testing.B) {
			var resp []byte
			// Warm the connection pools and the bridge's caches.
			for range 50 {
				if err := shop.Call(ctx, t.cc, e.pay.Request, &resp); err != nil {
					b.Fatal(err)
				}
			}
			before := e.up.Hits()
			cpu0 := processCPU()
			b.ReportAllocs()
			for b.Loop() {
				if err := shop.Call(ctx, t.cc, e.pay.Request, &resp); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			if got := e.up.Hits() - before; got != int64(b.N) {
				b.Fatalf("upstream answered %d calls, want %d", got, b.N)
			}
		})
	}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
