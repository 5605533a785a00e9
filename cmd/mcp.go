package protobridgecmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protobridge/protobridge/internal/daemon"
)

// mcpCommand serves a config's routes as MCP tools over stdin and stdout,
// for desktop agents and IDEs that start the server themselves. Logs go to
// stderr; SIGHUP reloads (clients get notifications/tools/list_changed).
// Credentials for the calls come from PROTOBRIDGE_MCP_API_KEY or
// PROTOBRIDGE_MCP_TOKEN. No gRPC or HTTP listener is opened.
func mcpCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path to the YAML config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configPath == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "protobridge mcp: --config FILE is required\n\n%s", usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, *configPath, stderr)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	defer d.Router().Table().Close()
	defer reloadOnHUP(ctx, d)()
	var t mcp.Transport = &mcp.StdioTransport{}
	if stdin != os.Stdin || stdout != os.Stdout {
		t = &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}}
	}
	if err := d.MCP().RunTransport(ctx, t); err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "protobridge mcp:", err)
		return 1
	}
	return 0
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
