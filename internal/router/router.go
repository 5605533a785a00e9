package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/policy"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// Router serves calls on the current route table: it is the bridge.Invoker
// every front door uses. Each call holds its table until it ends; Swap
// puts a new table in place for the calls that start after it.
type Router struct {
	table atomic.Pointer[Table]
	log   *slog.Logger
	tel   *telemetry.Telemetry
	// onSwap are called with the old and new table after each Swap
	// (health statuses, tool list changes).
	onSwap []func(old, cur *Table)
}

var _ bridge.Invoker = (*Router)(nil)

// New serves t.
func New(t *Table, logger *slog.Logger, tel *telemetry.Telemetry) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{log: logger, tel: tel}
	t.invoker.Store(r)
	r.table.Store(t)
	return r
}

// Table returns the route table served now.
func (r *Router) Table() *Table { return r.table.Load() }

// OnSwap registers f to be called after each Swap with the old and the
// new table.
func (r *Router) OnSwap(f func(old, cur *Table)) { r.onSwap = append(r.onSwap, f) }

// Swap serves t from now on. Calls already running finish on the old
// table, whose adapters are closed once the last of them ends.
func (r *Router) Swap(t *Table) {
	if t == r.table.Load() {
		return // retiring the table served would leave no table to serve
	}
	t.invoker.Store(r)
	old := r.table.Swap(t)
	for _, f := range r.onSwap {
		f(old, t)
	}
	old.retire(r.log)
}

// acquire returns the current table with a reference held for one call.
func (r *Router) acquire() *Table {
	for {
		t := r.table.Load()
		if t.acquire() {
			return t
		}
	}
}

// Route finds a served route by "package.Service/Method".
func (r *Router) Route(method string) (*bridge.Route, bool) {
	br := r.table.Load().lookup(method)
	if br == nil {
		return nil, false
	}
	return br.route, true
}

// Routes lists the routes served now, sorted by name.
func (r *Router) Routes() []*bridge.Route { return r.table.Load().Routes() }

// UnknownMethod is the status of a call of a method no route serves.
func UnknownMethod(method string) error {
	return bridge.Errorf(codes.Unimplemented, reason.UnknownMethod, map[string]string{"method": method}, "method %s is not served by this daemon", method)
}

// resolve finds the call's route in t: the route a front door looked up
// may belong to a table swapped out since. A call that cannot begin is
// logged and counted here.
func (r *Router) resolve(t *Table, c *bridge.Call, start time.Time) (*boundRoute, error) {
	name := ""
	if c.Route != nil {
		name = c.Route.Name()
	}
	if c.FrontDoor == "" {
		c.FrontDoor = "unknown"
	}
	br := t.lookup(name)
	if br == nil {
		return nil, r.Unknown(name, c.FrontDoor)
	}
	old := c.Route
	c.Route = br.route
	if c.RequestID == "" {
		c.RequestID = RequestID(c.Metadata.Get(RequestIDKey))
	}
	if old != br.route && old != nil {
		// A reload came between the front door's lookup and now: the
		// request was read with the old table's types.
		if err := retype(c, br.route); err != nil {
			r.logCall(c, start, err)
			return nil, err
		}
	}
	return br, nil
}

// retype moves a call's request to the types of route (the same method in
// a newer table): its wire encoding is read again with the new descriptor.
func retype(c *bridge.Call, route *bridge.Route) error {
	if c.Request == nil {
		return nil
	}
	in := route.Method.Input()
	if c.Request.ProtoReflect().Descriptor() == in {
		return nil
	}
	var b []byte
	if wm, ok := c.Request.(*bridge.WireMessage); ok {
		if w, ok := wm.Wire(); ok {
			b = w
		}
	}
	if b == nil {
		var err error
		if b, err = (proto.MarshalOptions{AllowPartial: true}).Marshal(c.Request); err != nil {
			return bridge.Errorf(codes.Internal, reason.Internal, nil, "re-reading the request after a reload: %v", err)
		}
	}
	m := bridge.NewWireMessage(in, nil)
	if err := m.SetWire(b); err != nil {
		return bridge.Errorf(codes.InvalidArgument, reason.BadRequestMessage, nil, "the request does not fit %s as reloaded: %v", in.FullName(), err)
	}
	c.Request = m
	return nil
}

// Unary runs a unary call through its route's chain on the current
// table, then logs and counts it.
func (r *Router) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	t := r.acquire()
	defer t.release()
	return r.unaryOn(ctx, t, c)
}

// unaryOn runs a unary call on table t, which the caller holds.
func (r *Router) unaryOn(ctx context.Context, t *Table, c *bridge.Call) (resp proto.Message, err error) {
	start := time.Now()
	br, err := r.resolve(t, c, start)
	if err != nil {
		return nil, err
	}
	c.SetHeader(RequestIDKey, c.RequestID)
	resp, err = r.unary(ctx, br, c)
	err = CutError(ctx, redactError(br.redact, err))
	r.logCall(c, start, err)
	return resp, err
}

func (r *Router) unary(ctx context.Context, br *boundRoute, c *bridge.Call) (resp proto.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("adapter panic", "method", br.route.Name(), "panic", p)
			resp, err = nil, bridge.Errorf(codes.Internal, reason.Internal, nil, "internal error while serving %s", br.route.Name())
		}
	}()
	resp, err = br.chain.Unary(ctx, c)
	if err != nil {
		return nil, policy.StatusError(ctx, err)
	}
	if resp == nil || bridge.MessageName(resp) != br.route.Method.Output().FullName() {
		return nil, bridge.Errorf(codes.Internal, reason.BadResponseType, nil, "%s produced a response of the wrong type", br.route.Name())
	}
	return resp, nil
}

// Stream runs a streaming call through its route's chain on the current
// table, then logs and counts it.
func (r *Router) Stream(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
	t := r.acquire()
	defer t.release()
	return r.streamOn(ctx, t, c, s)
}

// streamOn runs a streaming call on table t, which the caller holds.
func (r *Router) streamOn(ctx context.Context, t *Table, c *bridge.Call, s bridge.Stream) error {
	start := time.Now()
	br, err := r.resolve(t, c, start)
	if err != nil {
		return err
	}
	if m := r.tel.M(); m != nil {
		defer m.OpenStream(br.route.Name(), br.route.Upstream.Name)()
	}
	err = CutError(ctx, redactError(br.redact, policy.StatusError(ctx, r.stream(ctx, br, c, s))))
	r.logCall(c, start, err)
	return err
}

func (r *Router) stream(ctx context.Context, br *boundRoute, c *bridge.Call, s bridge.Stream) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("adapter panic", "method", br.route.Name(), "panic", p)
			err = bridge.Errorf(codes.Internal, reason.Internal, nil, "internal error while serving %s", br.route.Name())
		}
	}()
	return br.chain.Stream(ctx, c, s)
}

// ObserveFailedCall logs and counts a call that failed at its front door
// before it reached the chain (its request did not decode).
func (r *Router) ObserveFailedCall(c *bridge.Call, start time.Time, err error) {
	if c.RequestID == "" {
		c.RequestID = RequestID(c.Metadata.Get(RequestIDKey))
	}
	r.logCall(c, start, err)
}

// Unknown logs and counts a call of a method no route serves, and returns
// its UNIMPLEMENTED status.
func (r *Router) Unknown(method, frontDoor string) error {
	r.log.Warn("call", "method", method, "front_door", frontDoor, "code", codes.Unimplemented.String(), "error", "unknown method")
	if m := r.tel.M(); m != nil {
		m.ObserveCall("unknown", "", frontDoor, codes.Unimplemented, 0)
	}
	return UnknownMethod(method)
}

func (r *Router) logCall(c *bridge.Call, start time.Time, err error) {
	code := status.Code(err)
	d := time.Since(start)
	name, upstream := c.Route.Name(), c.Route.Upstream.Name
	if m := r.tel.M(); m != nil {
		m.ObserveCall(name, upstream, c.FrontDoor, code, d)
	}
	attrs := []any{"method", name, "upstream", upstream, "front_door", c.FrontDoor, "code", code.String(), "duration", d.Round(time.Microsecond), "attempts", c.Attempts(), "request_id", c.RequestID}
	if c.Identity != "" {
		attrs = append(attrs, "caller", c.Identity)
	}
	if err != nil {
		attrs = append(attrs, "error", status.Convert(err).Message())
		r.log.Warn("call", attrs...)
		return
	}
	r.log.Info("call", attrs...)
}

// tableInvoker serves calls on one table, for the steps of a composite
// route: a composite call runs every step on the table it started on,
// whatever a reload swaps in meanwhile (the composite's call holds the
// table, so it is not closed under them).
type tableInvoker struct {
	r *Router
	t *Table
}

var _ bridge.Invoker = tableInvoker{}

func (ti tableInvoker) Route(method string) (*bridge.Route, bool) {
	br := ti.t.lookup(method)
	if br == nil {
		return nil, false
	}
	return br.route, true
}

func (ti tableInvoker) Routes() []*bridge.Route { return ti.t.Routes() }

func (ti tableInvoker) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	return ti.r.unaryOn(ctx, ti.t, c)
}

func (ti tableInvoker) Stream(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
	return ti.r.streamOn(ctx, ti.t, c, s)
}

// RequestIDKey is the metadata key of the request id, in and out.
const RequestIDKey = "x-request-id"

// RequestID keeps a caller's request id when it is short printable ASCII,
// and makes a random one otherwise.
func RequestID(v []string) string {
	if len(v) == 1 && len(v[0]) > 0 && len(v[0]) <= 128 {
		ok := true
		for _, r := range v[0] {
			if r < 0x21 || r > 0x7e {
				ok = false
				break
			}
		}
		if ok {
			return v[0]
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
