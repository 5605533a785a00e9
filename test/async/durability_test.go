package async

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// signStandard signs a delivery the way the Standard Webhooks spec says
// (written here from the spec, not with the daemon's code).
func signStandard(id string, ts int64, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(whsec[len("whsec_"):])
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s.%d.", id, ts)
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// postEvent sends one payments webhook and returns the HTTP status (0
// when the daemon could not be reached).
func postEvent(client *http.Client, addr, id string, body []byte) int {
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/payments", bytes.NewReader(body))
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", signStandard(id, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// subscriber follows the payments source with a durable consumer,
// resubscribing whenever the stream breaks, and acknowledges every event.
type subscriber struct {
	mu   sync.Mutex
	seen map[string]int // event id → deliveries
}

func (s *subscriber) run(ctx context.Context, conn *grpc.ClientConn, consumer string) {
	c := pbv1.NewBridgeServiceClient(conn)
	for ctx.Err() == nil {
		st, err := c.Subscribe(as(ctx, aliceKey))
		if err == nil {
			err = st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: "payments", Consumer: consumer, All: true}}})
		}
		for err == nil {
			var r *pbv1.SubscribeResponse
			if r, err = st.Recv(); err != nil {
				break
			}
			s.mu.Lock()
			s.seen[r.GetEvent().GetEventId()]++
			s.mu.Unlock()
			err = st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Ack{Ack: &pbv1.SubscribeAck{Sequences: []uint64{r.GetEvent().GetSequence()}}}})
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

func (s *subscriber) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id] > 0
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// TestKill9Durability submits 10,000 jobs against the counting upstream
// while webhooks arrive, kills the daemon process with SIGKILL three times
// mid-run and restarts it on the same state directory: every job whose
// Submit was answered completes, the upstream applies each idempotency key
// once, and every webhook answered 2xx reaches the subscriber.
func TestKill9Durability(t *testing.T) {
	const jobs = 10000
	up := newUpstream(t)
	dir := t.TempDir()
	grpcAddr, hooksAddr := freePort(t), freePort(t)
	d := startDaemon(t, writeConfig(t, dir, up.URL, grpcAddr, hooksAddr, `jobs:
  workers: 64
  initial_backoff: 100ms
  max_backoff: 1s
  lease: 2s
`), testEnv...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*lifetime)
	defer cancel()

	// Callers keep their own connection and retry a failed Submit with the
	// same idempotency key, as a client of a restarting service would.
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pbv1.NewBridgeServiceClient(conn)
	accepted := make([]string, jobs) // job id by index, once Submit answered
	var next atomic.Int64
	var submitters sync.WaitGroup
	for range 16 {
		submitters.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= jobs || ctx.Err() != nil {
					return
				}
				key := "k" + strconv.Itoa(i)
				for ctx.Err() == nil {
					sctx, scancel := context.WithTimeout(as(ctx, aliceKey), 5*time.Second)
					resp, err := c.Submit(sctx, &pbv1.SubmitRequest{Method: "orders.v1.OrderService/PlaceOrder", Request: payload(t, "sku-"+strconv.Itoa(i), 1), IdempotencyKey: key}, grpc.WaitForReady(true))
					scancel()
					if err == nil {
						accepted[i] = resp.GetJobId()
						break
					}
					sleepCtx(ctx, 20*time.Millisecond)
				}
			}
		})
	}

	// Webhooks arrive throughout; a 2xx means the daemon has stored it.
	var acked sync.Map
	var sent atomic.Int64
	hooksDone := make(chan struct{})
	stopHooks := make(chan struct{})
	go func() {
		defer close(hooksDone)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stopHooks:
				return
			default:
			}
			id := "evt_" + strconv.Itoa(i)
			body := fmt.Appendf(nil, `{"id":%q,"type":"payment.succeeded","amount":%d,"live":true}`, id, 100+i)
			if code := postEvent(client, hooksAddr, id, body); code >= 200 && code < 300 {
				acked.Store(id, true)
				sent.Add(1)
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	sub := &subscriber{seen: map[string]int{}}
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan struct{})
	go func() { defer close(subDone); sub.run(subCtx, conn, "durability") }()

	// Three kills while jobs run.
	for _, at := range []int64{1000, 3500, 6000} {
		for up.applied.Load() < at && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("kill -9 at %d applied, %d submitted, %d webhooks acknowledged", up.applied.Load(), next.Load(), sent.Load())
		d.kill9Restart(testEnv...)
	}
	submitters.Wait()
	close(stopHooks)
	<-hooksDone

	// Every accepted job completes, and each key's effect is applied once.
	for up.applied.Load() < jobs && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	for i, id := range accepted {
		if id == "" {
			t.Fatalf("job %d was never accepted", i)
		}
	}
	var resent int
	up.mu.Lock()
	for i := range jobs {
		key := "k" + strconv.Itoa(i)
		if up.effects[key] != 1 {
			t.Errorf("key %s applied %d times", key, up.effects[key])
		}
		if up.sends[key] > 1 {
			resent++
		}
	}
	up.mu.Unlock()
	bad := 0
	for i, id := range accepted {
		var j *pbv1.GetJobResponse
		for ctx.Err() == nil {
			j, err = c.GetJob(as(ctx, aliceKey), &pbv1.GetJobRequest{JobId: id})
			if err == nil && j.GetJob().GetState() == pbv1.JobState_JOB_STATE_SUCCEEDED {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if j.GetJob().GetState() != pbv1.JobState_JOB_STATE_SUCCEEDED && bad < 5 {
			bad++
			t.Errorf("job %d (%s): %v %v", i, id, j, err)
		}
	}
	t.Logf("%d jobs completed; %d keys were sent more than once after a kill (the upstream applied them once)", jobs, resent)

	// Every acknowledged webhook reaches the subscriber.
	missing := 0
	acked.Range(func(k, _ any) bool {
		for !sub.has(k.(string)) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		if !sub.has(k.(string)) {
			missing++
		}
		return true
	})
	stopSub()
	<-subDone
	if missing > 0 {
		t.Errorf("%d of %d acknowledged webhooks never reached the subscriber", missing, sent.Load())
	}
	t.Logf("%d webhooks acknowledged, all delivered", sent.Load())
}
