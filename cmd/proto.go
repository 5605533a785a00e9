package protobridgecmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/protobridge/protobridge/internal/protoexport"
)

// protoCommand is `protobridge proto export DIR`.
func protoCommand() *cobra.Command {
	proto := &cobra.Command{
		Use:   "proto",
		Short: "Work with the .proto files built into protobridge",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Usage()
			return exitError(exitUsage)
		},
	}
	proto.AddCommand(&cobra.Command{
		Use:   "export DIR",
		Short: "Write the built-in google/api, buf/validate and protobridge/v1 protos into DIR",
		Long: `Writes the .proto files protobridge builds in — google/api (http annotations),
buf/validate (protovalidate rules) and protobridge/v1 (route options) — under DIR,
so that buf generate or protoc can compile a service's .proto that imports them
and generate client stubs from the same file the daemon serves. Add DIR to the
import paths (buf: a module at DIR; protoc: -I DIR). The README shows a
buf.gen.yaml for Go and Python stubs.`,
		Example: "  protobridge proto export proto\n  buf generate --path proto/shop --path proto/protobridge",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := protoexport.Export(args[0])
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "proto export:", err)
				return exitError(exitFailure)
			}
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		},
	})
	return proto
}
