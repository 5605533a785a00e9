package websocket

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
)

// Encoding is how one gRPC message travels in one WebSocket frame.
type Encoding string

// Frame encodings.
const (
	// EncodingJSON sends protojson in text frames (the default). Replies are
	// accepted in text or binary frames.
	EncodingJSON Encoding = "json"
	// EncodingBinary sends the protobuf wire format in binary frames; text
	// frames from the peer are refused.
	EncodingBinary Encoding = "binary"
)

// Defaults applied where a route leaves a setting out.
const (
	DefaultBuffer            = 16
	DefaultCorrelationField  = "id"
	DefaultKeepaliveInterval = 30 * time.Second
	DefaultKeepaliveTimeout  = 10 * time.Second
	DefaultInitialBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff        = 10 * time.Second
)

// Options are the settings of one WebSocket route. Bind derives them from
// the route (see ParseOptions); they map one to one onto the
// protobridge.v1.WebSocketRoute fields proposed for options.proto.
type Options struct {
	// URL is the socket's address: the upstream's base_url joined with the
	// route's path, without the fragment.
	URL *url.URL
	// Encoding is the frame encoding.
	Encoding Encoding
	// Subprotocols are offered in the handshake; when set, the peer must
	// select one of them.
	Subprotocols []string
	// CorrelationField is the dotted path of the field that matches a unary
	// reply to its request; the field must exist, with the same kind, in the
	// input and the output message. Empty in a request, it is generated.
	CorrelationField string
	// Buffer bounds the frames read from the socket ahead of the caller;
	// reading pauses while it is full.
	Buffer int
	// ReadLimit bounds one frame from the peer; larger frames end the call
	// with RESOURCE_EXHAUSTED and the socket with 1009.
	ReadLimit int64
	// WriteLimit bounds one frame to the peer.
	WriteLimit int64
	// KeepaliveInterval is the time between pings; zero turns keepalive off.
	KeepaliveInterval time.Duration
	// KeepaliveTimeout is how long a pong may take before the socket is
	// considered dead. A pong cannot be read while the caller holds the
	// stream back (the reader is paused), which is forgiven; a peer that
	// stops reading for this long blocks the ping too, and is dead.
	KeepaliveTimeout time.Duration
	// Reconnect lets a server-streaming route survive a dropped socket.
	Reconnect Reconnect
}

// Reconnect says how a server-streaming route reconnects after the socket
// drops (no close frame, a keepalive timeout, or close codes 1001, 1012,
// 1013, 1014). After a reconnect the call's request is sent again, with
// ResumeField set to the CursorField of the last message delivered.
//
// What can be lost or duplicated: every frame read from the old socket is
// delivered before reconnecting, so nothing already received is lost.
// Frames the peer sent that never arrived, and anything the peer produced
// while no socket was open, are lost unless the peer resumes after the
// cursor; a peer that ignores the cursor may send some frames again.
type Reconnect struct {
	// MaxAttempts bounds consecutive failed attempts; zero turns
	// reconnecting off. The count restarts once a message arrives.
	MaxAttempts int
	// InitialBackoff is the wait before the first attempt; it doubles with
	// each further attempt up to MaxBackoff, with full jitter.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between attempts.
	MaxBackoff time.Duration
	// CursorField is the dotted path of a field of the output message whose
	// value marks the stream's position (a sequence number, an offset).
	CursorField string
	// ResumeField is the dotted path of the field of the input message
	// that carries the cursor in the resume request.
	ResumeField string
}

// optionKeys are the keys ParseOptions accepts in base_url's fragment.
var optionKeys = map[string]bool{
	"path": true, "encoding": true, "subprotocol": true, "correlation_field": true,
	"buffer": true, "read_limit": true, "keepalive": true, "keepalive_timeout": true,
	"reconnect": true, "backoff": true, "max_backoff": true, "resume_cursor": true,
	"resume_field": true,
}

// ParseOptions derives a route's options until options.proto carries them.
// The sources, most specific first:
//
//   - base_url's fragment, which is never sent on the wire, holds
//     key=value pairs joined by '&'. A key prefixed by a method's name
//     ("Tick.reconnect=5") applies to that method only. Keys: path,
//     encoding (json|binary), subprotocol (comma-separated), correlation_field,
//     buffer, read_limit (bytes), keepalive and keepalive_timeout (durations,
//     keepalive=0 turns it off), reconnect (attempts), backoff, max_backoff,
//     resume_cursor and resume_field (dotted field paths).
//   - the route's google.api.http GET path (in the .proto or a routes:
//     entry), a literal path: a WebSocket handshake is a GET.
//   - the route's encoding, which must be json (xml frames are not
//     supported yet); the upstream's max_response_bytes and
//     max_request_bytes as read and write limits.
func ParseOptions(r *bridge.Route) (*Options, error) {
	u := r.Upstream
	base, err := url.Parse(u.BaseURL)
	if err != nil || base.Host == "" {
		return nil, errors.New("base_url must be an absolute ws://, wss://, http:// or https:// URL")
	}
	switch base.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("base_url scheme %q is not ws, wss, http or https", base.Scheme)
	}
	frag, err := url.ParseQuery(base.Fragment)
	if err != nil {
		return nil, fmt.Errorf("base_url fragment: %v", err)
	}
	method := string(r.Method.Name())
	for k := range frag {
		key := k
		if m, rest, ok := strings.Cut(k, "."); ok {
			if r.Method.Parent().(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(m)) == nil {
				return nil, fmt.Errorf("base_url fragment key %q: the service has no method %s", k, m)
			}
			key = rest
		}
		if !optionKeys[key] {
			return nil, fmt.Errorf("base_url fragment key %q is not known", k)
		}
	}
	get := func(key string) (string, bool) {
		if v, ok := frag[method+"."+key]; ok {
			return v[len(v)-1], true
		}
		if v, ok := frag[key]; ok {
			return v[len(v)-1], true
		}
		return "", false
	}

	o := &Options{
		Encoding:          EncodingJSON,
		CorrelationField:  DefaultCorrelationField,
		Buffer:            DefaultBuffer,
		ReadLimit:         orDefault(int64(u.MaxResponseBytes), bridge.DefaultMaxBodyBytes),
		WriteLimit:        orDefault(int64(u.MaxRequestBytes), bridge.DefaultMaxBodyBytes),
		KeepaliveInterval: DefaultKeepaliveInterval,
		KeepaliveTimeout:  DefaultKeepaliveTimeout,
		Reconnect:         Reconnect{InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff},
	}
	path := ""
	if r.HTTP != nil {
		verb, p := bridge.HTTPMethodAndPath(r.HTTP)
		if verb != "GET" || strings.ContainsAny(p, "{}*") {
			return nil, fmt.Errorf("http binding %s %s: a websocket route takes a literal GET path", verb, p)
		}
		path = p
	}
	if p, ok := get("path"); ok {
		path = p
	}
	o.URL = joinPath(base, path)

	switch r.Encoding {
	case "", "json":
	default:
		if _, ok := get("encoding"); !ok {
			return nil, fmt.Errorf("encoding %q: websocket frames are json or binary (set encoding=binary in base_url's fragment)", r.Encoding)
		}
	}
	if v, ok := get("encoding"); ok {
		switch Encoding(v) {
		case EncodingJSON, EncodingBinary:
			o.Encoding = Encoding(v)
		default:
			return nil, fmt.Errorf("encoding %q: use json or binary", v)
		}
	}
	if v, ok := get("subprotocol"); ok {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				o.Subprotocols = append(o.Subprotocols, p)
			}
		}
	}
	if v, ok := get("correlation_field"); ok {
		o.CorrelationField = v
	}
	o.Reconnect.CursorField, _ = get("resume_cursor")
	o.Reconnect.ResumeField, _ = get("resume_field")

	ints := []struct {
		key string
		dst *int64
		min int64
	}{{"buffer", nil, 1}, {"read_limit", &o.ReadLimit, 1}, {"reconnect", nil, 0}}
	for _, it := range ints {
		v, ok := get(it.key)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < it.min || n > 1<<40 {
			return nil, fmt.Errorf("%s %q: want a whole number of at least %d", it.key, v, it.min)
		}
		switch it.key {
		case "buffer":
			if n > 1<<16 {
				return nil, fmt.Errorf("buffer %d: at most 65536 frames", n)
			}
			o.Buffer = int(n)
		case "reconnect":
			o.Reconnect.MaxAttempts = int(n)
		default:
			*it.dst = n
		}
	}
	durs := []struct {
		key string
		dst *time.Duration
	}{
		{"keepalive", &o.KeepaliveInterval}, {"keepalive_timeout", &o.KeepaliveTimeout},
		{"backoff", &o.Reconnect.InitialBackoff}, {"max_backoff", &o.Reconnect.MaxBackoff},
	}
	for _, d := range durs {
		v, ok := get(d.key)
		if !ok {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur < 0 {
			return nil, fmt.Errorf("%s %q: want a duration such as 5s", d.key, v)
		}
		*d.dst = dur
	}
	if o.KeepaliveInterval > 0 && o.KeepaliveTimeout <= 0 {
		return nil, errors.New("keepalive_timeout must be positive while keepalive is on")
	}
	if o.Reconnect.InitialBackoff <= 0 || o.Reconnect.MaxBackoff < o.Reconnect.InitialBackoff {
		return nil, errors.New("backoff must be positive and max_backoff at least backoff")
	}
	if (o.Reconnect.CursorField == "") != (o.Reconnect.ResumeField == "") {
		return nil, errors.New("resume_cursor and resume_field go together")
	}
	return o, nil
}

// joinPath appends path to base's path and drops the fragment.
func joinPath(base *url.URL, path string) *url.URL {
	u := *base
	u.Fragment, u.RawFragment = "", ""
	if path != "" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(path, "/")
		u.RawPath = ""
	}
	return &u
}

func orDefault(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

// fieldPath resolves a dotted path of field names in md: every step but the
// last is a singular message field.
func fieldPath(md protoreflect.MessageDescriptor, path string) ([]protoreflect.FieldDescriptor, error) {
	var fds []protoreflect.FieldDescriptor
	cur := md
	for i, name := range strings.Split(path, ".") {
		if cur == nil {
			return nil, fmt.Errorf("field path %q: step %d is not in a message", path, i)
		}
		fd := cur.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("field path %q: %s has no field %s", path, cur.FullName(), name)
		}
		if fd.IsList() || fd.IsMap() {
			return nil, fmt.Errorf("field path %q: %s is repeated", path, fd.FullName())
		}
		fds = append(fds, fd)
		cur = fd.Message()
	}
	return fds, nil
}

// getPath reads the value at a field path; ok is false when a step is
// unset. Fields are looked up by number in m's own descriptor, so a
// generated message works as well as a dynamic one.
func getPath(m protoreflect.Message, fds []protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	for _, fd := range fds[:len(fds)-1] {
		f := m.Descriptor().Fields().ByNumber(fd.Number())
		if !m.Has(f) {
			return protoreflect.Value{}, false
		}
		m = m.Get(f).Message()
	}
	last := m.Descriptor().Fields().ByNumber(fds[len(fds)-1].Number())
	return m.Get(last), m.Has(last)
}

// setPath sets a scalar at a field path, creating the messages on the way.
func setPath(m protoreflect.Message, fds []protoreflect.FieldDescriptor, v protoreflect.Value) {
	for _, fd := range fds[:len(fds)-1] {
		m = m.Mutable(m.Descriptor().Fields().ByNumber(fd.Number())).Message()
	}
	m.Set(m.Descriptor().Fields().ByNumber(fds[len(fds)-1].Number()), v)
}
