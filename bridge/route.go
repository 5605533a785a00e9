package bridge

import (
	"errors"
	"strings"
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
	// Options are the method's protobridge.v1.route options, with a routes:
	// entry's websocket block merged in (never nil).
	Options *pbv1.RouteOptions
	// Encoding is the body or frame encoding: "json", "xml" or "protobuf".
	Encoding string
	// Timeout bounds each call; 0 means the upstream's timeout.
	Timeout time.Duration
	// Open serves the route without authentication.
	Open bool
	// StatusCodes overrides the HTTP status → gRPC code mapping.
	StatusCodes map[int]codes.Code
	// Pos is where the binding is declared (the config entry, or the method in its .proto).
	Pos Pos
}

// Name returns the method's full name, "package.Service/Method".
func (r *Route) Name() string {
	return string(r.Method.Parent().FullName()) + "/" + string(r.Method.Name())
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

// rule converts a config HTTP binding to a google.api.HttpRule.
func (h *HTTPRuleConfig) rule() (*annotations.HttpRule, error) {
	r := &annotations.HttpRule{Body: h.Body, ResponseBody: h.ResponseBody}
	n := 0
	set := func(p string, pat func(string) *annotations.HttpRule) {
		if p != "" {
			n++
			r.Pattern = pat(p).Pattern
		}
	}
	set(h.Get, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: p}}
	})
	set(h.Put, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Put{Put: p}}
	})
	set(h.Post, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: p}}
	})
	set(h.Delete, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Delete{Delete: p}}
	})
	set(h.Patch, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Patch{Patch: p}}
	})
	if h.Custom != nil {
		n++
		if h.Custom.Kind == "" || h.Custom.Path == "" {
			return nil, errors.New("custom needs kind and path")
		}
		r.Pattern = &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: h.Custom.Kind, Path: h.Custom.Path}}
	}
	if n != 1 {
		return nil, errors.New("exactly one method and path is needed")
	}
	return r, nil
}

// proto converts a config WebSocket binding to its proto form.
func (w *WebSocketRouteConfig) proto() *pbv1.WebSocketRoute {
	out := &pbv1.WebSocketRoute{
		Path: w.Path, Subprotocols: w.Subprotocols, CorrelationField: w.CorrelationField, Buffer: w.Buffer,
		ReadLimit: uint64(w.ReadLimit), Keepalive: w.Keepalive, KeepaliveTimeout: w.KeepaliveTimeout,
	}
	if rc := w.Reconnect; rc != nil {
		out.Reconnect = &pbv1.WebSocketReconnect{MaxAttempts: rc.MaxAttempts, InitialBackoff: rc.InitialBackoff,
			MaxBackoff: rc.MaxBackoff, ResumeCursor: rc.ResumeCursor, ResumeField: rc.ResumeField}
	}
	return out
}

// proto converts a config stream block to its proto form.
func (c *StreamRouteConfig) proto() *pbv1.StreamRoute {
	return &pbv1.StreamRoute{EventField: c.EventField, IdField: c.IDField, MaxReconnects: c.MaxReconnects,
		InitialBackoff: c.InitialBackoff, MaxBackoff: c.MaxBackoff, MaxEventBytes: uint64(c.MaxEventBytes)}
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

// methodExtensions re-reads a method's options through the global registry so
// extensions compiled at run time (google.api.http, protobridge.v1.route) are
// available as typed values.
func methodExtensions(md protoreflect.MethodDescriptor) (*annotations.HttpRule, *pbv1.RouteOptions) {
	opts := &descriptorpb.MethodOptions{}
	if o, ok := md.Options().(*descriptorpb.MethodOptions); ok && o != nil {
		b, err := proto.Marshal(o)
		if err == nil {
			_ = proto.Unmarshal(b, opts)
		}
	}
	var rule *annotations.HttpRule
	if proto.HasExtension(opts, annotations.E_Http) {
		rule, _ = proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
	}
	ro, _ := proto.GetExtension(opts, pbv1.E_Route).(*pbv1.RouteOptions)
	if ro == nil {
		ro = &pbv1.RouteOptions{}
	}
	return rule, ro
}

// serviceUpstream returns the service's protobridge.v1.service upstream.
func serviceUpstream(sd protoreflect.ServiceDescriptor) string {
	opts := &descriptorpb.ServiceOptions{}
	if o, ok := sd.Options().(*descriptorpb.ServiceOptions); ok && o != nil {
		b, err := proto.Marshal(o)
		if err == nil {
			_ = proto.Unmarshal(b, opts)
		}
	}
	so, _ := proto.GetExtension(opts, pbv1.E_Service).(*pbv1.ServiceOptions)
	return so.GetUpstream()
}
