// Package policy is the policy layer's fault-injection suite: a
// programmable upstream (429 with Retry-After, 5xx bursts, connection
// resets, stalls, half-written bodies, malformed payloads, refused
// connections) behind the REST adapter, called through in-process
// in-process daemons with grpc-go. Tests assert attempt counts, codes and
// details, breaker transitions and fallbacks, never durations; TestMain
// checks for leaked goroutines.
package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	_ "github.com/protobridge/protobridge/adapters/rest"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/telemetry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lifetime bounds every wait so a hang fails the test, not the run.
const lifetime = 30 * time.Second

// fault is one scripted upstream behaviour.
type fault string

const (
	ok        fault = "ok"        // 200 with the item
	tooMany   fault = "429"       // 429 with Retry-After: 0
	tooLong   fault = "429-long"  // 429 with Retry-After: 3600
	tooHuge   fault = "429-huge"  // 429 with Retry-After: the largest int64
	err500    fault = "500"       // 500 with a body
	err502    fault = "502"       // 502
	err503    fault = "503"       // 503
	reset     fault = "reset"     // the connection is reset before any reply
	stall     fault = "stall"     // no reply until the request is cancelled
	half      fault = "half"      // a 200 whose body stops half way
	halfReset fault = "half-rst"  // a 200 whose connection is reset half way through the body
	malformed fault = "malformed" // a 200 whose body is not JSON
)

// upstream is a programmable REST upstream: each request takes the next
// scripted fault (ok once the script is used up). Keep-alives are off, so
// every request has a connection of its own and net/http never replays one
// on its own.
type upstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	script   []fault
	requests []string
}

func newUpstream(t *testing.T, script ...fault) *upstream {
	u := &upstream{script: script}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.Config.SetKeepAlivesEnabled(false)
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

// then appends faults to the script.
func (u *upstream) then(fs ...fault) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.script = append(u.script, fs...)
}

// count returns how many requests reached the upstream.
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.requests = append(u.requests, r.Method+" "+r.URL.Path)
	n := len(u.requests)
	f := ok
	if len(u.script) > 0 {
		f, u.script = u.script[0], u.script[1:]
	}
	u.mu.Unlock()
	id := strings.TrimPrefix(r.URL.Path, "/items/")
	if r.Method == http.MethodPost {
		var in struct {
			ID json.Number `json:"id"`
		}
		_ = json.Unmarshal(body, &in)
		id = in.ID.String()
	}
	w.Header().Set("Content-Type", "application/json")
	switch f {
	case ok:
		fmt.Fprintf(w, `{"id": %q, "name": "item-%d"}`, id, n)
	case tooMany, tooLong, tooHuge:
		w.Header().Set("Retry-After", map[fault]string{tooMany: "0", tooLong: "3600", tooHuge: "9223372036854775807"}[f])
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error": "slow down"}`)
	case err500, err502, err503:
		code, _ := strconv.Atoi(string(f))
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error": "burst %d"}`, n)
	case reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
	case stall:
		<-r.Context().Done()
	case half:
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"id": "1", "na`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case halfReset:
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"id": "1", "na`)
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
	case malformed:
		fmt.Fprint(w, `{"id": "1", "name": `)
	}
}

// bridgeUnderTest is an in-process daemon serving fault.v1 from an
// upstream, with a recorder of each call's attempts.
type bridgeUnderTest struct {
	conn     *grpc.ClientConn
	srv      *daemontest.Server
	metrics  *telemetry.Metrics
	logs     *syncBuffer
	attempts sync.Map // request id → attempts
	ids      atomic.Int64
}

// config is a protobridge config serving fault.v1 from baseURL with the
// given upstream policies (YAML lines indented for the policies: block) and
// extra top-level YAML.
func config(baseURL, policies, extra string) string {
	abs, _ := filepath.Abs("testdata/proto")
	s := fmt.Sprintf("descriptors:\n  import_paths: [%q]\n  protos: [fault/v1/fault.proto]\nauth: {open: true}\nupstreams:\n  faulty:\n    kind: rest\n    base_url: %s\n    timeout: 20s\n", abs, baseURL)
	if policies != "" {
		s += "    policies:\n"
		for _, l := range strings.Split(strings.TrimRight(policies, "\n"), "\n") {
			s += "      " + l + "\n"
		}
	}
	return s + extra
}

// startBridge builds and serves a table from config text.
func startBridge(t *testing.T, text string) *bridgeUnderTest {
	t.Helper()
	path := filepath.Join(t.TempDir(), "protobridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &bridgeUnderTest{metrics: telemetry.NewMetrics(), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	record := func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
			resp, err := next(ctx, c)
			b.attempts.Store(c.RequestID, c.Attempts())
			return resp, err
		}
	}
	b.srv = daemontest.Start(t, path, daemontest.Options{Logger: logger, Telemetry: &telemetry.Telemetry{Metrics: b.metrics}, Middleware: []bridge.Middleware{record}})
	b.conn = b.srv.Conn
	return b
}

// result is one call's outcome as the caller sees it.
type result struct {
	resp     *dynamicpb.Message
	header   metadata.MD
	attempts int
	err      error
}

// call invokes a fault.v1 method with a protojson-free request: id (and a
// name for CreateItem), plus caller metadata pairs.
func (b *bridgeUnderTest) call(ctx context.Context, t *testing.T, method string, id int64, md ...string) result {
	t.Helper()
	sd := b.srv.Router.Routes()[0].Method.Parent().(protoreflect.ServiceDescriptor)
	m := sd.Methods().ByName(protoreflect.Name(method))
	req := dynamicpb.NewMessage(m.Input())
	req.Set(m.Input().Fields().ByName("id"), protoreflect.ValueOfInt64(id))
	rid := fmt.Sprintf("req-%d", b.ids.Add(1))
	ctx = metadata.AppendToOutgoingContext(ctx, append(md, "x-request-id", rid)...)
	r := result{resp: dynamicpb.NewMessage(m.Output())}
	r.err = b.conn.Invoke(ctx, "/"+string(sd.FullName())+"/"+method, req, r.resp, grpc.Header(&r.header))
	if n, ok := b.attempts.Load(rid); ok {
		r.attempts = n.(int)
	}
	return r
}

// ctx bounds one call.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), lifetime)
	t.Cleanup(cancel)
	return c
}

// want fails unless the result has the code, ErrorInfo reason and attempts.
func (r result) want(t *testing.T, code codes.Code, reason string, attempts int) *status.Status {
	t.Helper()
	st := status.Convert(r.err)
	got := ""
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			got = ei.GetReason()
		}
	}
	if st.Code() != code || got != reason || r.attempts != attempts {
		t.Fatalf("got %v / %q after %d attempts (%v), want %v / %q after %d", st.Code(), got, r.attempts, st.Message(), code, reason, attempts)
	}
	return st
}

// field returns a response field as a string.
func (r result) field(name string) string {
	return r.resp.Get(r.resp.Descriptor().Fields().ByName(protoreflect.Name(name))).String()
}

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
