// Package daemon runs one config file: the route table behind a router,
// the gRPC front door, the admin listener (metrics, health, routes,
// reload, status page), tracing, reloads and the graceful drain.
// cmd/protobridge is a thin shell around it.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
	grpcfront "github.com/protobridge/protobridge/internal/frontdoor/grpc"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/sandbox"
	"github.com/protobridge/protobridge/internal/telemetry"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Daemon runs one config file: the gRPC server, the admin listener, reloads
// and the graceful drain. cmd/protobridge is a thin shell around it.
type Daemon struct {
	path    string
	log     *slog.Logger
	metrics *telemetry.Metrics
	tel     *telemetry.Telemetry
	router  *router.Router
	srv     *grpcfront.Server
	cfg     atomic.Pointer[config.Config]
	reload  sync.Mutex // one reload at a time
	adminTk string
	tp      *sdktrace.TracerProvider
	mcp     *mcpfront.Server
	mcpAddr atomic.Pointer[net.Addr]
	sandbox *sandbox.Sandbox
	async   *asyncParts // jobs and webhooks (nil when off)
	hookAdr atomic.Pointer[net.Addr]
}

// Option tunes New.
type Option func(*options)

type options struct{ sandbox sandbox.Flags }

// WithSandbox records, replays or mocks every upstream whose config sets
// no sandbox mode of its own (serve --record, --replay, --mock).
func WithSandbox(f sandbox.Flags) Option { return func(o *options) { o.sandbox = f } }

// shutdownTracing flushes and stops the tracer provider, if any.
func (d *Daemon) shutdownTracing() {
	if d.tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeBudget)
	defer cancel()
	if err := d.tp.Shutdown(ctx); err != nil {
		d.log.Warn("flushing traces", "error", err)
	}
}

// New loads and builds the config at path. Logs go to logOut in the
// config's log format.
func New(ctx context.Context, path string, logOut io.Writer, opts ...Option) (*Daemon, error) {
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	d := &Daemon{path: path, log: NewLogger(cfg.Server.LogFormat, logOut), metrics: telemetry.NewMetrics()}
	d.sandbox = sandbox.New(o.sandbox, "", d.log)
	routeLibraryLogs(d.log)
	if cfg.Admin.Token != nil {
		if d.adminTk, err = cfg.Admin.Token.Resolve(cfg.BaseDir); err != nil {
			return nil, err
		}
	}
	tp, err := telemetry.NewTracerProvider(ctx, cfg.Tracing, logOut)
	if err != nil {
		return nil, err
	}
	d.tel = &telemetry.Telemetry{Metrics: d.metrics}
	if tp != nil {
		d.tp = tp
		d.tel.Provider = tp
	}
	t, err := router.Build(ctx, cfg, router.Options{Telemetry: d.tel, Logger: d.log, Sandbox: d.sandbox})
	if err != nil {
		d.shutdownTracing()
		return nil, err
	}
	d.warn(cfg, t)
	d.cfg.Store(cfg)
	d.router = router.New(t, d.log, d.tel)
	d.srv = grpcfront.New(cfg, d.router, d.log, d.tel)
	d.mcp = mcpfront.New(d.router, d.log)
	if err := d.openAsync(ctx, cfg); err != nil {
		_ = t.Close()
		d.shutdownTracing()
		return nil, err
	}
	return d, nil
}

// warn logs what works but is likely a mistake.
func (d *Daemon) warn(cfg *config.Config, t *router.Table) {
	for _, w := range append(cfg.Warnings, t.Warnings...) {
		d.log.Warn("config", "warning", w.String())
	}
}

// NewLogger returns a slog logger writing "text" or "json" lines to w.
func NewLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// Router returns the daemon's router: the invoker every front door uses.
func (d *Daemon) Router() *router.Router { return d.router }

// Reload re-reads the config file and its descriptors, builds a new route
// table and swaps it in. Calls in flight finish on the old table; new calls
// use the new one. An invalid config is rejected with its problems and the
// old table keeps serving. Listen addresses cannot change without a restart.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reload.Lock()
	defer d.reload.Unlock()
	err := d.reloadLocked(ctx)
	if err != nil {
		d.metrics.CountReload("rejected")
		d.log.Error("reload rejected; the previous config keeps serving", "config", d.path, "problems", err.Error())
		return err
	}
	d.metrics.CountReload("ok")
	d.log.Info("reloaded", "config", d.path, "routes", len(d.router.Routes()))
	return nil
}

func (d *Daemon) reloadLocked(ctx context.Context) error {
	cfg, err := config.LoadConfig(d.path)
	if err != nil {
		return err
	}
	old := d.cfg.Load()
	if cfg.Server.Listen != old.Server.Listen || cfg.Admin.Listen != old.Admin.Listen || cfg.MCP.Listen != old.MCP.Listen || cfg.MCP.Stateless != old.MCP.Stateless ||
		asyncChanged(old, cfg) {
		return bridge.Problems{{Pos: bridge.Pos{File: d.path, Line: 1}, Msg: "server.listen, admin.listen, mcp, nats, jobs or webhooks changed", Hint: "restart the daemon to move listeners or change async settings"}}
	}
	t, err := router.Build(ctx, cfg, router.Options{Telemetry: d.tel, Logger: d.log, Sandbox: d.sandbox})
	if err != nil {
		return err
	}
	// The table serving now has its JWKS: give the new one's a moment to
	// load so that JWTs are not denied after the swap.
	wctx, cancel := context.WithTimeout(ctx, reloadKeysWait)
	if !t.WaitReady(wctx) {
		d.log.Warn("reloading before the JWKS loaded; JWTs of these issuers are denied until they do", "waited", reloadKeysWait, "not_ready", strings.Join(t.NotReady(), "; "))
	}
	cancel()
	d.warn(cfg, t)
	d.cfg.Store(cfg)
	d.router.Swap(t)
	return nil
}

// reloadKeysWait bounds how long a reload waits for the new table's JWKS.
const reloadKeysWait = 10 * time.Second

// Run serves gRPC (and the admin listener when configured) until ctx ends,
// then drains: health and /readyz turn NOT_SERVING, new calls are refused,
// calls in flight get up to server.shutdown_grace to finish and are then
// ended with UNAVAILABLE. ready, when set, is called with the bound
// addresses (admin is nil when off).
func (d *Daemon) Run(ctx context.Context, ready func(grpcAddr, adminAddr net.Addr)) error {
	cfg := d.cfg.Load()
	asyncStarted := false
	defer func() {
		if !asyncStarted && d.async != nil {
			d.async.broker.Close() // Run failed before the drain would
		}
	}()
	lis, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		_ = d.router.Table().Close()
		d.shutdownTracing()
		return listenError(cfg, "server.listen", err)
	}
	var admin *http.Server
	var adminAddr net.Addr
	adminErr := make(chan error, 1)
	if cfg.Admin.Listen != "" {
		alis, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			_ = lis.Close()
			_ = d.router.Table().Close()
			d.shutdownTracing()
			return listenError(cfg, "admin.listen", err)
		}
		adminAddr = alis.Addr()
		admin = &http.Server{Handler: d.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { adminErr <- admin.Serve(alis) }()
	}
	stopMCP, err := d.serveMCP(cfg)
	if err != nil {
		_ = lis.Close()
		if admin != nil {
			_ = admin.Close()
		}
		_ = d.router.Table().Close()
		d.shutdownTracing()
		return err
	}
	hookAddr, stopAsync, err := d.startAsync(cfg)
	if err != nil {
		stopMCP()
		_ = lis.Close()
		if admin != nil {
			_ = admin.Close()
		}
		_ = d.router.Table().Close()
		d.shutdownTracing()
		return err
	}
	asyncStarted = true
	if hookAddr != nil {
		d.hookAdr.Store(&hookAddr)
	}
	errc := make(chan error, 1)
	go func() { errc <- d.srv.Serve(lis) }()
	d.log.Info("serving", "address", lis.Addr().String(), "admin", addrString(adminAddr), "routes", len(d.router.Routes()))
	if ready != nil {
		ready(lis.Addr(), adminAddr)
	}
	var serveErr error
	asyncDone := make(chan struct{})
	select {
	case serveErr = <-errc:
		go func() { stopAsync(d.cfg.Load().Server.ShutdownGrace); close(asyncDone) }()
	case <-ctx.Done():
		grace := d.cfg.Load().Server.ShutdownGrace
		d.log.Info("draining", "grace", grace)
		go stopMCP() // drains beside gRPC, within the same grace
		go func() { stopAsync(grace); close(asyncDone) }()
		if !d.srv.Shutdown(grace) {
			d.log.Warn("grace period over; calls still running were ended with UNAVAILABLE (reason DRAINING)")
		}
		serveErr = <-errc
	}
	stopMCP() // waits for the drain begun above
	<-asyncDone
	// The calls are over: what is left (the admin listener, adapters'
	// connections, the trace flush) runs at once and together, bounded so
	// that a peer that does not answer a close cannot hold the exit.
	var wg sync.WaitGroup
	if admin != nil {
		wg.Go(func() {
			_ = admin.Close()
			if err := <-adminErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Warn("admin listener", "error", err)
			}
		})
	}
	wg.Go(func() {
		if err := d.router.Table().Close(); err != nil {
			d.log.Warn("closing adapters", "error", err)
		}
	})
	wg.Go(d.shutdownTracing)
	closed := make(chan struct{})
	go func() { wg.Wait(); close(closed) }()
	t := time.NewTimer(closeBudget)
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C:
		d.log.Warn("closing upstream connections and flushing traces took too long; stopping without them", "waited", closeBudget)
	}
	d.log.Info("stopped")
	return serveErr
}

// closeBudget bounds what Run does after the calls ended.
const closeBudget = time.Second

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

// listenError reports a failure to listen at the config key's position.
func listenError(cfg *config.Config, key string, err error) error {
	for _, l := range cfg.Listeners() {
		if l.Key == key {
			return bridge.Problems{config.ListenProblem(l, err)}
		}
	}
	return fmt.Errorf("%s: %w", key, err)
}

// asyncChanged says whether a reload changes what is fixed at start:
// JetStream, the jobs' workers and the webhook ingress.
func asyncChanged(old, cur *config.Config) bool {
	return !reflect.DeepEqual(old.NATS, cur.NATS) || !reflect.DeepEqual(old.Jobs, cur.Jobs) || !reflect.DeepEqual(old.Webhooks, cur.Webhooks)
}

// WebhookAddr is the webhook listener's bound address (nil before Run
// binds it, or with the ingress off).
func (d *Daemon) WebhookAddr() net.Addr {
	if p := d.hookAdr.Load(); p != nil {
		return *p
	}
	return nil
}
