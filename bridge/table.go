package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Table is a loaded route table: every served method bound to its upstream's
// adapter, plus the descriptors needed to serve and reflect them. A Table is
// immutable once built; a reload builds a new one and swaps it in whole.
type Table struct {
	routes   map[string]*boundRoute // by "/package.Service/Method"
	services map[string]protoreflect.ServiceDescriptor
	files    *protoregistry.Files
	adapters []Adapter
	policies *policies
	cfg      *Config

	// Calls in flight hold a reference; a retired table closes its adapters
	// once the last one ends.
	mu      sync.Mutex
	refs    int
	retired bool
	done    chan struct{}
}

type boundRoute struct {
	route  *Route
	unary  Handler
	stream StreamHandler
}

// Option tunes Build and NewServer.
type Option func(*options)

type options struct {
	metrics    *Metrics
	middleware []Middleware
	tracer     trace.TracerProvider
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithMetrics records calls, attempts and upstream notices in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithMiddleware adds policies to every route's unary handler; they run
// after authentication and the timeout, in the order given.
func WithMiddleware(mws ...Middleware) Option {
	return func(o *options) { o.middleware = append(o.middleware, mws...) }
}

// Build loads the config's descriptors, builds one adapter per upstream and
// binds every served method. Problems are reported with their file:line.
func Build(ctx context.Context, cfg *Config, logger *slog.Logger, opts ...Option) (*Table, error) {
	o := collect(opts)
	d, err := loadDescriptors(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &Table{routes: map[string]*boundRoute{}, services: map[string]protoreflect.ServiceDescriptor{}, files: d.files, cfg: cfg, done: make(chan struct{})}
	var ps Problems

	adapters := map[string]Adapter{}
	notify, tracer := noticeReporter(logger, o.metrics), o.tracerOrNoop()
	names := make([]string, 0, len(cfg.Upstreams))
	for n := range cfg.Upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := cfg.Upstreams[n]
		f, _ := adapterFactory(u.Kind)
		wrap := o.wrapTransport()
		if cr := u.Credentials; cr != nil && (cr.APIKey != nil || cr.Bearer != nil || cr.OAuth2 != nil || cr.JWT != nil) {
			creds, err := outboundWrapper(&OutboundAuth{APIKey: cr.APIKey, Bearer: cr.Bearer, OAuth2: cr.OAuth2, JWT: cr.JWT}, cfg.BaseDir)
			if err != nil {
				ps.add(u.Pos, "give secrets as {env: VAR} or {file: path}", "upstream %q %v", n, err)
				continue
			}
			// Credentials inside tracing: a span records the request as the
			// adapter made it, so a key sent as a query parameter never
			// reaches a span's url.full.
			traced := wrap
			wrap = func(rt http.RoundTripper) http.RoundTripper { return traced(creds(rt)) }
		}
		a, err := f(u, &Env{Logger: logger.With("upstream", n), BaseDir: cfg.BaseDir, Notify: notify, Tracer: tracer, WrapTransport: wrap})
		if err != nil {
			ps.add(u.Pos, "", "upstream %q: %v", n, err)
			continue
		}
		adapters[n] = a
		t.adapters = append(t.adapters, a)
	}

	overrides := map[string]*RouteConfig{}
	for _, rc := range cfg.Routes {
		overrides[strings.TrimPrefix(rc.Method, "/")] = rc
	}
	pol, err := newPolicies(cfg)
	if err != nil {
		ps.add(Pos{File: cfg.File, Line: 1}, "", "%v", err)
		_ = t.Close()
		return nil, ps
	}
	t.policies = pol
	for _, fd := range d.roots {
		svcs := fd.Services()
		for i := 0; i < svcs.Len(); i++ {
			sd := svcs.Get(i)
			routes := t.bindService(sd, cfg, d, overrides, &ps)
			for _, r := range routes {
				a := adapters[r.Upstream.Name]
				if a == nil {
					continue // its upstream failed to build; already reported
				}
				ep, err := a.Bind(r)
				if err != nil {
					ps.add(r.Pos, "", "%s: %v", r.Name(), err)
					continue
				}
				unary, stream, err := pol.chain(r, ep, o, tracer)
				if err != nil {
					ps.add(r.Pos, "", "%s: %v", r.Name(), err)
					continue
				}
				t.routes[r.FullMethod()] = &boundRoute{route: r, unary: unary, stream: stream}
			}
			if len(routes) > 0 {
				t.services[string(sd.FullName())] = sd
			}
		}
	}
	for m, rc := range overrides {
		if _, ok := t.routes["/"+m]; !ok && !hasProblemAt(ps, rc.Pos) {
			ps.add(rc.Pos, "check the package, service and method names against the loaded .proto files", "route %q matches no loaded method", m)
		}
	}
	if len(ps) == 0 && len(t.routes) == 0 {
		ps.add(Pos{File: cfg.File, Line: 1}, "set option (protobridge.v1.service).upstream or (protobridge.v1.route).upstream, or add routes: entries", "no method of the loaded services is bound to an upstream")
	}
	if len(ps) > 0 {
		_ = t.Close()
		return nil, ps
	}
	return t, nil
}

func hasProblemAt(ps Problems, p Pos) bool {
	for _, q := range ps {
		if q.Pos == p {
			return true
		}
	}
	return false
}

// bindService resolves the routes of one service. A service is served when
// any of its methods names an upstream; then every method must resolve.
func (t *Table) bindService(sd protoreflect.ServiceDescriptor, cfg *Config, d *descriptors, overrides map[string]*RouteConfig, ps *Problems) []*Route {
	svcUpstream := serviceUpstream(sd)
	var routes []*Route
	var unbound []protoreflect.MethodDescriptor
	ms := sd.Methods()
	for j := 0; j < ms.Len(); j++ {
		md := ms.Get(j)
		rule, opts := methodExtensions(md)
		r := &Route{Method: md, HTTP: rule, Options: opts, Pos: d.methodPos(md), StatusCodes: map[int]codes.Code{}}
		upstream := svcUpstream
		if opts.GetUpstream() != "" {
			upstream = opts.GetUpstream()
		}
		if rc := overrides[r.Name()]; rc != nil {
			r.Pos = rc.Pos
			if rc.Upstream != "" {
				upstream = rc.Upstream
			}
			if rc.HTTP != nil {
				r.HTTP, _ = rc.HTTP.rule() // checked by Config.check
			}
			if rc.WebSocket != nil {
				if r.Options.Websocket == nil {
					r.Options.Websocket = &pbv1.WebSocketRoute{}
				}
				proto.Merge(r.Options.Websocket, rc.WebSocket.proto())
			}
			if rc.Stream != nil {
				if r.Options.Stream == nil {
					r.Options.Stream = &pbv1.StreamRoute{}
				}
				proto.Merge(r.Options.Stream, rc.Stream.proto())
			}
			r.Encoding = rc.Encoding
			r.Timeout = rc.Timeout
			r.Open = rc.Open
			for code, name := range rc.StatusCodes {
				r.StatusCodes[code], _ = codeByName(name)
			}
		}
		if upstream == "" {
			unbound = append(unbound, md)
			continue
		}
		u := cfg.Upstreams[upstream]
		if u == nil {
			ps.add(r.Pos, "declare it under upstreams: in the config", "%s names upstream %q, which the config does not declare", r.Name(), upstream)
			continue
		}
		r.Upstream = u
		for code, name := range u.StatusCodes {
			if _, set := r.StatusCodes[code]; !set {
				r.StatusCodes[code], _ = codeByName(name)
			}
		}
		if r.Encoding == "" {
			r.Encoding = encodingName(opts.GetEncoding(), u.Encoding)
		}
		if r.Timeout == 0 && opts.GetTimeout() != "" {
			dur, err := parseDuration(opts.GetTimeout())
			if err != nil {
				ps.add(r.Pos, `use a duration such as "2s"`, "%s: option timeout %q: %v", r.Name(), opts.GetTimeout(), err)
				continue
			}
			r.Timeout = dur
		}
		routes = append(routes, r)
	}
	if len(routes) > 0 || svcUpstream != "" {
		for _, md := range unbound {
			ps.add(d.methodPos(md), "set (protobridge.v1.route).upstream on it or (protobridge.v1.service).upstream on its service, or add a routes: entry", "method %s/%s has no upstream", sd.FullName(), md.Name())
		}
	}
	return routes
}

// Routes lists the table's routes sorted by method name.
func (t *Table) Routes() []*Route {
	out := make([]*Route, 0, len(t.routes))
	for _, br := range t.routes {
		out = append(out, br.route)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Close closes every adapter of the table and its policy state.
func (t *Table) Close() error {
	var errs []error
	for _, a := range t.adapters {
		if err := a.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if t.policies != nil {
		if err := t.policies.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lookup finds a route by "/package.Service/Method".
func (t *Table) lookup(fullMethod string) *boundRoute { return t.routes[fullMethod] }

// Config returns the config the table was built from.
func (t *Table) Config() *Config { return t.cfg }

// acquire takes a reference for one call; false once the table is retired.
func (t *Table) acquire() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.retired {
		return false
	}
	t.refs++
	return true
}

// release drops a call's reference.
func (t *Table) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refs--
	if t.retired && t.refs == 0 {
		close(t.done)
	}
}

// retire stops new calls from taking the table and closes its adapters once
// the calls in flight have ended.
func (t *Table) retire(logger *slog.Logger) {
	t.mu.Lock()
	t.retired = true
	if t.refs == 0 {
		close(t.done)
	}
	t.mu.Unlock()
	go func() {
		<-t.done
		if err := t.Close(); err != nil {
			logger.Warn("closing retired route table", "error", err)
		}
	}()
}

// attemptMiddleware sits next to the endpoint: it counts attempts on the
// call and records each attempt's duration and outcome.
func attemptMiddleware(m *Metrics, tracer trace.Tracer) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (proto.Message, error) {
			n := c.attempts.Add(1)
			ctx, span := tracer.Start(ctx, "protobridge.upstream", trace.WithAttributes(
				attribute.String("protobridge.method", c.Route.Name()),
				attribute.String("protobridge.upstream", c.Route.Upstream.Name),
				attribute.Int("protobridge.attempt", int(n))))
			start := time.Now()
			resp, err := next(ctx, c)
			code := status.Code(toStatusError(ctx, err))
			if err != nil {
				span.SetStatus(otelcodes.Error, code.String())
			}
			span.End()
			if m != nil {
				m.observeAttempt(c.Route.Name(), c.Route.Upstream.Name, code, time.Since(start))
			}
			return resp, err
		}
	}
}

// timeoutMiddleware bounds the call by the route's (or upstream's) timeout;
// the caller's deadline, when sooner, wins.
func timeoutMiddleware(next Handler) Handler {
	return func(ctx context.Context, c *Call) (proto.Message, error) {
		d := c.Route.Timeout
		if d <= 0 && c.Route.Upstream != nil {
			d = c.Route.Upstream.Timeout
		}
		if d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return next(ctx, c)
	}
}

func encodingName(e interface{ String() string }, fallback string) string {
	switch e.String() {
	case "ENCODING_JSON":
		return "json"
	case "ENCODING_XML":
		return "xml"
	case "ENCODING_PROTOBUF":
		return "protobuf"
	}
	return fallback
}

func parseDuration(s string) (d time.Duration, err error) {
	d, err = time.ParseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	return d, err
}
