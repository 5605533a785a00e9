// Package protobridgecmd is the protobridge command line (on spf13/cobra):
// serve, check, routes, mcp, jobs, demo, gen, version, completion and man.
// cmd/protobridge is its main. A build with adapters of its own (the way
// Caddy plugins are built) is a main package that blank-imports them and
// calls Main:
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
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the config has problems, or serving or generating failed
	exitUsage   = 2 // bad command line
)

// defaultConfig is the config path when neither --config nor
// $PROTOBRIDGE_CONFIG names one.
const defaultConfig = "protobridge.yaml"

// configEnv names the environment variable --config defaults to.
const configEnv = "PROTOBRIDGE_CONFIG"

// exitError ends a command with a status; whatever it had to say has been
// printed already.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// status turns a command's outcome into an error Execute passes through.
func status(code int) error {
	if code == exitOK {
		return nil
	}
	return exitError(code)
}

// Main runs the command line with args (without the program name) and
// returns the exit status: 0 on success, 1 when the config has problems or
// serving fails, 2 on bad usage. The built-in adapters are always linked in.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(os.Stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	var code exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	}
	// Anything else is cobra's or ours about the command line itself.
	fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
	return exitUsage
}

// newRoot builds the command tree. Each command's RunE returns status(code);
// any other error is a usage error.
func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "protobridge",
		Short: "gRPC (and MCP) in front of REST, SOAP and WebSocket backends",
		Long: `protobridge is a protocol-translation daemon: services call it over gRPC with ordinary
generated stubs (agents over MCP), and it calls REST, SOAP and WebSocket backends,
translating every message both ways, with auth, retries, rate limits, breakers and
caching on the way.

The config is --config FILE, else $` + configEnv + `, else ./` + defaultConfig + `.

Exit status: 0 on success, 1 when the config has problems or serving fails, 2 on bad usage.`,
		Version:       versionString(),
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Usage()
			return exitError(exitUsage)
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(
		serveCommand(),
		configCommand("check", "Validate everything serve would load; print each problem as file:line",
			`Loads the config, its descriptors and every route exactly as serve would, without
opening a listener or calling an upstream, and prints each problem as file:line.`,
			check),
		configCommand("routes", "List the routes the config serves",
			"Prints one line per route: method, upstream, kind and binding.", routes),
		mcpCmd(stdin),
		jobsCommand(),
		demoCommand(),
		genCommand(),
		versionCommand(),
		protoCommand(),
		manCommand(root),
	)
	return root
}

// configFlag adds --config to cmd; the returned func resolves it.
func configFlag(cmd *cobra.Command) func() (string, error) {
	path := cmd.Flags().StringP("config", "c", "", "path to the YAML config file (default $"+configEnv+", else ./"+defaultConfig+")")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	return func() (string, error) { return resolveConfig(*path) }
}

// resolveConfig picks the config path: the flag, else $PROTOBRIDGE_CONFIG,
// else ./protobridge.yaml when it exists.
func resolveConfig(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := strings.TrimSpace(os.Getenv(configEnv)); env != "" {
		return env, nil
	}
	if _, err := os.Stat(defaultConfig); err == nil {
		return defaultConfig, nil
	}
	return "", fmt.Errorf("no config: pass --config FILE, set $%s, or put %s in the current directory", configEnv, defaultConfig)
}

// noArgs refuses positional arguments, saying where the config goes.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q (the config is given with --config FILE)", args[0])
	}
	return nil
}

// configCommand is a command whose one input is the config.
func configCommand(name, short, long string, run func(path string, stdout, stderr io.Writer) int) *cobra.Command {
	cmd := &cobra.Command{Use: name, Short: short, Long: long, Args: noArgs}
	config := configFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		path, err := config()
		if err != nil {
			return err
		}
		return status(run(path, cmd.OutOrStdout(), cmd.ErrOrStderr()))
	}
	return cmd
}
