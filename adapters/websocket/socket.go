package websocket

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
)

// socket is one open WebSocket connection with what serves it: a reader
// goroutine that hands frames to a bounded channel, and a keepalive timer
// whose pings run in goroutines of their own only while they wait for a
// pong, so that an idle socket costs one goroutine. Its context ends when
// the socket is torn down, independently of any call, so that a call's end
// can close it with a proper code.
type socket struct {
	conn   *ws.Conn
	ctx    context.Context
	cancel context.CancelFunc
	// writing counts data frame writes in progress.
	writing atomic.Int32
	wg      sync.WaitGroup
	closed  sync.Once

	// frames holds what the reader read ahead of the consumer; it is closed
	// when reading ends, after readErr is set. It holds pointers, which keep
	// the buffer of an idle socket small.
	frames  chan *frame
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

	// interval and timeout are the keepalive settings; pinger fires the
	// next ping (nil when keepalive is off). keepMu guards pinger and
	// stopped, which shutdown sets first, so that no ping starts after it
	// and a ping cut by the close is not taken for a dead peer.
	interval, timeout time.Duration
	keepMu            sync.Mutex
	pinger            *time.Timer
	stopped           bool
}

// newSocket starts serving an open connection: a reader with a buffer of
// size frames and, when interval is positive, a pinger.
func newSocket(conn *ws.Conn, buffer int, interval, timeout time.Duration) *socket {
	s := &socket{conn: conn, frames: make(chan *frame, buffer), interval: interval, timeout: timeout}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.read()
	if interval > 0 {
		s.keepMu.Lock()
		s.pinger = time.AfterFunc(interval, s.keepalive)
		s.keepMu.Unlock()
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
		// A read takes no context: shutdown ends it by closing the
		// connection, and a context would cost every idle socket the
		// registration the websocket package makes for each read.
		typ, data, err := s.conn.Read(context.Background())
		if err != nil {
			s.readErr = err
			return
		}
		s.frameReads.Add(1)
		f := &frame{typ, data}
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

// keepalive runs when the pinger fires: it pings, then sets the pinger for
// the next ping an interval after this one started. A ping whose pong does
// not come within timeout, while the reader was never stalled, marks the
// socket dead and closes it. A stalled reader skips the ping. Shutdown
// waits for a ping in progress.
func (s *socket) keepalive() {
	s.keepMu.Lock()
	if s.stopped {
		s.keepMu.Unlock()
		return
	}
	s.wg.Add(1)
	s.keepMu.Unlock()
	defer s.wg.Done()
	start := time.Now()
	if !s.ping() {
		return
	}
	s.keepMu.Lock()
	if !s.stopped {
		s.pinger.Reset(max(s.interval-time.Since(start), 0))
	}
	s.keepMu.Unlock()
}

// ping sends one ping unless the reader is stalled and waits for its pong;
// false when keepalive is over (the socket ended or was found dead).
func (s *socket) ping() bool {
	if s.stalled.Load() {
		return true
	}
	stalls := s.stalls.Load()
	// Shutdown ends a ping in progress by closing the connection.
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	err := s.conn.Ping(ctx)
	cancel()
	switch {
	case err == nil:
	case s.ending():
		return false
	case s.stalled.Load() || s.stalls.Load() != stalls:
	default:
		s.keepaliveFailed.Store(true)
		_ = s.conn.CloseNow()
		return false
	}
	return true
}

// write sends one data frame. It blocks while the peer does not read
// (TCP flow control), which holds back whoever produces the frames.
func (s *socket) write(f frame) error {
	s.writing.Add(1)
	// No context: the websocket package would tie the connection to it
	// (a cancelled write context closes the connection, racing the close
	// handshake). Shutdown cuts a stuck write by closing the connection.
	err := s.conn.Write(context.Background(), f.typ, f.data)
	s.writing.Add(-1)
	if err == nil {
		s.frameWrites.Add(1)
	}
	return err
}

// writeGrace is how long shutdown waits for a data frame write in progress
// to finish before it takes the write for stuck (the peer does not read).
const writeGrace = 200 * time.Millisecond

// shutdown closes the socket with code and reason and waits for its
// goroutines. A data frame write still in progress gets writeGrace to
// finish (one that just wrote its frame is only returning); a write still
// stuck then (on a peer that does not read) means the close frame could not
// get through behind it, so the connection is closed at once, without the
// handshake, which also ends the write. Only the first call closes; later
// ones wait for it.
func (s *socket) shutdown(code ws.StatusCode, reason string) {
	s.closed.Do(func() {
		s.keepMu.Lock()
		s.stopped = true
		if s.pinger != nil {
			s.pinger.Stop()
		}
		s.keepMu.Unlock()
		stuck := s.writing.Load() > 0
		for deadline := time.Now().Add(writeGrace); stuck && time.Now().Before(deadline); stuck = s.writing.Load() > 0 {
			time.Sleep(time.Millisecond)
		}
		if stuck {
			_ = s.conn.CloseNow()
		} else {
			_ = s.conn.Close(code, reason)
		}
		s.cancel()
		s.wg.Wait()
	})
}

// ending reports whether shutdown has begun.
func (s *socket) ending() bool {
	s.keepMu.Lock()
	defer s.keepMu.Unlock()
	return s.stopped
}
