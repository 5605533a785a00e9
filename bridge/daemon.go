package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Daemon runs one config file: the gRPC server, the admin listener, reloads
// and the graceful drain. cmd/protobridge is a thin shell around it.
type Daemon struct {
	path    string
	log     *slog.Logger
	metrics *Metrics
	srv     *Server
	cfg     atomic.Pointer[Config]
	reload  sync.Mutex // one reload at a time
	adminTk string
	opts    []Option
	tp      *sdktrace.TracerProvider
}

// shutdownTracing flushes and stops the tracer provider, if any.
func (d *Daemon) shutdownTracing() {
	if d.tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.tp.Shutdown(ctx); err != nil {
		d.log.Warn("flushing traces", "error", err)
	}
}

// NewDaemon loads and builds the config at path. Logs go to logOut in the
// config's log format.
func NewDaemon(ctx context.Context, path string, logOut io.Writer) (*Daemon, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	d := &Daemon{path: path, log: NewLogger(cfg.Server.LogFormat, logOut), metrics: NewMetrics()}
	if cfg.Admin.Token != nil {
		if d.adminTk, err = cfg.Admin.Token.Resolve(cfg.BaseDir); err != nil {
			return nil, err
		}
	}
	tp, err := NewTracerProvider(ctx, cfg.Tracing, logOut)
	if err != nil {
		return nil, err
	}
	d.opts = []Option{WithMetrics(d.metrics)}
	if tp != nil {
		d.tp = tp
		d.opts = append(d.opts, WithTracerProvider(tp))
	}
	t, err := Build(ctx, cfg, d.log, d.opts...)
	if err != nil {
		d.shutdownTracing()
		return nil, err
	}
	d.cfg.Store(cfg)
	d.srv = NewServer(cfg, t, d.log, d.opts...)
	return d, nil
}

// NewLogger returns a slog logger writing "text" or "json" lines to w.
func NewLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// Server returns the daemon's gRPC server.
func (d *Daemon) Server() *Server { return d.srv }

// Reload re-reads the config file and its descriptors, builds a new route
// table and swaps it in. Calls in flight finish on the old table; new calls
// use the new one. An invalid config is rejected with its problems and the
// old table keeps serving. Listen addresses cannot change without a restart.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reload.Lock()
	defer d.reload.Unlock()
	err := d.reloadLocked(ctx)
	if err != nil {
		d.metrics.reloads.WithLabelValues("rejected").Inc()
		d.log.Error("reload rejected; the previous config keeps serving", "config", d.path, "problems", err.Error())
		return err
	}
	d.metrics.reloads.WithLabelValues("ok").Inc()
	d.log.Info("reloaded", "config", d.path, "routes", len(d.srv.Table().Routes()))
	return nil
}

func (d *Daemon) reloadLocked(ctx context.Context) error {
	cfg, err := LoadConfig(d.path)
	if err != nil {
		return err
	}
	old := d.cfg.Load()
	if cfg.Server.Listen != old.Server.Listen || cfg.Admin.Listen != old.Admin.Listen {
		return Problems{{Pos: Pos{File: d.path, Line: 1}, Msg: "server.listen or admin.listen changed", Hint: "restart the daemon to move listeners"}}
	}
	t, err := Build(ctx, cfg, d.log, d.opts...)
	if err != nil {
		return err
	}
	d.cfg.Store(cfg)
	d.srv.Swap(t)
	return nil
}

// Run serves gRPC (and the admin listener when configured) until ctx ends,
// then drains: health and /readyz turn NOT_SERVING, new calls are refused,
// calls in flight get up to server.shutdown_grace to finish and are then
// ended with UNAVAILABLE. ready, when set, is called with the bound
// addresses (admin is nil when off).
func (d *Daemon) Run(ctx context.Context, ready func(grpcAddr, adminAddr net.Addr)) error {
	cfg := d.cfg.Load()
	lis, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		_ = d.srv.Table().Close()
		d.shutdownTracing()
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	var admin *http.Server
	var adminAddr net.Addr
	adminErr := make(chan error, 1)
	if cfg.Admin.Listen != "" {
		alis, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			_ = lis.Close()
			_ = d.srv.Table().Close()
			d.shutdownTracing()
			return fmt.Errorf("admin listen on %s: %w", cfg.Admin.Listen, err)
		}
		adminAddr = alis.Addr()
		admin = &http.Server{Handler: d.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { adminErr <- admin.Serve(alis) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- d.srv.Serve(lis) }()
	d.log.Info("serving", "address", lis.Addr().String(), "admin", addrString(adminAddr), "routes", len(d.srv.Table().Routes()))
	if ready != nil {
		ready(lis.Addr(), adminAddr)
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		grace := d.cfg.Load().Server.ShutdownGrace
		d.log.Info("draining", "grace", grace)
		if !d.srv.Shutdown(grace) {
			d.log.Warn("grace period over; calls still running were ended with UNAVAILABLE")
		}
		serveErr = <-errc
	}
	if admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = admin.Shutdown(sctx)
		cancel()
		if err := <-adminErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("admin listener", "error", err)
		}
	}
	if err := d.srv.Table().Close(); err != nil {
		d.log.Warn("closing adapters", "error", err)
	}
	d.shutdownTracing()
	d.log.Info("stopped")
	return serveErr
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}
