// Package daemontest runs a config's route table behind the gRPC front
// door in-process, on 127.0.0.1, for tests of adapters and policies that
// need the whole call path without a child process.
package daemontest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
	grpcfront "github.com/protobridge/protobridge/internal/frontdoor/grpc"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/sandbox"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// Options tune Start.
type Options struct {
	// Logger receives the daemon's logs (nil: discarded).
	Logger *slog.Logger
	// Telemetry receives metrics and spans (nil: none).
	Telemetry *telemetry.Telemetry
	// Middleware is added to every unary route's chain (router.Options).
	Middleware []bridge.Middleware
	// Sandbox records, replays or mocks upstream traffic (router.Options);
	// nil: one without serve flags, as the daemon has, so that upstreams'
	// sandbox: blocks apply.
	Sandbox *sandbox.Sandbox
}

// Server is a running in-process daemon.
type Server struct {
	// Conn is a grpc-go client connection to it.
	Conn *grpc.ClientConn
	// Router serves its calls; Router.Table() is the route table.
	Router *router.Router
	// Front is its gRPC front door.
	Front *grpcfront.Server
	// Config is the loaded config.
	Config *config.Config
	// Addr is the gRPC listen address.
	Addr string

	served chan error
	closed bool
}

// WriteConfig writes config text to a file in a temporary directory and
// returns its path.
func WriteConfig(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "protobridge.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Start loads and builds the config at path and serves it; the test's
// cleanup shuts it down (Shutdown does so earlier).
func Start(t testing.TB, path string, o Options) *Server {
	t.Helper()
	cfg, err := config.LoadConfig(path)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.Sandbox == nil {
		o.Sandbox = sandbox.New(sandbox.Flags{}, "test", logger)
	}
	tab, err := router.Build(context.Background(), cfg, router.Options{Telemetry: o.Telemetry, Middleware: o.Middleware, Logger: logger, Sandbox: o.Sandbox})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	s := &Server{Config: cfg, Router: router.New(tab, logger, o.Telemetry), served: make(chan error, 1)}
	s.Front = grpcfront.New(cfg, s.Router, logger, o.Telemetry)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = tab.Close()
		t.Fatal(err)
	}
	s.Addr = lis.Addr().String()
	go func() { s.served <- s.Front.Serve(lis) }()
	s.Conn, err = grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t, 5*time.Second) })
	return s
}

// Shutdown drains the server for up to grace and closes its table; it
// reports whether every call finished in time. Later calls do nothing.
func (s *Server) Shutdown(t testing.TB, grace time.Duration) bool {
	if s.closed {
		return true
	}
	s.closed = true
	ok := s.Front.Shutdown(grace)
	if err := <-s.served; err != nil {
		t.Errorf("serve: %v", err)
	}
	_ = s.Conn.Close()
	if err := s.Router.Table().Close(); err != nil {
		t.Errorf("closing the table: %v", err)
	}
	return ok
}
