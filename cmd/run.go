package protobridgecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/daemon"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/webhooks"
	"github.com/protobridge/protobridge/schema"

	_ "github.com/protobridge/protobridge/adapters/all"
)

// load parses the config and builds its route table, printing problems.
func load(ctx context.Context, path string, logger *slog.Logger, stderr io.Writer) (*config.Config, *router.Table, bool) {
	cfg, err := config.LoadConfig(path)
	if err == nil {
		var t *router.Table
		t, err = router.Build(ctx, cfg, router.Options{Logger: logger})
		if err == nil {
			for _, w := range append(cfg.Warnings, t.Warnings...) {
				fmt.Fprintln(stderr, "warning: "+w.String())
			}
			return cfg, t, true
		}
	}
	printProblems(stderr, err)
	return nil, nil, false
}

func printProblems(w io.Writer, err error) {
	var ps bridge.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(w, p.String())
		}
		fmt.Fprintf(w, "%d problem(s)\n", len(ps))
		return
	}
	fmt.Fprintln(w, err)
}

func check(path string, stdout, stderr io.Writer) int {
	cfg, t, ok := load(context.Background(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), stderr)
	if !ok {
		return 1
	}
	defer t.Close()
	if ps := webhooks.CheckSources(cfg, t.Files()); len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stderr, p.String())
		}
		return 1
	}
	// A port already taken would stop serve: say so now.
	for _, p := range cfg.CheckListeners() {
		fmt.Fprintln(stderr, "warning: "+p.String())
	}
	// The config schema, the one editors check with, is stricter in
	// places (a number where text is expected works, but reads as a
	// mistake): what it finds beyond the loader is a warning.
	if data, err := os.ReadFile(path); err == nil {
		for _, p := range schema.Check(path, data) {
			fmt.Fprintln(stderr, "warning: "+p.String()+" [config schema]")
		}
	}
	fmt.Fprintf(stdout, "%s: ok, %d route(s)\n", path, len(t.Routes()))
	return 0
}

func routes(path string, stdout, stderr io.Writer) int {
	_, t, ok := load(context.Background(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), stderr)
	if !ok {
		return 1
	}
	defer t.Close()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tUPSTREAM\tKIND\tBINDING")
	for _, r := range t.Routes() {
		binding := t.Describe(r)
		if binding == "" && r.HTTP != nil {
			verb, p := bridge.HTTPMethodAndPath(r.HTTP)
			binding = verb + " " + p
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name(), r.Upstream.Name, r.Upstream.Kind, binding)
	}
	tw.Flush()
	return 0
}

// runDaemon serves a config until SIGINT/SIGTERM, then drains in-flight
// calls for up to the configured grace period. SIGHUP reloads the config.
// ready, when set, is called with the daemon once the listeners are open.
func runDaemon(path string, stderr io.Writer, ready func(d *daemon.Daemon, grpcAddr, adminAddr net.Addr), opts ...daemon.Option) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, path, stderr, opts...)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	defer reloadOnHUP(ctx, d)()
	var onReady func(g, a net.Addr)
	if ready != nil {
		onReady = func(g, a net.Addr) { ready(d, g, a) }
	}
	if err := d.Run(ctx, onReady); err != nil {
		var ps bridge.Problems
		if errors.As(err, &ps) {
			printProblems(stderr, err)
			return 1
		}
		fmt.Fprintln(stderr, "protobridge:", err)
		return 1
	}
	return 0
}

// reloadOnHUP reloads d's config on each SIGHUP until ctx ends or the
// returned stop is called. A rejected reload is logged by the daemon; the
// old config keeps serving.
func reloadOnHUP(ctx context.Context, d *daemon.Daemon) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				_ = d.Reload(ctx)
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
