package async

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

func as(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-api-key", key)
}

func payload(t *testing.T, sku string, qty int) *pbv1.SubmitRequest_Payload {
	t.Helper()
	s, err := structpb.NewStruct(map[string]any{"sku": sku, "quantity": qty})
	if err != nil {
		t.Fatal(err)
	}
	return &pbv1.SubmitRequest_Payload{Payload: s}
}

// watch follows a job to its final state and returns every state seen.
func watch(t *testing.T, ctx context.Context, c pbv1.BridgeServiceClient, id string) (*pbv1.Job, []pbv1.JobState) {
	t.Helper()
	ws, err := c.WatchJob(ctx, &pbv1.WatchJobRequest{JobId: id})
	if err != nil {
		t.Fatal(err)
	}
	var last *pbv1.Job
	var states []pbv1.JobState
	for {
		r, err := ws.Recv()
		if err == io.EOF {
			return last, states
		}
		if err != nil {
			t.Fatalf("watch %s: %v (states so far %v)", id, err, states)
		}
		last = r.GetJob()
		if len(states) == 0 || states[len(states)-1] != last.GetState() {
			states = append(states, last.GetState())
		}
	}
}

// TestJobs submits, watches, gets, lists and cancels jobs through
// BridgeService with grpc-go, as two API-key callers.
func TestJobs(t *testing.T) {
	up := newUpstream(t)
	dir := t.TempDir()
	d := startDaemon(t, writeConfig(t, dir, up.URL, "127.0.0.1:0", "127.0.0.1:0", `jobs:
  initial_backoff: 50ms
  max_backoff: 200ms
  lease: 2s
  result_ttl: 3s
  callback_secret: {env: PB_TEST_WHSEC}
  callback_hosts: [127.0.0.1]
routes:
  - method: orders.v1.OrderService/PlaceOrder
    policies:
      rate_limit: {rate: 20, burst: 1, max_wait: 0s}
`), testEnv...)
	c := d.bridge()
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	alice, bob := as(ctx, aliceKey), as(ctx, bobKey)

	t.Run("unauthenticated submit is refused", func(t *testing.T) {
		_, err := c.Submit(ctx, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "x", 1)})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("got %v, want UNAUTHENTICATED", err)
		}
		// The route refuses before it reads the request: a stranger learns
		// nothing about what the method would accept.
		_, err = c.Submit(ctx, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: &pbv1.SubmitRequest_PayloadBytes{PayloadBytes: []byte{0xff, 0xff}}})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("an unauthenticated submit of a bad payload: got %v, want UNAUTHENTICATED", err)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for name, req := range map[string]*pbv1.SubmitRequest{
			"unknown method": {Method: "orders.v1.OrderService/Nope", Request: payload(t, "x", 1)},
			"bad payload":    {Method: "orders.v1.OrderService/PlaceOrder", Request: &pbv1.SubmitRequest_PayloadBytes{PayloadBytes: []byte{0xff, 0xff}}},
			"bad callback":   {Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "x", 1), CallbackUrl: "ftp://x"},
			"bad priority":   {Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "x", 1), Priority: pbv1.JobPriority(9)},
		} {
			_, err := c.Submit(alice, req)
			if code := status.Code(err); code != codes.InvalidArgument && code != codes.Unimplemented {
				t.Errorf("%s: got %v", name, err)
			}
		}
		// A callback host outside jobs.callback_hosts: the daemon is not
		// made to POST into its own network.
		_, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "x", 1), CallbackUrl: "http://169.254.169.254/latest"})
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "not in jobs.callback_hosts") {
			t.Errorf("callback to a host not allowed: %v", err)
		}
	})

	t.Run("submit, watch, get", func(t *testing.T) {
		resp, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "apple", 3), IdempotencyKey: "order-1"})
		if err != nil {
			t.Fatal(err)
		}
		job, states := watch(t, alice, c, resp.GetJobId())
		if job.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("final %v (%v), states %v", job.GetState(), job.GetError(), states)
		}
		if got := job.GetResult().AsMap(); got["id"] != "order-order-1" || got["sku"] != "apple" || got["quantity"] != 3.0 {
			t.Errorf("result %v", got)
		}
		if job.GetIdentity() != "alice" || job.GetAttempts() != 1 || job.GetFinishTime() == nil {
			t.Errorf("job %v", job)
		}
		g, err := c.GetJob(alice, &pbv1.GetJobRequest{JobId: resp.GetJobId()})
		if err != nil || !proto.Equal(g.GetJob().GetResult(), job.GetResult()) || len(g.GetJob().GetResultBytes()) == 0 {
			t.Errorf("GetJob: %v %v", g, err)
		}
		// Another caller does not see it.
		if _, err := c.GetJob(bob, &pbv1.GetJobRequest{JobId: resp.GetJobId()}); status.Code(err) != codes.NotFound {
			t.Errorf("bob's GetJob: %v, want NOT_FOUND", err)
		}
		// The same key again is the same job, not a second order.
		again, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "apple", 3), IdempotencyKey: "order-1"})
		if err != nil || again.GetJobId() != resp.GetJobId() || !again.GetExisting() {
			t.Errorf("resubmit: %v %v", again, err)
		}
		if _, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "apple", 4), IdempotencyKey: "order-1"}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("the key with another request: %v, want FAILED_PRECONDITION", err)
		}
		if n := up.sendsOf("order-1"); n != 1 {
			t.Errorf("upstream saw order-1 %d times", n)
		}
	})

	t.Run("retryable failures are retried with the same key", func(t *testing.T) {
		up.fail.Store(2)
		resp, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "pear", 1), IdempotencyKey: "order-2"})
		if err != nil {
			t.Fatal(err)
		}
		job, states := watch(t, alice, c, resp.GetJobId())
		if job.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED || !containsState(states, pbv1.JobState_JOB_STATE_RETRYING) {
			t.Fatalf("final %v, states %v", job, states)
		}
		if job.GetAttempts() < 2 || up.effectsOf("order-2") != 1 {
			t.Errorf("attempts %d, effects %d", job.GetAttempts(), up.effectsOf("order-2"))
		}
	})

	t.Run("a rate limit queues jobs instead of failing them", func(t *testing.T) {
		var ids []string
		for i := range 10 {
			r, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "burst", i), IdempotencyKey: "burst-" + itoa(i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.GetJobId())
		}
		limited := 0
		for _, id := range ids {
			job, states := watch(t, alice, c, id)
			if job.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
				t.Errorf("%s: %v %v", id, job, states)
			}
			if job.GetAttempts() > 1 {
				limited++
			}
		}
		// A burst of 1 at 20/s: most of the ten met the limit at least once.
		if limited == 0 {
			t.Error("no job met the rate limit")
		}
		if m := scrape(t, d.admin); !strings.Contains(m, "protobridge_jobs_retried_total") || strings.Contains(m, "protobridge_jobs_retried_total 0\n") {
			t.Errorf("retries not counted:\n%s", grep(m, "retried"))
		}
	})

	t.Run("results expire after result_ttl", func(t *testing.T) {
		r, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "ttl", 1)})
		if err != nil {
			t.Fatal(err)
		}
		if job, _ := watch(t, alice, c, r.GetJobId()); job.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatal(job)
		}
		for ctx.Err() == nil {
			_, err := c.GetJob(alice, &pbv1.GetJobRequest{JobId: r.GetJobId()})
			if status.Code(err) == codes.NotFound {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Error("the result was still there after result_ttl")
	})
}

// TestJobsCancelListPriority cancels a running and a queued job, lists
// jobs, shows a high-priority job passing bulk ones and a completion
// callback signed the Standard Webhooks way, retried until it is taken.
func TestJobsCancelListPriority(t *testing.T) {
	up := newUpstream(t)
	hold := make(chan struct{})
	up.mu.Lock()
	up.hold = hold
	up.mu.Unlock()
	// The callback receiver refuses the first POST.
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 10)
	var posts int
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts++
		if posts == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		got <- delivery{r.Header.Clone(), b}
	}))
	defer recv.Close()
	d := startDaemon(t, writeConfig(t, t.TempDir(), up.URL, "127.0.0.1:0", "127.0.0.1:0", `jobs:
  workers: 1
  initial_backoff: 50ms
  max_backoff: 200ms
  lease: 2s
  callback_secret: {env: PB_TEST_WHSEC}
  callback_hosts: [127.0.0.1]
`), testEnv...)
	c := d.bridge()
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	alice := as(ctx, aliceKey)
	submit := func(sku string, p pbv1.JobPriority, cb string) string {
		t.Helper()
		r, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, sku, 1), Priority: p, CallbackUrl: cb})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetJobId()
	}
	// One worker: the first job holds it at the upstream.
	first := submit("first", pbv1.JobPriority_JOB_PRIORITY_NORMAL, "")
	waitState(t, alice, c, first, pbv1.JobState_JOB_STATE_RUNNING)
	var bulk []string
	for i := range 3 {
		bulk = append(bulk, submit("bulk-"+itoa(i), pbv1.JobPriority_JOB_PRIORITY_BULK, ""))
	}
	high := submit("high", pbv1.JobPriority_JOB_PRIORITY_HIGH, recv.URL+"/done")
	queued := submit("cancelled-before-running", pbv1.JobPriority_JOB_PRIORITY_BULK, "")

	// Listing shows them, newest first; a state filter narrows it.
	l, err := c.ListJobs(alice, &pbv1.ListJobsRequest{PageSize: 3})
	if err != nil || len(l.GetJobs()) != 3 || l.GetJobs()[0].GetId() != queued || l.GetNextPageToken() == "" {
		t.Fatalf("list: %v %v", l, err)
	}
	l2, err := c.ListJobs(alice, &pbv1.ListJobsRequest{PageSize: 3, PageToken: l.GetNextPageToken()})
	if err != nil || len(l2.GetJobs()) != 3 || l2.GetJobs()[2].GetId() != first || l2.GetNextPageToken() != "" {
		t.Fatalf("page 2: %v %v", l2, err)
	}
	running, err := c.ListJobs(alice, &pbv1.ListJobsRequest{State: pbv1.JobState_JOB_STATE_RUNNING})
	if err != nil || len(running.GetJobs()) != 1 || running.GetJobs()[0].GetId() != first {
		t.Fatalf("running: %v %v", running, err)
	}
	if l, err := c.ListJobs(as(ctx, bobKey), &pbv1.ListJobsRequest{}); err != nil || len(l.GetJobs()) != 0 {
		t.Errorf("bob lists %v %v", l, err)
	}

	// Cancel a queued job: it never runs. Cancel the running one: its
	// call is cut.
	cj, err := c.CancelJob(alice, &pbv1.CancelJobRequest{JobId: queued})
	if err != nil || cj.GetJob().GetState() != pbv1.JobState_JOB_STATE_CANCELLED {
		t.Fatalf("cancel queued: %v %v", cj, err)
	}
	cr, err := c.CancelJob(alice, &pbv1.CancelJobRequest{JobId: first})
	if err != nil || cr.GetJob().GetState() != pbv1.JobState_JOB_STATE_CANCELLED {
		t.Fatalf("cancel running: %v %v", cr, err)
	}
	close(hold) // later calls go through
	for _, id := range append([]string{high}, bulk...) {
		if j, states := watch(t, alice, c, id); j.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
			t.Errorf("%s: %v %v", id, j, states)
		}
	}
	up.mu.Lock()
	var order []string
	for _, sku := range up.order {
		if sku != "first" { // held, cut, and let go at a time of its own
			order = append(order, sku)
		}
	}
	up.mu.Unlock()
	// The high job before every bulk one; the cancelled queued job never.
	if want := []string{"high", "bulk-0", "bulk-1", "bulk-2"}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("upstream order %v, want %v", order, want)
	}
	if j, _ := c.GetJob(alice, &pbv1.GetJobRequest{JobId: queued}); j.GetJob().GetAttempts() != 0 {
		t.Errorf("cancelled queued job ran: %v", j)
	}

	// The callback: refused once, then delivered, signed.
	var dl delivery
	select {
	case dl = <-got:
	case <-ctx.Done():
		t.Fatal("no callback")
	}
	id, ts, sig := dl.header.Get("webhook-id"), dl.header.Get("webhook-timestamp"), dl.header.Get("webhook-signature")
	n, _ := strconv.ParseInt(ts, 10, 64)
	if want := signStandard(id, n, dl.body); sig != want || id != "job_"+high {
		t.Errorf("callback headers %v, want signature %s", dl.header, want)
	}
	var cb struct {
		Type string `json:"type"`
		Data struct {
			ID     string         `json:"id"`
			State  string         `json:"state"`
			Result map[string]any `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(dl.body, &cb); err != nil || cb.Type != "job.succeeded" || cb.Data.ID != high || cb.Data.Result["sku"] != "high" {
		t.Errorf("callback body %s: %v", dl.body, err)
	}
	for ctx.Err() == nil {
		j, err := c.GetJob(alice, &pbv1.GetJobRequest{JobId: high})
		if err != nil {
			t.Fatal(err)
		}
		if cbs := j.GetJob().GetCallback(); cbs.GetDelivered() {
			if cbs.GetAttempts() != 2 || cbs.GetWebhookId() != id {
				t.Errorf("callback state %v", cbs)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUpstreamConcurrency bounds the jobs one daemon runs at once against
// one upstream (jobs.concurrency) below its worker count.
func TestUpstreamConcurrency(t *testing.T) {
	up := newUpstream(t)
	up.delay = 20 * time.Millisecond
	d := startDaemon(t, writeConfig(t, t.TempDir(), up.URL, "127.0.0.1:0", "127.0.0.1:0", `jobs:
  workers: 8
  concurrency: {orders: 2}
`), testEnv...)
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	alice := as(ctx, aliceKey)
	c := d.bridge()
	var ids []string
	for i := range 12 {
		r, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "c", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.GetJobId())
	}
	for _, id := range ids {
		if j, states := watch(t, alice, c, id); j.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
			t.Errorf("%s: %v %v", id, j, states)
		}
	}
	if m := up.maxInFlight.Load(); m > 2 {
		t.Errorf("the upstream saw %d concurrent requests, over jobs.concurrency 2", m)
	} else {
		t.Logf("at most %d concurrent requests", m)
	}
}

// waitState polls a job until it is in state.
func waitState(t *testing.T, ctx context.Context, c pbv1.BridgeServiceClient, id string, state pbv1.JobState) {
	t.Helper()
	for ctx.Err() == nil {
		j, err := c.GetJob(ctx, &pbv1.GetJobRequest{JobId: id})
		if err != nil {
			t.Fatal(err)
		}
		if j.GetJob().GetState() == state {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s never reached %v", id, state)
}

func containsState(states []pbv1.JobState, s pbv1.JobState) bool {
	for _, v := range states {
		if v == s {
			return true
		}
	}
	return false
}

func (u *upstream) sendsOf(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sends[key]
}

func (u *upstream) effectsOf(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.effects[key]
}
