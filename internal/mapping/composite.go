package mapping

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/common/types"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
)

// FrontDoor is the front door name of the calls a composite route's steps
// make: logs and metrics show them apart from the callers' own.
const FrontDoor = "composite"

// Composite is a compiled composite route: its steps in an order where
// every step comes after those it reads, and its reply.
type Composite struct {
	route  *bridge.Route
	steps  []*step
	reply  *Program
	scope  *Scope
	tracer trace.Tracer
}

type step struct {
	name     string
	call     string
	target   *bridge.Route
	req      *Program
	when     *Program
	optional bool // absent on failure
	maybe    bool // read as an optional value (optional, or has a condition)
	timeout  time.Duration
	deps     []int
}

// CompileComposite compiles a composite route's steps and reply. target
// finds the route a step calls; tracer records a span per step. It
// returns nil when there are problems, which are added to ps.
func CompileComposite(env *Env, r *bridge.Route, steps []*config.StepConfig, reply *config.MessageExpr, target func(string) (*bridge.Route, bool), tracer trace.Tracer, ps *bridge.Problems) *Composite {
	n := len(*ps)
	if r.Method.IsStreamingClient() || r.Method.IsStreamingServer() {
		ps.Add(r.Pos, "a composite route answers once: make the method unary", "%s streams", r.Name())
		return nil
	}
	co := &Composite{route: r, tracer: tracer}
	vars := []Var{MessageVar("request", r.Method.Input()), MetadataVar}
	index := map[string]int{}
	for _, sc := range steps {
		if sc == nil {
			continue // reported by the config
		}
		s := &step{name: sc.Name, call: strings.TrimPrefix(sc.Call, "/"), optional: sc.Optional, maybe: sc.Optional || sc.When != nil, timeout: sc.Timeout}
		t, ok := target(s.call)
		switch {
		case !ok:
			ps.Add(sc.Pos, "name a route this daemon serves (see protobridge routes)", "step %q calls %s, which no route serves", s.name, s.call)
			continue
		case t.Method.IsStreamingClient():
			ps.Add(sc.Pos, "a step sends one request: call a unary or server-streaming method", "step %q calls %s, which streams requests", s.name, s.call)
			continue
		case t.Upstream == nil:
			ps.Add(sc.Pos, "call the routes it is made of directly", "step %q calls %s, which is a composite route", s.name, s.call)
			continue
		}
		s.target = t
		out := t.Method.Output()
		if s.maybe {
			vars = append(vars, OptionalMessageVar(s.name, out))
		} else {
			vars = append(vars, MessageVar(s.name, out))
		}
		index[s.name] = len(co.steps)
		co.steps = append(co.steps, s)
	}
	if len(*ps) > n {
		return nil
	}
	scope, err := env.Scope(vars...)
	if err != nil {
		ps.Add(r.Pos, "", "%s: %v", r.Name(), err)
		return nil
	}
	co.scope = scope
	i := 0
	for _, sc := range steps {
		if sc == nil {
			continue
		}
		s := co.steps[i]
		i++
		what := "step " + s.name
		if sc.Request != nil {
			s.req = scope.Message(sc.Request, s.target.Method.Input(), what+" request", ps)
		} else {
			ps.Add(sc.Pos, "add request: building the call's request, e.g. request: {id: request.id}", "step %q has no request", s.name)
		}
		if sc.When != nil {
			s.when = scope.Typed(*sc.When, types.BoolType, what+" when", ps)
		}
		for _, p := range []*Program{s.req, s.when} {
			if p == nil {
				continue
			}
			for ref := range p.Refs {
				if j, ok := index[ref]; ok && !containsInt(s.deps, j) {
					s.deps = append(s.deps, j)
				}
			}
		}
	}
	if reply != nil {
		co.reply = scope.Message(reply, r.Method.Output(), "reply", ps)
	}
	if len(*ps) > n {
		return nil
	}
	if cycle := co.cycle(); cycle != "" {
		ps.Add(r.Pos, "a step can read only steps that do not read it", "%s: steps read each other in a cycle: %s", r.Name(), cycle)
		return nil
	}
	return co
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// cycle names a dependency cycle among the steps, or "".
func (co *Composite) cycle() string {
	state := make([]int, len(co.steps)) // 0 new, 1 on the path, 2 done
	var path []string
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = 1
		path = append(path, co.steps[i].name)
		for _, d := range co.steps[i].deps {
			if state[d] == 1 {
				path = append(path, co.steps[d].name)
				return true
			}
			if state[d] == 0 && visit(d) {
				return true
			}
		}
		state[i] = 2
		path = path[:len(path)-1]
		return false
	}
	for i := range co.steps {
		if state[i] == 0 && visit(i) {
			return strings.Join(path, " → ")
		}
	}
	return ""
}

// Steps names the steps and the routes they call, for listings.
func (co *Composite) Steps() []string {
	out := make([]string, len(co.steps))
	for i, s := range co.steps {
		out[i] = s.name + "=" + s.call
	}
	return out
}

// Endpoint serves the composite route; inv is the invoker its steps call
// through (the router serving the table), read at each call.
func (co *Composite) Endpoint(inv func() bridge.Invoker) bridge.Endpoint {
	return &compositeEndpoint{co: co, inv: inv}
}

type compositeEndpoint struct {
	co  *Composite
	inv func() bridge.Invoker
}

func (e *compositeEndpoint) Describe() string {
	return "composite: " + strings.Join(e.co.Steps(), ", ")
}

func (e *compositeEndpoint) Stream(context.Context, *bridge.Call, bridge.Stream) error {
	return bridge.Errorf(codes.Unimplemented, reason.StreamingNotAllowed, nil, "composite routes are unary")
}

// result is one step's outcome.
type result struct {
	msg  proto.Message // nil when absent
	done chan struct{}
}

func (e *compositeEndpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	co := e.co
	inv := e.inv()
	if inv == nil {
		return nil, bridge.Errorf(codes.Internal, reason.Internal, nil, "composite route %s has no router to call its steps through", c.Route.Name())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	md := MetadataMap(c.Metadata)
	results := make([]result, len(co.steps))
	for i := range results {
		results[i].done = make(chan struct{})
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for i, s := range co.steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(results[i].done)
			for _, d := range s.deps {
				select {
				case <-results[d].done:
				case <-ctx.Done():
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			msg, err := e.runStep(ctx, s, co.vars(c.Request, md, results, s.deps), c, inv)
			if err != nil {
				if !s.optional {
					fail(err)
				}
				return
			}
			results[i].msg = msg
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all := make([]int, len(co.steps))
	for i := range all {
		all[i] = i
	}
	out, err := co.reply.Message(ctx, co.vars(c.Request, md, results, all))
	if err != nil {
		return nil, replyEvalError(err, c)
	}
	return out, nil
}

// vars are the values step expressions read: the request, the metadata and
// the results of the steps in deps.
func (co *Composite) vars(req proto.Message, md map[string]string, results []result, deps []int) Vars {
	v := Vars{"request": req, "metadata": md}
	adapter := co.scope.cenv.CELTypeAdapter()
	for _, d := range deps {
		s, m := co.steps[d], results[d].msg
		switch {
		case !s.maybe:
			v[s.name] = m
		case m == nil:
			v[s.name] = types.OptionalNone
		default:
			v[s.name] = types.OptionalOf(adapter.NativeToValue(m))
		}
	}
	return v
}

// runStep runs one step: its condition, its request, the call through the
// invoker, in a span of its own.
func (e *compositeEndpoint) runStep(ctx context.Context, s *step, vars Vars, c *bridge.Call, inv bridge.Invoker) (proto.Message, error) {
	ctx, span := e.co.tracer.Start(ctx, "protobridge.step "+s.name, trace.WithAttributes(
		attribute.String("protobridge.step", s.name),
		attribute.String("protobridge.method", s.call),
		attribute.Bool("protobridge.step.optional", s.optional)))
	defer span.End()
	if s.when != nil {
		ok, err := s.when.Bool(ctx, vars)
		if err != nil {
			err = e.stepError(s, evalError(err, c))
			span.SetStatus(otelcodes.Error, err.Error())
			return nil, err
		}
		if !ok {
			span.SetAttributes(attribute.Bool("protobridge.step.skipped", true))
			return nil, nil
		}
	}
	req, err := s.req.Message(ctx, vars)
	if err != nil {
		err = e.stepError(s, evalError(err, c))
		span.SetStatus(otelcodes.Error, err.Error())
		return nil, err
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	sc := &bridge.Call{Route: s.target, Request: req, Metadata: c.Metadata, FrontDoor: FrontDoor, Peer: c.Peer,
		Identity: c.Identity, Claims: c.Claims, Preauthenticated: c.Identity != "", RequestID: c.RequestID}
	var resp proto.Message
	if s.target.Method.IsStreamingServer() {
		resp, err = first(ctx, inv, sc)
	} else {
		resp, err = inv.Unary(ctx, sc)
	}
	if err != nil {
		err = e.stepError(s, err)
		span.SetStatus(otelcodes.Error, status.Code(err).String())
		return nil, err
	}
	return resp, nil
}

// stepError is a step's failure as the composite's caller sees it: the
// step's code, and an ErrorInfo naming the step and the route it called.
func (e *compositeEndpoint) stepError(s *step, err error) error {
	st := status.Convert(err)
	meta := map[string]string{"step": s.name, "method": s.call}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			meta["step_reason"] = info.GetReason()
			for k, v := range info.GetMetadata() {
				if _, set := meta[k]; !set {
					meta[k] = v
				}
			}
		}
	}
	return bridge.Errorf(st.Code(), reason.StepFailed, meta, "step %s (%s): %s", s.name, s.call, st.Message())
}

// first calls a server-streaming route and keeps its first message; the
// stream is then closed.
func first(ctx context.Context, inv bridge.Invoker, c *bridge.Call) (proto.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fs := &firstStream{cancel: cancel}
	err := inv.Stream(ctx, c, fs)
	if m := fs.message(); m != nil {
		return m, nil
	}
	if err == nil {
		err = bridge.Errorf(codes.NotFound, reason.UpstreamBadResponse, nil, "%s ended its stream without a message", c.Route.Name())
	}
	return nil, err
}

// firstStream is the caller's side of a server stream that takes one message.
type firstStream struct {
	mu     sync.Mutex
	msg    proto.Message
	cancel context.CancelFunc
}

func (f *firstStream) Recv() (proto.Message, error) { return nil, io.EOF }

func (f *firstStream) message() proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func (f *firstStream) Send(m proto.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msg == nil {
		f.msg = m
		f.cancel()
	}
	return context.Canceled
}

func (f *firstStream) SetHeader(metadata.MD) error { return nil }
