package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

type testServer struct {
	srv  *Server
	conn *grpc.ClientConn
	tab  *Table
	fa   *fakeAdapter
	done chan error
}

// startServer serves a table built from body on a loopback port.
func startServer(t *testing.T, body string) *testServer {
	t.Helper()
	cfg, tab, fa := buildTable(t, body)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: NewServer(cfg, tab, discard()), tab: tab, fa: fa, done: make(chan error, 1)}
	go func() { ts.done <- ts.srv.Serve(lis) }()
	ts.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ts.conn.Close()
		ts.srv.Shutdown(time.Second)
		if err := <-ts.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

func (ts *testServer) method(name protoreflect.Name) protoreflect.MethodDescriptor {
	for _, r := range ts.tab.Routes() {
		if r.Method.Name() == name {
			return r.Method
		}
	}
	panic("no method " + name)
}

// call invokes a unary method with the given int64 field set.
func (ts *testServer) call(ctx context.Context, name protoreflect.Name, field string, v int64, opts ...grpc.CallOption) (*dynamicpb.Message, error) {
	md := ts.method(name)
	req := dynamicpb.NewMessage(md.Input())
	req.Set(md.Input().Fields().ByName(protoreflect.Name(field)), protoreflect.ValueOfInt64(v))
	resp := dynamicpb.NewMessage(md.Output())
	err := ts.conn.Invoke(ctx, "/"+string(md.Parent().FullName())+"/"+string(name), req, resp, opts...)
	return resp, err
}

func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

const openAuth = "auth: {open: true}\n"

func TestUnaryCallReachesAdapter(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	resp, err := ts.call(context.Background(), "GetItem", "id", 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Get(resp.Descriptor().Fields().ByName("name")).String(); got != "item-5" {
		t.Fatalf("name = %q", got)
	}
}

func TestErrorsReachCallerAsStatuses(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	ctx := context.Background()

	err := ts.conn.Invoke(ctx, "/shop.v1.ShopService/Nope", &structpb.Struct{}, &structpb.Struct{})
	if status.Code(err) != codes.Unimplemented || errorInfo(err).GetReason() != "UNKNOWN_METHOD" {
		t.Errorf("unknown method: %v", err)
	}
	err = ts.conn.Invoke(ctx, "/no.Such/Thing", &structpb.Struct{}, &structpb.Struct{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown service: %v", err)
	}
	_, err = ts.call(ctx, "GetItem", "id", 404)
	if ei := errorInfo(err); status.Code(err) != codes.NotFound || ei.GetReason() != "UPSTREAM_HTTP_404" || ei.GetMetadata()["upstream"] != "shop" {
		t.Errorf("adapter error: %v", err)
	}
	_, err = ts.call(ctx, "GetItem", "id", 500)
	if status.Code(err) != codes.Internal {
		t.Errorf("adapter panic: %v", err)
	}
	// The daemon still serves after a panic.
	if _, err := ts.call(ctx, "GetItem", "id", 1); err != nil {
		t.Errorf("after panic: %v", err)
	}
}

func TestDeadlinesBoundTheCall(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth+"routes:\n  - method: shop.v1.ShopService/Slow\n    timeout: 50ms\n")
	_, err := ts.call(context.Background(), "Slow", "delay_ms", 60_000)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("route timeout: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = ts.call(ctx, "Slow", "delay_ms", 60_000)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("caller deadline: %v", err)
	}
	// Both calls were cancelled inside the adapter.
	deadline := time.Now().Add(5 * time.Second)
	for ts.fa.cancelled.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := ts.fa.cancelled.Load(); n != 2 {
		t.Fatalf("adapter saw %d cancellations, want 2", n)
	}
}

func TestResponseHeaderAndServerStream(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	var hdr metadata.MD
	if _, err := ts.call(context.Background(), "Slow", "delay_ms", 1, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-slow"); len(got) != 1 || got[0] != "done" {
		t.Errorf("header = %v", hdr)
	}
	md := ts.method("Watch")
	st, err := ts.conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, "/shop.v1.ShopService/Watch")
	if err != nil {
		t.Fatal(err)
	}
	req := dynamicpb.NewMessage(md.Input())
	req.Set(md.Input().Fields().ByName("id"), protoreflect.ValueOfInt64(10))
	if err := st.SendMsg(req); err != nil {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	var ids []int64
	for {
		m := dynamicpb.NewMessage(md.Output())
		if err := st.RecvMsg(m); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		ids = append(ids, m.Get(md.Output().Fields().ByName("id")).Int())
	}
	if len(ids) != 3 || ids[0] != 10 || ids[2] != 12 {
		t.Fatalf("stream ids = %v", ids)
	}
}

func TestAuthDeniesByDefault(t *testing.T) {
	sum := sha256.Sum256([]byte("s3cret-key"))
	ts := startServer(t, okUpstreams+"auth:\n  api_keys: [{id: team-a, sha256: "+hex.EncodeToString(sum[:])+"}]\nroutes:\n  - method: shop.v1.ShopService/Slow\n    open: true\n")
	ctx := context.Background()
	for name, md := range map[string]metadata.MD{
		"none":       nil,
		"wrong key":  metadata.Pairs("x-api-key", "guess"),
		"bad bearer": metadata.Pairs("authorization", "Bearer guess"),
	} {
		_, err := ts.call(metadata.NewOutgoingContext(ctx, md), "GetItem", "id", 1)
		if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "missing or invalid credentials" {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, md := range []metadata.MD{metadata.Pairs("x-api-key", "s3cret-key"), metadata.Pairs("authorization", "Bearer s3cret-key")} {
		if _, err := ts.call(metadata.NewOutgoingContext(ctx, md), "GetItem", "id", 1); err != nil {
			t.Errorf("valid key refused: %v", err)
		}
	}
	if _, err := ts.call(ctx, "Slow", "delay_ms", 1); err != nil {
		t.Errorf("open route refused: %v", err)
	}
	st, err := ts.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/shop.v1.ShopService/Watch")
	if err == nil {
		_ = st.SendMsg(&structpb.Struct{})
		_ = st.CloseSend()
		err = st.RecvMsg(&structpb.Struct{})
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream without key: %v", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	ctx := context.Background()
	hc := healthpb.NewHealthClient(ts.conn)
	for _, svc := range []string{"", "shop.v1.ShopService"} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", svc, resp, err)
		}
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope.Service"}); status.Code(err) != codes.NotFound {
		t.Errorf("health of unknown service: %v", err)
	}

	rc, err := reflectionv1.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.CloseSend() }()
	if err := rc.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range resp.GetListServicesResponse().GetService() {
		names[s.GetName()] = true
	}
	for _, want := range []string{"shop.v1.ShopService", "protobridge.v1.BridgeService", "grpc.health.v1.Health"} {
		if !names[want] {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	if err := rc.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "shop.v1.ShopService"}}); err != nil {
		t.Fatal(err)
	}
	resp, err = rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fdp := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fdp); err != nil {
			t.Fatal(err)
		}
		if fdp.GetName() == "shop/v1/shop.proto" && fdp.GetService()[0].GetMethod()[0].GetName() == "GetItem" {
			found = true
		}
	}
	if !found {
		t.Errorf("reflection did not return shop/v1/shop.proto")
	}
}

func TestInvokeByName(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	c := pbv1.NewBridgeServiceClient(ts.conn)
	ctx := context.Background()
	payload, _ := structpb.NewStruct(map[string]any{"id": "9007199254740993"})
	resp, err := c.Invoke(ctx, &pbv1.InvokeRequest{Method: "shop.v1.ShopService/GetItem", Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetResult().AsMap()
	if got["id"] != "9007199254740993" || got["name"] != "item-9007199254740993" {
		t.Fatalf("result = %v", got)
	}
	bad, _ := structpb.NewStruct(map[string]any{"nope": 1})
	if _, err := c.Invoke(ctx, &pbv1.InvokeRequest{Method: "/shop.v1.ShopService/GetItem", Payload: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad payload: %v", err)
	}
	if _, err := c.Invoke(ctx, &pbv1.InvokeRequest{Method: "shop.v1.ShopService/Watch"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("streaming method: %v", err)
	}
	if _, err := c.Invoke(ctx, &pbv1.InvokeRequest{Method: "x.Y/Z"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown method: %v", err)
	}
}

func TestShutdownLetsInFlightCallsFinish(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	const calls = 5
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ts.call(context.Background(), "Slow", "delay_ms", 300)
			errs <- err
		}()
	}
	// Wait until every call is inside the adapter, then shut down.
	waitFor(t, func() bool { return inFlight(ts) == calls })
	if !ts.srv.Shutdown(30 * time.Second) {
		t.Error("shutdown cut calls off within the grace period")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("in-flight call failed: %v", err)
		}
	}
}

func TestShutdownCutsCallsAfterGrace(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	errc := make(chan error, 1)
	go func() {
		_, err := ts.call(context.Background(), "Slow", "delay_ms", 60_000)
		errc <- err
	}()
	waitFor(t, func() bool { return inFlight(ts) == 1 })
	if ts.srv.Shutdown(20 * time.Millisecond) {
		t.Error("shutdown reported a clean drain of a 60 s call")
	}
	if err := <-errc; status.Code(err) != codes.Unavailable {
		t.Errorf("cut call: %v", err)
	}
}

// inFlight counts calls of the fake adapter's Slow method still running.
func inFlight(ts *testServer) int { return int(ts.fa.running.Load()) }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStreamPanicBecomesInternal(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	md := ts.method("Watch")
	for _, id := range []int64{500, 1} {
		st, err := ts.conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, "/shop.v1.ShopService/Watch")
		if err != nil {
			t.Fatal(err)
		}
		req := dynamicpb.NewMessage(md.Input())
		req.Set(md.Input().Fields().ByName("id"), protoreflect.ValueOfInt64(id))
		if err := st.SendMsg(req); err != nil {
			t.Fatal(err)
		}
		_ = st.CloseSend()
		n := 0
		for {
			if err = st.RecvMsg(dynamicpb.NewMessage(md.Output())); err != nil {
				break
			}
			n++
		}
		switch {
		case id == 500 && (status.Code(err) != codes.Internal || n != 0):
			t.Errorf("panicking stream: %d messages, %v", n, err)
		case id == 1 && (!errors.Is(err, io.EOF) || n != 3):
			t.Errorf("stream after the panic: %d messages, %v", n, err)
		}
	}
}

// rawCodec sends and receives bytes as they are, to put undecodable
// requests on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// TestUndecodableRequestIsInvalidArgument: request bytes that do not
// decode as the method's input are the caller's mistake, INVALID_ARGUMENT
// with reason BAD_REQUEST_MESSAGE, for unary and server-streaming methods
// alike; the call is logged with that code.
func TestUndecodableRequestIsInvalidArgument(t *testing.T) {
	ts := startServer(t, okUpstreams+openAuth)
	bad := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01} // a field tag that overflows
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []byte
	err := ts.conn.Invoke(ctx, "/shop.v1.ShopService/GetItem", bad, &out, grpc.ForceCodec(rawCodec{}))
	wantInvalid(t, "unary", err)

	st, err := ts.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/shop.v1.ShopService/Watch", grpc.ForceCodec(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(bad); err != nil {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	wantInvalid(t, "server-streaming", st.RecvMsg(&out))
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	st := status.Convert(err)
	var got string
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			got = ei.GetReason()
		}
	}
	if st.Code() != codes.InvalidArgument || got != "BAD_REQUEST_MESSAGE" || !strings.Contains(st.Message(), "does not decode") {
		t.Errorf("%s: %v %q %q, want INVALID_ARGUMENT BAD_REQUEST_MESSAGE", what, st.Code(), got, st.Message())
	}
}
