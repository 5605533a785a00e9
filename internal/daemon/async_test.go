package daemon

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestAsyncInProcess runs jobs and the webhook ingress in the daemon's
// own process (embedded JetStream), under the race detector and the
// goroutine leak check: concurrent submits through the fake adapter,
// watch, cancel, list, a webhook through Subscribe, and a reload that
// would change the jobs section refused.
func TestAsyncInProcess(t *testing.T) {
	t.Setenv("PB_HOOK_SECRET", "s3cret")
	hooksAddr := "127.0.0.1:0"
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf(`nats: {state_dir: %q}
jobs: {lease: 2s, workers: 8}
webhooks:
  listen: %s
  sources:
    items: {path: /items, message: shop.v1.Item, open: true, verify: {scheme: github, secret: {env: PB_HOOK_SECRET}}}
`, filepath.Join(t.TempDir(), "state"), hooksAddr)))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Go(func() {
			p, _ := structpb.NewStruct(map[string]any{"id": i + 1})
			r, err := c.Submit(ctx, &pbv1.SubmitRequest{Method: "shop.v1.ShopService/GetItem", Request: &pbv1.SubmitRequest_Payload{Payload: p}})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.GetJobId()
		})
	}
	wg.Wait()
	for i, id := range ids {
		ws, err := c.WatchJob(ctx, &pbv1.WatchJobRequest{JobId: id})
		if err != nil {
			t.Fatal(err)
		}
		var last *pbv1.Job
		for {
			r, err := ws.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			last = r.GetJob()
		}
		if last.GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED || last.GetResult().AsMap()["name"] != fmt.Sprintf("item-%d-a", i+1) {
			t.Errorf("job %d: %v", i, last)
		}
	}
	l, err := c.ListJobs(ctx, &pbv1.ListJobsRequest{State: pbv1.JobState_JOB_STATE_SUCCEEDED, Method: "shop.v1.ShopService/GetItem"})
	if err != nil || len(l.GetJobs()) != 20 {
		t.Errorf("list: %d %v", len(l.GetJobs()), err)
	}
	cj, err := c.CancelJob(ctx, &pbv1.CancelJobRequest{JobId: ids[0]})
	if err != nil || cj.GetJob().GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED {
		t.Errorf("cancel of a finished job: %v %v", cj, err)
	}
	if _, err := c.GetJob(ctx, &pbv1.GetJobRequest{JobId: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown job: %v", err)
	}

	// A webhook reaches a subscriber.
	st, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: "items", All: true}}}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"7","name":"seven"}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+td.d.WebhookAddr().String()+"/items", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-GitHub-Delivery", "d-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	ev, err := st.Recv()
	if err != nil || ev.GetEvent().GetEventId() != "d-7" || ev.GetEvent().GetPayload().GetTypeUrl() != "type.googleapis.com/shop.v1.Item" {
		t.Fatalf("event %v %v", ev, err)
	}
	_ = st.CloseSend()

	// Jobs settings are fixed at start.
	td.rewrite(t, daemonConfig("a", "jobs: {workers: 3}\n"))
	if err := td.d.Reload(ctx); err == nil {
		t.Error("a reload changing jobs was accepted")
	}
}
