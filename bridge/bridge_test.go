package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
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
	switch md.Name() {
	case "Slow":
		e.a.running.Add(1)
		defer e.a.running.Add(-1)
		d := time.Duration(in.Get(md.Input().Fields().ByName("delay_ms")).Int()) * time.Millisecond
		select {
		case <-time.After(d):
		case <-ctx.Done():
			e.a.cancelled.Add(1)
			return nil, ctx.Err()
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
