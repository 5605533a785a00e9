// Package demo is protobridge's zero-to-first-call demo: it starts sample
// upstreams on loopback — a JSON and an XML REST API, a SOAP calculator, a
// WebSocket price ticker and a WebSocket echo chat — writes a config and the
// protos that describe them, and lists grpcurl commands that call them
// through the daemon.
//
// Each sample upstream is an in-memory net/http handler with an embedded
// .proto under proto/<package>/v1 and an entry in demo.yaml.tmpl; adding an
// upstream means adding one to samples, its proto, its config entry and the
// calls that show it off.
package demo

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"

	calculatorv1 "github.com/protobridge/protobridge/examples/soap/calculator/v1"
	"github.com/protobridge/protobridge/schema"
)

//go:embed proto demo.yaml.tmpl
var files embed.FS

// sample is one in-memory upstream the demo serves.
type sample struct {
	name string // key under upstreams: in the config
	// handler serves the upstream; ctx ends when the demo closes, which
	// ends long-lived (WebSocket) handlers.
	handler func(ctx context.Context) http.Handler
}

// samples are the demo's upstreams, started in this order.
var samples = []sample{
	{name: "library", handler: func(context.Context) http.Handler { return newLibrary().handler() }},
	{name: "inventory", handler: func(context.Context) http.Handler { return newInventory().handler() }},
	{name: "calculator", handler: func(context.Context) http.Handler { return calculator{}.handler() }},
	{name: "ticker", handler: ticker{}.handler},
	{name: "chat", handler: chat{}.handler},
}

// call is one command the demo prints, with what running it must show.
// ADDR stands for the daemon's address.
type call struct {
	cmd string
	// want are substrings of grpcurl's combined output.
	want []string
	// exit is grpcurl's exit status: 0, or 64 plus the gRPC code.
	exit int
}

// calls are the demo's commands, in the order they are printed.
var calls = []call{
	{cmd: `grpcurl -plaintext ADDR list`,
		want: []string{"library.v1.LibraryService", "inventory.v1.InventoryService", "calculator.v1.CalculatorService",
			"ticker.v1.TickerService", "chat.v1.ChatService", "protobridge.v1.BridgeService"}},
	{cmd: `grpcurl -plaintext ADDR describe library.v1.LibraryService`,
		want: []string{"rpc GetBook ( .library.v1.GetBookRequest ) returns ( .library.v1.Book )", "rpc CreateBook"}},
	{cmd: `grpcurl -plaintext -d '{"name":"shelves/1/books/1"}' ADDR library.v1.LibraryService/GetBook`,
		want: []string{`"name": "shelves/1/books/1"`, `"title": "The Go Programming Language"`, `"year": 2015`}},
	{cmd: `grpcurl -plaintext -d '{"parent":"shelves/1","author":"brian kernighan","limit":5}' ADDR library.v1.LibraryService/ListBooks`,
		want: []string{`"title": "The C Programming Language"`, `"title": "The Practice of Programming"`}},
	{cmd: `grpcurl -plaintext -d '{"warehouse":"north"}' ADDR inventory.v1.InventoryService/GetStock`,
		want: []string{`"warehouse": "north"`, `"items": [`, `"sku": "BOLT-M6"`, `"quantity": "9007199254740993"`}},
	{cmd: `grpcurl -plaintext -format-error -d '{"name":"shelves/1/books/99"}' ADDR library.v1.LibraryService/GetBook`,
		want: []string{`"code": 5`, `"reason": "UPSTREAM_HTTP_404"`, `"upstream": "library"`}, exit: 64 + 5},
	{cmd: `grpcurl -plaintext -d '{"method":"library.v1.LibraryService/CreateBook","payload":{"parent":"shelves/2","book":{"title":"Go in Practice","author":"Matt Butcher","year":2016}}}' ADDR protobridge.v1.BridgeService/Invoke`,
		want: []string{`"name": "shelves/2/books/2"`, `"title": "Go in Practice"`}},
	{cmd: `grpcurl -plaintext -d '{"int_a":2,"int_b":3}' ADDR calculator.v1.CalculatorService/Add`,
		want: []string{`"addResult": 5`}},
	{cmd: `grpcurl -plaintext -format-error -d '{"int_a":1,"int_b":0}' ADDR calculator.v1.CalculatorService/Divide`,
		want: []string{`"code": 3`, `Attempted to divide by zero.`, `"upstream": "calculator"`}, exit: 64 + 3},
	{cmd: `grpcurl -plaintext -d '{"symbol":"GOPH","count":3}' ADDR ticker.v1.TickerService/Watch`,
		want: []string{`"seq": "1"`, `"seq": "3"`, `"symbol": "GOPH"`, `"price": "100.75"`}},
	{cmd: "grpcurl -plaintext -d @ ADDR chat.v1.ChatService/Chat <<'EOF'\n" +
		`{"user":"ann","text":"hello"}` + "\n" + `{"user":"ann","text":"bye"}` + "\nEOF",
		want: []string{`"text": "ann said: hello"`, `"text": "ann said: bye"`}},
}

// Demo is a running demo: its upstreams and the files it wrote.
type Demo struct {
	// ConfigPath is the demo's config file.
	ConfigPath string
	// Commands are grpcurl command lines that call the daemon at the listen
	// address given to Start.
	Commands []string
	// MCPListen is the demo's mcp.listen: every route is also an MCP tool
	// at http://MCPListen/mcp (and over stdio with `protobridge mcp`).
	MCPListen string

	dir     string
	servers []*http.Server
	calls   []call
	// stop ends the samples' long-lived handlers; handlers counts the
	// handlers running.
	stop     context.CancelFunc
	handlers sync.WaitGroup
}

// Start starts the sample upstreams on 127.0.0.1 (random ports), writes the
// demo config and protos into a temp dir, and returns them. listen is the
// daemon's gRPC address to print in Commands.
func Start(listen string) (d *Demo, err error) {
	d = &Demo{calls: calls}
	ctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	defer func() {
		if err != nil {
			err = errors.Join(err, d.Close())
			d = nil
		}
	}()
	if d.dir, err = os.MkdirTemp("", "protobridge-demo-"); err != nil {
		return d, err
	}
	urls := map[string]string{}
	for _, s := range samples {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return d, fmt.Errorf("upstream %s: %w", s.name, err)
		}
		srv := &http.Server{Handler: d.track(s.handler(ctx)), ReadHeaderTimeout: 10 * time.Second}
		d.servers = append(d.servers, srv)
		go func() { _ = srv.Serve(lis) }()
		urls[s.name] = "http://" + lis.Addr().String()
	}
	if err := fs.WalkDir(files, "proto", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(d.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	}); err != nil {
		return d, err
	}
	calc := filepath.Join(d.dir, "proto", "calculator", "v1", "calculator.proto")
	if err := os.MkdirAll(filepath.Dir(calc), 0o755); err != nil {
		return d, err
	}
	if err := os.WriteFile(calc, calculatorv1.Proto, 0o644); err != nil {
		return d, err
	}
	tmpl, err := template.ParseFS(files, "demo.yaml.tmpl")
	if err != nil {
		return d, err
	}
	var cfg bytes.Buffer
	d.MCPListen = mcpListen(listen)
	if err := tmpl.Execute(&cfg, struct {
		Listen      string
		MCPListen   string
		AdminListen string
		URL         map[string]string
	}{listen, d.MCPListen, adminListen(listen), urls}); err != nil {
		return d, err
	}
	d.ConfigPath = filepath.Join(d.dir, "demo.yaml")
	if err := os.WriteFile(d.ConfigPath, cfg.Bytes(), 0o644); err != nil {
		return d, err
	}
	// The config's modeline names the schema beside it, for editors.
	if err := os.WriteFile(filepath.Join(d.dir, "protobridge.schema.json"), schema.JSON, 0o644); err != nil {
		return d, err
	}
	for _, c := range d.calls {
		d.Commands = append(d.Commands, strings.Replace(c.cmd, "ADDR", listen, 1))
	}
	return d, nil
}

// track counts h's running handlers in d.handlers.
func (d *Demo) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.handlers.Add(1)
		defer d.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

// Close stops the upstreams, waits for their handlers (a WebSocket
// handler outlives its server's Close, which does not track hijacked
// connections) and removes the demo's files.
func (d *Demo) Close() error {
	var errs []error
	d.stop()
	for _, s := range d.servers {
		errs = append(errs, s.Close())
	}
	d.handlers.Wait()
	d.servers = nil
	if d.dir != "" {
		errs = append(errs, os.RemoveAll(d.dir))
		d.dir = ""
	}
	return errors.Join(errs...)
}
