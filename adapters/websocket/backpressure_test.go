package websocket

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
)

// TestBackpressureSlowCaller: the ticker pushes 1000 frames as fast as it
// can while the caller reads none. The socket's reader stops after filling
// its buffer: frames read from the socket stay at buffer + 2 (one held by
// the blocked Send, one by the stalled reader), the rest wait in the
// network. Once the caller reads, all 1000 arrive in order.
func TestBackpressureSlowCaller(t *testing.T) {
	const frames, buffer = 1000, 8
	p := peer(t, "ticker.js")
	tag := uniq("bp-read")
	e := bind(t, route(t, "Tick", p.url("/?count=1000&tag="+tag), "websocket {buffer: 8}"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := e.open(ctx, &bridge.Call{Route: e.r})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.encodeFrame(msg(t, nil))
	if err != nil || s.write(sub) != nil {
		t.Fatal(err)
	}
	f := newFake(ctx)
	done := make(chan error, 1)
	go func() {
		end, err := e.relay(ctx, s, f, func(proto.Message) {})
		if err == nil {
			err = end.err
		}
		done <- err
	}()

	p.waitLine(t, "pushed "+tag+" 1000") // every frame is in the kernel's buffers
	waitFor(t, "the reader to stall", s.stalled.Load)
	if got := s.frameReads.Load(); got > buffer+2 {
		t.Fatalf("read %d frames from the socket with a buffer of %d and a caller reading none", got, buffer)
	}
	if got := f.sent.Load(); got != 0 {
		t.Fatalf("%d messages delivered to a caller reading none", got)
	}

	for i := 1; i <= frames; i++ {
		if got := field(recvOut(t, f, done), "seq").Int(); got != int64(i) {
			t.Fatalf("message %d: seq %d", i, got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.frameReads.Load() != frames {
		t.Fatalf("read %d frames, want %d", s.frameReads.Load(), frames)
	}
}

// TestBackpressureSlowPeer: the caller offers 16 KiB messages without end
// while the peer reads nothing. The pump takes a caller message only after
// the previous frame is written, so what it took never runs more than one
// ahead of what the socket accepted, and the socket stops accepting once
// the network's buffers are full: the caller is held back (gRPC flow
// control does the rest). When the peer reads again, it gets every frame.
func TestBackpressureSlowPeer(t *testing.T) {
	const size, supply = 16 << 10, 100_000 // 1.6 GB on offer
	p := peer(t, "slow_reader.js")
	tag := uniq("bp-write")
	e := bind(t, route(t, "Chat", p.url("/?tag="+tag), `websocket {keepalive: "0"}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := e.open(ctx, &bridge.Call{Route: e.r})
	if err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "paused "+tag)

	payload := strings.Repeat("x", size)
	var stop atomic.Bool
	var ahead atomic.Int64
	f := newFake(ctx)
	f.gen = func(n int64) (proto.Message, error) {
		if a := n - s.frameWrites.Load(); a > ahead.Load() {
			ahead.Store(a)
		}
		if stop.Load() {
			return nil, io.EOF
		}
		if n > supply {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return msg(t, map[string]any{"text": payload}), nil
	}
	pumped := make(chan error, 1)
	go e.pump(s, f, pumped)
	done := make(chan error, 1)
	go func() {
		_, err := e.relayPumped(ctx, s, f, pumped, func(proto.Message) {}, false)
		done <- err
	}()

	// The socket is full once the pump holds a message it cannot write
	// while no frame completes for a while.
	last, still := int64(-1), 0
	waitFor(t, "writes to block on the paused peer", func() bool {
		w := s.frameWrites.Load()
		if f.recv.Load() == w+1 && w == last && w > 0 {
			still++
		} else {
			still = 0
		}
		last = w
		return still >= 100
	})
	taken, written := f.recv.Load(), s.frameWrites.Load()
	if taken > written+1 || ahead.Load() > 1 {
		t.Fatalf("took %d caller messages (at most %d ahead) for %d frames written", taken, ahead.Load(), written)
	}
	if taken >= supply {
		t.Fatalf("the caller's whole supply (%d) was taken", taken)
	}
	t.Logf("a paused peer held the caller at %d messages of %d bytes (%d written)", taken, size, written)

	stop.Store(true)
	p.send(t, "resume "+tag)
	// The pump finishes when the held message is written and its next
	// request to the caller gets io.EOF.
	waitFor(t, "the pump to finish", func() bool { return f.recv.Load() > taken && s.frameWrites.Load() == f.recv.Load()-1 })
	written = s.frameWrites.Load()
	cancel()
	<-done
	if got := p.waitLine(t, "received "+tag+" "); got != "received "+tag+" "+strconv.FormatInt(written, 10) {
		t.Fatalf("peer: %q, want %d frames", got, written)
	}
}

// TestThousandStreams opens and closes 1,000 bidi streams against the ws
// echo peer; afterwards the goroutine count is back to where it started.
func TestThousandStreams(t *testing.T) {
	p := peer(t, "echo.js")
	e := bind(t, route(t, "Chat", p.url("/?tag=many")))
	base := runtime.NumGoroutine()
	const streams, workers = 1000, 8
	var wg sync.WaitGroup
	var failed atomic.Int64
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				ctx, cancel := context.WithCancel(context.Background())
				f := newFake(ctx)
				done := run(ctx, e, &bridge.Call{Route: e.r}, f)
				f.in <- msg(t, map[string]any{"text": "hi"})
				select {
				case <-f.out:
				case <-done:
					failed.Add(1)
				}
				cancel()
				<-done
			}
		}()
	}
	for i := range streams {
		next <- i
	}
	close(next)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d streams failed", n)
	}
	waitFor(t, "goroutines to return to the baseline", func() bool { return runtime.NumGoroutine() <= base })
}
