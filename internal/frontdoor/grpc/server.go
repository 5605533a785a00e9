// Package grpcfront is the gRPC front door: one grpc.Server serving every
// route of the current table dynamically (an UnknownServiceHandler, so a
// reload needs no re-registration), grpc.health.v1 overall and per
// service, server reflection v1 and v1alpha from the loaded descriptors,
// and protobridge.v1.BridgeService (Invoke by name with JSON). Calls go
// through the bridge.Invoker like every other front door's.
package grpcfront

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/descriptors"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// Server is the gRPC front door.
type Server struct {
	grpc     *grpc.Server
	health   *health.Server
	router   *router.Router
	log      *slog.Logger
	metrics  *telemetry.Metrics
	draining atomic.Bool
	// calls are the running calls (cuttable), whose contexts end with
	// cause router.ErrDraining when the grace period does.
	calls cutList
	// jobs and subscribe serve BridgeService's async methods (SetAsync).
	jobs      Jobs
	subscribe SubscribeFunc
}

// cutWait is how long calls cut at the end of the grace period get to
// send their UNAVAILABLE DRAINING before the connections are closed
// under them; adapters return at once when their context ends.
const cutWait = 200 * time.Millisecond

// flowWindow is the HTTP/2 stream and connection flow-control window: a
// message of up to 1 MiB is sent without waiting for a window update.
const flowWindow = 1 << 20

// New builds the front door for a router. The config supplies message size
// limits, TLS and whether reflection is on.
func New(cfg *config.Config, r *router.Router, logger *slog.Logger, tel *telemetry.Telemetry) *Server {
	s := &Server{log: logger, health: health.NewServer(), router: r, metrics: tel.M()}
	sopts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.unaryCuttable), grpc.ChainStreamInterceptor(s.streamCuttable)}
	if tel.Tracing() {
		sopts = append(sopts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tel.Provider), otelgrpc.WithPropagators(telemetry.Propagator))))
	}
	if s.metrics != nil {
		sopts = append(sopts, grpc.StatsHandler(&byteCounter{s: s}))
	}
	if cfg.Server.TLS != nil {
		// Checked by the config; a failure here means the files changed since.
		tc, err := cfg.Server.TLS.ServerConfig(cfg.BaseDir)
		if err != nil {
			logger.Error("server TLS", "error", err)
			tc = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, err }}
		}
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(tc)))
	}
	s.grpc = grpc.NewServer(append(sopts,
		grpc.ForceServerCodecV2(protoCodec{}),
		grpc.MaxRecvMsgSize(int(cfg.Server.MaxRecvBytes)),
		grpc.MaxSendMsgSize(int(cfg.Server.MaxSendBytes)),
		grpc.UnknownServiceHandler(s.handleStream),
		// Static flow-control windows: grpc-go's BDP estimator otherwise
		// pings and updates windows on nearly every call (two more writes
		// and wake-ups per call on a fast network, where it gains nothing).
		grpc.InitialWindowSize(flowWindow),
		grpc.InitialConnWindowSize(flowWindow),
		// Calls run on a pool of goroutines whose stacks have grown
		// already, not a new goroutine per call (grpc-go spawns one
		// when every worker is busy, so nothing queues behind them).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.InTapHandle(keepMetadata),
	)...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	pbv1.RegisterBridgeServiceServer(s.grpc, &bridgeService{s: s})
	if cfg.Server.Reflection == nil || *cfg.Server.Reflection {
		opts := reflection.ServerOptions{Services: s, DescriptorResolver: (*tableResolver)(s)}
		reflectionv1.RegisterServerReflectionServer(s.grpc, reflection.NewServerV1(opts))
		reflectionv1alpha.RegisterServerReflectionServer(s.grpc, reflection.NewServer(opts))
	}
	s.setHealth(r.Table())
	r.OnSwap(func(old, cur *router.Table) {
		for name := range old.Services() {
			if _, kept := cur.Services()[name]; !kept {
				s.health.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
			}
		}
		s.setHealth(cur)
	})
	return s
}

// setHealth marks the daemon and every served service SERVING.
func (s *Server) setHealth(t *router.Table) {
	if s.draining.Load() {
		return
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for name := range t.Services() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
}

// Draining reports whether Shutdown has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// Serve accepts connections on lis until Shutdown.
func (s *Server) Serve(lis net.Listener) error {
	err := s.grpc.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown stops accepting calls, marks health NOT_SERVING, and lets
// in-flight calls finish for up to grace. Calls still running then are cut:
// their contexts end, they answer UNAVAILABLE with reason DRAINING (and
// are logged so), and the connections close. It returns true when every
// call finished in time.
func (s *Server) Shutdown(grace time.Duration) bool {
	s.draining.Store(true)
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
	}
	s.calls.cut(router.ErrDraining)
	wait := time.NewTimer(cutWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
		s.grpc.Stop()
		<-done
	}
	return false
}

// cuttable is a call's context, ended with cause router.ErrDraining when
// the grace period ends; release frees it.
func (s *Server) cuttable(ctx context.Context) (_ context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	n := s.calls.add(cancel)
	return ctx, func() {
		s.calls.remove(n)
		cancel(nil)
	}
}

// cutList holds the cancel functions of the running calls, so that
// Shutdown can end their contexts with a cause. A call costs one list
// node; context.AfterFunc on a context shared by every call would cost an
// afterFuncCtx, a callback and an entry in that context's children map,
// held for as long as the call (a long-lived stream) lasts.
type cutList struct {
	mu sync.Mutex
	// root is the sentinel of a circular list (zero until the first add).
	root cutNode
	// cause is set by cut; a call added later is cut at once.
	cause error
}

// cutNode is one running call in a cutList.
type cutNode struct {
	prev, next *cutNode
	cancel     context.CancelCauseFunc
}

// add registers a call's cancel function; it returns the node to remove
// when the call ends, or nil when the list was cut already (cancel has
// been called then).
func (l *cutList) add(cancel context.CancelCauseFunc) *cutNode {
	n := &cutNode{cancel: cancel}
	l.mu.Lock()
	if cause := l.cause; cause != nil {
		l.mu.Unlock()
		cancel(cause)
		return nil
	}
	if l.root.next == nil {
		l.root.prev, l.root.next = &l.root, &l.root
	}
	n.prev, n.next = l.root.prev, &l.root
	n.prev.next = n
	l.root.prev = n
	l.mu.Unlock()
	return n
}

// remove unregisters a call; n may be nil.
func (l *cutList) remove(n *cutNode) {
	if n == nil {
		return
	}
	l.mu.Lock()
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
	l.mu.Unlock()
}

// cut ends the context of every running call, and of every call added
// from now on, with cause. Only the first cut counts.
func (l *cutList) cut(cause error) {
	l.mu.Lock()
	if l.cause != nil {
		l.mu.Unlock()
		return
	}
	l.cause = cause
	var cancels []context.CancelCauseFunc
	for n := l.root.next; n != nil && n != &l.root; n = n.next {
		cancels = append(cancels, n.cancel)
	}
	l.mu.Unlock()
	for _, cancel := range cancels {
		cancel(cause)
	}
}

// unaryCuttable runs a unary handler (BridgeService, health) on a
// cuttable context.
func (s *Server) unaryCuttable(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, release := s.cuttable(ctx)
	defer release()
	resp, err := h(ctx, req)
	return resp, router.CutError(ctx, err)
}

// streamCuttable runs a streaming handler (every routed method, health
// Watch, reflection) on a cuttable context.
func (s *Server) streamCuttable(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, release := s.cuttable(ss.Context())
	defer release()
	return router.CutError(ctx, h(srv, &ctxStream{ServerStream: ss, ctx: ctx}))
}

// ctxStream is a grpc.ServerStream with another context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }

// GetServiceInfo lists the built-in services and the table's services, for reflection.
func (s *Server) GetServiceInfo() map[string]grpc.ServiceInfo {
	info := s.grpc.GetServiceInfo()
	for name, sd := range s.router.Table().Services() {
		si := grpc.ServiceInfo{}
		ms := sd.Methods()
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			si.Methods = append(si.Methods, grpc.MethodInfo{Name: string(md.Name()), IsClientStream: md.IsStreamingClient(), IsServerStream: md.IsStreamingServer()})
		}
		info[name] = si
	}
	return info
}

// tableResolver resolves descriptors in the current table, then the built-ins.
type tableResolver Server

func (r *tableResolver) resolvers() descriptors.ChainResolver {
	return descriptors.ChainResolver{r.router.Table().Files(), protoregistry.GlobalFiles}
}

// FindFileByPath implements protodesc.Resolver.
func (r *tableResolver) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	return r.resolvers().FindFileByPath(p)
}

// FindDescriptorByName implements protodesc.Resolver.
func (r *tableResolver) FindDescriptorByName(n protoreflect.FullName) (protoreflect.Descriptor, error) {
	return r.resolvers().FindDescriptorByName(n)
}

// handleStream serves every method that is not built in: it reads the
// request and hands the call to the router.
func (s *Server) handleStream(_ any, ss grpc.ServerStream) error {
	fullMethod, _ := grpc.MethodFromServerStream(ss)
	ctx := ss.Context()
	route, ok := s.router.Route(fullMethod)
	if !ok {
		return s.router.Unknown(fullMethod, frontDoor)
	}
	call := &bridge.Call{Route: route, Metadata: callMetadata(ctx), FrontDoor: frontDoor, Peer: peerOf(ctx)}
	start := time.Now()
	m := route.Method
	if m.IsStreamingClient() || m.IsStreamingServer() {
		if !m.IsStreamingClient() {
			req, err := newIncoming(m.Input()).recv(ss)
			if err != nil {
				s.router.ObserveFailedCall(call, start, err)
				return err
			}
			call.Request = req
		}
		st := &serverStream{ss: ss, in: m.Input(), out: m.Output(), call: call}
		err := s.router.Stream(ctx, call, st)
		st.setRequestID()
		return err
	}
	req, err := newIncoming(m.Input()).recv(ss)
	if err != nil {
		s.router.ObserveFailedCall(call, start, err)
		return err
	}
	call.Request = req
	resp, err := s.router.Unary(ctx, call)
	_ = ss.SetHeader(call.ResponseHeader())
	if err == nil {
		err = ss.SendMsg(resp)
	}
	return err
}

// tappedMD is the context key of the metadata keepMetadata saw.
type tappedMD struct{}

// keepMetadata is the server's tap: it keeps the metadata grpc-go decoded
// for the call in the call's context, so that the call can share it
// instead of copying it (metadata.FromIncomingContext copies every key and
// value, a few hundred bytes held for as long as a stream lasts). grpc-go
// builds that metadata from the HTTP/2 header fields, whose names are in
// lower case on the wire (x/net/http2 rejects others), as bridge.Call
// wants, and does not change it after the tap.
func keepMetadata(ctx context.Context, info *tap.Info) (context.Context, error) {
	return context.WithValue(ctx, tappedMD{}, info.Header), nil
}

// callMetadata is the caller's metadata for a bridge.Call: the map
// keepMetadata kept (shared, read only), or a copy when the tap did not
// run.
func callMetadata(ctx context.Context) metadata.MD {
	if md, ok := ctx.Value(tappedMD{}).(metadata.MD); ok {
		return md
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return md
}

// frontDoor labels the calls of this front door in logs, metrics and traces.
const frontDoor = "grpc"

// peerOf is the call's network peer and verified client certificates.
func peerOf(ctx context.Context) bridge.Peer {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return bridge.Peer{}
	}
	out := bridge.Peer{Addr: p.Addr}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		out.VerifiedChains = ti.State.VerifiedChains
	}
	return out
}

// byteCounter counts the wire bytes of routed calls' messages, as gRPC
// reports them, in protobridge_message_bytes_total.
type byteCounter struct{ s *Server }

type methodKey struct{}

// TagRPC remembers the method of the call.
func (b *byteCounter) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, methodKey{}, info.FullMethodName)
}

// HandleRPC counts payload bytes of methods the current table routes.
func (b *byteCounter) HandleRPC(ctx context.Context, st stats.RPCStats) {
	var dir string
	var n int
	switch p := st.(type) {
	case *stats.InPayload:
		dir, n = "in", p.WireLength
	case *stats.OutPayload:
		dir, n = "out", p.WireLength
	default:
		return
	}
	fm, _ := ctx.Value(methodKey{}).(string)
	if _, ok := b.s.router.Route(fm); !ok {
		return
	}
	b.s.metrics.AddMessageBytes(strings.TrimPrefix(fm, "/"), dir, n)
}

// TagConn is part of stats.Handler.
func (b *byteCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

// HandleConn is part of stats.Handler.
func (b *byteCounter) HandleConn(context.Context, stats.ConnStats) {}

// serverStream adapts a grpc.ServerStream to the adapter's Stream.
type serverStream struct {
	ss      grpc.ServerStream
	in, out protoreflect.MessageDescriptor
	// call's request id goes in the response header, set on ss
	// (setRequestID) just before the first reply or header, or when the
	// call ends: gRPC sends the header no sooner, and an idle stream then
	// holds no header of its own.
	call  *bridge.Call
	idSet sync.Once
}

// setRequestID adds the request id to the response header, once.
func (st *serverStream) setRequestID() {
	st.idSet.Do(func() {
		if st.call.RequestID != "" {
			_ = st.ss.SetHeader(metadata.Pairs(router.RequestIDKey, st.call.RequestID))
		}
	})
}

// Recv receives the caller's next message as a WireMessage: checked, kept
// as its encoding, and decoded only if something looks inside it.
func (st *serverStream) Recv() (proto.Message, error) {
	m, err := newIncoming(st.in).recv(st.ss)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, err
	}
	return m, nil
}

// Send sends one reply; a WireMessage that has not been decoded goes as its
// encoding.
func (st *serverStream) Send(m proto.Message) error {
	if bridge.MessageName(m) != st.out.FullName() {
		return bridge.Errorf(codes.Internal, reason.BadResponseType, nil, "stream produced a message of the wrong type")
	}
	st.setRequestID()
	return st.ss.SendMsg(m)
}

// SetHeader adds response header metadata after the request id.
func (st *serverStream) SetHeader(md metadata.MD) error {
	st.setRequestID()
	return st.ss.SetHeader(md)
}

// bridgeService is protobridge.v1.BridgeService: calls by name with JSON.
type bridgeService struct {
	pbv1.UnimplementedBridgeServiceServer
	s *Server
}

// Invoke calls a unary route with a JSON payload.
func (b *bridgeService) Invoke(ctx context.Context, req *pbv1.InvokeRequest) (*pbv1.InvokeResponse, error) {
	r := b.s.router
	route, ok := r.Route(req.GetMethod())
	if !ok {
		return nil, r.Unknown(req.GetMethod(), invokeFrontDoor)
	}
	md := route.Method
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, bridge.Errorf(codes.InvalidArgument, reason.StreamingMethod, map[string]string{"method": req.GetMethod()}, "Invoke calls unary methods only; %s streams", req.GetMethod())
	}
	types := dynamicpb.NewTypes(r.Table().Files())
	in := dynamicpb.NewMessage(md.Input())
	if p := req.GetPayload(); p != nil {
		raw, err := protojson.Marshal(p)
		if err == nil {
			err = protojson.UnmarshalOptions{Resolver: types}.Unmarshal(raw, in)
		}
		if err != nil {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPayload, map[string]string{"method": req.GetMethod()}, "payload does not fit %s: %v", md.Input().FullName(), err)
		}
	}
	mdIn, _ := metadata.FromIncomingContext(ctx)
	call := &bridge.Call{Route: route, Request: in, Metadata: mdIn, FrontDoor: invokeFrontDoor, Peer: peerOf(ctx)}
	resp, err := r.Unary(ctx, call)
	_ = grpc.SetHeader(ctx, call.ResponseHeader())
	if err != nil {
		return nil, err
	}
	raw, err := protojson.MarshalOptions{Resolver: types}.Marshal(resp)
	if err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.Encode, nil, "cannot encode the result as JSON: %v", err)
	}
	out := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, out); err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.Encode, nil, "result is not a JSON object: %v", err)
	}
	return &pbv1.InvokeResponse{Result: out}, nil
}

// invokeFrontDoor labels calls made through BridgeService.Invoke.
const invokeFrontDoor = "invoke"
