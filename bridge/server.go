package bridge

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Server is the gRPC front door: it serves every route of the current Table
// dynamically, plus grpc.health.v1, server reflection and the generic
// protobridge.v1.BridgeService.
type Server struct {
	grpc     *grpc.Server
	health   *health.Server
	table    atomic.Pointer[Table]
	log      *slog.Logger
	metrics  *Metrics
	draining atomic.Bool
}

// NewServer builds a server for a table. The config supplies message size
// limits and whether reflection is on.
func NewServer(cfg *Config, t *Table, logger *slog.Logger, opts ...Option) *Server {
	o := collect(opts)
	s := &Server{log: logger, health: health.NewServer(), metrics: o.metrics}
	s.table.Store(t)
	sopts := o.serverOptions()
	if s.metrics != nil {
		sopts = append(sopts, grpc.StatsHandler(&byteCounter{s: s}))
	}
	if cfg.Server.TLS != nil {
		// Checked by LoadConfig; a failure here means the files changed since.
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
	)...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	pbv1.RegisterBridgeServiceServer(s.grpc, &bridgeService{s: s})
	if cfg.Server.Reflection == nil || *cfg.Server.Reflection {
		opts := reflection.ServerOptions{Services: s, DescriptorResolver: (*tableResolver)(s)}
		reflectionv1.RegisterServerReflectionServer(s.grpc, reflection.NewServerV1(opts))
		reflectionv1alpha.RegisterServerReflectionServer(s.grpc, reflection.NewServer(opts))
	}
	s.setHealth(t)
	return s
}

// setHealth marks the daemon and every served service SERVING.
func (s *Server) setHealth(t *Table) {
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for name := range t.services {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
}

// Table returns the route table currently served.
func (s *Server) Table() *Table { return s.table.Load() }

// Swap serves t from now on. Calls already running finish on the old table,
// whose adapters are closed once the last of them ends. Services the new
// table no longer serves report NOT_SERVING.
func (s *Server) Swap(t *Table) {
	old := s.table.Swap(t)
	for name := range old.services {
		if _, kept := t.services[name]; !kept {
			s.health.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
		}
	}
	s.setHealth(t)
	old.retire(s.log)
}

// acquire returns the current table with a reference held for one call.
func (s *Server) acquire() *Table {
	for {
		t := s.table.Load()
		if t.acquire() {
			return t
		}
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
// in-flight calls finish for up to grace before cutting them off. It returns
// true when every call finished in time.
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
		s.grpc.Stop()
		<-done
		return false
	}
}

// GetServiceInfo lists the built-in services and the table's services, for reflection.
func (s *Server) GetServiceInfo() map[string]grpc.ServiceInfo {
	info := s.grpc.GetServiceInfo()
	for name, sd := range s.table.Load().services {
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

func (r *tableResolver) resolvers() chainResolver {
	return chainResolver{r.table.Load().files, protoregistry.GlobalFiles}
}

// FindFileByPath implements protodesc.Resolver.
func (r *tableResolver) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	return r.resolvers().FindFileByPath(p)
}

// FindDescriptorByName implements protodesc.Resolver.
func (r *tableResolver) FindDescriptorByName(n protoreflect.FullName) (protoreflect.Descriptor, error) {
	return r.resolvers().FindDescriptorByName(n)
}

// handleStream serves every method that is not built in: it finds the route
// in the current table and runs it.
func (s *Server) handleStream(_ any, ss grpc.ServerStream) error {
	fullMethod, _ := grpc.MethodFromServerStream(ss)
	t := s.acquire()
	defer t.release()
	br := t.lookup(fullMethod)
	if br == nil {
		err := Errorf(codes.Unimplemented, "UNKNOWN_METHOD", map[string]string{"method": fullMethod}, "method %s is not served by this daemon", fullMethod)
		s.log.Warn("call", "method", fullMethod, "code", codes.Unimplemented.String(), "error", "unknown method")
		if s.metrics != nil {
			s.metrics.observeCall("unknown", "", codes.Unimplemented, 0)
		}
		return err
	}
	ctx := ss.Context()
	call := s.newCall(ctx, br.route)
	start := time.Now()
	var err error
	md := br.route.Method
	if md.IsStreamingClient() || md.IsStreamingServer() {
		if !md.IsStreamingClient() {
			req := &WireMessage{md: md.Input()}
			if err = ss.RecvMsg(req); err != nil {
				s.logCall(br.route, call, start, err)
				return err
			}
			call.Request = req
		}
		if s.metrics != nil {
			g := s.metrics.openStreams.WithLabelValues(br.route.Name(), br.route.Upstream.Name)
			g.Inc()
			defer g.Dec()
		}
		st := &serverStream{ss: ss, in: md.Input(), out: md.Output(), requestID: call.RequestID}
		err = toStatusError(ctx, s.stream(ctx, br, call, st))
		st.setRequestID()
	} else {
		req := &WireMessage{md: md.Input()}
		if err = ss.RecvMsg(req); err != nil {
			s.logCall(br.route, call, start, err)
			return err
		}
		call.Request = req
		var resp proto.Message
		resp, err = s.unary(ctx, br, call)
		_ = ss.SetHeader(call.ResponseHeader())
		if err == nil {
			err = ss.SendMsg(resp)
		}
	}
	s.logCall(br.route, call, start, err)
	return err
}

// requestIDKey is the metadata key of the request id, in and out.
const requestIDKey = "x-request-id"

// newCall starts a call: caller metadata and a request id, echoed back in
// the response header — by the call's header for unary calls, by
// handleStream for streams (whose call header is never sent).
func (s *Server) newCall(ctx context.Context, r *Route) *Call {
	md, _ := metadata.FromIncomingContext(ctx)
	c := &Call{Route: r, Metadata: md, RequestID: validRequestID(md.Get(requestIDKey))}
	if !r.Method.IsStreamingClient() && !r.Method.IsStreamingServer() {
		c.SetHeader(requestIDKey, c.RequestID)
	}
	return c
}

// validRequestID keeps a caller's request id when it is short printable
// ASCII, and makes a random one otherwise.
func validRequestID(v []string) string {
	if len(v) == 1 && len(v[0]) > 0 && len(v[0]) <= 128 {
		ok := true
		for _, r := range v[0] {
			if r < 0x21 || r > 0x7e {
				ok = false
				break
			}
		}
		if ok {
			return v[0]
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
	if b.s.table.Load().lookup(fm) == nil {
		return
	}
	b.s.metrics.messageBytes.WithLabelValues(strings.TrimPrefix(fm, "/"), dir).Add(float64(n))
}

// TagConn is part of stats.Handler.
func (b *byteCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

// HandleConn is part of stats.Handler.
func (b *byteCounter) HandleConn(context.Context, stats.ConnStats) {}

// stream runs a route's stream handler; a panic in it becomes INTERNAL and
// a log line, as in unary calls, instead of taking the daemon down.
func (s *Server) stream(ctx context.Context, br *boundRoute, call *Call, st *serverStream) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("adapter panic", "method", br.route.Name(), "panic", p)
			err = Errorf(codes.Internal, "INTERNAL", nil, "internal error while serving %s", br.route.Name())
		}
	}()
	return br.stream(ctx, call, st)
}

// unary runs a route's handler and checks what it returns.
func (s *Server) unary(ctx context.Context, br *boundRoute, call *Call) (resp proto.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("adapter panic", "method", br.route.Name(), "panic", p)
			resp, err = nil, Errorf(codes.Internal, "INTERNAL", nil, "internal error while serving %s", br.route.Name())
		}
	}()
	resp, err = br.unary(ctx, call)
	if err != nil {
		return nil, toStatusError(ctx, err)
	}
	if resp == nil || messageName(resp) != br.route.Method.Output().FullName() {
		return nil, Errorf(codes.Internal, "BAD_RESPONSE_TYPE", nil, "%s produced a response of the wrong type", br.route.Name())
	}
	return resp, nil
}

// toStatusError makes sure what reaches the caller is a gRPC status.
func toStatusError(ctx context.Context, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(codes.DeadlineExceeded, "DEADLINE_EXCEEDED", nil, "deadline exceeded")
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return Errorf(codes.Canceled, "CANCELLED", nil, "call cancelled")
	}
	return Errorf(codes.Internal, "INTERNAL", nil, "%v", err)
}

func (s *Server) logCall(r *Route, c *Call, start time.Time, err error) {
	code := status.Code(err)
	d := time.Since(start)
	if s.metrics != nil {
		s.metrics.observeCall(r.Name(), r.Upstream.Name, code, d)
	}
	attrs := []any{"method", r.Name(), "upstream", r.Upstream.Name, "code", code.String(), "duration", d.Round(time.Microsecond), "attempts", c.Attempts(), "request_id", c.RequestID}
	if c.Identity != "" {
		attrs = append(attrs, "caller", c.Identity)
	}
	if err != nil {
		attrs = append(attrs, "error", status.Convert(err).Message())
		s.log.Warn("call", attrs...)
		return
	}
	s.log.Info("call", attrs...)
}

// serverStream adapts a grpc.ServerStream to the adapter's Stream.
type serverStream struct {
	ss      grpc.ServerStream
	in, out protoreflect.MessageDescriptor
	// requestID goes in the response header, set on ss (setRequestID) just
	// before the first reply or header, or when the call ends: gRPC sends
	// the header no sooner, and an idle stream then holds no header of its
	// own.
	requestID string
	idSet     sync.Once
}

// setRequestID adds the request id to the response header, once.
func (st *serverStream) setRequestID() {
	st.idSet.Do(func() { _ = st.ss.SetHeader(metadata.Pairs(requestIDKey, st.requestID)) })
}

// Recv receives the caller's next message as a WireMessage: checked, kept
// as its encoding, and decoded only if something looks inside it.
func (st *serverStream) Recv() (proto.Message, error) {
	m := &WireMessage{md: st.in}
	if err := st.ss.RecvMsg(m); err != nil {
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
	if messageName(m) != st.out.FullName() {
		return Errorf(codes.Internal, "BAD_RESPONSE_TYPE", nil, "stream produced a message of the wrong type")
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
	name := "/" + strings.TrimPrefix(req.GetMethod(), "/")
	t := b.s.acquire()
	defer t.release()
	br := t.lookup(name)
	if br == nil {
		return nil, Errorf(codes.Unimplemented, "UNKNOWN_METHOD", map[string]string{"method": req.GetMethod()}, "method %s is not served by this daemon", req.GetMethod())
	}
	md := br.route.Method
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, Errorf(codes.InvalidArgument, "STREAMING_METHOD", map[string]string{"method": req.GetMethod()}, "Invoke calls unary methods only; %s streams", req.GetMethod())
	}
	in := dynamicpb.NewMessage(md.Input())
	if p := req.GetPayload(); p != nil {
		raw, err := protojson.Marshal(p)
		if err == nil {
			err = protojson.UnmarshalOptions{Resolver: dynamicpb.NewTypes(t.files)}.Unmarshal(raw, in)
		}
		if err != nil {
			return nil, Errorf(codes.InvalidArgument, "BAD_PAYLOAD", map[string]string{"method": req.GetMethod()}, "payload does not fit %s: %v", md.Input().FullName(), err)
		}
	}
	call := b.s.newCall(ctx, br.route)
	call.Request = in
	start := time.Now()
	resp, err := b.s.unary(ctx, br, call)
	b.s.logCall(br.route, call, start, err)
	_ = grpc.SetHeader(ctx, call.ResponseHeader())
	if err != nil {
		return nil, err
	}
	raw, err := protojson.MarshalOptions{Resolver: dynamicpb.NewTypes(t.files)}.Marshal(resp)
	if err != nil {
		return nil, Errorf(codes.Internal, "ENCODE", nil, "cannot encode the result as JSON: %v", err)
	}
	out := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, out); err != nil {
		return nil, Errorf(codes.Internal, "ENCODE", nil, "result is not a JSON object: %v", err)
	}
	return &pbv1.InvokeResponse{Result: out}, nil
}
