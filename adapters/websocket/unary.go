package websocket

import (
	"context"
	"crypto/rand"
	"math"
	"sync"
	"sync/atomic"

	ws "github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
)

// sendQueue bounds the request frames waiting for a shared socket's writer;
// callers wait (within their deadline) while it is full.
const sendQueue = 64

// sharedConn is the socket that the unary routes of one URL (and one way
// of reading correlation ids) share. A dispatcher hands each reply to the
// call waiting for its id; a writer sends request frames in turn.
type sharedConn struct {
	a   *adapter
	key string
	// codec and out read the replies' ids.
	codec *codec
	out   protoreflect.MessageDescriptor
	corr  *correlation
	s     *socket
	send  chan frame
	wg    sync.WaitGroup
	// done is closed once the socket has ended and is shut down.
	done chan struct{}

	mu      sync.Mutex
	pending map[string]chan frame
}

// sharedFor returns the route's shared socket, dialling it when there is
// none. The handshake is bounded by the connect timeout, not by the first
// caller's deadline, as later callers share it; each caller waits only
// within its own deadline.
func (a *adapter) sharedFor(ctx context.Context, e *endpoint) (*sharedConn, error) {
	a.mu.Lock()
	sc := a.shared[e.sharedKey]
	a.mu.Unlock()
	if sc != nil {
		return sc, nil
	}
	ch := a.dials.DoChan(e.sharedKey, func() (any, error) {
		// A caller that found no socket just before another's dial
		// finished must not open a second one: look again.
		a.mu.Lock()
		existing := a.shared[e.sharedKey]
		a.mu.Unlock()
		if existing != nil {
			return existing, nil
		}
		conn, err := e.dial(a.ctx, nil, "", nil)
		if err != nil {
			return nil, err
		}
		sc := &sharedConn{
			a: a, key: e.sharedKey, codec: e.codec, out: e.r.Method.Output(), corr: e.corr,
			s:       newSocket(conn, e.opts.Buffer, e.opts.KeepaliveInterval, e.opts.KeepaliveTimeout),
			send:    make(chan frame, sendQueue),
			done:    make(chan struct{}),
			pending: map[string]chan frame{},
		}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			sc.s.shutdown(ws.StatusGoingAway, "protobridge is closing")
			return nil, bridge.Errorf(codes.Unavailable, reason.AdapterClosed, e.meta(), "upstream %s is being closed", a.u.Name)
		}
		a.shared[e.sharedKey] = sc
		a.mu.Unlock()
		sc.wg.Add(2)
		go sc.dispatch()
		go sc.write()
		return sc, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*sharedConn), nil
	case <-ctx.Done():
		return nil, e.ctxError(ctx)
	}
}

// dispatch hands each reply to the call waiting for its id; replies that
// match no waiting call (late replies of calls that gave up, frames without
// an id) are dropped. When the socket ends, it shuts it down, forgets it,
// and wakes every waiting call.
func (sc *sharedConn) dispatch() {
	defer sc.wg.Done()
	for f := range sc.s.frames {
		id, ok := sc.corr.replyID(sc.codec, *f, sc.out)
		sc.mu.Lock()
		ch := sc.pending[id]
		delete(sc.pending, id)
		sc.mu.Unlock()
		if !ok || ch == nil {
			sc.a.log.Debug("websocket reply matches no waiting call", "correlation_id", id)
			continue
		}
		ch <- *f // buffered, and removed from pending: never blocks
	}
	sc.s.shutdown(ws.StatusNormalClosure, "")
	sc.a.mu.Lock()
	if sc.a.shared[sc.key] == sc {
		delete(sc.a.shared, sc.key)
	}
	sc.a.mu.Unlock()
	close(sc.done)
}

// write sends request frames in turn until the socket ends. A failed write
// ends the socket, which dispatch then reports.
func (sc *sharedConn) write() {
	defer sc.wg.Done()
	for {
		select {
		case f := <-sc.send:
			_ = sc.s.write(f)
		case <-sc.done:
			return
		}
	}
}

// close shuts the socket down with code and waits for the dispatcher and
// the writer.
func (sc *sharedConn) close(code ws.StatusCode, reason string) {
	sc.s.shutdown(code, reason)
	sc.wg.Wait()
}

// register makes ch the receiver of the reply with id; false when a call
// with that id is already waiting.
func (sc *sharedConn) register(id string, ch chan frame) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if _, dup := sc.pending[id]; dup {
		return false
	}
	sc.pending[id] = ch
	return true
}

// unregister forgets a call that stopped waiting.
func (sc *sharedConn) unregister(id string, ch chan frame) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.pending[id] == ch {
		delete(sc.pending, id)
	}
}

// Unary sends the request, stamped with a correlation id, on the shared
// socket and waits for the reply carrying the same id. The route's (or
// upstream's) timeout and the caller's deadline bound the wait: a peer that
// never answers gives DEADLINE_EXCEEDED.
func (e *endpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	var req proto.Message = dynamicpb.NewMessage(e.r.Method.Input())
	if c.Request != nil {
		req = proto.Clone(c.Request)
	}
	id := e.corr.stamp(req.ProtoReflect(), e.a.ids.next)
	f, err := e.encodeFrame(req)
	if err != nil {
		return nil, err
	}
	sc, err := e.a.sharedFor(ctx, e)
	if err != nil {
		return nil, err
	}
	reply := make(chan frame, 1)
	if !sc.register(id, reply) {
		return nil, bridge.Errorf(codes.Aborted, reason.CorrelationInFlight, e.meta("correlation_id", id), "a call with correlation id %q is already waiting for upstream %s", id, e.a.u.Name)
	}
	defer sc.unregister(id, reply)
	select {
	case sc.send <- f:
	case <-sc.done:
		return nil, e.sharedEnd(sc)
	case <-ctx.Done():
		return nil, e.ctxError(ctx)
	}
	select {
	case f = <-reply:
	case <-sc.done:
		select {
		case f = <-reply:
		default:
			return nil, e.sharedEnd(sc)
		}
	case <-ctx.Done():
		return nil, e.ctxError(ctx)
	}
	m, err := e.codec.decode(f, e.r.Method.Output())
	if err != nil {
		return nil, e.decodeError(f, err)
	}
	return m, nil
}

// sharedEnd is the status of a unary call whose shared socket ended before
// the reply: the close code's status, with a normal close UNAVAILABLE as
// the call got no reply.
func (e *endpoint) sharedEnd(sc *sharedConn) error {
	if end := e.endOf(sc.s, sc.s.readErr); end.err != nil {
		return end.err
	}
	return bridge.Errorf(codes.Unavailable, reason.UpstreamWSClose(1000), e.meta("close_code", "1000"), "upstream %s closed the shared WebSocket before replying", e.a.u.Name)
}

// idSource generates correlation ids for requests that carry none.
type idSource struct{ n atomic.Uint64 }

// next returns a fresh id of the field's kind: random text for strings, a
// counter for integers.
func (s *idSource) next(k protoreflect.Kind) protoreflect.Value {
	n := s.n.Add(1)
	switch k {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(rand.Text())
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(n%math.MaxInt32) + 1)
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(int64(n % math.MaxInt64))
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(uint32(n%math.MaxUint32) + 1)
	}
	return protoreflect.ValueOfUint64(n)
}
