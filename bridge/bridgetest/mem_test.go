package bridgetest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
)

// The "mem" adapter talks to an in-process peer (memPeer) over channels:
// a protocol with no network, to test the harness itself. Its upstream
// block may name a defect, which breaks one rule of the contract.

const memKind = "bridgetest-mem"

// memMsg is one message of the mem protocol, either way.
type memMsg struct {
	Text, ID, RequestID string
	N, Seq              int32
	Hold, Last          bool
}

// errRefused is the mem peer's error answer.
var errRefused = errors.New("the peer refuses")

// memPeer serves bridgetest.v1.Echo's semantics.
type memPeer struct{ stop chan struct{} }

var (
	peersMu sync.Mutex
	peers   = map[string]*memPeer{}
	peerN   atomic.Int64
)

// startMemPeer registers a peer and returns its address.
func startMemPeer() (string, func()) {
	p := &memPeer{stop: make(chan struct{})}
	addr := fmt.Sprintf("mem://%d", peerN.Add(1))
	peersMu.Lock()
	peers[addr] = p
	peersMu.Unlock()
	return addr, func() {
		close(p.stop)
		peersMu.Lock()
		delete(peers, addr)
		peersMu.Unlock()
	}
}

// serve runs one exchange of operation op: the caller's messages come on
// in (closed at the caller's end), replies go to out. It returns when the
// exchange is over, ctx ends (ctx.Err()) or the peer stops.
func (p *memPeer) serve(ctx context.Context, op, rid string, in <-chan memMsg, out chan<- memMsg) error {
	recv := func() (memMsg, bool, error) {
		select {
		case m, ok := <-in:
			return m, ok, nil
		case <-ctx.Done():
			return memMsg{}, false, ctx.Err()
		case <-p.stop:
			return memMsg{}, false, errors.New("peer stopped")
		}
	}
	send := func(m memMsg) error {
		m.RequestID = rid
		select {
		case out <- m:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-p.stop:
			return errors.New("peer stopped")
		}
	}
	hold := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.stop:
			return errors.New("peer stopped")
		}
	}
	switch op {
	case "echo":
		m, _, err := recv()
		if err != nil {
			return err
		}
		return send(memMsg{Text: m.Text, ID: m.ID})
	case "fail":
		if _, _, err := recv(); err != nil {
			return err
		}
		return errRefused
	case "hang":
		if _, _, err := recv(); err != nil {
			return err
		}
		return hold()
	case "count":
		m, _, err := recv()
		if err != nil {
			return err
		}
		for i := int32(1); i <= m.N; i++ {
			if err := send(memMsg{Text: m.Text, ID: m.ID, Seq: i}); err != nil {
				return err
			}
		}
		if m.Hold {
			return hold()
		}
		return nil
	case "collect":
		var texts []string
		for {
			m, ok, err := recv()
			if err != nil {
				return err
			}
			if ok {
				texts = append(texts, m.Text)
			}
			if !ok || m.Last {
				return send(memMsg{Text: strings.Join(texts, " "), Seq: int32(len(texts))})
			}
		}
	case "chat":
		for seq := int32(1); ; seq++ {
			m, ok, err := recv()
			if err != nil || !ok {
				return err
			}
			if err := send(memMsg{Text: m.Text, ID: m.ID, Seq: seq}); err != nil {
				return err
			}
			if m.Last {
				return nil
			}
		}
	}
	return fmt.Errorf("unknown operation %q", op)
}

// memConfig is the mem upstream's block.
type memConfig struct {
	// Shapes limits the shapes served: "unary" refuses streaming methods.
	Shapes string `yaml:"shapes"`
	// Defect breaks one rule of the contract (see the defects table).
	Defect string `yaml:"defect"`
}

// memRoute is a mem route's block.
type memRoute struct {
	// Op is the peer's operation.
	Op string `yaml:"op"`
}

type memAdapter struct {
	u      *bridge.Upstream
	cfg    memConfig
	peer   *memPeer
	closed chan struct{}
	// last is shared by every call of the "mixed-up" defect.
	mu   sync.Mutex
	last string
}

func newMem(u *bridge.Upstream, _ *bridge.Env) (bridge.Adapter, error) {
	a := &memAdapter{u: u, closed: make(chan struct{})}
	if err := u.Config.Decode(&a.cfg); err != nil {
		return nil, err
	}
	peersMu.Lock()
	a.peer = peers[u.BaseURL]
	peersMu.Unlock()
	if a.peer == nil {
		return nil, fmt.Errorf("no mem peer at %q", u.BaseURL)
	}
	if a.cfg.Defect == "leak" {
		go func() { <-make(chan struct{}) }() // never ends
	}
	return a, nil
}

func (a *memAdapter) Close() error {
	close(a.closed)
	if a.cfg.Defect == "close-error" {
		return errors.New("cannot close")
	}
	return nil
}

func (a *memAdapter) Bind(r *bridge.Route) (bridge.Endpoint, error) {
	md := r.Method
	streaming := md.IsStreamingClient() || md.IsStreamingServer()
	if a.cfg.Defect == "bind-panic" && streaming {
		panic("streams are not done yet")
	}
	if a.cfg.Shapes == "unary" && streaming {
		return nil, errors.New("the mem adapter serves unary methods only")
	}
	var rc memRoute
	if err := r.Config.Decode(&rc); err != nil {
		return nil, err
	}
	if rc.Op == "" {
		return nil, errors.New("no mem op")
	}
	return &memEndpoint{a: a, r: r, op: rc.Op}, nil
}

type memEndpoint struct {
	a  *memAdapter
	r  *bridge.Route
	op string
}

func (e *memEndpoint) defect() string { return e.a.cfg.Defect }

func (e *memEndpoint) meta() map[string]string {
	return map[string]string{"upstream": e.a.u.Name, "method": e.r.Name()}
}

// request reads a bridgetest.v1.EchoRequest by field names.
func request(m proto.Message) memMsg {
	pm := m.ProtoReflect()
	get := func(n protoreflect.Name) protoreflect.Value { return pm.Get(pm.Descriptor().Fields().ByName(n)) }
	return memMsg{Text: get("text").String(), ID: get("id").String(), N: int32(get("n").Int()), Hold: get("hold").Bool(), Last: get("last").Bool()}
}

// reply builds a bridgetest.v1.EchoResponse.
func (e *memEndpoint) reply(m memMsg) proto.Message {
	md := e.r.Method.Output()
	if e.defect() == "wrong-type" {
		md = e.r.Method.Input()
	}
	out := dynamicpb.NewMessage(md)
	set := func(n protoreflect.Name, v protoreflect.Value) {
		if fd := md.Fields().ByName(n); fd != nil {
			out.Set(fd, v)
		}
	}
	set("text", protoreflect.ValueOfString(m.Text))
	set("id", protoreflect.ValueOfString(m.ID))
	set("request_id", protoreflect.ValueOfString(m.RequestID))
	set("seq", protoreflect.ValueOfInt32(m.Seq))
	return out
}

// mapError turns the peer's error into a status.
func (e *memEndpoint) mapError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		switch {
		case e.defect() == "raw-ctx-error":
			return ctx.Err()
		case e.defect() == "cancel-as-deadline":
			return bridge.Errorf(codes.DeadlineExceeded, reason.DeadlineExceeded, e.meta(), "gave up")
		}
		return httpx.ContextError(ctx, e.a.u.Name, e.meta())
	}
	switch {
	case errors.Is(err, errRefused) && e.defect() == "plain-error":
		return err
	case errors.Is(err, errRefused) && e.defect() == "wrong-domain":
		return bridge.Errorf(codes.NotFound, "", nil, "refused")
	case errors.Is(err, errRefused):
		return bridge.Errorf(codes.NotFound, "MEM_REFUSED", e.meta(), "upstream %s refused the call", e.a.u.Name)
	}
	return bridge.Wrap(err, codes.Unavailable, reason.UpstreamUnavailable, e.meta(), "upstream %s failed", e.a.u.Name)
}

func (e *memEndpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	req := request(c.Request)
	if e.defect() == "mutate-request" {
		pm := c.Request.ProtoReflect()
		pm.Set(pm.Descriptor().Fields().ByName("id"), protoreflect.ValueOfString("stamped"))
	}
	rid := c.RequestID
	if e.defect() == "no-request-id" {
		rid = ""
	}
	peerCtx := ctx
	if e.defect() == "ignore-deadline" {
		peerCtx = context.WithoutCancel(ctx)
	}
	in := make(chan memMsg, 1)
	in <- req
	close(in)
	out := make(chan memMsg, 1)
	if err := e.a.peer.serve(peerCtx, e.op, rid, in, out); err != nil {
		return nil, e.mapError(ctx, err)
	}
	m := <-out
	if e.defect() == "mixed-up" {
		// Keeps the reply in adapter-wide state: calls mix up replies.
		e.a.mu.Lock()
		e.a.last = m.Text
		e.a.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		e.a.mu.Lock()
		m.Text = e.a.last
		e.a.mu.Unlock()
	}
	return e.reply(m), nil
}

func (e *memEndpoint) Stream(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
	peerCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.defect() == "stream-ignore-cancel" {
		peerCtx = context.WithoutCancel(ctx)
	}
	in := make(chan memMsg, 1)
	if !e.r.Method.IsStreamingClient() {
		in <- request(c.Request)
		close(in)
	} else {
		go func() {
			for n := 0; ; n++ {
				m, err := s.Recv()
				if err != nil {
					if err == io.EOF {
						close(in)
					}
					return
				}
				msg := request(m)
				if e.defect() == "collect-early" && n == 0 {
					msg.Last = true
				}
				select {
				case in <- msg:
				case <-peerCtx.Done():
					return
				}
			}
		}()
	}
	out := make(chan memMsg)
	done := make(chan error, 1)
	go func() { done <- e.a.peer.serve(peerCtx, e.op, c.RequestID, in, out) }()
	for {
		select {
		case m := <-out:
			if e.defect() == "drop-last" && m.Seq == 5 {
				continue
			}
			if err := s.Send(e.reply(m)); err != nil {
				return e.mapError(ctx, err)
			}
			if e.defect() == "duplicate" {
				_ = s.Send(e.reply(m))
			}
		case err := <-done:
			switch {
			case err == nil && e.defect() == "eof-error":
				return io.EOF
			case err == nil:
				return nil
			case ctx.Err() != nil && e.defect() == "stream-nil-on-end":
				return nil
			}
			return e.mapError(ctx, err)
		}
	}
}
