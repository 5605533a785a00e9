// Package bridgetest is the conformance suite of protobridge adapters. An
// adapter's tests start a peer speaking the adapter's protocol, describe it
// in a Harness, and call Run, which checks the adapter against the plugin
// contract of package bridge the way the daemon uses it:
//
//	func TestConformance(t *testing.T) {
//		bridgetest.Run(t, bridgetest.Harness{
//			Kind:     "kv",
//			Start:    startPeer, // returns the *bridgetest.Peer
//			Shapes:   bridgetest.Unary,
//			FailCode: codes.NotFound,
//		})
//	}
//
// # The test service
//
// The suite calls the methods of bridgetest.v1.Echo (ProtoSource, Service).
// The peer answers them as follows; every reply copies the request's id and
// carries the request id it received (request_id, empty where the protocol
// carries none).
//
//   - Echo replies {text, id, request_id}.
//   - Fail replies with an error of the protocol (an HTTP error status, a
//     SOAP fault, a close code, a "not found"), which the adapter maps to
//     Harness.FailCode.
//   - Hang never replies. The peer gives up only when the caller goes away
//     (the request is cancelled or its connection closed) or the peer stops.
//     A net/http handler notices the caller going away only once it has
//     read the request body: read it before waiting.
//   - Count (server streaming) sends n messages {text, id, request_id,
//     seq: 1..n}, then ends the stream normally; with hold set it keeps the
//     stream open instead, sending nothing, until the caller goes away.
//   - Collect (client streaming) reads the caller's messages up to the one
//     with last set (or the caller's half-close) and replies once with
//     {text: their texts joined by " ", request_id, seq: their number}.
//   - Chat (bidi streaming) replies to each caller message as it comes,
//     {text, id, request_id, seq: 1, 2, ...}, and ends the stream normally
//     after replying to the one with last set (or at the caller's
//     half-close).
//
// Peer.Routes binds each method as a route of the protocol: an HTTP rule,
// (protobridge.v1.route) options, or the adapter's route block. A method
// whose shape the adapter does not serve (Harness.Shapes) should be given
// the binding it would have if it did, so that Bind's refusal is the
// shape's.
//
// # The checks
//
// Run builds a new adapter with the kind's Factory for every subtest, with
// the peer's upstream (zero limits and timeouts set to the bridge's
// defaults, as the daemon's config does), and calls its endpoints directly.
// Requests come as the gRPC front door passes them: a *bridge.WireMessage.
// Every subtest can fail:
//
//   - Bind: every method of a served shape binds; every other method is
//     refused with an error, neither a panic nor an endpoint.
//   - Unary: Echo answers a message of the method's output type with the
//     request's text, leaves the request unchanged, takes a WireMessage and
//     a dynamic message alike, and (when Harness.RequestID has Unary) the
//     peer received the call's request id.
//   - Error: Fail returns no message and an error that is a gRPC status of
//     code Harness.FailCode with a message and a google.rpc.ErrorInfo of
//     domain protobridge.dev (bridge.ErrorDomain) and an UPPER_SNAKE_CASE
//     reason.
//   - Deadline: Hang under a 300ms deadline returns DEADLINE_EXCEEDED, as a
//     status with ErrorInfo, within Grace of the deadline.
//   - Cancel: Hang cancelled after 100ms returns CANCELLED, as a status
//     with ErrorInfo, within Grace of the cancellation.
//   - Concurrent: 20 Echo calls in parallel on one endpoint each get their
//     own reply (run it with -race).
//   - ServerStream: Count delivers n messages in order, each of the output
//     type, then ends with a nil error.
//   - ServerStreamCancel, ServerStreamDeadline: a held Count stream
//     returns CANCELLED within Grace of its cancellation, and
//     DEADLINE_EXCEEDED within Grace of its deadline.
//   - ClientStream: Collect replies once with every caller message.
//   - Bidi: Chat replies to the first message before the second is sent,
//     then ends with a nil error; BidiCancel: a cancelled Chat returns
//     CANCELLED within Grace.
//   - Close: after a unary call, a timed-out call and a call of each
//     streaming shape served, Close returns nil and every goroutine started
//     since the adapter was built has ended within Grace (go.uber.org/goleak)
//     — the adapter's and the peer's serving its connections: Close must
//     release the connections it holds. Calls after Close are not checked:
//     the bridge closes an adapter only once its route table has no call in
//     flight and makes none after.
//
// Checks of a shape the adapter does not serve are skipped. Run's subtests
// run one after another; do not call Run from a parallel test, as the
// goroutine check of Close would see the other tests' goroutines.
package bridgetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Shape is a set of method shapes.
type Shape uint8

// Method shapes.
const (
	// Unary is a unary method (Echo, Fail, Hang).
	Unary Shape = 1 << iota
	// ServerStream is a server-streaming method (Count).
	ServerStream
	// ClientStream is a client-streaming method (Collect).
	ClientStream
	// BidiStream is a bidirectional streaming method (Chat).
	BidiStream
)

// Has reports whether s includes every shape of o.
func (s Shape) Has(o Shape) bool { return s&o == o }

// Grace bounds how long after a call's deadline or cancellation the
// adapter may take to return, and how long goroutines may take to end
// after Close.
const Grace = 2 * time.Second

// Harness describes an adapter under test.
type Harness struct {
	// Kind is the adapter's kind, the upstream's kind unless Peer.Upstream
	// names one.
	Kind string
	// Factory builds the adapter; nil means the factory registered for Kind.
	Factory bridge.Factory
	// Start starts a peer serving bridgetest.v1.Echo over the adapter's
	// protocol (see the package documentation) and says how to reach it.
	// Run calls it once; stop the peer in t.Cleanup.
	Start func(t *testing.T) *Peer
	// Shapes are the method shapes the adapter serves; it must include Unary.
	Shapes Shape
	// RequestID are the shapes whose calls carry Call.RequestID to the
	// peer, which echoes it in request_id.
	RequestID Shape
	// FailCode is the code the adapter gives the peer's answer to Fail.
	FailCode codes.Code
}

// Peer is a running conformance peer.
type Peer struct {
	// Upstream is the upstream the adapter is built for: base_url, the
	// adapter's own block (Config) and any other setting. Name defaults to
	// "bridgetest" and Kind to Harness.Kind.
	Upstream *bridge.Upstream
	// Routes binds the methods of bridgetest.v1.Echo by name ("Echo",
	// "Fail", "Hang", "Count", "Collect", "Chat").
	Routes map[string]Route
	// Env is the environment adapters are built with; nil fields get a
	// discarding logger, a no-op Notify and Tracer and an identity
	// WrapTransport.
	Env *bridge.Env
}

// Route is how one method is bound: what the bridge reads from the
// method's options or its routes: entry. Each bind gets a copy.
type Route struct {
	// HTTP is the google.api.http rule.
	HTTP *annotations.HttpRule
	// Options are the method's (protobridge.v1.route) options.
	Options *pbv1.RouteOptions
	// Encoding is the route's encoding ("json", "xml", "protobuf"); "" for
	// the adapter's default.
	Encoding string
	// Config is the adapter's route block.
	Config bridge.RawConfig
	// Timeout is the route's timeout; 0 leaves it to the upstream.
	Timeout time.Duration
}

// Run checks the adapter described by h against its peer in subtests; see
// the package documentation for what each checks.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if !h.Shapes.Has(Unary) {
		t.Fatal("bridgetest: Harness.Shapes must include Unary")
	}
	if h.FailCode == codes.OK {
		t.Fatal("bridgetest: Harness.FailCode must name the code the adapter gives Fail")
	}
	if h.Start == nil {
		t.Fatal("bridgetest: Harness.Start is nil")
	}
	factory := h.Factory
	if factory == nil {
		f, ok := bridge.LookupAdapter(h.Kind)
		if !ok {
			t.Fatalf("bridgetest: no adapter kind %q is registered (kinds: %v)", h.Kind, bridge.AdapterKinds())
		}
		factory = f
	}
	peer := h.Start(t)
	if peer == nil || peer.Upstream == nil {
		t.Fatal("bridgetest: Start returned no peer upstream")
	}
	r := &runner{h: h, factory: factory, peer: peer}
	t.Run("Bind", r.testBind)
	t.Run("Unary", r.testUnary)
	t.Run("Error", r.testError)
	t.Run("Deadline", r.testDeadline)
	t.Run("Cancel", r.testCancel)
	t.Run("Concurrent", r.testConcurrent)
	t.Run("ServerStream", r.testServerStream)
	t.Run("ServerStreamCancel", r.testServerStreamCancel)
	t.Run("ServerStreamDeadline", r.testServerStreamDeadline)
	t.Run("ClientStream", r.testClientStream)
	t.Run("Bidi", r.testBidi)
	t.Run("BidiCancel", r.testBidiCancel)
	t.Run("Close", r.testClose)
}

// runner runs the checks of one Harness against its peer.
type runner struct {
	h       Harness
	factory bridge.Factory
	peer    *Peer
}

// shapeOf is a method's shape.
func shapeOf(md protoreflect.MethodDescriptor) Shape {
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return BidiStream
	case md.IsStreamingClient():
		return ClientStream
	case md.IsStreamingServer():
		return ServerStream
	}
	return Unary
}

// shapeName names a shape for messages.
func shapeName(s Shape) string {
	switch s {
	case Unary:
		return "unary"
	case ServerStream:
		return "server streaming"
	case ClientStream:
		return "client streaming"
	case BidiStream:
		return "bidi streaming"
	}
	return fmt.Sprintf("Shape(%d)", uint8(s))
}

// need skips the test unless the adapter serves shape.
func (r *runner) need(t *testing.T, shape Shape) {
	t.Helper()
	if !r.h.Shapes.Has(shape) {
		t.Skipf("the adapter does not serve %s methods", shapeName(shape))
	}
}

// upstream returns a copy of the peer's upstream with the daemon's defaults.
func (r *runner) upstream() *bridge.Upstream {
	u := *r.peer.Upstream
	if u.Name == "" {
		u.Name = "bridgetest"
	}
	if u.Kind == "" {
		u.Kind = r.h.Kind
	}
	if u.Timeout == 0 {
		u.Timeout = bridge.DefaultUpstreamTimeout
	}
	if u.ConnectTimeout == 0 {
		u.ConnectTimeout = bridge.DefaultConnectTimeout
	}
	if u.MaxRequestBytes == 0 {
		u.MaxRequestBytes = bridge.DefaultMaxBodyBytes
	}
	if u.MaxResponseBytes == 0 {
		u.MaxResponseBytes = bridge.DefaultMaxBodyBytes
	}
	if u.MaxErrorBodyBytes == 0 {
		u.MaxErrorBodyBytes = bridge.DefaultMaxErrorBodyBytes
	}
	if u.MaxIdleConns == 0 {
		u.MaxIdleConns = bridge.DefaultMaxIdleConns
	}
	return &u
}

// env returns the environment adapters are built with.
func (r *runner) env() *bridge.Env {
	var env bridge.Env
	if r.peer.Env != nil {
		env = *r.peer.Env
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Notify == nil {
		env.Notify = func(*bridge.Route, bridge.Notice) {}
	}
	if env.Tracer == nil {
		env.Tracer = noop.NewTracerProvider().Tracer("bridgetest")
	}
	if env.WrapTransport == nil {
		env.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return rt }
	}
	return &env
}

// open builds an adapter; the caller closes it.
func (r *runner) open(t *testing.T) (bridge.Adapter, *bridge.Upstream) {
	t.Helper()
	u := r.upstream()
	var (
		a   bridge.Adapter
		err error
	)
	if p := catch(func() { a, err = r.factory(u, r.env()) }); p != nil {
		t.Fatalf("the factory panicked: %v", p)
	}
	if err != nil {
		t.Fatalf("the factory failed: %v", err)
	}
	if a == nil {
		t.Fatal("the factory returned no adapter and no error")
	}
	return a, u
}

// adapter builds an adapter closed at the end of the test.
func (r *runner) adapter(t *testing.T) (bridge.Adapter, *bridge.Upstream) {
	t.Helper()
	a, u := r.open(t)
	t.Cleanup(func() { _ = a.Close() })
	return a, u
}

// route builds the route of method name as the bridge would.
func (r *runner) route(u *bridge.Upstream, name string) *bridge.Route {
	md := Service().Methods().ByName(protoreflect.Name(name))
	spec := r.peer.Routes[name]
	rt := &bridge.Route{
		Method:      md,
		Upstream:    u,
		Options:     &pbv1.RouteOptions{},
		Encoding:    spec.Encoding,
		Timeout:     spec.Timeout,
		StatusCodes: map[int]codes.Code{},
		Config:      spec.Config,
		Pos:         bridge.Pos{File: ProtoPath},
	}
	if spec.HTTP != nil {
		rt.HTTP = proto.Clone(spec.HTTP).(*annotations.HttpRule)
	}
	if spec.Options != nil {
		rt.Options = proto.Clone(spec.Options).(*pbv1.RouteOptions)
	}
	return rt
}

// bind binds method name on a; the test fails when it cannot.
func (r *runner) bind(t *testing.T, a bridge.Adapter, u *bridge.Upstream, name string) (bridge.Endpoint, *bridge.Route) {
	t.Helper()
	rt := r.route(u, name)
	ep, err, p := tryBind(a, rt)
	switch {
	case p != nil:
		t.Fatalf("Bind(%s) panicked: %v", name, p)
	case err != nil:
		t.Fatalf("Bind(%s): %v", name, err)
	case ep == nil:
		t.Fatalf("Bind(%s) returned no endpoint and no error", name)
	}
	return ep, rt
}

// tryBind binds a route, catching a panic.
func tryBind(a bridge.Adapter, rt *bridge.Route) (ep bridge.Endpoint, err error, panicked any) {
	panicked = catch(func() { ep, err = a.Bind(rt) })
	return ep, err, panicked
}

// catch runs f and returns what it panicked with, if it did.
func catch(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// newCall builds a call of rt as a front door would, with a fresh request id.
func newCall(rt *bridge.Route, req proto.Message) *bridge.Call {
	return &bridge.Call{
		Route:     rt,
		Request:   req,
		Metadata:  metadata.MD{},
		FrontDoor: "bridgetest",
		RequestID: "bridgetest-" + rand.Text()[:16],
	}
}

// callerStream is the caller's side of a streaming call, as the gRPC front
// door gives it: Recv takes the messages put on in (closing in is the
// caller's half-close); Send delivers to out, blocking while it is full;
// both fail once the call's context ends.
type callerStream struct {
	ctx context.Context
	in  chan proto.Message
	out chan proto.Message
}

func newCallerStream(ctx context.Context) *callerStream {
	return &callerStream{ctx: ctx, in: make(chan proto.Message), out: make(chan proto.Message, 64)}
}

// Recv returns the caller's next message, io.EOF after the half-close.
func (s *callerStream) Recv() (proto.Message, error) {
	select {
	case m, ok := <-s.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-s.ctx.Done():
		return nil, s.ended()
	}
}

// Send hands a message to the caller.
func (s *callerStream) Send(m proto.Message) error {
	if s.ctx.Err() != nil {
		return s.ended()
	}
	select {
	case s.out <- m:
		return nil
	case <-s.ctx.Done():
		return s.ended()
	}
}

// ended is the error of Recv and Send once the call has ended: a status
// of the context's end, as grpc-go's stream returns.
func (s *callerStream) ended() error { return status.FromContextError(s.ctx.Err()).Err() }

// SetHeader accepts header metadata.
func (s *callerStream) SetHeader(metadata.MD) error { return nil }
