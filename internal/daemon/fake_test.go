package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	grpcfront "github.com/protobridge/protobridge/internal/frontdoor/grpc"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/telemetry"
	"go.opentelemetry.io/otel/trace"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeAdapter answers GetItem with {id, name: "item-<id>"}, Slow after its
// delay (or when the context ends), and streams three items for Watch.
type fakeAdapter struct {
	closed    atomic.Int32
	cancelled atomic.Int32
	running   atomic.Int32
}

func init() {
	RegisterAdapter("fake", func(u *Upstream, env *Env) (Adapter, error) {
		if u.Headers["fail"] == "build" {
			return nil, errors.New("cannot build")
		}
		return lastFake.Load(), nil
	})
}

var lastFake atomic.Pointer[fakeAdapter]

func (a *fakeAdapter) Bind(r *Route) (Endpoint, error) {
	if r.HTTP == nil && !r.Method.IsStreamingServer() {
		return nil, errors.New("no google.api.http binding")
	}
	return fakeEndpoint{a}, nil
}

func (a *fakeAdapter) Close() error { a.closed.Add(1); return nil }

type fakeEndpoint struct{ a *fakeAdapter }

func item(md protoreflect.MethodDescriptor, id int64) proto.Message {
	m := dynamicpb.NewMessage(md.Output())
	m.Set(md.Output().Fields().ByName("id"), protoreflect.ValueOfInt64(id))
	m.Set(md.Output().Fields().ByName("name"), protoreflect.ValueOfString("item-"+itoa(id)))
	return m
}

// tagged appends the upstream's "tag" header to the item's name, so tests
// see which config served a call.
func tagged(m proto.Message, u *Upstream) proto.Message {
	if tag := u.Headers["tag"]; tag != "" {
		f := m.ProtoReflect().Descriptor().Fields().ByName("name")
		m.ProtoReflect().Set(f, protoreflect.ValueOfString(m.ProtoReflect().Get(f).String()+"-"+tag))
	}
	return m
}

func itoa(i int64) string { return protoreflect.ValueOfInt64(i).String() }

func (e fakeEndpoint) Unary(ctx context.Context, c *Call) (proto.Message, error) {
	in := c.Request.ProtoReflect()
	md := c.Route.Method
	countCall(c.RequestID)
	switch md.Name() {
	case "Slow":
		e.a.running.Add(1)
		defer e.a.running.Add(-1)
		d := time.Duration(in.Get(md.Input().Fields().ByName("delay_ms")).Int()) * time.Millisecond
		if d < 0 {
			// An upstream call that completes whatever its context says.
			time.Sleep(-d)
		} else {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				e.a.cancelled.Add(1)
				return nil, ctx.Err()
			}
		}
		c.SetHeader("x-slow", "done")
		return tagged(item(md, 7), c.Route.Upstream), nil
	default:
		id := in.Get(md.Input().Fields().ByName("id")).Int()
		if id == 404 {
			return nil, Errorf(codes.NotFound, "UPSTREAM_HTTP_404", map[string]string{"upstream": c.Route.Upstream.Name}, "no item %d", id)
		}
		if id == 500 {
			panic("adapter bug")
		}
		if id == tooLargeItem {
			return nil, Errorf(codes.ResourceExhausted, reason.ResponseTooLarge, nil, "the reply is over max_response_bytes")
		}
		if id == tooLargeForUpstream {
			return nil, bridge.HTTPError(c.Route, bridge.UpstreamReply{Status: http.StatusRequestEntityTooLarge, Header: http.Header{}})
		}
		if id == busyItem {
			return nil, bridge.HTTPError(c.Route, bridge.UpstreamReply{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3600"}}})
		}
		if id == hugeItem {
			m := item(md, id)
			m.ProtoReflect().Set(md.Output().Fields().ByName("name"), protoreflect.ValueOfString(strings.Repeat("x", 7<<20)))
			return m, nil
		}
		return tagged(item(md, id), c.Route.Upstream), nil
	}
}

func (e fakeEndpoint) Stream(ctx context.Context, c *Call, s Stream) error {
	id := c.Request.ProtoReflect().Get(c.Route.Method.Input().Fields().ByName("id")).Int()
	if id == 500 {
		panic("adapter bug in a stream")
	}
	for i := int64(0); i < 3; i++ {
		if err := s.Send(item(c.Route.Method, id+i)); err != nil {
			return err
		}
	}
	return nil
}

// writeConfig writes a config next to the test protos and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs("testdata/proto")
	if err != nil {
		t.Fatal(err)
	}
	text := "descriptors:\n  import_paths: [" + abs + "]\n  protos: [shop/v1/shop.proto]\n" + body
	p := filepath.Join(dir, "protobridge.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const okUpstreams = `upstreams:
  shop:
    kind: fake
    base_url: http://127.0.0.1:1
`

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func buildTable(t *testing.T, body string) (*Config, *Table, *fakeAdapter) {
	t.Helper()
	fa := &fakeAdapter{}
	lastFake.Store(fa)
	cfg, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tab, err := Build(context.Background(), cfg, discard())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { _ = tab.Close() })
	return cfg, tab, fa
}

// The tests below were written against the single-package bridge; these
// shims name the same things in the new packages.

type (
	Table    = router.Table
	Config   = config.Config
	Problems = bridge.Problems
	Upstream = bridge.Upstream
	Route    = bridge.Route
	Call     = bridge.Call
	Env      = bridge.Env
	Adapter  = bridge.Adapter
	Endpoint = bridge.Endpoint
	Stream   = bridge.Stream
	Handler  = bridge.Handler
)

var (
	LoadConfig      = config.LoadConfig
	RegisterAdapter = bridge.RegisterAdapter
	Errorf          = bridge.Errorf
)

// option tunes Build and NewServer in tests.
type option func(*router.Options)

func WithMetrics(m *telemetry.Metrics) option {
	return func(o *router.Options) {
		if o.Telemetry == nil {
			o.Telemetry = &telemetry.Telemetry{}
		}
		o.Telemetry.Metrics = m
	}
}

func WithTracerProvider(tp trace.TracerProvider) option {
	return func(o *router.Options) {
		if o.Telemetry == nil {
			o.Telemetry = &telemetry.Telemetry{}
		}
		o.Telemetry.Provider = tp
	}
}

func WithMiddleware(mws ...bridge.Middleware) option {
	return func(o *router.Options) { o.Middleware = append(o.Middleware, mws...) }
}

func routerOptions(logger *slog.Logger, opts []option) router.Options {
	o := router.Options{Logger: logger}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Build builds a route table.
func Build(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts ...option) (*router.Table, error) {
	return router.Build(ctx, cfg, routerOptions(logger, opts))
}

// Server is a router with its gRPC front door.
type Server struct {
	*grpcfront.Server
	r *router.Router
}

// NewServer serves t behind a new router.
func NewServer(cfg *config.Config, t *router.Table, logger *slog.Logger, opts ...option) *Server {
	o := routerOptions(logger, opts)
	r := router.New(t, logger, o.Telemetry)
	return &Server{Server: grpcfront.New(cfg, r, logger, o.Telemetry), r: r}
}

// Swap serves t from now on.
func (s *Server) Swap(t *router.Table) { s.r.Swap(t) }

// Table is the table served now.
func (s *Server) Table() *router.Table { return s.r.Table() }

// reasonOf is the ErrorInfo reason of a status, "" when none.
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// retryDelayOf is the RetryInfo delay of a status.
func retryDelayOf(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// Item ids the fake answers specially: hugeItem's reply (7 MiB) is too big
// for a job record; tooLargeItem fails as over max_response_bytes;
// busyItem as an HTTP 429 with Retry-After: 3600.
const (
	hugeItem     = 9999
	tooLargeItem = 9998
	busyItem     = 9997
	// tooLargeForUpstream fails as an HTTP 413.
	tooLargeForUpstream = 9996
)

// calls counts the fake's unary calls by request id (a job's id).
var calls sync.Map

func countCall(id string) {
	v, _ := calls.LoadOrStore(id, new(atomic.Int32))
	v.(*atomic.Int32).Add(1)
}

// callsOf is how many times the fake was called for request id.
func callsOf(id string) int32 {
	v, ok := calls.Load(id)
	if !ok {
		return 0
	}
	return v.(*atomic.Int32).Load()
}
