package mapping

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"cel.dev/cel-go/cel"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/sandbox"
)

// Route is what a route's map: and guards: compile to: the route as its
// adapter sees it (the upstream's message shapes) and the endpoint
// wrapper that maps and guards each call.
type Route struct {
	// Upstream is the route with the upstream's request and reply types,
	// to bind the adapter with.
	Upstream *bridge.Route

	req, reply     *Program
	headers, query []named
	reqGuards      []*guard
	replyGuards    []*guard
	metadata       bool // some expression reads metadata
}

type named struct {
	name string
	prg  *Program
}

type guard struct {
	name    string
	code    codes.Code
	fail    *Program
	message *Program
}

// Compile compiles a route's map: and guards: blocks (either may be nil)
// against r's types. It returns nil when there are problems, which are
// added to ps.
func Compile(env *Env, r *bridge.Route, m *config.MapConfig, g *config.GuardsConfig, ps *bridge.Problems) *Route {
	n := len(*ps)
	if r.Method.IsStreamingClient() || r.Method.IsStreamingServer() {
		ps.Add(r.Pos, "map: and guards: apply to unary methods", "%s streams", r.Name())
		return nil
	}
	in, out := r.Method.Input(), r.Method.Output()
	upIn, upOut := in, out
	if m != nil {
		var err error
		if m.RequestType != "" {
			if upIn, err = env.Message(m.RequestType); err != nil {
				ps.Add(m.Pos, "name a message of the loaded .proto files, with its package", "map.request_type: %v", err)
			}
		}
		if m.ReplyType != "" {
			if upOut, err = env.Message(m.ReplyType); err != nil {
				ps.Add(m.Pos, "name a message of the loaded .proto files, with its package", "map.reply_type: %v", err)
			}
		}
		if len(*ps) > n {
			return nil
		}
		if upIn != in && m.Request == nil {
			ps.Add(m.Pos, "add map.request building the upstream's request from request", "map.request_type %s differs from the method's input %s", upIn.FullName(), in.FullName())
		}
		if upOut != out && m.Reply == nil {
			ps.Add(m.Pos, "add map.reply building the method's reply from reply", "map.reply_type %s differs from the method's output %s", upOut.FullName(), out.FullName())
		}
	}
	reqScope, err := env.Scope(MessageVar("request", in), MetadataVar)
	if err != nil {
		ps.Add(r.Pos, "", "%s: %v", r.Name(), err)
		return nil
	}
	replyScope, err := env.Scope(MessageVar("request", in), MessageVar("reply", upOut), MetadataVar)
	if err != nil {
		ps.Add(r.Pos, "", "%s: %v", r.Name(), err)
		return nil
	}
	mr := &Route{}
	if m != nil {
		if m.Request != nil {
			mr.req = reqScope.Message(m.Request, upIn, "map.request", ps)
		}
		if m.Reply != nil {
			mr.reply = replyScope.Message(m.Reply, out, "map.reply", ps)
		}
		for _, k := range sortedKeys(m.Headers) {
			if !httpguts.ValidHeaderFieldName(k) {
				ps.Add(m.Headers[k].Pos, "use a header name of letters, digits and -", "map.headers: %q is not a header name", k)
				continue
			}
			mr.headers = append(mr.headers, named{http.CanonicalHeaderKey(k), reqScope.Typed(m.Headers[k], cel.StringType, "map.headers "+k, ps)})
		}
		for _, k := range sortedKeys(m.Query) {
			mr.query = append(mr.query, named{k, reqScope.Typed(m.Query[k], cel.StringType, "map.query "+k, ps)})
		}
	}
	if g != nil {
		mr.reqGuards = compileGuards(reqScope, g.Request, "guards.request", codes.InvalidArgument, ps)
		mr.replyGuards = compileGuards(replyScope, g.Reply, "guards.reply", codes.Unknown, ps)
	}
	if len(*ps) > n {
		return nil
	}
	for _, p := range mr.programs() {
		if p.Refs["metadata"] {
			mr.metadata = true
		}
	}
	mr.Upstream = r.WithMethod(method{MethodDescriptor: r.Method, in: upIn, out: upOut})
	return mr
}

func compileGuards(s *Scope, list []*config.GuardConfig, what string, def codes.Code, ps *bridge.Problems) []*guard {
	var out []*guard
	for i, gc := range list {
		if gc == nil {
			continue // reported by the config
		}
		g := &guard{name: gc.Name, code: def}
		if g.name == "" {
			g.name = strconv.Itoa(i)
		}
		if gc.Code != "" {
			g.code, _ = bridge.CodeByName(gc.Code)
		}
		w := fmt.Sprintf("%s[%s]", what, g.name)
		g.fail = s.Typed(gc.Fail, cel.BoolType, w+".fail", ps)
		if gc.Message != nil {
			g.message = s.Typed(*gc.Message, cel.StringType, w+".message", ps)
		}
		out = append(out, g)
	}
	return out
}

func (mr *Route) programs() []*Program {
	ps := []*Program{mr.req, mr.reply}
	for _, h := range append(append([]named(nil), mr.headers...), mr.query...) {
		ps = append(ps, h.prg)
	}
	for _, g := range append(append([]*guard(nil), mr.reqGuards...), mr.replyGuards...) {
		ps = append(ps, g.fail, g.message)
	}
	out := ps[:0]
	for _, p := range ps {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// method is a method descriptor whose input and output are the upstream's
// message shapes.
type method struct {
	protoreflect.MethodDescriptor
	in, out protoreflect.MessageDescriptor
}

func (m method) Input() protoreflect.MessageDescriptor  { return m.in }
func (m method) Output() protoreflect.MessageDescriptor { return m.out }

// Endpoint wraps the adapter's endpoint (bound to Upstream) with the
// route's guards and mappings.
func (mr *Route) Endpoint(inner bridge.Endpoint) bridge.Endpoint {
	return &endpoint{mr: mr, inner: inner}
}

type endpoint struct {
	mr    *Route
	inner bridge.Endpoint
}

// MetadataMap is the caller's metadata as CEL's metadata variable: each
// key's first value.
func MetadataMap(md metadata.MD) map[string]string {
	out := make(map[string]string, len(md))
	for k, v := range md {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

func (e *endpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	mr := e.mr
	vars := Vars{"request": c.Request}
	if mr.metadata {
		vars["metadata"] = MetadataMap(c.Metadata)
	} else {
		vars["metadata"] = map[string]string{}
	}
	if err := runGuards(ctx, mr.reqGuards, vars, c, evalError); err != nil {
		return nil, err
	}
	req := c.Request
	if mr.req != nil {
		up, err := mr.req.Message(ctx, vars)
		if err != nil {
			return nil, evalError(err, c)
		}
		c.Request = up
		defer func() { c.Request = req }()
	}
	if len(mr.headers) > 0 || len(mr.query) > 0 {
		var o outbound
		for _, h := range mr.headers {
			v, err := h.prg.String(ctx, vars)
			if err != nil {
				return nil, evalError(err, c)
			}
			if v == "" {
				continue
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, bridge.Errorf(codes.InvalidArgument, reason.BadRequest, map[string]string{"header": h.name}, "map.headers %s: the value has characters a header cannot carry", h.name)
			}
			if o.header == nil {
				o.header = http.Header{}
			}
			o.header.Set(h.name, v)
		}
		for _, q := range mr.query {
			v, err := q.prg.String(ctx, vars)
			if err != nil {
				return nil, evalError(err, c)
			}
			if v != "" {
				if o.query == nil {
					o.query = url.Values{}
				}
				o.query.Set(q.name, v)
			}
		}
		ctx = context.WithValue(ctx, outboundKey{}, &o)
	}
	resp, err := e.inner.Unary(ctx, c)
	if err != nil || (len(mr.replyGuards) == 0 && mr.reply == nil) {
		return resp, err
	}
	c.Request = req
	vars["request"], vars["reply"] = req, resp
	if err := runGuards(ctx, mr.replyGuards, vars, c, replyEvalError); err != nil {
		return nil, err
	}
	if mr.reply == nil {
		return resp, nil
	}
	out, err := mr.reply.Message(ctx, vars)
	if err != nil {
		return nil, replyEvalError(err, c)
	}
	return out, nil
}

func (e *endpoint) Stream(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
	return e.inner.Stream(ctx, c, s) // never bound: streaming routes take no map (Compile)
}

// Describe says what the adapter calls, mapped.
func (e *endpoint) Describe() string {
	if d, ok := e.inner.(bridge.Describer); ok {
		return d.Describe() + " (mapped)"
	}
	return "mapped"
}

// runGuards fails the call at the first guard that holds; onErr words an
// expression that fails.
func runGuards(ctx context.Context, gs []*guard, vars Vars, c *bridge.Call, onErr func(error, *bridge.Call) error) error {
	for _, g := range gs {
		hit, err := g.fail.Bool(ctx, vars)
		if err != nil {
			return onErr(err, c)
		}
		if !hit {
			continue
		}
		msg := fmt.Sprintf("%s: guard %s failed", c.Route.Name(), g.name)
		if g.message != nil {
			if m, err := g.message.String(ctx, vars); err == nil && m != "" {
				msg = m
			}
		}
		return bridge.Errorf(g.code, reason.GuardFailed, map[string]string{"guard": g.name, "method": c.Route.Name()}, "%s", msg)
	}
	return nil
}

// evalError is the status of an expression over the caller's request
// that failed at run time: a division by zero, an overflow, a missing key.
func evalError(err error, c *bridge.Call) error {
	if _, ok := status.FromError(err); ok {
		return err // the deadline or the cost limit (Program.Eval)
	}
	return bridge.Errorf(codes.InvalidArgument, reason.MappingFailed, map[string]string{"method": c.Route.Name()}, "%v", err)
}

// replyEvalError is the status of an expression over an upstream's reply
// that failed at run time: the upstream's data, not the caller's.
func replyEvalError(err error, c *bridge.Call) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return bridge.Errorf(codes.Unknown, reason.MappingFailed, map[string]string{"method": c.Route.Name()}, "%v", err)
}

type outboundKey struct{}

type outbound struct {
	header http.Header
	query  url.Values
}

// Transport adds the headers and query values map: computed for a call
// (carried in the request's context) to each HTTP request of it.
func Transport(rt http.RoundTripper) http.RoundTripper {
	return roundTripper{rt}
}

type roundTripper struct{ next http.RoundTripper }

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	o, _ := req.Context().Value(outboundKey{}).(*outbound)
	if o == nil {
		return t.next.RoundTrip(req)
	}
	// The values are often credentials taken from the caller: a
	// recording below holds them redacted.
	req = req.Clone(sandbox.WithSecrets(req.Context(), o.header, o.query))
	for k, v := range o.header {
		req.Header[k] = v
	}
	if len(o.query) > 0 {
		q := req.URL.Query()
		for k, v := range o.query {
			q[k] = v
		}
		req.URL.RawQuery = q.Encode()
	}
	return t.next.RoundTrip(req)
}
