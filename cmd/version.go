package protobridgecmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// versionString is the module version, VCS commit and time, and the Go
// version this binary was built with, all from its build info: a
// `go install …@v1.2.3` says v1.2.3; a build in a checkout says (devel)
// with the commit.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "protobridge (unknown version: built without module support) " + runtime.Version()
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var commit, when, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value[:min(12, len(s.Value))]
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	out := "protobridge " + version
	if commit != "" {
		out += fmt.Sprintf(" (commit %s, %s%s)", commit, when, modified)
	}
	return out + fmt.Sprintf(" %s %s/%s", info.GoVersion, runtime.GOOS, runtime.GOARCH)
}

// versionCommand is `protobridge version`, the same line as --version.
func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionString())
			return nil
		},
	}
}

// manCommand is `protobridge man DIR`: one man page per command.
func manCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write man pages for every command into DIR",
		Long: `Writes a section-1 man page per command (protobridge.1, protobridge-serve.1, …) into DIR,
e.g. 'protobridge man /usr/local/share/man/man1'.`,
		Args: exactlyOne("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			header := &doc.GenManHeader{Title: "PROTOBRIDGE", Section: "1", Source: "protobridge", Manual: "protobridge manual"}
			root.DisableAutoGenTag = true
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "protobridge man: %v\n", err)
				return exitError(exitFailure)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote man pages into %s\n", args[0])
			return nil
		},
	}
}
