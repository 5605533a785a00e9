package async

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// jobsCLI runs `protobridge jobs ...` against the daemon's admin listener.
func jobsCLI(t *testing.T, d *daemon, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary, append(append([]string{"jobs"}, args...), "--admin", "http://"+d.admin)...).CombinedOutput()
	return string(out), err
}

// TestOperations drives the `protobridge jobs` CLI, the metrics and the
// status page while a job runs, then drains the daemon with SIGTERM: the
// running job goes back to the queue and the restarted daemon finishes it,
// the upstream applying its key once.
func TestOperations(t *testing.T) {
	up := newUpstream(t)
	hold := make(chan struct{})
	up.mu.Lock()
	up.hold = hold
	up.mu.Unlock()
	dir := t.TempDir()
	grpcAddr := freePort(t)
	d := startDaemon(t, writeConfig(t, dir, up.URL, grpcAddr, "127.0.0.1:0", `jobs:
  workers: 1
  lease: 2s
`), testEnv...)
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	alice := as(ctx, aliceKey)
	c := d.bridge()
	var ids []string
	for _, sku := range []string{"running", "queued-1", "queued-2"} {
		r, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, sku, 1), IdempotencyKey: sku})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.GetJobId())
		if sku == "running" {
			waitState(t, alice, c, ids[0], pbv1.JobState_JOB_STATE_RUNNING)
		}
	}

	out, err := jobsCLI(t, d, "list")
	if err != nil || !strings.Contains(out, ids[0]+"  RUNNING") || strings.Count(out, "QUEUED") != 2 || !strings.HasPrefix(out, "ID") {
		t.Errorf("jobs list: %v\n%s", err, out)
	}
	out, err = jobsCLI(t, d, "list", "--state", "queued", "--json")
	if err != nil || strings.Count(out, `"id"`) != 2 {
		t.Errorf("jobs list --state queued --json: %v\n%s", err, out)
	}
	out, err = jobsCLI(t, d, "show", ids[0])
	if err != nil || !strings.Contains(out, `"state": "JOB_STATE_RUNNING"`) || !strings.Contains(out, `"identity": "alice"`) {
		t.Errorf("jobs show: %v\n%s", err, out)
	}
	out, err = jobsCLI(t, d, "cancel", ids[2])
	if err != nil || strings.TrimSpace(out) != ids[2]+" CANCELLED" {
		t.Errorf("jobs cancel: %v\n%s", err, out)
	}
	if out, err = jobsCLI(t, d, "show", "jnosuchjob"); err == nil || !strings.Contains(out, "HTTP 404") {
		t.Errorf("jobs show of an unknown job: %v\n%s", err, out)
	}

	// The queue holds the running job, the queued one and the cancelled
	// one until a worker takes it off.
	m := scrape(t, d.admin)
	for _, want := range []string{"protobridge_jobs_running 1", "protobridge_jobs_queued 3", `protobridge_jobs_submitted_total{priority="normal"} 3`, `protobridge_jobs_finished_total{state="cancelled"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(m, "protobridge_job"))
		}
	}
	resp, err := http.Get("http://" + d.admin + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<table id="jobs">`, "<td>normal</td><td class=\"num\">3</td>", "1 running", `<td>payments</td><td>/hooks/payments</td><td>standard</td>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("status page lacks %q", want)
		}
	}

	// SIGTERM: the daemon stops taking work, waits shutdown_grace (2s)
	// for the held job, hands it back and exits 0.
	if code := d.SignalAndWait(t, syscall.SIGTERM, lifetime); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.Out)
	}
	if !strings.Contains(d.Out.String(), "go back to the queue") {
		t.Errorf("no drain line:\n%s", d.Out)
	}
	close(hold)
	d.start(testEnv...)
	for _, id := range ids[:2] {
		if j, states := watch(t, alice, c, id); j.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
			t.Errorf("%s after the restart: %v %v", id, j, states)
		}
	}
	if n := up.effectsOf("running"); n != 1 {
		t.Errorf("the drained job's key applied %d times", n)
	}
	if j, _ := c.GetJob(alice, &pbv1.GetJobRequest{JobId: ids[0]}); j.GetJob().GetAttempts() != 2 {
		t.Errorf("the drained job ran %d times, want 2 (cut by the drain, resumed)", j.GetJob().GetAttempts())
	}
}

// TestCheckWebhookMessage: `protobridge check` refuses a source whose
// message is not in the loaded descriptors, as serve would.
func TestCheckWebhookMessage(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, t.TempDir(), up.URL, "127.0.0.1:0", "127.0.0.1:0", "")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "path: /hooks/github\n      message: orders.v1.PaymentEvent", "path: /hooks/github\n      message: orders.v1.Nope", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "check", "--config", path)
	cmd.Env = append(os.Environ(), testEnv...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "webhooks.sources[github].message orders.v1.Nope is not in the loaded descriptors") {
		t.Errorf("check: %v\n%s", err, out)
	}
}
