package sandbox

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// wsScript is what a sandboxed WebSocket upstream does: it is handed the
// frames the client sends (nil when the client closed or went away) and
// writes frames back with send; returning ends the socket with code and
// reason (code 0: cut without a close frame).
type wsScript func(ctx context.Context, recv func() *wsMessage, send func(op int, data []byte) error) (code int, reason string)

// wsUpgrade answers a WebSocket handshake with a 101 whose body is one end
// of an in-memory pipe; script serves the other end until it returns, the
// client closes or ctx (the upstream's lifetime, not the handshake's) ends.
func wsUpgrade(req *http.Request, protocol string, script wsScript) *http.Response {
	client, server := net.Pipe()
	h := http.Header{
		"Upgrade":              {"websocket"},
		"Connection":           {"Upgrade"},
		"Sec-Websocket-Accept": {acceptKey(req.Header.Get("Sec-WebSocket-Key"))},
	}
	if protocol == "" {
		// Choose the client's first subprotocol, as most servers do.
		if p := req.Header.Get("Sec-WebSocket-Protocol"); p != "" {
			protocol = strings.TrimSpace(strings.Split(p, ",")[0])
		}
	}
	if protocol != "" {
		h.Set("Sec-WebSocket-Protocol", protocol)
	}
	go serveWS(server, script)
	return &http.Response{Status: "101 Switching Protocols", StatusCode: http.StatusSwitchingProtocols, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: client, Request: req}
}

// serveWS runs script on the server end of a pipe: a reader goroutine
// turns client frames into messages (answering pings), and the script's
// end closes the socket.
func serveWS(conn net.Conn, script wsScript) {
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wmu sync.Mutex
	write := func(op int, data []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := conn.Write(appendFrame(nil, op, data))
		return err
	}
	msgs := make(chan wsMessage, 16)
	clientClosed := make(chan struct{})
	go func() {
		defer cancel()
		defer close(msgs)
		fr := frameReader{limit: 16 << 20}
		r := bufio.NewReader(conn)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			for _, m := range fr.feed(buf[:n]) {
				switch m.opcode {
				case opPing:
					_ = write(opPong, m.payload)
				case opPong:
				case opClose:
					close(clientClosed)
					_ = write(opClose, m.payload)
					return
				default:
					select {
					case msgs <- m:
					case <-ctx.Done():
						return
					}
				}
			}
			if err != nil || fr.broken {
				return
			}
		}
	}()
	recv := func() *wsMessage {
		select {
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			return &m
		case <-ctx.Done():
			return nil
		}
	}
	code, reason := script(ctx, recv, write)
	select {
	case <-clientClosed:
		return
	default:
	}
	if code == 0 {
		return // cut without a close frame
	}
	if write(opClose, closePayload(code, reason)) != nil {
		return
	}
	// Wait briefly for the client's close frame, as the protocol asks.
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case _, ok := <-msgs:
			if !ok {
				return
			}
		case <-clientClosed:
			return
		case <-t.C:
			return
		}
	}
}
