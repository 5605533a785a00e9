package async

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// P8 measures durable submits (each answered after the job is stored in
// the embedded JetStream, with the daemon's workers running the jobs at
// the same time) and the time from a webhook's POST to its arrival at a
// gRPC subscriber. `make bench` runs TestBenchP8 (PROTOBRIDGE_BENCH=1)
// and prints the BENCH lines; goals: ≥ 5,000 submits/s, p99 < 20 ms.
func TestBenchP8(t *testing.T) {
	if os.Getenv("PROTOBRIDGE_BENCH") == "" {
		t.Skip("set PROTOBRIDGE_BENCH=1 (make bench) to run P8")
	}
	up := newUpstream(t)
	dir := t.TempDir()
	d := startDaemon(t, writeConfig(t, dir, up.URL, "127.0.0.1:0", "127.0.0.1:0", "jobs: {workers: 64}\n"), testEnv...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*lifetime)
	defer cancel()
	alice := as(ctx, aliceKey)
	c := d.bridge()

	// Warm up, then submit for a fixed time from 64 callers.
	for i := range 200 {
		if _, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "warm", i)}); err != nil {
			t.Fatal(err)
		}
	}
	const callers, span = 64, 5 * time.Second
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Go(func() {
			var mine []time.Duration
			req := &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "bench", 1)}
			for time.Since(start) < span {
				t0 := time.Now()
				if _, err := c.Submit(alice, req); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("BENCH P8 async-submit jobs_per_s=%.0f p99_ms=%.2f (64 callers, %d durable submits in %s, workers running them meanwhile)\n",
		float64(len(lat))/elapsed.Seconds(), ms(p99(lat)), len(lat), elapsed.Round(time.Millisecond))

	// Webhook to subscriber: one POST at a time, timed until the
	// subscriber's stream hands the event over.
	st, err := c.Subscribe(alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: "payments"}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the consumer exists before the first POST
	client := &http.Client{}
	var hook []time.Duration
	for i := range 2000 {
		id := "bench_" + strconv.Itoa(i)
		body := fmt.Appendf(nil, `{"id":%q,"amount":%d}`, id, i)
		t0 := time.Now()
		if code := postEvent(client, d.hooks, id, body); code != 200 {
			t.Fatalf("POST: %d", code)
		}
		r, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		hook = append(hook, time.Since(t0))
		if r.GetEvent().GetEventId() != id {
			t.Fatalf("got %s, want %s", r.GetEvent().GetEventId(), id)
		}
		_ = st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Ack{Ack: &pbv1.SubscribeAck{Sequences: []uint64{r.GetEvent().GetSequence()}}}})
	}
	_ = st.CloseSend()
	fmt.Printf("BENCH P8 webhook-to-subscriber p99_ms=%.2f p50_ms=%.2f (2000 signed POSTs, each stored before its 2xx)\n", ms(p99(hook)), ms(pct(hook, 0.5)))
}

func p99(d []time.Duration) time.Duration { return pct(d, 0.99) }

func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*q)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
