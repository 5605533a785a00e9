package bridge

import (
	"context"
	"crypto/x509"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// Call is one call of a route, as it passes through middleware to an Endpoint.
// A front door fills in what it knows (Route, Request, Metadata, FrontDoor,
// Peer, RequestID) and hands it to the Invoker; authentication fills in
// Identity and Claims.
type Call struct {
	// Route is the route being called.
	Route *Route
	// Request is the caller's message for unary and server-streaming calls,
	// of the route's input type; nil for client and bidi streams.
	Request proto.Message
	// Metadata is the caller's metadata (keys in lower case): gRPC metadata,
	// or the HTTP headers of a front door speaking HTTP. It is read only:
	// a front door may share it (the gRPC one shares grpc-go's).
	Metadata metadata.MD
	// FrontDoor names the way the call came in ("grpc", "invoke", "mcp",
	// "async", ...); logs, metrics and traces carry it.
	FrontDoor string
	// Peer is the caller's network peer as the front door saw it.
	Peer Peer
	// Identity names the authenticated caller ("" when the route is open).
	Identity string
	// Claims are the caller's verified JWT claims (nil without a JWT).
	Claims map[string]any
	// Preauthenticated says a trusted front door identified the caller
	// itself (an async job runs with the identity recorded at submit): the
	// chain then applies the route's allow rules to Identity and Claims
	// without asking for credentials again.
	Preauthenticated bool
	// RequestID identifies the call in logs; adapters pass it upstream
	// (X-Request-Id for HTTP). Taken from the caller's x-request-id metadata
	// when valid, generated otherwise.
	RequestID string

	attempts atomic.Int32
	mu       sync.Mutex
	header   metadata.MD
}

// Peer is the network peer of a call.
type Peer struct {
	// Addr is the caller's address (nil when unknown).
	Addr net.Addr
	// VerifiedChains are the caller's client certificate chains, verified
	// by the front door's TLS (nil without mutual TLS).
	VerifiedChains [][]*x509.Certificate
}

// Attempts returns how many times the call has reached its endpoint so far.
func (c *Call) Attempts() int { return int(c.attempts.Load()) }

// CountAttempt records that the call is about to reach its endpoint once
// more and returns the attempt's number (the first is 1). The chain's
// innermost middleware calls it; adapters do not.
func (c *Call) CountAttempt() int { return int(c.attempts.Add(1)) }

// SetHeader adds response header metadata that the bridge sends to the caller
// with the reply. Safe for concurrent use.
func (c *Call) SetHeader(key string, values ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.header == nil {
		c.header = metadata.MD{}
	}
	c.header.Append(key, values...)
}

// ResponseHeader returns a copy of the response header metadata set so far.
func (c *Call) ResponseHeader() metadata.MD {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.header.Copy()
}

// Handler is the unary call signature that endpoints and middleware share.
type Handler func(ctx context.Context, c *Call) (proto.Message, error)

// StreamHandler is the streaming call signature that endpoints and middleware share.
type StreamHandler func(ctx context.Context, c *Call, s Stream) error

// Middleware wraps a unary Handler with a policy (auth, retry, cache, ...).
type Middleware func(next Handler) Handler

// StreamMiddleware wraps a StreamHandler with a policy that applies at
// stream open (auth, rate limits, breaker, handshake retries, timeout).
type StreamMiddleware func(next StreamHandler) StreamHandler

// Chain composes middleware so that the first one listed runs first. Nil
// entries are skipped.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil {
			h = mws[i](h)
		}
	}
	return h
}

// ChainStream composes stream middleware so that the first one listed runs
// first. Nil entries are skipped.
func ChainStream(h StreamHandler, mws ...StreamMiddleware) StreamHandler {
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil {
			h = mws[i](h)
		}
	}
	return h
}
