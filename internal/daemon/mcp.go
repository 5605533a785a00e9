package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/protobridge/protobridge/internal/config"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"
)

// MCP returns the daemon's MCP front door (stdio is served from it by
// `protobridge mcp`).
func (d *Daemon) MCP() *mcpfront.Server { return d.mcp }

// MCPAddr is the bound address of the MCP streamable HTTP listener once
// Run has opened it (nil when mcp.listen is off).
func (d *Daemon) MCPAddr() net.Addr {
	if a := d.mcpAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// serveMCP opens the MCP listener when mcp.listen is set; stop closes it.
func (d *Daemon) serveMCP(cfg *config.Config) (stop func(), err error) {
	if cfg.MCP.Listen == "" {
		return func() {}, nil
	}
	lis, err := net.Listen("tcp", cfg.MCP.Listen)
	if err != nil {
		return nil, listenError(cfg, "mcp.listen", err)
	}
	addr := lis.Addr()
	d.mcpAddr.Store(&addr)
	scheme := "http://"
	if cfg.Server.TLS != nil {
		// The gRPC port's TLS (and mTLS) serves MCP too: client
		// certificates identify agents as they identify gRPC callers.
		tc, err := cfg.Server.TLS.ServerConfig(cfg.BaseDir)
		if err != nil {
			_ = lis.Close()
			return nil, fmt.Errorf("mcp listener: server.tls: %w", err)
		}
		lis, scheme = tls.NewListener(lis, tc), "https://"
	}
	srv := &http.Server{Handler: d.mcp.Handler(cfg, addr.String()), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	d.log.Info("serving MCP", "address", scheme+addr.String()+mcpfront.Path, "stateless", cfg.MCP.Stateless)
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
			defer cancel()
			// Refuse new connections and requests, let tool calls in flight
			// finish, then end the sessions (their idle streams never end
			// on their own).
			shut := make(chan error, 1)
			go func() { shut <- srv.Shutdown(ctx) }()
			d.mcp.Drain(ctx)
			if <-shut != nil {
				_ = srv.Close()
			}
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Warn("mcp listener", "error", err)
			}
		})
	}, nil
}
