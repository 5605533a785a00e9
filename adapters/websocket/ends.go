package websocket

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	ws "github.com/coder/websocket"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// EndConfig declares when a peer's stream is over although its socket stays
// open (`websocket: {end: ...}` in a routes: entry, or
// (protobridge.v1.route).websocket.end in the .proto). The frame that ends it
// is not relayed unless Deliver is set; the call ends with OK and the
// socket is closed with 1000. The peer closing the socket (1000) ends the
// call with OK too, whatever is declared.
type EndConfig struct {
	// Field and Value: a frame whose output field (dotted path) has this
	// value, in its text form (enum values by name, true/false, numbers as
	// written), ends the stream: {"type": "done"} with field type, value
	// done.
	Field string `yaml:"field"`
	Value string `yaml:"value"`
	// Frame: any frame of this type ("text" or "binary") ends the stream;
	// for peers that send data as one type and the end as the other.
	Frame string `yaml:"frame"`
	// Deliver relays the ending frame to the caller before ending.
	Deliver bool `yaml:"deliver"`
}

// HalfClose is what a caller's half-close of a client or bidi stream does
// (`websocket: {half_close: ...}`, or (protobridge.v1.route).websocket
// .half_close): WebSocket has no half-close of its own.
//
//   - "keep" (default): nothing is sent; the peer's frames are relayed
//     until the peer closes or an end frame (EndConfig) arrives;
//   - "close": the socket is closed with 1000 at once and the call ends
//     with OK once the close handshake is done;
//   - "send": HalfCloseFrame is sent as a text frame (such as
//     {"type":"input_audio_buffer.commit"} or {"done":true}), then the
//     peer's frames are relayed as with keep.
const (
	HalfCloseKeep  = "keep"
	HalfCloseClose = "close"
	HalfCloseSend  = "send"
)

// ends is a route's compiled end and half-close settings.
type ends struct {
	field   []protoreflect.FieldDescriptor
	value   string
	frame   ws.MessageType // 0: none
	deliver bool

	halfClose string
	halfFrame []byte
}

// compileEnds checks a route's end and half_close settings against its
// method.
func compileEnds(block *pbv1.WebSocketRoute, md protoreflect.MethodDescriptor) (*ends, error) {
	e := &ends{halfClose: HalfCloseKeep}
	if c := block.GetEnd(); c != nil {
		switch c.Frame {
		case "":
		case "text":
			e.frame = ws.MessageText
		case "binary":
			e.frame = ws.MessageBinary
		default:
			return nil, fmt.Errorf("end.frame %q: use text or binary", c.Frame)
		}
		if (c.Field == "") != (c.Value == "") {
			return nil, errors.New("end.field and end.value go together")
		}
		if c.Field != "" {
			fds, err := fieldPath(md.Output(), c.Field)
			if err != nil {
				return nil, fmt.Errorf("end.field: %w", err)
			}
			if fds[len(fds)-1].Message() != nil {
				return nil, fmt.Errorf("end.field %q is a message; name a scalar field", c.Field)
			}
			e.field, e.value = fds, c.Value
		}
		if e.field == nil && e.frame == 0 {
			return nil, errors.New("end: give field and value, or frame")
		}
		if !md.IsStreamingServer() {
			return nil, errors.New("end applies to server-streaming and bidi methods")
		}
		e.deliver = c.Deliver
	}
	switch block.GetHalfClose() {
	case "", HalfCloseKeep:
	case HalfCloseClose:
		e.halfClose = HalfCloseClose
	case HalfCloseSend:
		if block.GetHalfCloseFrame() == "" {
			return nil, errors.New("half_close: send needs half_close_frame")
		}
		e.halfClose, e.halfFrame = HalfCloseSend, []byte(block.GetHalfCloseFrame())
	default:
		return nil, fmt.Errorf("half_close %q: use keep, close or send", block.GetHalfClose())
	}
	if block.GetHalfClose() != "" && !md.IsStreamingClient() {
		return nil, errors.New("half_close applies to client-streaming and bidi methods")
	}
	return e, nil
}

// isEnd reports whether a frame (and its decoded message) ends the stream.
func (e *ends) isEnd(f frame, m proto.Message) bool {
	if e == nil {
		return false
	}
	if e.frame != 0 && f.typ == e.frame {
		return true
	}
	if e.field != nil && m != nil {
		v, ok := getPath(m.ProtoReflect(), e.field)
		fd := e.field[len(e.field)-1]
		if !ok {
			return e.value == "" // never: value is required
		}
		return valueText(fd, v) == e.value
	}
	return false
}

// valueText is a scalar's text form for end.value.
func valueText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if fd.Kind() == protoreflect.EnumKind {
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
	}
	return fmt.Sprint(v.Interface())
}

// pathTemplate is a websocket path with {field} variables filled from the
// request (server-streaming routes): "/rooms/{room_id}/events".
type pathTemplate struct {
	parts []string                         // literal text between variables
	vars  [][]protoreflect.FieldDescriptor // variables, len(parts)-1
	names []string
}

// parsePathTemplate compiles a path with {field.path} variables against
// the request type; nil when the path has none.
func parsePathTemplate(path string, in protoreflect.MessageDescriptor) (*pathTemplate, error) {
	if !strings.Contains(path, "{") {
		return nil, nil
	}
	t := &pathTemplate{}
	rest := path
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("websocket path %q: unclosed {", path)
		}
		name := rest[i+1 : i+j]
		if k := strings.IndexByte(name, '='); k >= 0 {
			name = name[:k] // {name=*}: the pattern is not checked
		}
		fds, err := fieldPath(in, name)
		if err != nil {
			return nil, fmt.Errorf("websocket path %q: %w", path, err)
		}
		if fds[len(fds)-1].Message() != nil {
			return nil, fmt.Errorf("websocket path %q: %s is a message", path, name)
		}
		t.parts = append(t.parts, rest[:i])
		t.vars = append(t.vars, fds)
		t.names = append(t.names, name)
		rest = rest[i+j+1:]
	}
	return t, nil
}

// expand fills the template from a request; every variable must be set.
func (t *pathTemplate) expand(m proto.Message) (string, error) {
	var b strings.Builder
	for i, p := range t.parts {
		b.WriteString(p)
		if i == len(t.vars) {
			break
		}
		v, ok := getPath(m.ProtoReflect(), t.vars[i])
		s := ""
		if ok {
			s = valueText(t.vars[i][len(t.vars[i])-1], v)
		}
		if s == "" {
			return "", fmt.Errorf("request field %s (in the websocket path) is empty", t.names[i])
		}
		b.WriteString(url.PathEscape(s))
	}
	return b.String(), nil
}
