package protobridgecmd

import (
	"fmt"
	"io"
	"net"

	"github.com/protobridge/protobridge/examples/demo"
	"github.com/protobridge/protobridge/internal/daemon"
)

// runDemo starts the built-in sample upstreams, then serves the demo config on
// listen and prints calls a newcomer can paste.
func runDemo(listen string, stdout, stderr io.Writer) int {
	d, err := demo.Start(listen)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	defer d.Close()
	return runDaemonD(d.ConfigPath, stderr, func(dm *daemon.Daemon, addr, _ net.Addr) {
		fmt.Fprintf(stdout, "protobridge demo serving gRPC on %s (config: %s)\n\nTry, in another terminal:\n\n", addr, d.ConfigPath)
		for _, c := range d.Commands {
			fmt.Fprintln(stdout, c)
		}
		fmt.Fprintf(stdout, "\n%s\n", demo.MCPHowTo(dm.MCPAddr().String(), d.ConfigPath))
		fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	})
}
