package websocket

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/cenkalti/backoff/v5"
	ws "github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
)

// Stream serves a streaming call over a socket of its own. The route's
// timeout, when set, bounds the call along with the caller's deadline (the
// upstream's default timeout does not: streams are long-lived). The socket
// is closed when the call ends: 1000 when it completed, 1001 when the
// caller went away.
//
// Stream may return while a caller message is being received; that Recv
// returns when the call ends, as gRPC ends it once the handler returns.
func (e *endpoint) Stream(ctx context.Context, c *bridge.Call, out bridge.Stream) error {
	if e.r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.r.Timeout)
		defer cancel()
	}
	if !e.r.Method.IsStreamingClient() {
		return e.serverStream(ctx, c, out)
	}
	return e.clientStream(ctx, c, out)
}

// open dials and starts serving a socket for one call.
func (e *endpoint) open(ctx context.Context, c *bridge.Call) (*socket, error) {
	var req proto.Message
	if !e.r.Method.IsStreamingClient() {
		req = c.Request
	}
	conn, err := e.dial(ctx, c.Metadata, c.RequestID, req)
	if err != nil {
		return nil, err
	}
	return newSocket(conn, e.opts.Buffer, e.opts.KeepaliveInterval, e.opts.KeepaliveTimeout), nil
}

// serverStream sends the request as the first frame and relays the peer's
// frames. With reconnect on, a socket that drops is replaced after a
// backoff and the (resume) request sent again; see Reconnect. A redial
// that fails as UNAVAILABLE (refused, 502, 503) or by the handshake timeout
// counts as a failed attempt; any other refusal ends the call.
func (e *endpoint) serverStream(ctx context.Context, c *bridge.Call, out bridge.Stream) error {
	rc := e.opts.Reconnect
	var last proto.Message
	failures := 0
	var bo *backoff.ExponentialBackOff
	for {
		var end socketEnd
		s, err := e.open(ctx, c)
		switch {
		case err != nil && (failures == 0 || !retryableDial(ctx, err)):
			return err
		case err != nil:
			end = socketEnd{err: err, reconnect: true}
		default:
			f, err := e.encodeFrame(e.resumeRequest(c.Request, last))
			if err != nil {
				s.shutdown(ws.StatusGoingAway, "bad request")
				return err
			}
			// A failed write ends the socket, which relay then reports.
			_ = s.write(f)
			end, err = e.relay(ctx, s, out, func(m proto.Message) {
				last = m
				failures = 0
			})
			if err != nil {
				return err
			}
		}
		if end.err == nil || !end.reconnect || failures >= rc.MaxAttempts {
			return end.err
		}
		failures++
		if failures == 1 {
			bo = httpx.Backoff(rc.InitialBackoff, rc.MaxBackoff, 2)
		}
		if !sleep(ctx, bo.NextBackOff()) {
			return e.ctxError(ctx)
		}
	}
}

// retryableDial reports whether a failed redial may be tried again.
func retryableDial(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.DeadlineExceeded:
		return ctx.Err() == nil
	}
	return false
}

// resumeRequest is the request to send on a (re)connected socket: the
// call's request, with the resume field set to the cursor of the last
// message delivered.
func (e *endpoint) resumeRequest(req, last proto.Message) proto.Message {
	if last == nil || e.cursor == nil {
		return req
	}
	v, ok := getPath(last.ProtoReflect(), e.cursor)
	if !ok {
		return req
	}
	m := proto.Clone(req)
	setPath(m.ProtoReflect(), e.resume, v)
	return m
}

// sleep waits for d; false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errWriteFailed marks a pump's end by a failed socket write; the socket's
// reader reports why.
var errWriteFailed = errors.New("socket write failed")

// clientStream serves client and bidi streams: a pump turns caller
// messages into frames while the peer's frames are relayed back. A client
// stream completes with the peer's first frame; a bidi stream when the peer
// closes or sends the declared end frame (EndConfig). WebSocket has no
// half-close: the route's half_close says what the caller's does (keep
// reading, the default; close the socket; or send a declared frame).
func (e *endpoint) clientStream(ctx context.Context, c *bridge.Call, out bridge.Stream) error {
	s, err := e.open(ctx, c)
	if err != nil {
		return err
	}
	pumped := make(chan error, 1)
	go e.pump(s, out, pumped)
	unary := !e.r.Method.IsStreamingServer()
	got := false
	end, err := e.relayPumped(ctx, s, out, pumped, func(proto.Message) { got = true }, unary)
	switch {
	case err != nil:
		return err
	case unary && got:
		return nil
	case unary && end.err == nil:
		return bridge.Errorf(codes.Internal, reason.WSNoReply, e.meta(), "upstream %s closed the WebSocket without a reply", e.a.u.Name)
	}
	return end.err
}

// pump sends each caller message as a frame until the caller half-closes
// (io.EOF), the call breaks, or the socket does (errWriteFailed). It reads
// the next message only once the previous frame is written, so a peer that
// does not read holds the caller back through gRPC flow control.
func (e *endpoint) pump(s *socket, in bridge.Stream, done chan<- error) {
	for {
		m, err := in.Recv()
		if err != nil {
			done <- err
			return
		}
		f, err := e.encodeFrame(m)
		if err != nil {
			done <- err
			return
		}
		if err := s.write(f); err != nil {
			done <- errWriteFailed
			return
		}
	}
}

// relay delivers the socket's frames to the caller; see relayPumped.
func (e *endpoint) relay(ctx context.Context, s *socket, out bridge.Stream, delivered func(proto.Message)) (socketEnd, error) {
	return e.relayPumped(ctx, s, out, nil, delivered, false)
}

// relayPumped delivers the socket's frames to the caller until the socket
// ends (its end is returned, the socket shut down), the call ends or fails
// (err), or, with once, the first frame is delivered. Sending blocks while
// the caller does not read; meanwhile frames wait in the socket's bounded
// buffer and then in the network. pumped reports the pump's end (nil for
// server streams).
func (e *endpoint) relayPumped(ctx context.Context, s *socket, out bridge.Stream, pumped <-chan error, delivered func(proto.Message), once bool) (socketEnd, error) {
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				s.shutdown(ws.StatusNormalClosure, "")
				return e.endOf(s, s.readErr), nil
			}
			m, err := e.codec.decode(*f, e.r.Method.Output())
			end := e.ends.isEnd(*f, m)
			if err != nil && !(end && e.ends.frame == f.typ) {
				return socketEnd{}, e.badFrame(s, *f, err)
			}
			if end && (!e.ends.deliver || err != nil) {
				// The declared end: the call is done, the socket closed
				// normally.
				s.shutdown(ws.StatusNormalClosure, "done")
				return socketEnd{}, nil
			}
			if err := out.Send(m); err != nil {
				s.shutdown(ws.StatusGoingAway, "call ended")
				if cerr := e.ctxError(ctx); cerr != nil {
					return socketEnd{}, cerr
				}
				return socketEnd{}, err
			}
			delivered(m)
			if end {
				s.shutdown(ws.StatusNormalClosure, "done")
				return socketEnd{}, nil
			}
			if once {
				s.shutdown(ws.StatusNormalClosure, "done")
				return socketEnd{}, nil
			}
		case err := <-pumped:
			pumped = nil
			switch {
			case errors.Is(err, io.EOF) && e.ends.halfClose == HalfCloseClose:
				// The caller is done and so is the socket.
				s.shutdown(ws.StatusNormalClosure, "")
				return socketEnd{}, nil
			case errors.Is(err, io.EOF) && e.ends.halfClose == HalfCloseSend:
				// The declared frame tells the peer; a failed write ends
				// the socket, which the reader then reports.
				_ = s.write(frame{ws.MessageText, e.ends.halfFrame})
			case errors.Is(err, io.EOF), errors.Is(err, errWriteFailed):
				// Keep relaying: the peer answers or closes.
			default:
				s.shutdown(ws.StatusGoingAway, "call ended")
				if cerr := e.ctxError(ctx); cerr != nil {
					return socketEnd{}, cerr
				}
				return socketEnd{}, err
			}
		case <-ctx.Done():
			s.shutdown(ws.StatusGoingAway, "call ended")
			return socketEnd{}, e.ctxError(ctx)
		}
	}
}
