package protobridgecmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/protobridge/protobridge/internal/daemon"
)

// mcpCmd is `protobridge mcp`: the config's routes as MCP tools over stdin
// and stdout, for desktop agents and IDEs that start the server themselves.
func mcpCmd(stdin io.Reader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the routes as MCP tools over stdio (desktop agents, IDEs)",
		Long: `Serves the config's unary and server-streaming routes as MCP tools over stdin and
stdout. Logs go to stderr; SIGHUP reloads (clients get notifications/tools/list_changed).
Credentials for the calls come from PROTOBRIDGE_MCP_API_KEY or PROTOBRIDGE_MCP_TOKEN.
No gRPC or HTTP listener is opened.`,
		Args: noArgs,
	}
	config := configFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		path, err := config()
		if err != nil {
			return err
		}
		return status(serveMCP(path, stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()))
	}
	return cmd
}

// serveMCP serves path's routes over MCP on stdin and stdout until
// SIGINT/SIGTERM or the end of stdin.
func serveMCP(path string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, path, stderr)
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
