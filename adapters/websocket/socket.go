package websocket

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
)

// socket is one open WebSocket connection with the goroutines that serve
// it: a reader that hands frames to a bounded channel, and a keepalive
// pinger. Its context ends when the socket is torn down, independently of
// any call, so that a call's end can close it with a proper code.
type socket struct {
	conn   *ws.Conn
	ctx    context.Context
	cancel context.CancelFunc
	// writes bounds data frame writes; ending it cuts a write in progress.
	writes context.Context
	// stopWrites ends writes.
	stopWrites context.CancelFunc
	wg         sync.WaitGroup
	closed     sync.Once

	// frames holds what the reader read ahead of the consumer; it is closed
	// when reading ends, after readErr is set.
	frames  chan frame
	readErr error

	// frameReads and frameWrites count data frames read from and written to the socket.
	frameReads, frameWrites atomic.Int64
	// stalled is set while the reader waits for room in frames; stalls
	// counts such waits. A pong cannot be read meanwhile, so keepalive
	// forgives a missing pong then.
	stalled atomic.Bool
	stalls  atomic.Int64
	// keepaliveFailed is set when a pong did not come in time.
	keepaliveFailed atomic.Bool
}

// newSocket starts serving an open connection: a reader with a buffer of
// size frames and, when interval is positive, a pinger.
func newSocket(conn *ws.Conn, buffer int, interval, timeout time.Duration) *socket {
	s := &socket{conn: conn, frames: make(chan frame, buffer)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.writes, s.stopWrites = context.WithCancel(s.ctx)
	s.wg.Add(1)
	go s.read()
	if interval > 0 {
		s.wg.Add(1)
		go s.keepalive(interval, timeout)
	}
	return s
}

// read moves frames from the socket to s.frames. When the channel is full
// it stops reading, so the peer's frames wait in the network (TCP flow
// control) rather than in memory.
func (s *socket) read() {
	defer s.wg.Done()
	defer close(s.frames)
	for {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.readErr = err
			return
		}
		s.frameReads.Add(1)
		f := frame{typ, data}
		select {
		case s.frames <- f:
			continue
		default:
		}
		s.stalls.Add(1)
		s.stalled.Store(true)
		select {
		case s.frames <- f:
			s.stalled.Store(false)
		case <-s.ctx.Done():
			s.stalled.Store(false)
			s.readErr = s.ctx.Err()
			return
		}
	}
}

// keepalive pings every interval. A ping whose pong does not come within
// timeout, while the reader was never stalled, marks the socket dead and
// closes it.
func (s *socket) keepalive(interval, timeout time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if s.stalled.Load() {
			continue
		}
		stalls := s.stalls.Load()
		ctx, cancel := context.WithTimeout(s.ctx, timeout)
		err := s.conn.Ping(ctx)
		cancel()
		switch {
		case err == nil:
		case s.ctx.Err() != nil:
			return
		case s.stalled.Load() || s.stalls.Load() != stalls:
		default:
			s.keepaliveFailed.Store(true)
			_ = s.conn.CloseNow()
			return
		}
	}
}

// write sends one data frame. It blocks while the peer does not read
// (TCP flow control), which holds back whoever produces the frames.
func (s *socket) write(f frame) error {
	err := s.conn.Write(s.writes, f.typ, f.data)
	if err == nil {
		s.frameWrites.Add(1)
	}
	return err
}

// shutdown closes the socket with code and reason and waits for its
// goroutines. A data frame write still in progress (stuck on a peer that
// does not read) is cut first, which closes the socket at once: the close
// frame could not get through behind it. Only the first call closes; later
// ones wait for it.
func (s *socket) shutdown(code ws.StatusCode, reason string) {
	s.closed.Do(func() {
		s.stopWrites()
		_ = s.conn.Close(code, reason)
		s.cancel()
		s.wg.Wait()
	})
}
