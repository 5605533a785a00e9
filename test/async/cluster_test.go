package async

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// startCluster runs three nats-server processes (bin/nats-server, from
// `make tools`) as one JetStream cluster and returns their client URLs.
func startCluster(t *testing.T) string {
	t.Helper()
	bin := testenv.Tool(t, "nats-server")
	var client, routes []string
	for range 3 {
		client = append(client, freePort(t))
		routes = append(routes, freePort(t))
	}
	var routeURLs []string
	for _, r := range routes {
		routeURLs = append(routeURLs, "nats://"+r)
	}
	for i := range 3 {
		host, port, _ := net.SplitHostPort(client[i])
		p := proc.Start(t, "", nil, bin, "-n", "n"+strconv.Itoa(i), "-a", host, "-p", port, "-js", "-sd", filepath.Join(t.TempDir(), "js"),
			"--cluster_name", "pbtest", "--cluster", "nats://"+routes[i], "--routes", strings.Join(routeURLs, ","))
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("nats-server %d:\n%s", i, p.Out)
			}
		})
	}
	var urls []string
	for _, c := range client {
		urls = append(urls, "nats://"+c)
	}
	return strings.Join(urls, ",")
}

// TestDaemonWaitsForNATS starts a daemon before its external NATS server
// (as a pod beside its NATS dependency starts): it waits for the server
// and then serves jobs.
func TestDaemonWaitsForNATS(t *testing.T) {
	bin := testenv.Tool(t, "nats-server")
	client := freePort(t)
	host, port, _ := net.SplitHostPort(client)
	// The server starts a second after the daemon.
	proc.Start(t, "", nil, "sh", "-c", `sleep 1; exec "$0" "$@"`, bin, "-a", host, "-p", port, "-js", "-sd", filepath.Join(t.TempDir(), "js"))
	up := newUpstream(t)
	d := startDaemon(t, writeConfigNATS(t, t.TempDir(), up.URL, "127.0.0.1:0", "127.0.0.1:0", "url: \"nats://"+client+"\"", "jobs: {workers: 2}\n"), testEnv...)
	if !strings.Contains(d.Out.String(), "waiting for the NATS servers of nats.url") {
		t.Errorf("the daemon did not say it waits for NATS:\n%s", d.Out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	alice := as(ctx, aliceKey)
	r, err := d.bridge().Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "late", 1), IdempotencyKey: "late-1"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		j, err := d.bridge().GetJob(alice, &pbv1.GetJobRequest{JobId: r.GetJobId()})
		if err != nil {
			t.Fatal(err)
		}
		if j.GetJob().GetState() == pbv1.JobState_JOB_STATE_SUCCEEDED {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the job never finished: %v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterSharesJobs runs two daemons on a 3-node JetStream cluster
// (streams replicated 3 times): their workers share the jobs (both run
// some, the upstream applies each once) and when one daemon is killed
// with SIGKILL mid-run the other finishes every job.
func TestClusterSharesJobs(t *testing.T) {
	urls := startCluster(t)
	up := newUpstream(t)
	up.delay = 2 * time.Millisecond
	config := func() string {
		return writeConfigNATS(t, t.TempDir(), up.URL, "127.0.0.1:0", "127.0.0.1:0", "url: \""+urls+"\", replicas: 3", `jobs:
  workers: 8
  lease: 2s
  initial_backoff: 100ms
  max_backoff: 1s
`)
	}
	a := startDaemon(t, config(), testEnv...)
	b := startDaemon(t, config(), testEnv...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*lifetime)
	defer cancel()
	alice := as(ctx, aliceKey)

	// Submit through both; wait for every job.
	submitAll := func(prefix string, n int) []string {
		ids := make([]string, n)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					d := a
					if i%2 == 1 {
						d = b
					}
					r, err := d.bridge().Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, prefix, 1), IdempotencyKey: prefix + strconv.Itoa(i)})
					if err != nil {
						t.Errorf("submit %d: %v", i, err)
						return
					}
					ids[i] = r.GetJobId()
				}
			})
		}
		wg.Wait()
		return ids
	}
	finished := func(ids []string) map[string]int {
		runners := map[string]int{}
		for _, id := range ids {
			for {
				j, err := a.bridge().GetJob(alice, &pbv1.GetJobRequest{JobId: id})
				if err != nil {
					t.Fatal(err)
				}
				if j.GetJob().GetState() == pbv1.JobState_JOB_STATE_SUCCEEDED {
					runners[j.GetJob().GetRunner()]++
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("job %s: %v", id, j)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		return runners
	}
	ids := submitAll("spread-", 400)
	runners := finished(ids)
	if len(runners) != 2 {
		t.Fatalf("jobs ran on %v, want both daemons", runners)
	}
	for r, n := range runners {
		if n < 40 {
			t.Errorf("daemon %s ran %d of 400 jobs", r, n)
		}
	}
	t.Logf("400 jobs spread over the daemons: %v", runners)

	// Kill b while a second batch runs: a finishes b's jobs.
	ids = submitAll("kill-", 400)
	for up.applied.Load() < 400+100 && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	b.SignalAndWait(t, 9, lifetime)
	t.Logf("killed one daemon at %d applied", up.applied.Load()-400)
	runners = finished(ids)
	t.Logf("second batch finished by %v", runners)
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, prefix := range []string{"spread-", "kill-"} {
		for i := range 400 {
			if k := prefix + strconv.Itoa(i); up.effects[k] != 1 {
				t.Errorf("key %s applied %d times", k, up.effects[k])
			}
		}
	}
	if up.applied.Load() != 800 {
		t.Errorf("upstream applied %d orders, want 800", up.applied.Load())
	}
}
