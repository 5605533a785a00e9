package protobridgecmd

import (
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/protobridge/protobridge/examples/demo"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/daemon"
)

// demoCommand is `protobridge demo`.
func demoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve the demo: sample upstreams built in, grpcurl lines printed",
		Long: `Starts built-in sample REST, SOAP and WebSocket upstreams on loopback ports and serves
a config for them, printing grpcurl (and MCP) commands to paste into another terminal.`,
		Args: cobra.NoArgs,
	}
	listen := cmd.Flags().String("listen", config.DefaultListen, "gRPC listen address of the demo daemon")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return status(runDemo(*listen, cmd.OutOrStdout(), cmd.ErrOrStderr()))
	}
	return cmd
}

// runDemo starts the built-in sample upstreams, then serves the demo config on
// listen and prints calls a newcomer can paste.
func runDemo(listen string, stdout, stderr io.Writer) int {
	d, err := demo.Start(listen)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	defer d.Close()
	return runDaemon(d.ConfigPath, stderr, func(dm *daemon.Daemon, addr, admin net.Addr) {
		fmt.Fprintf(stdout, "protobridge demo serving gRPC on %s (config: %s)\n", addr, d.ConfigPath)
		if admin != nil {
			fmt.Fprintf(stdout, "Status page: http://%s/\n", admin)
		}
		fmt.Fprint(stdout, "\nTry, in another terminal:\n\n")
		for _, c := range d.Commands {
			fmt.Fprintln(stdout, c)
		}
		fmt.Fprintf(stdout, "\n%s\n", demo.MCPHowTo(dm.MCPAddr().String(), d.ConfigPath))
		fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	})
}
