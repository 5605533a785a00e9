// Package websocket is protobridge's adapter for WebSocket upstreams (kind
// "websocket"). Each gRPC message travels as one frame: protojson in text
// frames by default, an XML document mapped by the descriptor (encoding
// xml, the same mapping as REST XML bodies), or the protobuf wire format in
// binary frames (encoding protobuf).
//
// A route's settings come from (protobridge.v1.route).websocket — path,
// subprotocols, correlation_field, buffer, read_limit, keepalive,
// keepalive_timeout, reconnect — with a routes: entry's websocket: block
// merged over it; see ParseOptions. For example:
//
//	rpc Watch(Sub) returns (stream Quote) {
//	  option (protobridge.v1.route) = {
//	    upstream: "quotes"
//	    websocket: {path: "/watch", reconnect: {max_attempts: 5, resume_cursor: "seq", resume_field: "after_seq"}}
//	  };
//	}
//
// Server-streaming, client-streaming and bidi methods open one socket per
// call; the call's request (server streaming) or each caller message
// (client and bidi streaming) becomes a frame, and each frame from the
// peer becomes a reply. Unary methods share one socket per upstream URL:
// a request frame carries a correlation id (generated when the caller
// leaves it empty) and the reply carrying the same id completes the call.
//
// Handshakes carry the upstream's headers, basic credentials and
// subprotocols; a streaming call's handshake also carries the caller
// metadata named by forward_metadata (unary calls share a socket, so they
// forward none).
//
// Flow control is end to end: frames from the peer are read ahead of the
// caller only up to a small buffer, after which reading pauses; caller
// messages are read from gRPC only as fast as the peer accepts frames.
// Close codes map to gRPC statuses (see codeForClose), and a
// server-streaming route may reconnect and resume (see Reconnect).
//
// Import it for its side effect of registering the kind:
//
//	import _ "github.com/protobridge/protobridge/adapters/websocket"
package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	ws "github.com/coder/websocket"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// Kind is the upstream kind this package registers.
const Kind = "websocket"

func init() { bridge.RegisterAdapter(Kind, New) }

// adapter is the WebSocket adapter of one upstream.
type adapter struct {
	u   *bridge.Upstream
	log *slog.Logger
	// notify reports Deprecation/Sunset/Warning headers of handshake replies.
	notify func(*bridge.Route, bridge.Notice)
	client *http.Client
	// headers go with every handshake: configured headers and credentials.
	headers http.Header
	// forward lists the caller metadata keys (lower case) passed on as
	// handshake headers of streaming calls.
	forward []string
	connect time.Duration
	// red removes outbound secrets from what is quoted to callers.
	red *bridge.Redactor
	// maxSend is the front door's message limit; zero when unknown.
	maxSend int64
	// names is the spelling of keys in JSON frames sent (json_names).
	names wirejson.Names

	// ctx ends when the adapter is closed; shared sockets live under it.
	ctx    context.Context
	cancel context.CancelFunc
	dials  singleflight.Group
	mu     sync.Mutex
	shared map[string]*sharedConn
	closed bool
	// ids numbers generated integer correlation ids.
	ids idSource
}

var _ bridge.Adapter = (*adapter)(nil)

// New builds the adapter of one WebSocket upstream: handshakes over an
// HTTP/1.1 client whose dial and TLS handshake are bounded by the
// upstream's connect timeout, with the upstream's TLS settings and headers
// (credentials come with the transport the core wraps).
func New(u *bridge.Upstream, env *bridge.Env) (bridge.Adapter, error) {
	log := slog.New(slog.DiscardHandler)
	var notify func(*bridge.Route, bridge.Notice)
	red := bridge.NewRedactor()
	if env != nil {
		notify = env.Notify
		if env.Logger != nil {
			log = env.Logger
		}
		if env.Redactor != nil {
			red = env.Redactor
		}
	}
	var maxSend int64
	if env != nil {
		maxSend = env.MaxSendBytes
	}
	a := &adapter{
		u:       u,
		red:     red,
		maxSend: maxSend,
		log:     log,
		notify:  notify,
		headers: http.Header{},
		connect: time.Duration(orDefault(int64(u.ConnectTimeout), int64(bridge.DefaultConnectTimeout))),
		shared:  map[string]*sharedConn{},
	}
	for k, v := range u.Headers {
		if !httpguts.ValidHeaderFieldName(k) || reservedHeader(k) {
			return nil, fmt.Errorf("headers: %q cannot be set on a WebSocket handshake", k)
		}
		if !httpguts.ValidHeaderFieldValue(v) {
			return nil, fmt.Errorf("headers: the value of %q has characters a header cannot carry", k)
		}
		a.headers.Set(k, v)
	}
	for _, k := range u.ForwardMetadata {
		if !httpguts.ValidHeaderFieldName(k) || reservedHeader(k) {
			return nil, fmt.Errorf("forward_metadata: %q cannot be forwarded as a handshake header", k)
		}
		a.forward = append(a.forward, strings.ToLower(k))
	}
	switch u.Encoding {
	case "", "json", "xml", "protobuf":
	default:
		return nil, fmt.Errorf("encoding %q is not known; use json, xml or protobuf", u.Encoding)
	}
	var cfg Config
	if err := u.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	var ok bool
	if a.names, ok = wirejson.ParseNames(cfg.JSONNames); !ok {
		return nil, bridge.Problems{{Pos: u.Config.Pos(), Msg: fmt.Sprintf("upstream %q websocket.json_names %q is not known", u.Name, cfg.JSONNames), Hint: `use "as_written" or "lower_camel"`}}
	}
	// Every handshake takes its own connection: an upgraded one is never
	// pooled, and refusals are rare. It also runs on a transport of its
	// own (handshakeTransport), which env.WrapTransport wraps, once.
	var raw bridge.Env
	if env != nil {
		raw = *env
	}
	raw.WrapTransport = nil
	client, t, err := httpx.Client(u, &raw, false)
	if err != nil {
		return nil, err
	}
	client.Transport = handshakeTransport{t}
	if env != nil && env.WrapTransport != nil {
		client.Transport = env.WrapTransport(client.Transport)
	}
	a.client = client
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// handshakeTransport runs each handshake on a clone of t. An
// http.Transport keeps the dials it started in a queue that it trims only
// from the front and only when it starts another dial, so one slow dial
// keeps every later handshake's dial state (its request context and what
// that holds) referenced until a dial after it; for a burst of streams that
// is memory held for as long as the streams last. A clone's queue goes
// with the clone. Once the round trip is over, the clone's idle connections
// are closed, which also ends a dial the handshake gave up waiting for (an
// upgraded connection belongs to the caller and is not touched).
type handshakeTransport struct{ t *http.Transport }

func (h handshakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t := h.t.Clone()
	defer t.CloseIdleConnections()
	return t.RoundTrip(r)
}

// reservedHeader reports headers the handshake owns.
func reservedHeader(k string) bool {
	ck := http.CanonicalHeaderKey(k)
	if strings.HasPrefix(ck, "Sec-Websocket-") {
		return true
	}
	switch ck {
	case "Host", "Connection", "Upgrade", "Content-Length", "Transfer-Encoding", "Te", "Trailer", "Keep-Alive", "Proxy-Connection":
		return true
	}
	return false
}

// Close closes the shared sockets (1001, going away) and waits for their
// goroutines. Streams end with their calls.
func (a *adapter) Close() error {
	a.mu.Lock()
	a.closed = true
	conns := make([]*sharedConn, 0, len(a.shared))
	for _, sc := range a.shared {
		conns = append(conns, sc)
	}
	a.mu.Unlock()
	a.cancel()
	for _, sc := range conns {
		sc.close(ws.StatusGoingAway, "protobridge is closing")
	}
	return nil
}

// endpoint is one bound WebSocket route.
type endpoint struct {
	a    *adapter
	r    *bridge.Route
	opts *Options
	// codec renders and parses the route's frames.
	codec *codec
	// corr matches unary replies; nil for streaming routes.
	corr *correlation
	// cursor and resume are the reconnect cursor (output) and resume
	// (input) field paths; nil when resuming sends the request unchanged.
	cursor, resume []protoreflect.FieldDescriptor
	// sharedKey names the shared socket of a unary route.
	sharedKey string
	// ends declares the stream's end and the caller's half-close.
	ends *ends
	// tmpl fills the path from the request; nil for a literal path.
	tmpl *pathTemplate
}

var _ bridge.Endpoint = (*endpoint)(nil)

// Bind derives the route's options (ParseOptions) and checks them against
// the method: XML mappings, correlation for unary methods, reconnect for
// server streams.
func (a *adapter) Bind(r *bridge.Route) (bridge.Endpoint, error) {
	o, err := ParseOptions(r)
	if err != nil {
		return nil, err
	}
	if a.maxSend > 0 && o.ReadLimit > a.maxSend {
		return nil, fmt.Errorf("websocket read_limit %d is over server.max_send_bytes (%d): such a frame could never be sent; lower it or raise server.max_send_bytes", o.ReadLimit, a.maxSend)
	}
	md := r.Method
	cd, err := newCodec(o.Encoding, md, a.names)
	if err != nil {
		return nil, err
	}
	e := &endpoint{a: a, r: r, opts: o, codec: cd}
	if e.ends, err = compileEnds(o.ends, md); err != nil {
		return nil, err
	}
	if o.PathTemplate != "" {
		if !md.IsStreamingServer() || md.IsStreamingClient() {
			return nil, fmt.Errorf("websocket path %q: {field} variables need a server-streaming method (its request is known when the socket opens)", o.PathTemplate)
		}
		if e.tmpl, err = parsePathTemplate(o.PathTemplate, md.Input()); err != nil {
			return nil, err
		}
	}
	switch {
	case !md.IsStreamingClient() && !md.IsStreamingServer():
		if e.corr, err = newCorrelation(md, o.CorrelationField); err != nil {
			return nil, err
		}
		e.sharedKey = strings.Join([]string{o.URL.String(), strings.Join(o.Subprotocols, ","), e.corr.signature(cd, md.Output())}, "\x00")
	case md.IsStreamingServer() && !md.IsStreamingClient():
		if o.Reconnect.CursorField != "" {
			if e.cursor, err = fieldPath(md.Output(), o.Reconnect.CursorField); err != nil {
				return nil, fmt.Errorf("resume_cursor: %w", err)
			}
			if e.resume, err = fieldPath(md.Input(), o.Reconnect.ResumeField); err != nil {
				return nil, fmt.Errorf("resume_field: %w", err)
			}
			c, f := e.cursor[len(e.cursor)-1], e.resume[len(e.resume)-1]
			if c.Kind() != f.Kind() || c.Message() != nil {
				return nil, fmt.Errorf("resume_cursor %s and resume_field %s must be scalars of the same kind", c.FullName(), f.FullName())
			}
		}
	default:
		if o.Reconnect.MaxAttempts > 0 {
			return nil, errors.New("reconnect applies to server-streaming methods only: a client stream cannot be replayed")
		}
	}
	return e, nil
}

// meta is the ErrorInfo metadata of the route's errors.
func (e *endpoint) meta(kv ...string) map[string]string {
	m := map[string]string{"upstream": e.a.u.Name, "method": e.r.Name()}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Describe names the route's WebSocket binding, for routes listings.
func (e *endpoint) Describe() string {
	return "WebSocket " + e.opts.URL.Path + " (" + string(e.opts.Encoding) + ")"
}

// dial performs the handshake, bounded by the connect timeout and ctx.
// Caller metadata named by forward_metadata goes along when md is given,
// and the call's request id as X-Request-Id when rid is.
func (e *endpoint) dial(ctx context.Context, md metadata.MD, rid string, req proto.Message) (*ws.Conn, error) {
	hctx, cancel := e.handshakeContext(ctx)
	defer cancel()
	h := e.a.headers.Clone()
	if rid != "" {
		h.Set("X-Request-Id", rid)
	}
	for _, k := range e.a.forward {
		for _, v := range md.Get(k) {
			if httpguts.ValidHeaderFieldValue(v) {
				h.Add(k, v)
			}
		}
	}
	tctx, mark := httpx.TraceSend(hctx)
	target := e.opts.URL
	if e.tmpl != nil && req != nil {
		p, err := e.tmpl.expand(req)
		if err != nil {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.InvalidPath, e.meta(), "%v", err)
		}
		u := *e.opts.URL
		u.RawPath = strings.TrimSuffix(u.EscapedPath(), "/") + "/" + strings.TrimPrefix(p, "/")
		if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.InvalidPath, e.meta(), "websocket path: %v", err)
		}
		target = &u
	}
	conn, resp, err := ws.Dial(tctx, target.String(), &ws.DialOptions{
		HTTPClient:   e.a.client,
		HTTPHeader:   h,
		Subprotocols: e.opts.Subprotocols,
	})
	if err != nil {
		return nil, e.dialError(ctx, hctx, resp, mark(err))
	}
	if e.a.notify != nil && resp != nil {
		for _, n := range httpx.HeaderNotices(resp.Header) {
			e.a.notify(e.r, n)
		}
	}
	if len(e.opts.Subprotocols) > 0 && conn.Subprotocol() == "" {
		_ = conn.Close(ws.StatusProtocolError, "no subprotocol selected")
		return nil, bridge.Errorf(codes.FailedPrecondition, reason.WSSubprotocol, e.meta("subprotocols", strings.Join(e.opts.Subprotocols, ",")),
			"upstream %s selected none of the subprotocols %s", e.a.u.Name, strings.Join(e.opts.Subprotocols, ", "))
	}
	conn.SetReadLimit(e.opts.ReadLimit)
	return conn, nil
}

// handshakeContext bounds a handshake by the connect timeout and ctx, like
// context.WithTimeout(ctx, connect), but watches ctx from a goroutine that
// ends with the handshake instead of registering on ctx: a registration
// leaves a table behind on the call's context for as long as the call
// (a long-lived stream) lasts.
func (e *endpoint) handshakeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	var hctx context.Context
	var cancel context.CancelFunc
	if d, ok := ctx.Deadline(); ok && d.Before(time.Now().Add(e.a.connect)) {
		// ctx's deadline comes first: ctx ends the handshake, as it
		// would end a context derived from it.
		hctx, cancel = context.WithCancel(base)
	} else {
		hctx, cancel = context.WithTimeout(base, e.a.connect)
	}
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-hctx.Done():
		}
	}()
	return hctx, cancel
}

// dialError maps a failed handshake: an HTTP refusal by its status (401 →
// UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → NOT_FOUND, ...), the
// call's end, a handshake timeout, or UNAVAILABLE.
func (e *endpoint) dialError(ctx, hctx context.Context, resp *http.Response, err error) error {
	if resp != nil && resp.StatusCode >= 400 {
		// The websocket package keeps at most 1 KiB of a refusal's body.
		limit := orDefault(int64(e.a.u.MaxErrorBodyBytes), bridge.DefaultMaxErrorBodyBytes)
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		}
		body, cut := e.a.red.Quote(body, limit, false)
		return bridge.HTTPError(e.r, bridge.UpstreamReply{Status: resp.StatusCode, Header: resp.Header, Body: body, Truncated: cut})
	}
	if cerr := e.ctxError(ctx); cerr != nil {
		return cerr
	}
	if hctx.Err() != nil {
		return bridge.Errorf(codes.DeadlineExceeded, reason.WSHandshakeTimeout, e.meta(), "upstream %s did not complete the WebSocket handshake within %s", e.a.u.Name, e.a.connect)
	}
	if resp != nil {
		return bridge.Errorf(codes.Unavailable, reason.WSNoUpgrade, e.meta("http_status", fmt.Sprint(resp.StatusCode)), "upstream %s answered HTTP %d instead of switching to WebSocket", e.a.u.Name, resp.StatusCode)
	}
	out := bridge.Wrap(err, codes.Unavailable, reason.UpstreamUnavailable, e.meta(), "upstream %s is unavailable: %s", e.a.u.Name, describeDialError(err))
	if httpx.Unsent(err) {
		out = bridge.NotSent(out)
	}
	return out
}

// describeDialError names a transport failure without quoting the URL,
// which may carry credentials.
func describeDialError(err error) string {
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		if opErr.Err != nil {
			return "cannot connect: " + opErr.Err.Error()
		}
		return "cannot connect"
	case strings.Contains(err.Error(), "protocol violation"):
		return "the handshake reply is not a valid WebSocket upgrade"
	}
	return "the WebSocket handshake failed"
}

// ctxError maps a finished call context to DEADLINE_EXCEEDED or CANCELLED;
// nil while the context is live.
func (e *endpoint) ctxError(ctx context.Context) error {
	return httpx.ContextError(ctx, e.a.u.Name, e.meta())
}

// codeForClose maps a peer's close code to a gRPC code: 1000 (and 1005,
// a close frame without a code) end a stream normally; 1001 and the
// transient codes 1012-1014 are UNAVAILABLE; 1008 PERMISSION_DENIED; 1009
// RESOURCE_EXHAUSTED; 1011 and the protocol errors INTERNAL; the IANA
// registered 3000, 3003 and 3008 UNAUTHENTICATED, PERMISSION_DENIED and
// DEADLINE_EXCEEDED; any other code UNKNOWN.
func codeForClose(c ws.StatusCode) codes.Code {
	switch c {
	case ws.StatusNormalClosure, ws.StatusNoStatusRcvd:
		return codes.OK
	case ws.StatusGoingAway, ws.StatusAbnormalClosure, ws.StatusServiceRestart, ws.StatusTryAgainLater, ws.StatusBadGateway:
		return codes.Unavailable
	case ws.StatusPolicyViolation:
		return codes.PermissionDenied
	case ws.StatusMessageTooBig:
		return codes.ResourceExhausted
	case ws.StatusInternalError, ws.StatusProtocolError, ws.StatusUnsupportedData, ws.StatusInvalidFramePayloadData, ws.StatusMandatoryExtension:
		return codes.Internal
	case 3000:
		return codes.Unauthenticated
	case 3003:
		return codes.PermissionDenied
	case 3008:
		return codes.DeadlineExceeded
	}
	return codes.Unknown
}

// socketEnd describes why a socket stopped: the status for the caller (nil
// for a normal close), and whether a server stream may reconnect.
type socketEnd struct {
	err       error
	reconnect bool
}

// endOf maps the error that ended a socket's reading.
func (e *endpoint) endOf(s *socket, err error) socketEnd {
	var ce ws.CloseError
	switch {
	case s.keepaliveFailed.Load():
		return socketEnd{bridge.Errorf(codes.Unavailable, reason.WSKeepaliveTimeout, e.meta(), "upstream %s did not answer a ping within %s", e.a.u.Name, e.opts.KeepaliveTimeout), true}
	case errors.Is(err, ws.ErrMessageTooBig):
		return socketEnd{bridge.Errorf(codes.ResourceExhausted, reason.WSFrameTooLarge, e.meta("read_limit", fmt.Sprint(e.opts.ReadLimit)),
			"upstream %s sent a frame over the %d byte read limit", e.a.u.Name, e.opts.ReadLimit), false}
	case errors.As(err, &ce):
		code := codeForClose(ce.Code)
		if code == codes.OK {
			return socketEnd{}
		}
		why := reason.UpstreamWSClose(int(ce.Code))
		msg := fmt.Sprintf("upstream %s closed the WebSocket with %d", e.a.u.Name, int(ce.Code))
		ce.Reason = e.a.red.String(ce.Reason)
		if ce.Reason != "" {
			msg += ": " + ce.Reason
		}
		retry := code == codes.Unavailable
		return socketEnd{bridge.Errorf(code, why, e.meta("close_code", fmt.Sprint(int(ce.Code)), "close_reason", ce.Reason), "%s", msg), retry}
	}
	return socketEnd{bridge.Errorf(codes.Unavailable, reason.WSDropped, e.meta("close_code", "1006"), "upstream %s dropped the WebSocket without a close frame", e.a.u.Name), true}
}

// badFrame is the status for a peer frame that does not decode; the socket
// is closed with 1003 (wrong frame type) or 1007 (bad payload).
func (e *endpoint) badFrame(s *socket, f frame, err error) error {
	code := ws.StatusInvalidFramePayloadData
	if errors.Is(err, errFrameType) {
		code = ws.StatusUnsupportedData
	}
	s.shutdown(code, "frame does not decode")
	return e.decodeError(f, err)
}

// decodeError builds the INTERNAL status for a frame that does not decode,
// quoting its start (hex for binary frames) in an UpstreamError detail. The
// reason is UPSTREAM_WS_FRAME_TYPE for a frame of the wrong type,
// UPSTREAM_WS_BAD_FRAME for a payload that does not parse.
func (e *endpoint) decodeError(f frame, err error) error {
	why := reason.WSBadFrame
	if errors.Is(err, errFrameType) {
		why = reason.WSFrameType
	}
	limit := int(orDefault(int64(e.a.u.MaxErrorBodyBytes), bridge.DefaultMaxErrorBodyBytes))
	q, cut := quote(frame{typ: f.typ, data: e.a.red.Redact(f.data)}, limit)
	kind, ct := "text", "text/plain"
	if f.typ == ws.MessageBinary {
		kind, ct = "binary", "application/octet-stream"
	}
	detail := &pbv1.UpstreamError{Upstream: e.a.u.Name, ContentType: ct, Body: q, BodyTruncated: cut}
	msg := fmt.Sprintf("upstream %s sent a %s frame that is not a %s %s: %v", e.a.u.Name, kind, e.opts.Encoding, e.r.Method.Output().FullName(), err)
	return bridge.Error(codes.Internal, why, e.meta("frame_type", kind), msg, detail)
}

// encodeFrame renders a caller message; a frame over the write limit is
// RESOURCE_EXHAUSTED.
func (e *endpoint) encodeFrame(m proto.Message) (frame, error) {
	f, err := e.codec.encode(m)
	if err != nil {
		return frame{}, bridge.Errorf(codes.InvalidArgument, reason.BadRequestMessage, e.meta(), "cannot encode the message as %s: %v", e.opts.Encoding, err)
	}
	if int64(len(f.data)) > e.opts.WriteLimit {
		return frame{}, bridge.Errorf(codes.ResourceExhausted, reason.RequestTooLarge, e.meta(),
			"the encoded message is %d bytes, over upstream %s's limit of %d", len(f.data), e.a.u.Name, e.opts.WriteLimit)
	}
	return f, nil
}
