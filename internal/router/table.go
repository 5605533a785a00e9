// Package router builds route tables — descriptors loaded, one adapter per
// upstream, every served method bound with its policy chain — and serves
// calls on the current table as the bridge.Invoker every front door uses.
// A reload builds a new table and swaps it in; calls in flight finish on
// the table they started on, whose adapters close when the last ends.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/descriptors"
	"github.com/protobridge/protobridge/internal/mapping"
	"github.com/protobridge/protobridge/internal/policy"
	"github.com/protobridge/protobridge/internal/sandbox"
	"github.com/protobridge/protobridge/internal/telemetry"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Table is a loaded route table: every served method bound to its upstream's
// adapter, plus the descriptors needed to serve and reflect them. A Table is
// immutable once built; a reload builds a new one and swaps it in whole.
type Table struct {
	routes   map[string]*boundRoute // by "package.Service/Method"
	services map[string]protoreflect.ServiceDescriptor
	files    *protoregistry.Files
	adapters []bridge.Adapter
	policies *policy.Set
	cfg      *config.Config
	// Warnings are things that work but are likely mistakes (policies a
	// streaming route cannot use), for check and the start-up log.
	Warnings bridge.Problems
	// invoker is the router serving the table, which composite routes
	// call their steps through (set by New and Swap).
	invoker atomic.Pointer[Router]

	// Calls in flight hold a reference; a retired table closes its adapters
	// once the last one ends.
	mu      sync.Mutex
	refs    int
	retired bool
	done    chan struct{}
}

type boundRoute struct {
	route *bridge.Route
	chain *policy.Chain
	ep    bridge.Endpoint
	// redact holds the upstream's outbound secrets, for the statuses of
	// its calls.
	redact *bridge.Redactor
}

// Options tune Build.
type Options struct {
	// Telemetry receives metrics and spans (nil: none).
	Telemetry *telemetry.Telemetry
	// Middleware is added to every unary route's chain, after
	// authentication and the timeout, before retries, in the order given.
	Middleware []bridge.Middleware
	// Logger is the daemon's logger (nil: discard).
	Logger *slog.Logger
	// Sandbox records, replays or mocks upstream traffic (nil: off).
	Sandbox *sandbox.Sandbox
}

// Build loads the config's descriptors, builds one adapter per upstream and
// binds every served method with its policy chain. Problems are reported
// with their file:line. The sandbox serves what the table set up only when
// Build succeeds.
func Build(ctx context.Context, cfg *config.Config, o Options) (*Table, error) {
	t, err := buildTable(ctx, cfg, o)
	if err != nil {
		o.Sandbox.Discard()
		return nil, err
	}
	o.Sandbox.Commit()
	return t, nil
}

func buildTable(ctx context.Context, cfg *config.Config, o Options) (*Table, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d, err := descriptors.Load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &Table{routes: map[string]*boundRoute{}, services: map[string]protoreflect.ServiceDescriptor{}, files: d.Files, cfg: cfg, done: make(chan struct{})}
	var ps bridge.Problems

	// When mapped routes send headers or query values computed per call,
	// the upstreams get the transport that adds them; else none pays.
	outbound := false
	for _, rc := range cfg.Routes {
		if rc != nil && rc.Map != nil && (len(rc.Map.Headers) > 0 || len(rc.Map.Query) > 0) {
			outbound = true
		}
	}
	adapters := map[string]bridge.Adapter{}
	redactors := map[string]*bridge.Redactor{}
	sandboxed := map[string]bool{}
	notify, tracer := telemetry.Notifier(logger, o.Telemetry.M()), o.Telemetry.Tracer()
	names := make([]string, 0, len(cfg.Upstreams))
	for n := range cfg.Upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := cfg.Upstreams[n]
		f, _ := bridge.LookupAdapter(u.Kind)
		traced := o.Telemetry.WrapTransport()
		red := bridge.NewRedactor()
		// The sandbox is innermost: a recording holds what went on the
		// wire, and replay and mock answer in place of the network. The
		// mapping's headers and query values are added outside it.
		sb, err := o.Sandbox.Transport(&u.Upstream, u.Sandbox, cfg.BaseDir, red)
		if err != nil {
			ps.Add(u.Pos, "", "upstream %q sandbox: %v", n, err)
			continue
		}
		// Credentials inside tracing: a span records the request as the
		// adapter made it, so a key sent as a query parameter never
		// reaches a span's url.full. A replayed or mocked upstream is
		// never reached: its credentials are neither resolved nor sent
		// (no secret needed to replay, no token fetched).
		creds := func(rt http.RoundTripper) http.RoundTripper { return rt }
		if o.Sandbox.Answers(n) {
			if u.Credentials != nil {
				logger.Info("sandbox answers for the upstream: its credentials are not resolved or sent", "upstream", n)
			}
		} else if creds, err = auth.OutboundRedacting(u.Credentials, cfg.BaseDir, red); err != nil {
			ps.Add(u.Pos, "give secrets as {env: VAR} or {file: path}", "upstream %q %v", n, err)
			continue
		}
		inner := func(rt http.RoundTripper) http.RoundTripper { return rt }
		if sb != nil {
			inner = sb
			sandboxed[n] = true
		}
		if outbound {
			under := inner
			inner = func(rt http.RoundTripper) http.RoundTripper { return mapping.Transport(under(rt)) }
		}
		wrap := func(rt http.RoundTripper) http.RoundTripper { return traced(creds(inner(rt))) }
		a, err := buildAdapter(f, &u.Upstream, &bridge.Env{Logger: logger.With("upstream", n), BaseDir: cfg.BaseDir, Notify: notify, Tracer: tracer, WrapTransport: wrap, Redactor: red, MaxSendBytes: int64(cfg.Server.MaxSendBytes)})
		if err != nil {
			var aps bridge.Problems
			if errors.As(err, &aps) {
				ps = append(ps, aps...)
			} else {
				ps.Add(u.Pos, "", "upstream %q: %v", n, err)
			}
			continue
		}
		adapters[n] = a
		redactors[n] = red
		t.adapters = append(t.adapters, a)
	}

	overrides := map[string]*config.RouteConfig{}
	for _, rc := range cfg.Routes {
		overrides[strings.TrimPrefix(rc.Method, "/")] = rc
	}
	pol, err := policy.New(cfg, o.Telemetry, logger)
	if err != nil {
		ps.Add(bridge.Pos{File: cfg.File, Line: 1}, "", "%v", err)
		_ = t.Close()
		return nil, ps
	}
	t.policies = pol
	cel := &celEnv{files: d.Files}
	var composites []*bridge.Route
	// failed are routes whose CEL had problems (reported at the
	// expressions' lines, not the entry's).
	failed := map[string]bool{}
	for _, fd := range d.Roots {
		svcs := fd.Services()
		for i := 0; i < svcs.Len(); i++ {
			sd := svcs.Get(i)
			routes := bindService(sd, cfg, d, overrides, &ps)
			for _, r := range routes {
				if r.Upstream == compositeUpstream {
					composites = append(composites, r)
					continue
				}
				a := adapters[r.Upstream.Name]
				if a == nil {
					continue // its upstream failed to build; already reported
				}
				rc := overrides[r.Name()]
				var mr *mapping.Route
				bound := r
				if rc != nil && (rc.Map != nil || rc.Guards != nil) {
					env := cel.get(&ps, r.Pos)
					if env == nil {
						continue
					}
					if mr = mapping.Compile(env, r, rc.Map, rc.Guards, &ps); mr == nil {
						failed[r.Name()] = true
						continue
					}
					bound = mr.Upstream
				}
				ep, err := bind(a, bound)
				if err != nil {
					var aps bridge.Problems
					if errors.As(err, &aps) {
						ps = append(ps, aps...)
					} else {
						ps.Add(r.Pos, "", "%s: %v", r.Name(), err)
					}
					continue
				}
				// The sandbox sees the upstream's shapes (a mapped route's
				// bound types); the mapping wraps it.
				if sandboxed[r.Upstream.Name] {
					ep = o.Sandbox.Endpoint(bound, ep)
				}
				if mr != nil {
					ep = mr.Endpoint(ep)
				}
				u := cfg.Upstreams[r.Upstream.Name]
				var own *config.PolicyConfig
				if rc != nil {
					own = rc.Policies
				}
				ch, err := pol.Chain(r, u.Policies, own, ep, o.Middleware...)
				if err != nil {
					ps.Add(r.Pos, "", "%s: %v", r.Name(), err)
					continue
				}
				for _, w := range ch.Warnings {
					t.Warnings.Add(r.Pos, "remove it from the route or its upstream", "%s", w)
				}
				t.routes[r.Name()] = &boundRoute{route: r, chain: ch, ep: ep, redact: redactors[r.Upstream.Name]}
			}
			if len(routes) > 0 {
				t.services[string(sd.FullName())] = sd
			}
		}
	}
	t.bindComposites(composites, overrides, pol, cel, o, failed, &ps)
	for m, rc := range overrides {
		if _, ok := t.routes[m]; !ok && !failed[m] && !hasProblemAt(ps, rc.Pos) {
			ps.Add(rc.Pos, "check the package, service and method names against the loaded .proto files", "route %q matches no loaded method", m)
		}
	}
	if len(ps) == 0 && len(t.routes) == 0 {
		ps.Add(bridge.Pos{File: cfg.File, Line: 1}, "set option (protobridge.v1.service).upstream or (protobridge.v1.route).upstream, or add routes: entries", "no method of the loaded services is bound to an upstream")
	}
	if len(ps) > 0 {
		_ = t.Close()
		return nil, ps
	}
	return t, nil
}

// compositeUpstream stands for the upstream of composite routes, which
// call other routes instead (logs, metrics and spans name it).
var compositeUpstream = &bridge.Upstream{Name: mapping.FrontDoor, Kind: mapping.FrontDoor}

// celEnv builds the table's CEL environment when a route first needs it:
// a table without CEL pays nothing.
type celEnv struct {
	files *protoregistry.Files
	env   *mapping.Env
	err   error
}

func (c *celEnv) get(ps *bridge.Problems, at bridge.Pos) *mapping.Env {
	if c.env == nil && c.err == nil {
		c.env, c.err = mapping.NewEnv(c.files)
	}
	if c.err != nil {
		ps.Add(at, "", "CEL environment of the loaded descriptors: %v", c.err)
		return nil
	}
	return c.env
}

// bindComposites binds the composite routes once every route they may
// call is bound: their steps call routes of this table (tableInvoker),
// through the router serving it.
// It adds the routes that fail to failed (their problems are in ps).
func (t *Table) bindComposites(routes []*bridge.Route, overrides map[string]*config.RouteConfig, pol *policy.Set, cel *celEnv, o Options, failed map[string]bool, ps *bridge.Problems) {
	target := func(name string) (*bridge.Route, bool) {
		if br := t.lookup(name); br != nil {
			return br.route, true
		}
		for _, r := range routes {
			if r.Name() == name {
				return &bridge.Route{Method: r.Method}, true // a composite: refused by name
			}
		}
		return nil, false
	}
	for _, r := range routes {
		rc := overrides[r.Name()]
		failed[r.Name()] = true
		env := cel.get(ps, r.Pos)
		if env == nil {
			return
		}
		co := mapping.CompileComposite(env, r, rc.Steps, rc.Reply, target, o.Telemetry.Tracer(), ps)
		if co == nil {
			continue
		}
		ep := co.Endpoint(func() bridge.Invoker {
			if r := t.invoker.Load(); r != nil {
				return tableInvoker{r: r, t: t}
			}
			return nil
		})
		ch, err := pol.Chain(r, nil, rc.Policies, ep, o.Middleware...)
		if err != nil {
			ps.Add(r.Pos, "", "%s: %v", r.Name(), err)
			continue
		}
		for _, w := range ch.Warnings {
			t.Warnings.Add(r.Pos, "remove it from the route", "%s", w)
		}
		t.routes[r.Name()] = &boundRoute{route: r, chain: ch, ep: ep}
		t.services[string(r.Method.Parent().FullName())] = r.Method.Parent().(protoreflect.ServiceDescriptor)
		delete(failed, r.Name())
	}
}

// buildAdapter runs an adapter's factory; a panic is a problem, not a crash.
func buildAdapter(f bridge.Factory, u *bridge.Upstream, env *bridge.Env) (a bridge.Adapter, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("adapter %s panicked building the upstream: %v", u.Kind, p)
		}
	}()
	return f(u, env)
}

// bind binds a route; a panic is a problem, not a crash.
func bind(a bridge.Adapter, r *bridge.Route) (ep bridge.Endpoint, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("adapter %s panicked binding the route: %v", r.Upstream.Kind, p)
		}
	}()
	return a.Bind(r)
}

func hasProblemAt(ps bridge.Problems, p bridge.Pos) bool {
	for _, q := range ps {
		if q.Pos == p {
			return true
		}
	}
	return false
}

// bindService resolves the routes of one service. A service is served when
// any of its methods names an upstream; then every method must resolve.
func bindService(sd protoreflect.ServiceDescriptor, cfg *config.Config, d *descriptors.Set, overrides map[string]*config.RouteConfig, ps *bridge.Problems) []*bridge.Route {
	svcUpstream := ""
	if so, _ := bridge.ReadOption(sd.Options(), pbv1.E_Service).(*pbv1.ServiceOptions); so != nil {
		svcUpstream = so.GetUpstream()
	}
	var routes []*bridge.Route
	var unbound []protoreflect.MethodDescriptor
	ms := sd.Methods()
	for j := 0; j < ms.Len(); j++ {
		md := ms.Get(j)
		rule, _ := bridge.ReadOption(md.Options(), annotations.E_Http).(*annotations.HttpRule)
		opts, _ := bridge.ReadOption(md.Options(), pbv1.E_Route).(*pbv1.RouteOptions)
		if opts == nil {
			opts = &pbv1.RouteOptions{}
		}
		r := &bridge.Route{Method: md, HTTP: rule, Options: opts, Pos: d.MethodPos(md), StatusCodes: map[int]codes.Code{}}
		upstream := svcUpstream
		if opts.GetUpstream() != "" {
			upstream = opts.GetUpstream()
		}
		rc := overrides[r.Name()]
		if rc != nil && len(rc.Steps) > 0 {
			r.Pos, r.Upstream, r.Timeout, r.Open = rc.Pos, compositeUpstream, rc.Timeout, rc.Open
			routes = append(routes, r)
			continue
		}
		if rc != nil {
			r.Pos = rc.Pos
			if rc.Upstream != "" {
				upstream = rc.Upstream
			}
			if rc.HTTP != nil {
				r.HTTP, _ = rc.HTTP.Rule() // checked by the config
			}
			r.Encoding = rc.Encoding
			r.Timeout = rc.Timeout
			r.Open = rc.Open
			for code, name := range rc.StatusCodes {
				r.StatusCodes[code], _ = bridge.CodeByName(name)
			}
		}
		if upstream == "" {
			unbound = append(unbound, md)
			continue
		}
		u := cfg.Upstreams[upstream]
		if u == nil {
			ps.Add(r.Pos, "declare it under upstreams: in the config", "%s names upstream %q, which the config does not declare", r.Name(), upstream)
			continue
		}
		r.Upstream = &u.Upstream
		if rc != nil {
			for kind, block := range rc.Adapter {
				if kind != u.Kind {
					ps.Add(block.Pos(), fmt.Sprintf("its upstream %s is of kind %s: use a %s: block", u.Name, u.Kind, u.Kind), "route %s has a %s: block", r.Name(), kind)
					continue
				}
				r.Config = block
			}
		}
		for code, name := range u.StatusCodes {
			if _, set := r.StatusCodes[code]; !set {
				r.StatusCodes[code], _ = bridge.CodeByName(name)
			}
		}
		if r.Encoding == "" {
			r.Encoding = encodingName(opts.GetEncoding(), u.Encoding)
		}
		if r.Timeout == 0 && opts.GetTimeout() != "" {
			dur, err := parseDuration(opts.GetTimeout())
			if err != nil {
				ps.Add(r.Pos, `use a duration such as "2s"`, "%s: option timeout %q: %v", r.Name(), opts.GetTimeout(), err)
				continue
			}
			r.Timeout = dur
		}
		routes = append(routes, r)
	}
	if len(routes) > 0 || svcUpstream != "" {
		for _, md := range unbound {
			ps.Add(d.MethodPos(md), "set (protobridge.v1.route).upstream on it or (protobridge.v1.service).upstream on its service, or add a routes: entry", "method %s/%s has no upstream", sd.FullName(), md.Name())
		}
	}
	return routes
}

// Routes lists the table's routes sorted by method name.
func (t *Table) Routes() []*bridge.Route {
	out := make([]*bridge.Route, 0, len(t.routes))
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

// lookup finds a route by "package.Service/Method" (a leading "/" is accepted).
func (t *Table) lookup(method string) *boundRoute {
	if len(method) > 0 && method[0] == '/' {
		method = method[1:]
	}
	return t.routes[method]
}

// NotReady lists what keeps the table from serving every caller: the JWT
// issuers whose JWKS has not loaded yet (their tokens are denied).
func (t *Table) NotReady() []string {
	if t.policies == nil {
		return nil
	}
	var out []string
	for _, iss := range t.policies.Auth().Pending() {
		out = append(out, "JWKS of issuer "+iss+" not loaded")
	}
	return out
}

// WaitReady waits until NotReady is empty or ctx ends, and reports whether
// it is.
func (t *Table) WaitReady(ctx context.Context) bool {
	return t.policies == nil || t.policies.Auth().WaitKeys(ctx)
}

// Config returns the config the table was built from.
func (t *Table) Config() *config.Config { return t.cfg }

// Files resolves the table's descriptors (imports included).
func (t *Table) Files() *protoregistry.Files { return t.files }

// Services are the services the table serves, by full name.
func (t *Table) Services() map[string]protoreflect.ServiceDescriptor { return t.services }

// CircuitBreakers returns the state of the table's circuit breakers.
func (t *Table) CircuitBreakers() []policy.BreakerState { return t.policies.CircuitBreakers() }

// QueueDepths returns how many calls wait for a rate-limit token now.
func (t *Table) QueueDepths() map[string]int64 { return t.policies.QueueDepths() }

// Describe says what a route calls, in the adapter's words ("" when the
// adapter does not say).
func (t *Table) Describe(r *bridge.Route) string {
	if br := t.lookup(r.Name()); br != nil {
		if d, ok := br.ep.(bridge.Describer); ok {
			return d.Describe()
		}
	}
	return ""
}

// Authenticator is the table's inbound authentication, for front doors
// that guard something other than a route (webhook subscriptions).
func (t *Table) Authenticator() *auth.Authenticator { return t.policies.Auth() }

// Guard returns a route's authentication, for front doors that show a
// caller only the routes it may call.
func (t *Table) Guard(r *bridge.Route) *auth.Guard {
	if br := t.lookup(r.Name()); br != nil {
		return br.chain.Guard
	}
	return nil
}

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
