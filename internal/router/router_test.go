package router

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
)

// testAdapter serves every route with the endpoint function of the test
// running now and records whether it was closed.
type testAdapter struct{ closed atomic.Bool }

var (
	serve    atomic.Pointer[func(ctx context.Context, c *bridge.Call) (proto.Message, error)]
	adapters sync.Map // *testAdapter → the table generation it belongs to
	builds   atomic.Int32
)

func init() {
	bridge.RegisterAdapter("routertest", func(*bridge.Upstream, *bridge.Env) (bridge.Adapter, error) {
		a := &testAdapter{}
		adapters.Store(a, builds.Load())
		return a, nil
	})
}

func (a *testAdapter) Bind(*bridge.Route) (bridge.Endpoint, error) { return endpoint{}, nil }
func (a *testAdapter) Close() error                                { a.closed.Store(true); return nil }

type endpoint struct{}

func (endpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	return (*serve.Load())(ctx, c)
}

func (endpoint) Stream(context.Context, *bridge.Call, bridge.Stream) error {
	return status.Error(codes.Unimplemented, "no streams here")
}

const testProto = `syntax = "proto3";
package rt.v1;
import "protobridge/v1/options.proto";
message Req { string id = 1; }
message Resp { string id = 1; }
service Svc {
  option (protobridge.v1.service) = {upstream: "up"};
  rpc Get(Req) returns (Resp);
}
`

// build writes the test proto with extra appended to Req's fields and
// builds a table serving it with the routertest adapter.
func build(t *testing.T, extra string) *Table {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rt", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(testProto, "string id = 1; }", "string id = 1; "+extra+"}", 1)
	if err := os.WriteFile(filepath.Join(dir, "rt", "v1", "rt.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "protobridge.yaml")
	body := "descriptors: {import_paths: [" + dir + "], protos: [rt/v1/rt.proto]}\nauth: {open: true}\nupstreams:\n  up: {kind: routertest, base_url: http://127.0.0.1:1}\n"
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	builds.Add(1)
	tab, err := Build(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func setServe(f func(ctx context.Context, c *bridge.Call) (proto.Message, error)) { serve.Store(&f) }

// echo answers a Resp carrying the request's id.
func echo(_ context.Context, c *bridge.Call) (proto.Message, error) {
	out := c.Route.Method.Output()
	resp := dynamicpb.NewMessage(out)
	in := c.Request.ProtoReflect()
	resp.Set(out.Fields().ByName("id"), in.Get(in.Descriptor().Fields().ByName("id")))
	return resp, nil
}

// request makes a Req of route with id set.
func request(route *bridge.Route, id string) proto.Message {
	in := route.Method.Input()
	m := dynamicpb.NewMessage(in)
	m.Set(in.Fields().ByName("id"), protoreflect.ValueOfString(id))
	return m
}

func adapterOf(t *testing.T, generation int32) *testAdapter {
	t.Helper()
	var found *testAdapter
	adapters.Range(func(k, v any) bool {
		if v.(int32) == generation {
			found = k.(*testAdapter)
		}
		return true
	})
	if found == nil {
		t.Fatalf("no adapter of table %d", generation)
	}
	return found
}

// TestSwapDrainsTheOldTable: a call running when the table is swapped
// finishes on the old table, whose adapters are closed only once it has
// ended; OnSwap sees both tables; calls after the swap use the new one,
// and a request read with the old table's types is read again with the
// new ones.
func TestSwapDrainsTheOldTable(t *testing.T) {
	old := build(t, "")
	oldGen := builds.Load()
	r := New(old, nil, nil)
	route, ok := r.Route("rt.v1.Svc/Get")
	if !ok {
		t.Fatal("no route rt.v1.Svc/Get")
	}

	entered, release := make(chan struct{}), make(chan struct{})
	setServe(func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
		close(entered)
		<-release
		return echo(ctx, c)
	})
	done := make(chan error, 1)
	go func() {
		_, err := r.Unary(context.Background(), &bridge.Call{Route: route, Request: request(route, "a"), FrontDoor: "test"})
		done <- err
	}()
	<-entered

	var swaps [][2]*Table
	r.OnSwap(func(o, c *Table) { swaps = append(swaps, [2]*Table{o, c}) })
	cur := build(t, "string note = 2; ")
	t.Cleanup(func() { _ = cur.Close() })
	r.Swap(cur)
	if len(swaps) != 1 || swaps[0][0] != old || swaps[0][1] != cur || r.Table() != cur {
		t.Fatalf("OnSwap saw %v; table now %p, want old %p → new %p", swaps, r.Table(), old, cur)
	}
	if adapterOf(t, oldGen).closed.Load() {
		t.Fatal("the old table's adapter was closed while a call still ran on it")
	}

	// A call whose request was read with the old table's types (its front
	// door looked the route up before the swap) is read again with the new.
	var seen protoreflect.MessageDescriptor
	setServe(func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
		seen = c.Request.ProtoReflect().Descriptor()
		return echo(ctx, c)
	})
	resp, err := r.Unary(context.Background(), &bridge.Call{Route: route, Request: request(route, "b"), FrontDoor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	newRoute, _ := r.Route("rt.v1.Svc/Get")
	if seen != newRoute.Method.Input() || seen.Fields().ByName("note") == nil {
		t.Errorf("the request kept the old table's type %v", seen)
	}
	if got := resp.ProtoReflect().Get(resp.ProtoReflect().Descriptor().Fields().ByName("id")).String(); got != "b" {
		t.Errorf("reply id %q after retyping, want b", got)
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the call running across the swap: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !adapterOf(t, oldGen).closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the old table's adapter was not closed after its last call")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if adapterOf(t, builds.Load()).closed.Load() {
		t.Error("the new table's adapter was closed")
	}
}

// TestSwapToTheSameTable is a no-op: retiring the table being served
// would leave every later call looking for a table to hold.
func TestSwapToTheSameTable(t *testing.T) {
	tab := build(t, "")
	t.Cleanup(func() { _ = tab.Close() })
	r := New(tab, nil, nil)
	swaps := 0
	r.OnSwap(func(_, _ *Table) { swaps++ })
	r.Swap(tab)
	setServe(echo)
	route, _ := r.Route("rt.v1.Svc/Get")
	done := make(chan error, 1)
	go func() {
		_, err := r.Unary(context.Background(), &bridge.Call{Route: route, Request: request(route, "s"), FrontDoor: "test"})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil || swaps != 0 {
			t.Fatalf("call after swapping to the same table: %v, %d swaps", err, swaps)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call after swapping to the same table never started")
	}
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// TestAdapterFaults: a panicking adapter, one answering another type and
// a call of an unknown method get precise statuses, never a crash.
func TestAdapterFaults(t *testing.T) {
	tab := build(t, "")
	t.Cleanup(func() { _ = tab.Close() })
	r := New(tab, nil, nil)
	route, _ := r.Route("rt.v1.Svc/Get")
	call := func() error {
		_, err := r.Unary(context.Background(), &bridge.Call{Route: route, Request: request(route, "x"), FrontDoor: "test"})
		return err
	}

	setServe(func(context.Context, *bridge.Call) (proto.Message, error) { panic("adapter bug") })
	if err := call(); status.Code(err) != codes.Internal || reasonOf(err) != reason.Internal || strings.Contains(err.Error(), "adapter bug") {
		t.Errorf("panic: %v (reason %q)", err, reasonOf(err))
	}
	setServe(func(_ context.Context, c *bridge.Call) (proto.Message, error) { return c.Request, nil })
	if err := call(); status.Code(err) != codes.Internal || reasonOf(err) != reason.BadResponseType {
		t.Errorf("wrong reply type: %v (reason %q)", err, reasonOf(err))
	}
	setServe(func(context.Context, *bridge.Call) (proto.Message, error) { return nil, nil })
	if err := call(); status.Code(err) != codes.Internal || reasonOf(err) != reason.BadResponseType {
		t.Errorf("nil reply: %v (reason %q)", err, reasonOf(err))
	}
	if _, err := r.Unary(context.Background(), &bridge.Call{FrontDoor: "test"}); status.Code(err) != codes.Unimplemented || reasonOf(err) != reason.UnknownMethod {
		t.Errorf("call without a route: %v", err)
	}
	setServe(echo)
	if err := call(); err != nil {
		t.Errorf("a good call after the faults: %v", err)
	}
}

// TestRequestID keeps a caller's id only when it is one short printable
// ASCII value.
func TestRequestID(t *testing.T) {
	for _, keep := range []string{"abc-123", strings.Repeat("x", 128), "!~"} {
		if got := RequestID([]string{keep}); got != keep {
			t.Errorf("RequestID(%q) = %q", keep, got)
		}
	}
	for _, v := range [][]string{nil, {""}, {strings.Repeat("x", 129)}, {"with space"}, {"tab\t"}, {"é"}, {"a", "b"}} {
		got := RequestID(v)
		if len(got) != 32 || strings.Trim(got, "0123456789abcdef") != "" {
			t.Errorf("RequestID(%q) = %q, want 32 random hex digits", v, got)
		}
	}
	if RequestID(nil) == RequestID(nil) {
		t.Error("two made-up request ids are equal")
	}
}

// TestCutError: only a call cut by ErrDraining becomes UNAVAILABLE
// DRAINING; its cause is kept.
func TestCutError(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	err := status.Error(codes.Canceled, "context canceled")
	if got := CutError(ctx, err); got != err {
		t.Errorf("not cut: %v", got)
	}
	cancel(ErrDraining)
	got := CutError(ctx, err)
	if status.Code(got) != codes.Unavailable || reasonOf(got) != reason.Draining || !errors.Is(got, err) {
		t.Errorf("cut: %v (reason %q)", got, reasonOf(got))
	}
	if again := CutError(ctx, got); again != got {
		t.Errorf("a DRAINING status was wrapped again: %v", again)
	}
	if CutError(ctx, nil) != nil {
		t.Error("a cut call that succeeded got an error")
	}
}
