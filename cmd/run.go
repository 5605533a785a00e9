// Package protobridgecmd is the protobridge command line: serve, check,
// routes, demo and gen. cmd/protobridge is its main. A build with adapters
// of its own (the way Caddy plugins are built) is a main package that
// blank-imports them and calls Main:
//
//	import (
//		"os"
//
//		protobridgecmd "github.com/protobridge/protobridge/cmd"
//		_ "example.com/myadapter"
//	)
//
//	func main() { os.Exit(protobridgecmd.Main(os.Args[1:], os.Stdout, os.Stderr)) }
package protobridgecmd

import (
	"context"
	"errors"
	"flag"
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

	_ "github.com/protobridge/protobridge/adapters/all"
)

const usage = `protobridge — gRPC in front of REST, SOAP and WebSocket backends.

Usage:
  protobridge serve  --config FILE   serve gRPC (and the admin listener) until SIGINT/SIGTERM; SIGHUP reloads
  protobridge check  --config FILE   validate everything serve would load; print each problem as file:line
  protobridge routes --config FILE   list the routes the config serves
  protobridge mcp    --config FILE   serve the routes as MCP tools over stdio (desktop agents, IDEs)
  protobridge demo   [--listen ADDR] serve the demo: sample upstreams built in, grpcurl lines printed
  protobridge gen wsdl FILE --out DIR [--package PKG] [--upstream NAME] [--go-client DIR] [--allow-remote]
                                     generate a .proto (+ field-number lock file) from a WSDL; see gen wsdl -h
  protobridge gen openapi SPEC --out DIR [--package PKG] [--upstream NAME] [--one-service] [--allow-remote]
                                     generate a .proto, lock file and config from an OpenAPI/Swagger spec
  protobridge help                   show this text

Exit status: 0 on success, 1 when the config has problems or serving fails, 2 on bad usage.
`

// Main runs the command line with args (without the program name) and
// returns the exit status. The built-in adapters are always linked in.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve", "check", "routes":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(stderr)
		configPath := fs.String("config", "", "path to the YAML config file")
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if *configPath == "" || fs.NArg() > 0 {
			fmt.Fprintf(stderr, "protobridge %s: --config FILE is required\n\n%s", cmd, usage)
			return 2
		}
		switch cmd {
		case "serve":
			return serve(*configPath, stderr)
		case "check":
			return check(*configPath, stdout, stderr)
		default:
			return routes(*configPath, stdout, stderr)
		}
	case "gen":
		return genCommand(rest, stdout, stderr)
	case "mcp":
		return mcpCommand(rest, os.Stdin, stdout, stderr)
	case "demo":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(stderr)
		listen := fs.String("listen", config.DefaultListen, "gRPC listen address of the demo daemon")
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		return runDemo(*listen, stdout, stderr)
	}
	fmt.Fprintf(stderr, "protobridge: unknown command %q\n\n%s", cmd, usage)
	return 2
}

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
	_, t, ok := load(context.Background(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), stderr)
	if !ok {
		return 1
	}
	defer t.Close()
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

func serve(path string, stderr io.Writer) int {
	return runDaemon(path, stderr, nil)
}

// runDaemon serves a config until SIGINT/SIGTERM, then drains in-flight
// calls for up to the configured grace period. SIGHUP reloads the config.
// ready, when set, is called once the listeners are open.
func runDaemon(path string, stderr io.Writer, ready func(grpcAddr, adminAddr net.Addr)) int {
	var readyD func(*daemon.Daemon, net.Addr, net.Addr)
	if ready != nil {
		readyD = func(_ *daemon.Daemon, g, a net.Addr) { ready(g, a) }
	}
	return runDaemonD(path, stderr, readyD)
}

// runDaemonD is runDaemon with the daemon handed to ready.
func runDaemonD(path string, stderr io.Writer, ready func(d *daemon.Daemon, grpcAddr, adminAddr net.Addr)) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, path, stderr)
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
