package websocket

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Encoding is how one gRPC message travels in one WebSocket frame; it is
// the route's encoding (RouteOptions.encoding, a routes: entry's or the
// upstream's encoding:).
type Encoding string

// Frame encodings.
const (
	// EncodingJSON sends protojson in text frames (the default). Replies are
	// accepted in text or binary frames.
	EncodingJSON Encoding = "json"
	// EncodingXML sends an XML document in text frames, mapped by the
	// descriptor and the protobridge.v1.xml options exactly as REST XML
	// bodies are. Replies are accepted in text or binary frames.
	EncodingXML Encoding = "xml"
	// EncodingProtobuf sends the protobuf wire format in binary frames; text
	// frames from the peer are refused.
	EncodingProtobuf Encoding = "protobuf"
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

// maxBuffer bounds Buffer.
const maxBuffer = 1 << 16

// Options are the settings of one WebSocket route, derived by ParseOptions.
type Options struct {
	// URL is the socket's address: the upstream's base_url joined with the
	// route's path.
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
	// PathTemplate is the route's path when it has {field} variables,
	// filled from the request of a server-streaming call (URL is then the
	// base URL only).
	PathTemplate string
	// ends holds the route's end and half_close settings (the binding with
	// the routes: entry's block merged over it).
	ends *pbv1.WebSocketRoute
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

// ParseOptions derives a route's options from its
// (protobridge.v1.route).websocket binding (with a routes: entry's
// websocket: block merged over it by the bridge), its encoding, and its
// upstream: base_url joined with the binding's path is the socket's URL,
// and the upstream's max_response_bytes and max_request_bytes are the
// read and write limits unless read_limit is set. Unset fields take the
// Default values. A google.api.http binding does not apply to WebSocket
// routes and is ignored.
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
	if base.Fragment != "" || strings.HasSuffix(u.BaseURL, "#") {
		return nil, errors.New("base_url has a fragment: set WebSocket route settings with (protobridge.v1.route).websocket or a routes: entry's websocket: block")
	}
	var block RouteConfig
	if err := r.Config.Decode(&block); err != nil {
		return nil, err
	}
	if r.Options.Websocket == nil {
		r.Options.Websocket = &pbv1.WebSocketRoute{}
	}
	block.mergeInto(r.Options.Websocket)
	w := r.Options.GetWebsocket()
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
	if strings.ContainsAny(w.GetPath(), "*?#") {
		return nil, fmt.Errorf("websocket path %q: a literal path or {field} variables are needed (no wildcards, query or fragment)", w.GetPath())
	}
	o.ends = w
	if strings.ContainsAny(w.GetPath(), "{}") {
		o.PathTemplate = w.GetPath()
		o.URL = joinPath(base, "")
	} else {
		o.URL = joinPath(base, w.GetPath())
	}

	switch r.Encoding {
	case "", "json":
	case "xml":
		o.Encoding = EncodingXML
	case "protobuf":
		o.Encoding = EncodingProtobuf
	default:
		return nil, fmt.Errorf("encoding %q: websocket frames are json, xml or protobuf", r.Encoding)
	}
	for _, p := range w.GetSubprotocols() {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(o.Subprotocols, p) {
			o.Subprotocols = append(o.Subprotocols, p)
		}
	}
	if f := w.GetCorrelationField(); f != "" {
		o.CorrelationField = f
	}
	if n := w.GetBuffer(); n > 0 {
		if n > maxBuffer {
			return nil, fmt.Errorf("buffer %d: at most %d frames", n, maxBuffer)
		}
		o.Buffer = int(n)
	}
	if n := w.GetReadLimit(); n > 0 {
		if n > 1<<40 {
			return nil, fmt.Errorf("read_limit %d: at most 1 TiB", n)
		}
		o.ReadLimit = int64(n)
	}
	rc := w.GetReconnect()
	o.Reconnect.MaxAttempts = int(rc.GetMaxAttempts())
	o.Reconnect.CursorField, o.Reconnect.ResumeField = rc.GetResumeCursor(), rc.GetResumeField()
	durs := []struct {
		key, val string
		dst      *time.Duration
	}{
		{"keepalive", w.GetKeepalive(), &o.KeepaliveInterval},
		{"keepalive_timeout", w.GetKeepaliveTimeout(), &o.KeepaliveTimeout},
		{"reconnect.initial_backoff", rc.GetInitialBackoff(), &o.Reconnect.InitialBackoff},
		{"reconnect.max_backoff", rc.GetMaxBackoff(), &o.Reconnect.MaxBackoff},
	}
	for _, d := range durs {
		if d.val == "" {
			continue
		}
		dur, err := time.ParseDuration(d.val)
		if err != nil || dur < 0 {
			return nil, fmt.Errorf("%s %q: want a duration such as 5s", d.key, d.val)
		}
		*d.dst = dur
	}
	if o.KeepaliveInterval > 0 && o.KeepaliveTimeout <= 0 {
		return nil, errors.New("keepalive_timeout must be positive while keepalive is on")
	}
	if o.Reconnect.InitialBackoff <= 0 || o.Reconnect.MaxBackoff < o.Reconnect.InitialBackoff {
		return nil, errors.New("reconnect: initial_backoff must be positive and max_backoff at least initial_backoff")
	}
	if (o.Reconnect.CursorField == "") != (o.Reconnect.ResumeField == "") {
		return nil, errors.New("reconnect: resume_cursor and resume_field go together")
	}
	return o, nil
}

// joinPath appends path to base's path.
func joinPath(base *url.URL, path string) *url.URL {
	u := *base
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
