package daemon

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

func keyDigest(k string) string {
	s := sha256.Sum256([]byte(k))
	return hex.EncodeToString(s[:])
}

// TestJobsStayPrivateAfterReload: a job is its submitter's alone, also
// once a reload has removed its method or opened it — another caller gets NOT_FOUND, an
// anonymous one UNAUTHENTICATED, and neither lists it.
func TestJobsStayPrivateAfterReload(t *testing.T) {
	rest := "server:\n  listen: 127.0.0.1:0\n  shutdown_grace: 2s\nadmin:\n  listen: 127.0.0.1:0\n" +
		"auth:\n  api_keys: [{id: alice, sha256: " + keyDigest("ka") + "}, {id: bob, sha256: " + keyDigest("kb") + "}]\n" +
		"upstreams:\n  shop:\n    kind: fake\n    base_url: http://127.0.0.1:1\n" +
		fmt.Sprintf("nats: {state_dir: %q}\njobs: {workers: 2}\n", filepath.Join(t.TempDir(), "state"))
	td := startDaemon(t, rest)
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := metadata.AppendToOutgoingContext(ctx, "x-api-key", "ka")
	bob := metadata.AppendToOutgoingContext(ctx, "x-api-key", "kb")
	p, _ := structpb.NewStruct(map[string]any{"delay_ms": 1})
	r, err := c.Submit(alice, &pbv1.SubmitRequest{Method: "shop.v1.ShopService/Slow", Request: &pbv1.SubmitRequest_Payload{Payload: p}})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetJobId()
	for {
		g, err := c.GetJob(alice, &pbv1.GetJobRequest{JobId: id})
		if err != nil {
			t.Fatal(err)
		}
		if g.GetJob().GetState() == pbv1.JobState_JOB_STATE_SUCCEEDED {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	check := func(when string) {
		t.Helper()
		if _, err := c.GetJob(bob, &pbv1.GetJobRequest{JobId: id}); status.Code(err) != codes.NotFound {
			t.Errorf("%s: bob reads alice's job: %v", when, err)
		}
		if _, err := c.GetJob(ctx, &pbv1.GetJobRequest{JobId: id}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: an anonymous caller reads alice's job: %v", when, err)
		}
		if _, err := c.CancelJob(bob, &pbv1.CancelJobRequest{JobId: id}); status.Code(err) != codes.NotFound {
			t.Errorf("%s: bob cancels alice's job: %v", when, err)
		}
		for name, who := range map[string]context.Context{"bob": bob, "anonymous": ctx} {
			if l, err := c.ListJobs(who, &pbv1.ListJobsRequest{}); err == nil && len(l.GetJobs()) != 0 {
				t.Errorf("%s: %s lists %d jobs", when, name, len(l.GetJobs()))
			}
		}
		if g, err := c.GetJob(alice, &pbv1.GetJobRequest{JobId: id}); err != nil || g.GetJob().GetIdentity() != "alice" {
			t.Errorf("%s: alice reads her job: %v", when, err)
		}
	}
	check("before the reload")

	// Reload with a shop.proto without Slow.
	dir := filepath.Join(t.TempDir(), "shop", "v1")
	src, err := os.ReadFile(filepath.Join("testdata", "proto", "shop", "v1", "shop.proto"))
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(src, []byte("  // Slow waits")), bytes.Index(src, []byte("  // Watch streams"))
	if i < 0 || j < i {
		t.Fatal("shop.proto has no Slow method before Watch")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop.proto"), append(src[:i:i], src[j:]...), 0o600); err != nil {
		t.Fatal(err)
	}
	body := "descriptors:\n  import_paths: [" + filepath.Dir(filepath.Dir(dir)) + "]\n  protos: [shop/v1/shop.proto]\n" + rest
	if err := os.WriteFile(td.path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := td.d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := td.d.Router().Route("shop.v1.ShopService/Slow"); ok {
		t.Fatal("Slow is still served after the reload")
	}
	check("after a reload removed the method")

	// Back, but open to anyone: the job is still alice's alone.
	if err := os.WriteFile(td.path, []byte(writeConfigBody(t, rest+"routes:\n  - method: shop.v1.ShopService/Slow\n    open: true\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := td.d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := td.d.Router().Route("shop.v1.ShopService/Slow"); !ok {
		t.Fatal("Slow is not served after the second reload")
	}
	check("after a reload opened the method")
}

// writeConfigBody is the config text writeConfig writes for body.
func writeConfigBody(t *testing.T, body string) string {
	t.Helper()
	b, err := os.ReadFile(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDurableNamesDoNotCrossSources: a durable subscription name that
// another source's subscription already holds ("a" + "b_c" and "a_b" +
// "c") is refused, never served with the other source's events.
func TestDurableNamesDoNotCrossSources(t *testing.T) {
	t.Setenv("PB_GH", "s3cret")
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf(`nats: {state_dir: %q}
webhooks:
  listen: 127.0.0.1:0
  sources:
    a:   {path: /a, message: shop.v1.Item, open: true, verify: {scheme: github, secret: {env: PB_GH}}}
    a_b: {path: /ab, message: shop.v1.Item, open: true, verify: {scheme: github, secret: {env: PB_GH}}}
`, filepath.Join(t.TempDir(), "state"))))
	c := pbv1.NewBridgeServiceClient(td.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func(src, consumer string) (pbv1.BridgeService_SubscribeClient, context.CancelFunc) {
		sctx, stop := context.WithCancel(ctx)
		st, err := c.Subscribe(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: src, Consumer: consumer, All: true}}}); err != nil {
			t.Fatal(err)
		}
		return st, stop
	}
	body := []byte(`{"id":"42","name":"secret-invoice"}`)
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+td.d.WebhookAddr().String()+"/ab", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook post: %v %v", resp, err)
	}
	resp.Body.Close()

	// The a_b subscriber's durable "c" gets the event.
	s1, stop1 := open("a_b", "c")
	ev, err := s1.Recv()
	if err != nil || !strings.Contains(string(ev.GetEvent().GetPayload().GetValue()), "secret-invoice") {
		t.Fatalf("a_b/c: %v %v", ev, err)
	}
	stop1()
	// A subscriber of "a" naming its durable "b_c" must not get it.
	s2, stop2 := open("a", "b_c")
	defer stop2()
	ev, err = s2.Recv()
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a/b_c got %v (source %q), want FAILED_PRECONDITION", err, ev.GetEvent().GetSource())
	}
}

// TestOldDurableGetsInactivityLimit: a durable subscription stored before
// durables had an inactivity limit gets the retention as its limit when it
// is resumed, so that it too goes away once nobody uses it.
func TestOldDurableGetsInactivityLimit(t *testing.T) {
	t.Setenv("PB_GH", "s3cret")
	td := startDaemon(t, daemonConfig("a", fmt.Sprintf(`nats: {state_dir: %q}
webhooks:
  listen: 127.0.0.1:0
  retention: 48h
  sources:
    gh: {path: /gh, message: shop.v1.Item, open: true, verify: {scheme: github, secret: {env: PB_GH}}}
`, filepath.Join(t.TempDir(), "state"))))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js := td.d.async.broker.JS
	st, err := js.Stream(ctx, "PB_WEBHOOKS")
	if err != nil {
		t.Fatal(err)
	}
	// As an older daemon made it: the same settings, no inactivity limit.
	if _, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "gh_old", FilterSubject: "pb.webhooks.gh",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, DeliverPolicy: jetstream.DeliverAllPolicy}); err != nil {
		t.Fatal(err)
	}
	c := pbv1.NewBridgeServiceClient(td.conn)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	sub, err := c.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: "gh", Consumer: "old", All: true}}}); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		cons, err := st.Consumer(ctx, "gh_old")
		if err != nil {
			t.Fatal(err)
		}
		if got := cons.CachedInfo().Config.InactiveThreshold; got == 48*time.Hour {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the old durable never got the retention as its inactivity limit")
}

// TestAdminHTTPStatus maps the job API's statuses as google.rpc.Code
// does, 500 only for what is the daemon's fault.
func TestAdminHTTPStatus(t *testing.T) {
	for c, want := range map[codes.Code]int{
		codes.NotFound: 404, codes.InvalidArgument: 400, codes.FailedPrecondition: 400, codes.PermissionDenied: 403,
		codes.Unauthenticated: 401, codes.DeadlineExceeded: 504, codes.Canceled: 499, codes.Unavailable: 503,
		codes.ResourceExhausted: 429, codes.Internal: 500, codes.Unknown: 500,
	} {
		if got, msg := httpStatusOf(status.Error(c, "why")); got != want || msg != "why" {
			t.Errorf("%v: %d %q, want %d", c, got, msg, want)
		}
	}
}
