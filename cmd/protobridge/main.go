// Command protobridge is a protocol-translation daemon: internal services call
// it over gRPC with ordinary generated stubs, and it calls REST, SOAP and
// WebSocket backends, translating every message both ways.
package main

import (
	"os"

	protobridgecmd "github.com/protobridge/protobridge/cmd"
)

func main() {
	os.Exit(protobridgecmd.Main(os.Args[1:], os.Stdout, os.Stderr))
}
