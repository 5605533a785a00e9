package p1

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/protobridge/protobridge/bench/internal/anchor"
	"github.com/protobridge/protobridge/bench/internal/shop"
	"github.com/protobridge/protobridge/internal/config"
	grpcfront "github.com/protobridge/protobridge/internal/frontdoor/grpc"
	"github.com/protobridge/protobridge/internal/router"

	_ "github.com/protobridge/protobridge/adapters/rest"
)

// Sub-benchmark names. "protobridge" and "vanguard" do the same work and
// make the BENCH line; "protobridge-default" is protobridge with its default
// json_int64 ("number": 64-bit integers as JSON numbers, which vanguard does
// not offer), measured to show what that default costs.
const (
	nameProtobridge = "protobridge"
	nameVanguard    = "vanguard"
	nameDefault     = "protobridge-default"
)

// target is one bridge under test, reached by the shared client.
type target struct {
	name string
	cc   *grpc.ClientConn
}

// env is one upstream and the bridges in front of it.
type env struct {
	schema  *shop.Schema
	pay     *shop.Payloads
	up      *shop.Upstream
	targets []target
}

// setup starts the upstream, protobridge and vanguard on loopback, and checks
// once that they do the same work: the upstream gets the same request from
// each (the same JSON document from protobridge and vanguard), and each
// returns the same order.
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

	addrs := map[string]string{
		// protobridge: config + .proto compiled at run time, router.Build,
		// the gRPC front door, the real adapters/rest.
		nameProtobridge: startProtobridge(tb, upSrv.URL, "string"),
		nameDefault:     startProtobridge(tb, upSrv.URL, ""),
	}
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
	addrs[nameVanguard] = vgLis.Addr().String()

	bodies := map[string][]byte{}
	for _, name := range []string{nameProtobridge, nameVanguard, nameDefault} {
		cc, err := shop.Dial(addrs[name])
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = cc.Close() })
		e.targets = append(e.targets, target{name: name, cc: cc})
		if bodies[name], err = shop.Check(ctx, cc, e.schema, e.pay, e.up); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
	}
	if err := shop.SameJSON(bodies[nameProtobridge], bodies[nameVanguard]); err != nil {
		tb.Fatalf("protobridge and vanguard send different bodies: %v", err)
	}
	return e
}

// startProtobridge serves a protobridge config for the upstream at upURL on
// a loopback listener and returns its address.
func startProtobridge(tb testing.TB, upURL, jsonInt64 string) string {
	tb.Helper()
	cfgPath, err := shop.WriteProtobridgeConfig(tb.TempDir(), "127.0.0.1:0", upURL, jsonInt64)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.LoadConfig(cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	// The daemon's default logger (text, one line per call), written nowhere.
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	table, err := router.Build(context.Background(), cfg, router.Options{Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcfront.New(cfg, router.New(table, logger, nil), logger, nil)
	lis := listen(tb)
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(func() {
		srv.Shutdown(time.Second)
		_ = table.Close()
	})
	return lis.Addr().String()
}

func listen(tb testing.TB) net.Listener {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return lis
}
