package sandbox

import (
	"crypto/sha1" //nolint:gosec // RFC 6455 names SHA-1 for the accept key
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

var b64 = base64.StdEncoding

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0
	opText         = 1
	opBinary       = 2
	opClose        = 8
	opPing         = 9
	opPong         = 10
)

// wsMessage is one whole message: data frames joined, or a control frame.
type wsMessage struct {
	opcode  int
	payload []byte
}

// frameReader splits one direction of a WebSocket byte stream into
// messages as bytes arrive, unmasking client frames and joining
// fragments. It keeps at most limit bytes of a message it is assembling;
// beyond that the message is cut and cut is set.
type frameReader struct {
	buf     []byte
	partial *wsMessage
	limit   int
	cut     bool
	broken  bool
}

// feed adds bytes and returns the messages they complete.
func (f *frameReader) feed(p []byte) []wsMessage {
	if f.broken {
		return nil
	}
	f.buf = append(f.buf, p...)
	var out []wsMessage
	for {
		fin, op, payload, n, err := parseFrame(f.buf)
		if err != nil {
			f.broken = true
			return out
		}
		if n == 0 {
			return out
		}
		f.buf = f.buf[n:]
		switch {
		case op >= opClose:
			out = append(out, wsMessage{op, payload})
			continue
		case op == opContinuation && f.partial == nil:
			continue
		case op != opContinuation:
			f.partial = &wsMessage{opcode: op}
		}
		if room := f.limit - len(f.partial.payload); room < len(payload) {
			payload, f.cut = payload[:max(room, 0)], true
		}
		f.partial.payload = append(f.partial.payload, payload...)
		if fin {
			out = append(out, *f.partial)
			f.partial = nil
		}
	}
}

var errFrame = errors.New("malformed WebSocket frame")

// parseFrame reads one frame from b; n is 0 when b holds no whole frame.
func parseFrame(b []byte) (fin bool, op int, payload []byte, n int, err error) {
	if len(b) < 2 {
		return false, 0, nil, 0, nil
	}
	fin, op = b[0]&0x80 != 0, int(b[0]&0x0f)
	masked := b[1]&0x80 != 0
	length := uint64(b[1] & 0x7f)
	i := 2
	switch length {
	case 126:
		if len(b) < i+2 {
			return false, 0, nil, 0, nil
		}
		length, i = uint64(binary.BigEndian.Uint16(b[i:])), i+2
	case 127:
		if len(b) < i+8 {
			return false, 0, nil, 0, nil
		}
		length, i = binary.BigEndian.Uint64(b[i:]), i+8
		if length > 1<<40 {
			return false, 0, nil, 0, errFrame
		}
	}
	var key []byte
	if masked {
		if len(b) < i+4 {
			return false, 0, nil, 0, nil
		}
		key, i = b[i:i+4], i+4
	}
	if uint64(len(b)-i) < length {
		return false, 0, nil, 0, nil
	}
	payload = append([]byte(nil), b[i:i+int(length)]...)
	for j := range payload {
		if key != nil {
			payload[j] ^= key[j%4]
		}
	}
	return fin, op, payload, i + int(length), nil
}

// appendFrame appends one unmasked, final frame (as a server sends).
func appendFrame(dst []byte, op int, payload []byte) []byte {
	dst = append(dst, 0x80|byte(op))
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// acceptKey is the Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) //nolint:gosec // protocol-mandated
	return b64.EncodeToString(h[:])
}

// closePayload is a close frame's body: code and reason.
func closePayload(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// closeText is a close frame's payload as recorded: "1000 reason".
func closeText(p []byte) string {
	if len(p) < 2 {
		return "1005"
	}
	return strconv.Itoa(int(p[0])<<8|int(p[1])) + " " + string(p[2:])
}

// parseCloseText reverses closeText.
func parseCloseText(s string) (int, string) {
	code, reason, _ := strings.Cut(s, " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 1000, ""
	}
	return n, reason
}
