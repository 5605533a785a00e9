package p1

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/protobridge/protobridge/bench/internal/anchor"
	"github.com/protobridge/protobridge/bench/internal/shop"
	"github.com/protobridge/protobridge/bridge"

	_ "github.com/protobridge/protobridge/adapters/rest"
)

// target is one bridge under test, reached by the shared client.
type target struct {
	name string
	cc   *grpc.ClientConn
}

// env is one upstream and both bridges in front of it.
type env struct {
	schema  *shop.Schema
	pay     *shop.Payloads
	up      *shop.Upstream
	targets []target
}

// setup starts the upstream, protobridge and vanguard on loopback, and checks
// once that both bridges do the same work: the upstream sees the same HTTP
// request from each, and each returns the same order.
func setup(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	schema, err := shop.Compile(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	pay, err := schema.NewPayloads()
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{schema: schema, pay: pay, up: shop.NewUpstream(pay.ResponseJSON)}
	upSrv := httptest.NewServer(e.up)
	tb.Cleanup(upSrv.Close)
	upURL, _ := url.Parse(upSrv.URL)

	// protobridge: config + .proto compiled at run time, served by bridge.NewServer.
	cfgPath, err := shop.WriteProtobridgeConfig(tb.TempDir(), "127.0.0.1:0", upSrv.URL)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := bridge.LoadConfig(cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	table, err := bridge.Build(ctx, cfg, logger)
	if err != nil {
		tb.Fatal(err)
	}
	pb := bridge.NewServer(cfg, table, logger)
	pbLis := listen(tb)
	go func() { _ = pb.Serve(pbLis) }()
	tb.Cleanup(func() {
		pb.Shutdown(time.Second)
		_ = table.Close()
	})

	// vanguard: the same .proto compiled at run time, rebuilt with the
	// protobuf runtime's descriptors (as generated code or a descriptor set
	// gives them), and a transcoder in front of a reverse proxy to the same
	// upstream.
	std, err := schema.Standard()
	if err != nil {
		tb.Fatal(err)
	}
	h, err := anchor.NewHandler(std.Service, upURL, anchor.NewTransport())
	if err != nil {
		tb.Fatal(err)
	}
	vg := anchor.NewServer(h)
	vgLis := listen(tb)
	go func() { _ = vg.Serve(vgLis) }()
	tb.Cleanup(func() { _ = vg.Close() })

	for _, t := range []struct{ name, addr string }{{"protobridge", pbLis.Addr().String()}, {"vanguard", vgLis.Addr().String()}} {
		cc, err := shop.Dial(t.addr)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = cc.Close() })
		e.targets = append(e.targets, target{name: t.name, cc: cc})
	}
	for _, t := range e.targets {
		if err := e.check(ctx, t); err != nil {
			tb.Fatalf("%s: %v", t.name, err)
		}
	}
	return e
}

func listen(tb testing.TB) net.Listener {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return lis
}

// check makes one call through t and compares what the upstream received and
// what the caller got back with the expected messages.
func (e *env) check(ctx context.Context, t target) error {
	return shop.Check(ctx, t.cc, e.schema, e.pay, e.up)
}
