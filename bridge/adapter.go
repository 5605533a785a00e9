package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// Adapter talks to one upstream of one kind ("rest", "soap", "websocket", ...).
// The bridge builds one Adapter per configured upstream with the Factory
// registered for the upstream's kind, binds every route served by that
// upstream, and closes the Adapter when the route table it belongs to is
// retired.
type Adapter interface {
	// Bind checks a route against what the adapter can do and prepares
	// whatever it needs per call (compiled path templates, codecs). Errors are
	// reported by `protobridge check` against the route's source position.
	Bind(r *Route) (Endpoint, error)
	// Close releases the adapter's resources (idle connections, sockets).
	Close() error
}

// Endpoint serves the calls of one bound route.
type Endpoint interface {
	// Unary performs one unary call. The returned message must be of the
	// route's output type.
	Unary(ctx context.Context, c *Call) (proto.Message, error)
	// Stream serves a streaming call (client, server or bidi). Endpoints that
	// cannot stream return an UNIMPLEMENTED status; Bind should already refuse
	// such routes.
	Stream(ctx context.Context, c *Call, s Stream) error
}

// Describer is implemented by an Endpoint that can say in a few words
// what it calls ("POST /v1/pets", "SOAP Add", "WebSocket /ws/chat"), for
// `protobridge routes`, the admin /routes and the status page.
type Describer interface {
	Describe() string
}

// Stream is the caller's side of a streaming call as an Endpoint sees it.
type Stream interface {
	// Recv returns the caller's next message, or io.EOF once the caller has
	// closed its side.
	Recv() (proto.Message, error)
	// Send sends one message of the route's output type to the caller. It
	// blocks while the caller is not reading (gRPC flow control).
	Send(proto.Message) error
	// SetHeader adds response header metadata; it is sent with the first
	// message or at the end of the call.
	SetHeader(metadata.MD) error
}

// Env is what the bridge hands an adapter factory besides the upstream's config.
type Env struct {
	// Logger is the daemon's logger, already tagged with the upstream's name.
	Logger *slog.Logger
	// BaseDir is the directory of the config file; relative paths in the
	// upstream's config resolve against it.
	BaseDir string
	// Notify reports a health signal the upstream sent about a route
	// (Deprecation, Sunset, Warning); the bridge turns it into a metric and a
	// rate-limited log line. Never nil.
	Notify func(r *Route, n Notice)
	// Tracer starts spans for the adapter's own steps (encode, decode);
	// a no-op tracer when tracing is off. Never nil.
	Tracer trace.Tracer
	// WrapTransport wraps the adapter's HTTP transport so requests carry W3C
	// trace context and get client spans when tracing is on (identity when
	// off) and outbound credentials (basic, API key, bearer, OAuth2, JWT
	// assertions) from the upstream's credentials block. Adapters must wrap
	// every transport they build. Never nil.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// MaxSendBytes is the largest message the front door sends to callers
	// (server.max_send_bytes): a reply, frame or event larger could never
	// be delivered, so adapters never read one larger and refuse limits of
	// their own above it (the upstream's max_response_bytes already is
	// not). Zero when no limit is known.
	MaxSendBytes int64
	// Redactor holds the upstream's outbound secrets, configured and
	// fetched. Adapters redact every upstream text they quote to callers
	// or log with it (Redactor.Quote for bodies), and add the secrets of
	// their own config blocks (Redactor.Add). The core redacts the
	// statuses adapters return once more. Never nil.
	Redactor *Redactor
}

// Notice is a health signal an upstream sent about a route.
type Notice struct {
	// Kind is "deprecation", "sunset" or "warning".
	Kind string
	// Date is the announced date, zero when none was given.
	Date time.Time
	// Detail is the header value or warning text, bounded.
	Detail string
}

// Factory builds the Adapter for one upstream.
type Factory func(u *Upstream, env *Env) (Adapter, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// RegisterAdapter makes an adapter kind available to configs. Adapter packages
// call it from init; registering a kind twice panics, as it is a build error.
func RegisterAdapter(kind string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic(fmt.Sprintf("bridge: adapter kind %q registered twice", kind))
	}
	registry[kind] = f
}

// LookupAdapter returns the factory registered for kind.
func LookupAdapter(kind string) (Factory, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[kind]
	return f, ok
}

// AdapterKinds lists the registered adapter kinds, sorted.
func AdapterKinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
