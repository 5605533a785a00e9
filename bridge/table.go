package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
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
}

type boundRoute struct {
	route  *Route
	unary  Handler
	stream StreamHandler
}

// Build loads the config's descriptors, builds one adapter per upstream and
// binds every served method. Middleware wraps each route's unary handler,
// after the built-in authentication and timeout. Problems are reported with
// their file:line.
func Build(ctx context.Context, cfg *Config, logger *slog.Logger, mws ...Middleware) (*Table, error) {
	d, err := loadDescriptors(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &Table{routes: map[string]*boundRoute{}, services: map[string]protoreflect.ServiceDescriptor{}, files: d.files}
	var ps Problems

	adapters := map[string]Adapter{}
	names := make([]string, 0, len(cfg.Upstreams))
	for n := range cfg.Upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := cfg.Upstreams[n]
		f, _ := adapterFactory(u.Kind)
		a, err := f(u, &Env{Logger: logger.With("upstream", n), BaseDir: cfg.BaseDir})
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
	auth := newAuthenticator(cfg.Auth)
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
				unary := Chain(ep.Unary, append([]Middleware{auth.middleware, timeoutMiddleware}, mws...)...)
				t.routes[r.FullMethod()] = &boundRoute{route: r, unary: unary, stream: auth.stream(ep.Stream)}
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

// Close closes every adapter of the table.
func (t *Table) Close() error {
	var errs []error
	for _, a := range t.adapters {
		if err := a.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lookup finds a route by "/package.Service/Method".
func (t *Table) lookup(fullMethod string) *boundRoute { return t.routes[fullMethod] }

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
