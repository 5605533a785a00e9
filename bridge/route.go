package bridge

import (
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Route is one served method bound to an upstream: the proto binding merged
// with config overrides.
type Route struct {
	// Method is the method's descriptor.
	Method protoreflect.MethodDescriptor
	// Upstream is the upstream that serves the method.
	Upstream *Upstream
	// HTTP is the REST binding (google.api.http, or config); nil when none.
	HTTP *annotations.HttpRule
	// Options are the method's protobridge.v1.route options (never nil).
	Options *pbv1.RouteOptions
	// Encoding is the body or frame encoding as the routes: entry, the
	// method's option or the upstream names it ("json", "xml", "protobuf");
	// "" when none does, and the adapter's default applies. The adapter
	// checks it.
	Encoding string
	// Timeout bounds each call; 0 means the upstream's timeout.
	Timeout time.Duration
	// Open serves the route without authentication.
	Open bool
	// StatusCodes overrides the HTTP status → gRPC code mapping.
	StatusCodes map[int]codes.Code
	// Config is the route's adapter block in a routes: entry, the key named
	// by the upstream's kind (`websocket: {path: /chat}`); decode it with
	// Config.Decode.
	Config RawConfig
	// Pos is where the binding is declared (the config entry, or the method in its .proto).
	Pos Pos

	// name caches Name, for the method it was computed for.
	name atomic.Pointer[routeName]
}

// Name returns the method's full name, "package.Service/Method".
func (r *Route) Name() string {
	if p := r.name.Load(); p != nil && r.Method == p.md {
		return p.name
	}
	n := &routeName{md: r.Method, name: string(r.Method.Parent().FullName()) + "/" + string(r.Method.Name())}
	r.name.Store(n)
	return n.name
}

// WithMethod returns a copy of r bound to md instead (a mapped route's
// upstream side, whose messages differ from the front door's).
func (r *Route) WithMethod(md protoreflect.MethodDescriptor) *Route {
	return &Route{Method: md, Upstream: r.Upstream, HTTP: r.HTTP, Options: r.Options, Encoding: r.Encoding,
		Timeout: r.Timeout, Open: r.Open, StatusCodes: r.StatusCodes, Config: r.Config, Pos: r.Pos}
}

// routeName is a Route's name as computed for its method.
type routeName struct {
	md   protoreflect.MethodDescriptor
	name string
}

// FullMethod returns the gRPC method path, "/package.Service/Method".
func (r *Route) FullMethod() string { return "/" + r.Name() }

// Creates reports whether the method creates a resource (an HTTP POST
// binding or a name starting with Create), which maps 409 to ALREADY_EXISTS.
func (r *Route) Creates() bool {
	if r.HTTP != nil && r.HTTP.GetPost() != "" {
		return true
	}
	return strings.HasPrefix(string(r.Method.Name()), "Create")
}

// Idempotent reports whether the method is marked free of side effects or
// idempotent by its idempotency_level option.
func (r *Route) Idempotent() bool {
	opts, _ := r.Method.Options().(*descriptorpb.MethodOptions)
	l := opts.GetIdempotencyLevel()
	return l == descriptorpb.MethodOptions_NO_SIDE_EFFECTS || l == descriptorpb.MethodOptions_IDEMPOTENT
}

// HTTPMethodAndPath returns the HTTP verb and path template of a rule.
func HTTPMethodAndPath(r *annotations.HttpRule) (method, path string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// ReadOption returns the extension xt of a method's, service's or file's
// options (md.Options()), re-read through the global registry so that
// options compiled at run time come back as the extension's Go type. It
// is how an adapter reads a proto option of its own; nil when unset.
func ReadOption(opts proto.Message, xt protoreflect.ExtensionType) proto.Message {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	typed := opts.ProtoReflect().New().Interface()
	b, err := proto.Marshal(opts)
	if err != nil || proto.Unmarshal(b, typed) != nil || !proto.HasExtension(typed, xt) {
		return nil
	}
	m, _ := proto.GetExtension(typed, xt).(proto.Message)
	return m
}
