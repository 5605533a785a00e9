package async

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
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	// The options the test proto imports, for protocompile.
	_ "google.golang.org/genproto/googleapis/api/annotations"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// paymentEvent compiles the test proto and returns orders.v1.PaymentEvent.
func paymentEvent(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	linked := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{Desc: fd}, nil
	})
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{ImportPaths: []string{filepath.Join(root, "test", "async", "testdata")}}, linked})}
	files, err := c.Compile(context.Background(), "orders/v1/orders.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0].Messages().ByName("PaymentEvent")
}

func hexMAC(secret, prefix string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(prefix))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// post sends a delivery and returns its status and body.
func post(t *testing.T, addr, path, contentType string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// collect subscribes and returns the first n events (acknowledging them
// when ack is set).
func collect(t *testing.T, ctx context.Context, conn *grpc.ClientConn, start *pbv1.SubscribeStart, n int, ack bool) []*pbv1.WebhookEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	st, err := pbv1.NewBridgeServiceClient(conn).Subscribe(as(ctx, aliceKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: start}}); err != nil {
		t.Fatal(err)
	}
	var out []*pbv1.WebhookEvent
	for len(out) < n {
		r, err := st.Recv()
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, r.GetEvent())
		if ack {
			if err := st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Ack{Ack: &pbv1.SubscribeAck{Sequences: []uint64{r.GetEvent().GetSequence()}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = st.CloseSend()
	return out
}

// decodeEvent unpacks an event's payload as PaymentEvent JSON.
func decodeEvent(t *testing.T, md protoreflect.MessageDescriptor, ev *pbv1.WebhookEvent) string {
	t.Helper()
	if want := "type.googleapis.com/orders.v1.PaymentEvent"; ev.GetPayload().GetTypeUrl() != want {
		t.Errorf("type_url %q, want %q", ev.GetPayload().GetTypeUrl(), want)
	}
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(ev.GetPayload().GetValue(), m); err != nil {
		t.Fatal(err)
	}
	b, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	return strings.ReplaceAll(string(b), " ", "")
}

// TestWebhooks sends deliveries signed in each scheme (signed here from
// the schemes' documentation), checks refusals, payload decoding, dedup by
// event id, replay and redelivery, with grpc-go subscribers.
func TestWebhooks(t *testing.T) {
	up := newUpstream(t)
	d := startDaemon(t, writeConfig(t, t.TempDir(), up.URL, "127.0.0.1:0", "127.0.0.1:0", ""), testEnv...)
	md := paymentEvent(t)
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	now := time.Now().Unix()
	std := func(id string, ts int64, body []byte) map[string]string {
		return map[string]string{"webhook-id": id, "webhook-timestamp": strconv.FormatInt(ts, 10), "webhook-signature": signStandard(id, ts, body)}
	}

	t.Run("standard webhooks", func(t *testing.T) {
		body := []byte(`{"id":"evt_1","type":"payment.succeeded","amount":1250,"live":true,"payer":{"name":"Ada"},"tags":["a","b"],"extra":"ignored"}`)
		if code, resp := post(t, d.hooks, "/hooks/payments", "application/json", body, std("msg_1", now, body)); code != 200 || !strings.Contains(resp, `"duplicate":false`) {
			t.Fatalf("valid delivery: %d %s", code, resp)
		}
		// The sender's retry of the same message is stored once.
		if code, resp := post(t, d.hooks, "/hooks/payments", "application/json", body, std("msg_1", now, body)); code != 200 || !strings.Contains(resp, `"duplicate":true`) {
			t.Fatalf("retried delivery: %d %s", code, resp)
		}
		bad := []map[string]string{
			std("msg_2", now, []byte("other body")),                                  // signature of another body
			std("msg_3", now-3600, body),                                             // outside the replay window
			{"webhook-id": "msg_4", "webhook-timestamp": strconv.FormatInt(now, 10)}, // unsigned
			{"webhook-id": "msg_5", "webhook-timestamp": strconv.FormatInt(now, 10), "webhook-signature": "v1,AAAA"},
		}
		for i, h := range bad {
			if code, _ := post(t, d.hooks, "/hooks/payments", "application/json", body, h); code != http.StatusUnauthorized {
				t.Errorf("bad delivery %d: %d, want 401", i, code)
			}
		}
		evs := collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "payments", All: true}, 1, true)
		if evs[0].GetEventId() != "msg_1" || evs[0].GetSequence() == 0 || evs[0].GetDelivery() != 1 {
			t.Errorf("event %v", evs[0])
		}
		if got, want := decodeEvent(t, md, evs[0]), `{"id":"evt_1","type":"payment.succeeded","amount":"1250","live":true,"payer":{"name":"Ada"},"tags":["a","b"]}`; got != want {
			t.Errorf("payload %s, want %s", got, want)
		}
		m := scrape(t, d.admin)
		if !regexp.MustCompile(`protobridge_webhook_requests_total\{outcome="bad_signature",source="payments"\} 4`).MatchString(m) ||
			!regexp.MustCompile(`protobridge_webhook_requests_total\{outcome="duplicate",source="payments"\} 1`).MatchString(m) {
			t.Errorf("metrics:\n%s", grep(m, "webhook_requests"))
		}
	})

	t.Run("stripe", func(t *testing.T) {
		body := []byte(`{"id":"evt_stripe_1","type":"charge.succeeded","amount":990}`)
		ts := strconv.FormatInt(now, 10)
		sig := "t=" + ts + ",v1=" + hexMAC(stripeSecret, ts+".", body) + ",v0=ignored"
		if code, _ := post(t, d.hooks, "/hooks/stripe", "application/json; charset=utf-8", body, map[string]string{"Stripe-Signature": sig}); code != 200 {
			t.Fatalf("valid: %d", code)
		}
		if code, _ := post(t, d.hooks, "/hooks/stripe", "application/json", append(body, ' '), map[string]string{"Stripe-Signature": sig}); code != 401 {
			t.Errorf("tampered body: %d, want 401", code)
		}
		evs := collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "stripe", All: true}, 1, true)
		if evs[0].GetEventId() != "evt_stripe_1" || !strings.Contains(decodeEvent(t, md, evs[0]), `"amount":"990"`) {
			t.Errorf("event %v", evs[0])
		}
	})

	t.Run("github", func(t *testing.T) {
		body := []byte(`{"id":"push-1","type":"push"}`)
		h := map[string]string{"X-Hub-Signature-256": "sha256=" + hexMAC(githubSecret, "", body), "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
		if code, resp := post(t, d.hooks, "/hooks/github", "application/json", body, h); code != 200 || !strings.Contains(resp, `"duplicate":false`) {
			t.Fatalf("valid: %d %s", code, resp)
		}
		// The signature covers only the body: the same body replayed under
		// a new (unsigned) delivery id is not stored again.
		h["X-GitHub-Delivery"] = "replayed-with-a-new-id"
		if code, resp := post(t, d.hooks, "/hooks/github", "application/json", body, h); code != 200 || !strings.Contains(resp, `"duplicate":true`) {
			t.Fatalf("replayed body under a new delivery id: %d %s", code, resp)
		}
		h["X-Hub-Signature-256"] = "sha256=" + hexMAC("wrong", "", body)
		if code, _ := post(t, d.hooks, "/hooks/github", "application/json", body, h); code != 401 {
			t.Errorf("wrong secret: %d", code)
		}
		evs := collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "github", All: true}, 1, true)
		if evs[0].GetEventId() != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
			t.Errorf("event %v", evs[0])
		}
	})

	t.Run("hmac header with form and XML bodies", func(t *testing.T) {
		ts := strconv.FormatInt(now, 10)
		send := func(id, ct string, body []byte) int {
			code, _ := post(t, d.hooks, "/hooks/legacy", ct, body, map[string]string{"X-Signature": "sha256=" + hexMAC(legacySecret, ts+".", body), "X-Timestamp": ts, "X-Event-Id": id})
			return code
		}
		if code := send("f1", "application/x-www-form-urlencoded", []byte("id=f1&type=form&amount=42&live=true&tags=x&tags=y")); code != 200 {
			t.Fatalf("form: %d", code)
		}
		if code := send("x1", "application/xml", []byte(`<event><id>x1</id><type>xml</type><amount>7</amount><live>false</live><payer name="Grace"/><tags>p</tags><tags>q</tags></event>`)); code != 200 {
			t.Fatalf("xml: %d", code)
		}
		if code := send("t1", "text/plain", []byte("hello")); code != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain: %d, want 415", code)
		}
		if code := send("b1", "application/json", []byte(`{"amount":"lots"}`)); code != http.StatusBadRequest {
			t.Errorf("bad JSON: %d, want 400", code)
		}
		evs := collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "legacy", All: true}, 2, true)
		if got, want := decodeEvent(t, md, evs[0]), `{"id":"f1","type":"form","amount":"42","live":true,"tags":["x","y"]}`; got != want {
			t.Errorf("form payload %s, want %s", got, want)
		}
		if got, want := decodeEvent(t, md, evs[1]), `{"id":"x1","type":"xml","amount":"7","payer":{"name":"Grace"},"tags":["p","q"]}`; got != want {
			t.Errorf("XML payload %s, want %s", got, want)
		}
	})

	t.Run("replay and redelivery", func(t *testing.T) {
		var seqs []uint64
		for i := range 3 {
			id := fmt.Sprintf("replay_%d", i)
			body := fmt.Appendf(nil, `{"id":%q}`, id)
			code, resp := post(t, d.hooks, "/hooks/payments", "application/json", body, std(id, now, body))
			if code != 200 {
				t.Fatal(code, resp)
			}
			n, _ := strconv.ParseUint(regexp.MustCompile(`"sequence":(\d+)`).FindStringSubmatch(resp)[1], 10, 64)
			seqs = append(seqs, n)
		}
		// From a sequence.
		evs := collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "payments", StartSequence: seqs[1]}, 2, true)
		if evs[0].GetEventId() != "replay_1" || evs[1].GetEventId() != "replay_2" {
			t.Errorf("from sequence %d: %v", seqs[1], evs)
		}
		// From a time: everything stored since a minute ago.
		evs = collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "payments", StartTime: timestamppb.New(time.Now().Add(-time.Minute))}, 4, true)
		if evs[0].GetEventId() != "msg_1" || evs[3].GetEventId() != "replay_2" {
			t.Errorf("from time: %v", evs)
		}
		// Not acknowledged: delivered again after ack_wait (2s).
		evs = collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "payments", Consumer: "slow", StartSequence: seqs[2]}, 2, false)
		if evs[0].GetSequence() != seqs[2] || evs[1].GetSequence() != seqs[2] || evs[1].GetDelivery() != 2 {
			t.Errorf("redelivery: %v", evs)
		}
		// A durable consumer resumes: acknowledged, nothing is left for it.
		evs = collect(t, ctx, d.conn, &pbv1.SubscribeStart{Source: "payments", Consumer: "slow"}, 1, true)
		if evs[0].GetSequence() != seqs[2] {
			t.Errorf("resumed: %v", evs)
		}
	})

	t.Run("subscribers are authenticated", func(t *testing.T) {
		for key, want := range map[string]codes.Code{"": codes.Unauthenticated, bobKey: codes.PermissionDenied} {
			sctx := ctx
			if key != "" {
				sctx = as(ctx, key)
			}
			st, err := pbv1.NewBridgeServiceClient(d.conn).Subscribe(sctx)
			if err == nil {
				err = st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: "payments", All: true}}})
			}
			if err == nil {
				_, err = st.Recv()
			}
			if status.Code(err) != want {
				t.Errorf("key %q: %v, want %v", key, err, want)
			}
		}
		st, err := pbv1.NewBridgeServiceClient(d.conn).Subscribe(ctx)
		if err == nil {
			err = st.Send(&pbv1.SubscribeRequest{Kind: &pbv1.SubscribeRequest_Start{Start: &pbv1.SubscribeStart{Source: "nope"}}})
		}
		if err == nil {
			_, err = st.Recv()
		}
		if status.Code(err) != codes.NotFound {
			t.Errorf("unknown source: %v", err)
		}
	})
}

// scrape returns the admin listener's /metrics text.
func scrape(t *testing.T, admin string) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
