package policy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

// fastRetry retries with millisecond backoffs so the suite never sleeps long.
const fastRetry = "retry: {attempts: 4, initial_backoff: 1ms, max_backoff: 2ms}\n"

func TestRetry429WithRetryAfter(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, tooMany, tooMany)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	r := b.call(ctx(t), t, "CreateItem", 5) // unsafe, but a 429 proves it was not processed
	r.want(t, codes.OK, "", 3)
	if up.count() != 3 || r.field("name") != "item-3" {
		t.Fatalf("requests %d, answer %q", up.count(), r.field("name"))
	}
}

func TestRetryAfterPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, tooLong)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	st := b.call(ctx(t), t, "GetItem", 1).want(t, codes.ResourceExhausted, "UPSTREAM_HTTP_429", 1)
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay != time.Hour || up.count() != 1 {
		t.Fatalf("RetryInfo %v, requests %d", delay, up.count())
	}
}

// TestHugeRetryAfterFailsAtOnce: a Retry-After too large for a duration
// is clamped, not overflowed into a negative wait that retries at once: the
// call fails after one attempt, as for any wait past its deadline, with a
// positive RetryInfo.
func TestHugeRetryAfterFailsAtOnce(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, tooHuge, tooHuge, tooHuge, tooHuge)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	st := b.call(ctx(t), t, "GetItem", 1).want(t, codes.ResourceExhausted, "UPSTREAM_HTTP_429", 1)
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay < 50*365*24*time.Hour || up.count() != 1 {
		t.Fatalf("RetryInfo %v, requests %d", delay, up.count())
	}
}

func TestRetry5xxBurstIdempotent(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, err500, err502, err503)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.OK, "", 4)
	up.then(err500, err500, err500, err500)
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.Internal, "UPSTREAM_HTTP_500", 4)
	if up.count() != 8 {
		t.Fatalf("requests %d, want 8", up.count())
	}
}

func TestRetry5xxUnsafe(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, err500, err503)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	// A 500 may have been processed: no retry.
	b.call(ctx(t), t, "CreateItem", 1).want(t, codes.Internal, "UPSTREAM_HTTP_500", 1)
	// A 503 was refused: retried.
	b.call(ctx(t), t, "CreateItem", 1).want(t, codes.OK, "", 2)
	if up.count() != 3 {
		t.Fatalf("requests %d, want 3", up.count())
	}
}

func TestResetRetriedOnlyWhenIdempotent(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, reset, reset)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	// The request was written before the reset: it may have been processed.
	b.call(ctx(t), t, "CreateItem", 1).want(t, codes.Unavailable, "UPSTREAM_UNAVAILABLE", 1)
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.OK, "", 2)
	if up.count() != 3 {
		t.Fatalf("requests %d, want 3", up.count())
	}
}

func TestRefusedConnectionRetriedEvenUnsafe(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there now: connections are refused
	b := startBridge(t, config("http://"+addr, fastRetry, ""))
	b.call(ctx(t), t, "CreateItem", 1).want(t, codes.Unavailable, "UPSTREAM_UNAVAILABLE", 4)
}

func TestStallCutByPerAttemptTimeout(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, stall)
	policies := "retry: {attempts: 3, initial_backoff: 1ms, per_attempt_timeout: 200ms}\n"
	b := startBridge(t, config(up.srv.URL, policies, ""))
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.OK, "", 2)
	// The stalled create was sent: it is not retried.
	up.then(stall)
	b.call(ctx(t), t, "CreateItem", 1).want(t, codes.DeadlineExceeded, "DEADLINE_EXCEEDED", 1)
	if up.count() != 3 {
		t.Fatalf("requests %d, want 3", up.count())
	}
}

func TestHalfWrittenBodyServedStale(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, ok, half, half, half, half)
	b := startBridge(t, config(up.srv.URL, fastRetry+"fallback: {stale: true}\n", ""))
	first := b.call(ctx(t), t, "GetItem", 1)
	first.want(t, codes.OK, "", 1)
	r := b.call(ctx(t), t, "GetItem", 1)
	r.want(t, codes.OK, "", 4) // a cut body is retried, then the stale reply served
	if got := r.header.Get("x-protobridge-fallback"); len(got) != 1 || got[0] != "stale" || r.field("name") != "item-1" {
		t.Fatalf("header %v, answer %q", got, r.field("name"))
	}
	// Without a good response to fall back on, the failure shows.
	up.then(half, half, half, half)
	b.call(ctx(t), t, "GetItem", 2).want(t, codes.Unavailable, "UPSTREAM_UNAVAILABLE", 4)
}

// TestCutBodyRetriedWhenIdempotent: a body cut off after the headers, by a
// close or a reset, is a transport failure: UNAVAILABLE saying so, retried
// for an idempotent GET, not for a create that the upstream may have done.
func TestCutBodyRetriedWhenIdempotent(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, half, halfReset)
	b := startBridge(t, config(up.srv.URL, fastRetry, ""))
	r := b.call(ctx(t), t, "GetItem", 1)
	r.want(t, codes.OK, "", 3)
	if r.field("name") != "item-3" {
		t.Fatalf("answer %q", r.field("name"))
	}
	for _, f := range []fault{half, halfReset} {
		up.then(f)
		st := b.call(ctx(t), t, "CreateItem", 1).want(t, codes.Unavailable, "UPSTREAM_UNAVAILABLE", 1)
		if !strings.Contains(st.Message(), "body was cut off") {
			t.Errorf("%s: message %q does not say the body was cut off", f, st.Message())
		}
	}
	if up.count() != 5 {
		t.Fatalf("requests %d, want 5", up.count())
	}
}

func TestBreakerTransitionsAndStaticFallback(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, malformed, err500)
	routes := `routes:
- method: fault.v1.FaultService/CreateItem
  policies:
    fallback: {static: {id: "0", name: "queued"}}
`
	b := startBridge(t, config(up.srv.URL, "circuit_breaker: {failures: 2, open_timeout: 1s}\n", routes))
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.Internal, "UPSTREAM_BAD_RESPONSE", 1)
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.Internal, "UPSTREAM_HTTP_500", 1)
	b.wantBreaker(t, "open", 2)
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.Unavailable, "CIRCUIT_OPEN", 0)
	r := b.call(ctx(t), t, "CreateItem", 9)
	r.want(t, codes.OK, "", 0)
	if got := r.header.Get("x-protobridge-fallback"); len(got) != 1 || got[0] != "static" || r.field("name") != "queued" {
		t.Fatalf("header %v, answer %q", got, r.field("name"))
	}
	if up.count() != 2 {
		t.Fatalf("requests %d: the open circuit let calls through", up.count())
	}
	b.waitBreaker(t, "half-open")
	b.wantBreaker(t, "half-open", 1)
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.OK, "", 1)
	b.wantBreaker(t, "closed", 0)
	// A failed probe reopens the circuit.
	up.then(err503, err503)
	for range 2 {
		b.call(ctx(t), t, "GetItem", 1).want(t, codes.Unavailable, "UPSTREAM_HTTP_503", 1)
	}
	b.wantBreaker(t, "open", 2)
	b.waitBreaker(t, "half-open")
	up.then(err503)
	b.call(ctx(t), t, "GetItem", 1).want(t, codes.Unavailable, "UPSTREAM_HTTP_503", 1)
	b.wantBreaker(t, "open", 2)
}

// wantBreaker checks the breaker's state through Table.CircuitBreakers and
// the protobridge_circuit_breaker_state gauge.
func (b *bridgeUnderTest) wantBreaker(t *testing.T, state string, gauge float64) {
	t.Helper()
	bs := b.srv.Router.Table().CircuitBreakers()
	if len(bs) != 1 || bs[0].Scope != "upstream:faulty" || bs[0].State != state {
		t.Fatalf("breakers %+v, want %s", bs, state)
	}
	mfs, err := b.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "protobridge_circuit_breaker_state" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "upstream:faulty" && m.GetGauge().GetValue() == gauge {
				return
			}
		}
	}
	t.Fatalf("gauge for upstream:faulty is not %v", gauge)
}

// waitBreaker polls until the breaker reaches state on its own clock.
func (b *bridgeUnderTest) waitBreaker(t *testing.T, state string) {
	t.Helper()
	deadline := time.Now().Add(lifetime)
	for b.srv.Router.Table().CircuitBreakers()[0].State != state {
		if time.Now().After(deadline) {
			t.Fatalf("breaker never became %s", state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLargeReplyNotBufferedPastSendLimit: with server.max_send_bytes at
// 64 KiB and no max_response_bytes, a 50 MB reply (chunked, or announced
// by Content-Length) fails with RESPONSE_TOO_LARGE at the send limit: the
// bridge stops reading there rather than reading it whole and failing to
// send it. The upstream counts what it managed to write.
func TestLargeReplyNotBufferedPastSendLimit(t *testing.T) {
	t.Parallel()
	const size = 50 << 20
	var written atomic.Int64
	chunk := []byte(strings.Repeat("x", 32<<10))
	announce := atomic.Bool{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if announce.Load() {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		for n := 0; n < size; n += len(chunk) {
			m, err := w.Write(chunk)
			written.Add(int64(m))
			if err != nil {
				return
			}
		}
	}))
	defer up.Close()
	b := startBridge(t, config(up.URL, "", "server:\n  max_send_bytes: 64KiB\n"))
	for _, withLength := range []bool{false, true} {
		announce.Store(withLength)
		written.Store(0)
		st := b.call(ctx(t), t, "GetItem", 1).want(t, codes.ResourceExhausted, "RESPONSE_TOO_LARGE", 1)
		limit := ""
		for _, d := range st.Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				limit = ei.GetMetadata()["limit"]
			}
		}
		// What TCP buffers hold is written too; far from all of it.
		if limit != "65536" || written.Load() >= size/2 {
			t.Errorf("Content-Length %v: limit %q, upstream wrote %d of %d bytes", withLength, limit, written.Load(), size)
		}
		t.Logf("Content-Length %v: the upstream wrote %d bytes of %d", withLength, written.Load(), size)
	}
}
