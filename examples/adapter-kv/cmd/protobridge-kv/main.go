// Command protobridge-kv is the protobridge daemon with the example kv
// adapter linked in beside the built-in ones: the way a build with adapters
// of its own is made. It takes protobridge's commands and flags:
//
//	protobridge-kv serve --config kv.yaml
package main

import (
	"os"

	protobridgecmd "github.com/protobridge/protobridge/cmd"

	_ "github.com/protobridge/protobridge/examples/adapter-kv"
)

func main() { os.Exit(protobridgecmd.Main(os.Args[1:], os.Stdout, os.Stderr)) }
