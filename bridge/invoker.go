package bridge

import (
	"context"

	"google.golang.org/protobuf/proto"
)

// Invoker is the single entry into the route table and its policy chain.
// Every front door — the gRPC server, the generic Invoke method, an MCP
// server, an async worker, a composite route — calls routes through it, so
// every call gets the same authentication and allow rules, policies,
// metrics, logs and traces, labelled with Call.FrontDoor.
//
// A front door looks the route up, builds a Call (Route, Request, Metadata,
// FrontDoor, Peer; RequestID may be left empty), and hands it to Unary or
// Stream. The invoker serves the call on the route table current when the
// call starts; a reload lets it finish there.
type Invoker interface {
	// Route finds a served route by "package.Service/Method" (a leading "/"
	// is accepted).
	Route(method string) (*Route, bool)
	// Routes lists the routes served now, sorted by name.
	Routes() []*Route
	// Unary runs a unary call. Errors are gRPC status errors.
	Unary(ctx context.Context, c *Call) (proto.Message, error)
	// Stream runs a streaming call; s is the caller's side of the stream.
	Stream(ctx context.Context, c *Call, s Stream) error
}
