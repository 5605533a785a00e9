package protobridgecmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/protobridge/protobridge/internal/daemon"
	"github.com/protobridge/protobridge/internal/sandbox"
)

// serveCommand is `protobridge serve`, with the sandbox flags.
func serveCommand() *cobra.Command {
	var opts func() ([]daemon.Option, error)
	cmd := configCommand("serve", "Serve gRPC (and the admin and MCP listeners) until SIGINT/SIGTERM",
		`Serves the config's routes over gRPC, and the admin and MCP listeners when configured,
until SIGINT or SIGTERM; then stops taking calls and drains in-flight ones for
server.drain_grace. SIGHUP reloads the config; a rejected reload keeps the old one.

--record DIR writes every upstream exchange to DIR/<upstream>-NNNN.har (HAR 1.2,
secrets redacted); --replay DIR answers from those files without calling any
upstream; --mock answers from each route's contract (WSDL-generated types, proto
types). An upstream's own sandbox: block overrides the flag.`,
		func(path string, _, stderr io.Writer) int {
			o, err := opts()
			if err != nil {
				fmt.Fprintln(stderr, "protobridge:", err)
				return exitUsage
			}
			return runDaemon(path, stderr, nil, o...)
		})
	record := cmd.Flags().String("record", "", "record every upstream exchange as HAR 1.2 files in `DIR`")
	replay := cmd.Flags().String("replay", "", "answer every call from the HAR recordings in `DIR`, calling no upstream")
	mock := cmd.Flags().Bool("mock", false, "answer every call from the route's contract, calling no upstream")
	_ = cmd.MarkFlagDirname("record")
	_ = cmd.MarkFlagDirname("replay")
	opts = func() ([]daemon.Option, error) {
		var f sandbox.Flags
		set := 0
		if *record != "" {
			f, set = sandbox.Flags{Mode: sandbox.Record, Dir: *record}, set+1
		}
		if *replay != "" {
			f, set = sandbox.Flags{Mode: sandbox.Replay, Dir: *replay}, set+1
		}
		if *mock {
			f, set = sandbox.Flags{Mode: sandbox.Mock}, set+1
		}
		if set > 1 {
			return nil, errors.New("--record, --replay and --mock exclude each other")
		}
		if set == 0 {
			return nil, nil
		}
		return []daemon.Option{daemon.WithSandbox(f)}, nil
	}
	return cmd
}
