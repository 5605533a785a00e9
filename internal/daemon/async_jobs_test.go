package daemon

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// jobsState is a fresh embedded JetStream state directory.
func jobsState(t *testing.T) string { return filepath.Join(t.TempDir(), "state") }

// slowJob is a Submit of Slow waiting ms milliseconds upstream.
func slowJob(ms int) *pbv1.SubmitRequest {
	p, _ := structpb.NewStruct(map[string]any{"delay_ms": ms})
	return &pbv1.SubmitRequest{Method: "shop.v1.ShopService/Slow", Request: &pbv1.SubmitRequest_Payload{Payload: p}}
}

// waitJob polls GetJob until the job is in state want.
func waitJob(t *testing.T, ctx context.Context, c pbv1.BridgeServiceClient, id string, want pbv1.JobState) *pbv1.Job {
	t.Helper()
	for ctx.Err() == nil {
		r, err := c.GetJob(ctx, &pbv1.GetJobRequest{JobId: id})
		if err == nil && r.GetJob().GetState() == want {
			return r.GetJob()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s never reached %v", id, want)
	return nil
}

// TestJobCancelRunningSendsCallback cancels a job while its upstream call
// runs: the job still owes its completion callback, which is delivered,
// and WatchJob ends once it is (it used to wait for result_ttl).
func TestJobCancelRunningSendsCallback(t *testing.T) {
	t.Setenv("PB_CB", "whsec_"+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	var got atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer hs.Close()
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf("nats: {state_dir: %q}\njobs: {workers: 1, callback_secret: {env: PB_CB}, callback_hosts: [127.0.0.1]}\n", jobsState(t))))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := slowJob(4000)
	req.CallbackUrl = hs.URL + "/cb"
	r, err := c.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, ctx, c, r.GetJobId(), pbv1.JobState_JOB_STATE_RUNNING)
	if _, err := c.CancelJob(ctx, &pbv1.CancelJobRequest{JobId: r.GetJobId()}); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	ws, err := c.WatchJob(wctx, &pbv1.WatchJobRequest{JobId: r.GetJobId()})
	if err != nil {
		t.Fatal(err)
	}
	var last *pbv1.Job
	for {
		m, err := ws.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WatchJob of a cancelled job: %v (last %v)", err, last)
		}
		last = m.GetJob()
	}
	if last.GetState() != pbv1.JobState_JOB_STATE_CANCELLED || !last.GetCallback().GetDelivered() {
		t.Fatalf("watch ended at %v, callback %v; want CANCELLED with the callback delivered", last.GetState(), last.GetCallback())
	}
	if n := got.Load(); n != 1 {
		t.Fatalf("callback POSTs = %d, want 1", n)
	}
}

// TestJobResultTooLargeFails runs a job whose 7 MiB reply does not fit in
// its record: the job FAILS at once with OUT_OF_RANGE RESULT_TOO_LARGE
// after one upstream call (it used to run again every second, forever).
func TestJobResultTooLargeFails(t *testing.T) {
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf("nats: {state_dir: %q}\njobs: {workers: 1}\n", jobsState(t))))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, _ := structpb.NewStruct(map[string]any{"id": hugeItem})
	r, err := c.Submit(ctx, &pbv1.SubmitRequest{Method: "shop.v1.ShopService/GetItem", Request: &pbv1.SubmitRequest_Payload{Payload: p}})
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, ctx, c, r.GetJobId(), pbv1.JobState_JOB_STATE_FAILED)
	if e := j.GetError(); e.GetCode() != codes.OutOfRange.String() || e.GetReason() != reason.ResultTooLarge || len(j.GetResultBytes()) != 0 {
		t.Fatalf("job error %v, %d result bytes; want OutOfRange %s and no result", e, len(j.GetResultBytes()), reason.ResultTooLarge)
	}
	time.Sleep(2 * time.Second) // a redelivery would call the upstream again
	if n := callsOf(r.GetJobId()); n != 1 || j.GetAttempts() != 1 {
		t.Fatalf("upstream calls = %d, attempts = %d; want 1 and 1", n, j.GetAttempts())
	}
}

// TestJobFailuresThatRetryCannotFix: a reply over a size limit fails the
// job at its first attempt (the next one would meet the same limit), and so
// does an upstream's Retry-After that points past jobs.max_age, with the
// upstream's error.
func TestJobFailuresThatRetryCannotFix(t *testing.T) {
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf("nats: {state_dir: %q}\njobs: {workers: 1, max_age: 10m, initial_backoff: 10ms}\n", jobsState(t))))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, tc := range []struct {
		id           int
		code, reason string
	}{
		{tooLargeItem, codes.ResourceExhausted.String(), reason.ResponseTooLarge},
		{busyItem, codes.ResourceExhausted.String(), reason.UpstreamHTTP(http.StatusTooManyRequests)},
		{tooLargeForUpstream, codes.ResourceExhausted.String(), reason.UpstreamHTTP(http.StatusRequestEntityTooLarge)},
	} {
		p, _ := structpb.NewStruct(map[string]any{"id": tc.id})
		r, err := c.Submit(ctx, &pbv1.SubmitRequest{Method: "shop.v1.ShopService/GetItem", Request: &pbv1.SubmitRequest_Payload{Payload: p}})
		if err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, ctx, c, r.GetJobId(), pbv1.JobState_JOB_STATE_FAILED)
		if e := j.GetError(); e.GetCode() != tc.code || e.GetReason() != tc.reason {
			t.Errorf("item %d: job error %v, want %s %s", tc.id, e, tc.code, tc.reason)
		}
		if n := callsOf(r.GetJobId()); n != 1 || j.GetAttempts() != 1 {
			t.Errorf("item %d: upstream calls = %d, attempts = %d; want 1 and 1", tc.id, n, j.GetAttempts())
		}
	}
}

// TestJobCompletedAsDrainEndsKeepsItsResult: a job whose upstream call
// completes after the drain's grace cut its context keeps its result; it
// used to go back to the queue and run again on the next start.
func TestJobCompletedAsDrainEndsKeepsItsResult(t *testing.T) {
	state := jobsState(t)
	cfg := strings.Replace(daemonConfig("a", fmt.Sprintf("nats: {state_dir: %q}\njobs: {workers: 1}\n", state)), "shutdown_grace: 20s", "shutdown_grace: 200ms", 1)
	td := startDaemon(t, cfg)
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Submit(ctx, slowJob(-1500)) // completes 1.5 s after it starts, cut or not
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, ctx, c, r.GetJobId(), pbv1.JobState_JOB_STATE_RUNNING)
	td.stop(t) // the grace ends while the call runs; the call completes after
	td2 := startDaemon(t, cfg)
	c2 := pbv1.NewBridgeServiceClient(td2.conn)
	j := waitJob(t, ctx, c2, r.GetJobId(), pbv1.JobState_JOB_STATE_SUCCEEDED)
	time.Sleep(2 * time.Second) // a second run would have called by now
	if n, a := callsOf(r.GetJobId()), j.GetAttempts(); n != 1 || a != 1 {
		t.Fatalf("upstream calls = %d, attempts = %d; want 1 and 1", n, a)
	}
}

// TestJobRunsOnceWhileWorkersBusy submits more jobs than workers with a
// lease shorter than a job: a job fetched while every worker was busy
// (unrenewed, so delivered again) used to be run by two workers at once.
// Each job calls its upstream once.
func TestJobRunsOnceWhileWorkersBusy(t *testing.T) {
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf("nats: {state_dir: %q}\njobs: {lease: 1s, workers: 2}\n", jobsState(t))))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var ids []string
	// Two long jobs take both workers while the third is fetched and
	// waits past its lease; short ones then free a worker for its
	// redelivered copy while the first copy runs.
	for _, ms := range []int{3000, 3000, 3000, 100, 100, 100, 100} {
		r, err := c.Submit(ctx, slowJob(ms))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.GetJobId())
	}
	jobs := map[string]*pbv1.Job{}
	for _, id := range ids {
		jobs[id] = waitJob(t, ctx, c, id, pbv1.JobState_JOB_STATE_SUCCEEDED)
	}
	time.Sleep(2 * time.Second) // a second run would still be calling
	for _, id := range ids {
		if n, a := callsOf(id), jobs[id].GetAttempts(); n != 1 || a != 1 {
			t.Errorf("job %s: upstream calls = %d, attempts = %d; want 1 and 1", id, n, a)
		}
	}
}

// TestJobResubmitAfterDedupWindow resubmits a running job with its
// idempotency key after the queue's duplicate window (shortened here from
// 2 minutes to 1 s): the job is found, no second queue entry stays, and
// the upstream is called once.
func TestJobResubmitAfterDedupWindow(t *testing.T) {
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf("nats: {state_dir: %q}\njobs: {workers: 4}\n", jobsState(t))))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := td.d.async.broker.JS
	st, err := js.Stream(ctx, "PB_JOBS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = time.Second
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	req := slowJob(3000)
	req.IdempotencyKey = "order-1"
	r1, err := c.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, ctx, c, r1.GetJobId(), pbv1.JobState_JOB_STATE_RUNNING)
	time.Sleep(1500 * time.Millisecond) // past the duplicate window
	r2, err := c.Submit(ctx, req)       // the client's retry
	if err != nil {
		t.Fatal(err)
	}
	if !r2.GetExisting() || r2.GetJobId() != r1.GetJobId() {
		t.Fatalf("resubmit: existing=%v id=%s; want the existing job %s", r2.GetExisting(), r2.GetJobId(), r1.GetJobId())
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Msgs; n != 1 {
		t.Fatalf("PB_JOBS holds %d entries after the resubmit; want only the running job's", n)
	}
	waitJob(t, ctx, c, r1.GetJobId(), pbv1.JobState_JOB_STATE_SUCCEEDED)
	time.Sleep(2 * time.Second) // a second run would still be calling
	if n := callsOf(r1.GetJobId()); n != 1 {
		t.Fatalf("upstream calls for one idempotent job = %d, want 1", n)
	}
}
