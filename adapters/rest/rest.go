// Package rest is protobridge's adapter for REST upstreams (kind "rest"). It
// maps each gRPC call to one HTTP request by the method's google.api.http
// rule — path template, query parameters, body and response_body — with JSON
// (protojson) or XML (descriptor-driven) bodies, and maps the reply back,
// turning HTTP errors into gRPC statuses with details. A server-streaming
// method bound the same way relays an upstream answering Server-Sent Events
// or NDJSON, one message per event or line (see endpoint.Stream).
//
// Import it for its side effect of registering the kind:
//
//	import _ "github.com/protobridge/protobridge/adapters/rest"
package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/internal/xmlmap"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/wirejson"
)

// Kind is the upstream kind this package registers.
const Kind = "rest"

// userAgent is sent with every request.
const userAgent = "protobridge"

func init() { bridge.RegisterAdapter(Kind, New) }

// adapter is the REST adapter of one upstream: one pooled HTTP client.
type adapter struct {
	u         *bridge.Upstream
	base      *url.URL
	transport *http.Transport
	client    *http.Client
	// headers are the upstream's configured headers, sent with every request.
	headers http.Header
	// forward lists the caller metadata keys (lower case) passed on as headers.
	forward []string
	// int64Strings writes 64-bit integers in JSON request bodies as
	// strings (json_int64: string), protojson's form.
	int64Strings bool
	// names is the spelling of JSON keys and query names sent (json_names).
	names wirejson.Names
	// streamEnd and streamError are the upstream's stream end sentinel and
	// SSE error event.
	streamEnd, streamError string
	// Limits, with the bridge's defaults where the upstream leaves them zero.
	maxRequest, maxResponse, maxErrorBody int64
	// notify reports Deprecation, Sunset and Warning headers; tracer spans
	// encoding and decoding.
	notify func(*bridge.Route, bridge.Notice)
	tracer trace.Tracer
	// red removes outbound secrets from what is quoted to callers.
	red *bridge.Redactor
	// maxSend is the front door's message limit; zero when unknown.
	maxSend int64
}

var _ bridge.Adapter = (*adapter)(nil)

// reservedHeaders are request headers the HTTP client owns; configured
// headers and forwarded metadata may not set them.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Keep-Alive": true, "Proxy-Connection": true,
}

// New builds the adapter of one REST upstream: an HTTP client with its own
// connection pool (HTTP/2 where the server offers it), dial and TLS handshake
// bounded by the upstream's connect timeout, and the upstream's TLS settings.
// Redirects are not followed: a 3xx reply is returned as an error, so
// credentials in configured headers never travel to another host.
func New(u *bridge.Upstream, env *bridge.Env) (bridge.Adapter, error) {
	base, err := url.Parse(u.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base_url %q must be an absolute http:// or https:// URL", redactURL(u.BaseURL))
	}
	base.Fragment, base.RawFragment = "", ""
	a := &adapter{
		u:            u,
		base:         base,
		red:          bridge.NewRedactor(),
		headers:      http.Header{},
		maxRequest:   orDefault(int64(u.MaxRequestBytes), bridge.DefaultMaxBodyBytes),
		maxResponse:  orDefault(int64(u.MaxResponseBytes), bridge.DefaultMaxBodyBytes),
		maxErrorBody: orDefault(int64(u.MaxErrorBodyBytes), bridge.DefaultMaxErrorBodyBytes),
	}
	for k, v := range u.Headers {
		ck := http.CanonicalHeaderKey(k)
		if !httpguts.ValidHeaderFieldName(k) || reservedHeaders[ck] {
			return nil, fmt.Errorf("headers: %q cannot be set as a request header", k)
		}
		if !httpguts.ValidHeaderFieldValue(v) {
			return nil, fmt.Errorf("headers: the value of %q has characters a header cannot carry", k)
		}
		a.headers.Set(ck, v)
	}
	for _, k := range u.ForwardMetadata {
		if !httpguts.ValidHeaderFieldName(k) || reservedHeaders[http.CanonicalHeaderKey(k)] {
			return nil, fmt.Errorf("forward_metadata: %q cannot be forwarded as a request header", k)
		}
		a.forward = append(a.forward, strings.ToLower(k))
	}
	if env == nil {
		env = &bridge.Env{}
	}
	a.notify, a.tracer = env.Notify, env.Tracer
	if env.Redactor != nil {
		a.red = env.Redactor
	}
	a.maxSend = env.MaxSendBytes
	if a.tracer == nil {
		a.tracer = noop.NewTracerProvider().Tracer("")
	}
	var cfg Config
	if err := u.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	switch cfg.JSONInt64 {
	case "", "number":
	case "string":
		a.int64Strings = true
	default:
		return nil, bridge.Problems{{Pos: u.Config.Pos(), Msg: fmt.Sprintf("upstream %q rest.json_int64 %q is not known", u.Name, cfg.JSONInt64), Hint: `use "number" or "string"`}}
	}
	a.streamEnd, a.streamError = DefaultStreamEnd, DefaultStreamErrorEvent
	if cfg.StreamEnd != nil {
		a.streamEnd = *cfg.StreamEnd
	}
	if cfg.StreamErrorEvent != nil {
		a.streamError = *cfg.StreamErrorEvent
	}
	var ok bool
	if a.names, ok = wirejson.ParseNames(cfg.JSONNames); !ok {
		return nil, bridge.Problems{{Pos: u.Config.Pos(), Msg: fmt.Sprintf("upstream %q rest.json_names %q is not known", u.Name, cfg.JSONNames), Hint: `use "as_written" or "lower_camel"`}}
	}
	switch u.Encoding {
	case "", "json", "xml":
	default:
		return nil, fmt.Errorf("encoding %q is not known; use json or xml", u.Encoding)
	}
	if a.client, a.transport, err = httpx.Client(u, env, true); err != nil {
		return nil, err
	}
	return a, nil
}

func orDefault(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// Close closes the pool's idle connections.
func (a *adapter) Close() error {
	a.transport.CloseIdleConnections()
	return nil
}

// httpBodyName is google.api.HttpBody, passed through as raw bytes.
const httpBodyName protoreflect.FullName = "google.api.HttpBody"

// endpoint is one bound REST route; everything that can be checked or
// compiled is done by Bind.
type endpoint struct {
	a      *adapter
	r      *bridge.Route
	in     protoreflect.MessageDescriptor
	method string
	tmpl   *pathTemplate
	// pathFields are the fields bound by the path template; pathSkip marks them.
	pathFields []fieldPath
	pathSkip   fieldTree
	// bodyAll is body "*"; bodyField is body "<field>".
	bodyAll   bool
	bodyField protoreflect.FieldDescriptor
	// querySkip marks the fields that do not become query parameters; nil
	// means no query parameters at all (body "*").
	querySkip fieldTree
	// respField is response_body "<field>".
	respField protoreflect.FieldDescriptor
	// reqRaw and respRaw pass google.api.HttpBody through.
	reqRaw, respRaw bool
	xml             bool
	// int64Numbers writes 64-bit integers in JSON request bodies as numbers.
	int64Numbers bool
	// reqXML and respXML map the XML documents sent and received.
	reqXML, respXML *xmlMessage
	// stream maps the events of a server-streaming route; nil for unary.
	stream *streamPlan
	// headerFields are request fields sent as headers (rest.headers).
	headerFields []headerField
	// streamEnd and streamError are the route's end sentinel and SSE error
	// event ("" when off).
	streamEnd, streamError string
	// fast transcodes JSON bodies from and to wire bytes; nil when the
	// route's bodies go through dynamic messages (wire.go).
	fast *fastPath
	// literals reads JSON replies into the whole output when they may
	// spell enum values as literals (json_value), which protojson drops;
	// nil otherwise.
	literals *wirejson.Codec
}

var _ bridge.Endpoint = (*endpoint)(nil)

// Describe names the route's HTTP call and body encoding, for routes
// listings: "GET /v1/pets/{id} (json)".
func (e *endpoint) Describe() string {
	verb, path := bridge.HTTPMethodAndPath(e.r.HTTP)
	enc := "json"
	if e.xml {
		enc = "xml"
	}
	return verb + " " + path + " (" + enc + ")"
}

// Bind checks the route's HTTP rule against the method's messages and
// compiles it: the path template, body and response_body fields, query
// parameters and, for XML, the element mappings.
func (a *adapter) Bind(r *bridge.Route) (bridge.Endpoint, error) {
	md := r.Method
	if md.IsStreamingClient() {
		return nil, errors.New("client and bidi streaming methods have no REST mapping; bind them to a websocket upstream")
	}
	if r.HTTP == nil {
		return nil, errors.New("no HTTP binding: set option (google.api.http) on the method or http: on its routes entry")
	}
	method, path := bridge.HTTPMethodAndPath(r.HTTP)
	if method == "" || path == "" {
		return nil, errors.New("the HTTP binding needs a method and a path")
	}
	if !httpguts.ValidHeaderFieldName(method) {
		return nil, fmt.Errorf("custom HTTP method %q is not a valid method name", method)
	}
	e := &endpoint{a: a, r: r, in: md.Input(), method: method, pathSkip: fieldTree{}, int64Numbers: !a.int64Strings}
	switch r.Encoding {
	case "", "json":
	case "xml":
		e.xml = true
	default:
		return nil, fmt.Errorf("encoding %q is not known; use json or xml", r.Encoding)
	}
	var rc RouteConfig
	if err := r.Config.Decode(&rc); err != nil {
		return nil, err
	}
	if rc.Stream != nil {
		if !md.IsStreamingServer() {
			return nil, bridge.Problems{{Pos: r.Config.Pos(), Msg: r.Name() + ": rest.stream applies to server-streaming methods only"}}
		}
		if r.Options.Stream == nil {
			r.Options.Stream = &pbv1.StreamRoute{}
		}
		proto.Merge(r.Options.Stream, rc.Stream.proto())
	}
	// The sentinel and error event: the routes: entry's, else the
	// .proto's (protobridge.v1.route).stream, else the upstream's.
	e.streamEnd, e.streamError = a.streamEnd, a.streamError
	if st := r.Options.GetStream(); st != nil {
		if st.End != nil {
			e.streamEnd = st.GetEnd()
		}
		if st.ErrorEvent != nil {
			e.streamError = st.GetErrorEvent()
		}
	}
	tmpl, err := parseTemplate(path)
	if err != nil {
		return nil, err
	}
	if err := tmpl.bind(e.in); err != nil {
		return nil, fmt.Errorf("path %s: %w", path, err)
	}
	e.tmpl = tmpl
	for _, v := range tmpl.vars() {
		e.pathFields = append(e.pathFields, v.path)
		e.pathSkip.Add(v.path)
	}
	if err := e.bindBody(r.HTTP.GetBody()); err != nil {
		return nil, err
	}
	if err := e.bindResponse(r.HTTP.GetResponseBody()); err != nil {
		return nil, err
	}
	if err := e.bindHeaders(rc.Headers); err != nil {
		return nil, bridge.Problems{{Pos: r.Config.Pos(), Msg: r.Name() + ": rest.headers: " + err.Error()}}
	}
	e.bindFast()
	if !e.xml && !e.respRaw && wirejson.HasEnumLiterals(e.r.Method.Output()) {
		e.literals, _ = wirejson.NewCodec(e.r.Method.Output())
	}
	if md.IsStreamingServer() {
		if err := e.bindStream(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// bindHeaders binds request fields sent as headers (rest.headers).
func (e *endpoint) bindHeaders(h map[string]string) error {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		header := h[name]
		fd, err := topLevelField(e.in, name, "headers")
		if err != nil {
			return err
		}
		if fd.IsList() || fd.IsMap() || fd.Message() != nil {
			return fmt.Errorf("field %q is %s; only a singular scalar field can be a header", name, kindLabel(fd))
		}
		if !httpguts.ValidHeaderFieldName(header) || reservedHeaders[http.CanonicalHeaderKey(header)] {
			return fmt.Errorf("%q cannot be set as a request header", header)
		}
		if sub, ok := e.pathSkip[fd.Number()]; (ok && sub == nil) || fd == e.bodyField {
			return fmt.Errorf("field %q is already bound to the path or the body", name)
		}
		p := fieldPath{fd}
		if e.querySkip != nil {
			e.querySkip.Add(p)
		}
		if e.bodyAll {
			e.pathFields = append(e.pathFields, p)
			e.pathSkip.Add(p)
		}
		e.headerFields = append(e.headerFields, headerField{fd: fd, name: http.CanonicalHeaderKey(header)})
	}
	return nil
}

// headerField is a request field sent as a header.
type headerField struct {
	fd   protoreflect.FieldDescriptor
	name string
}

// bindBody compiles the rule's body and the query parameters.
func (e *endpoint) bindBody(body string) error {
	switch body {
	case "":
	case "*":
		e.bodyAll = true
	default:
		fd, err := topLevelField(e.in, body, "body")
		if err != nil {
			return err
		}
		if sub, ok := e.pathSkip[fd.Number()]; ok && sub == nil {
			return fmt.Errorf("body %q: the field is already bound to the URL path", body)
		}
		e.bodyField = fd
	}
	if body != "" && e.method == http.MethodGet {
		return fmt.Errorf("body %q: a GET request has no body; remove body or use another method", body)
	}
	if !e.bodyAll {
		e.querySkip = fieldTree{}
		for _, p := range e.pathFields {
			e.querySkip.Add(p)
		}
		if e.bodyField != nil {
			e.querySkip.Add(fieldPath{e.bodyField})
		}
	}
	var bodyMsg protoreflect.MessageDescriptor
	switch {
	case e.bodyAll:
		bodyMsg = e.in
	case e.bodyField != nil && singularMessage(e.bodyField):
		bodyMsg = e.bodyField.Message()
	case e.bodyField != nil && e.xml:
		return fmt.Errorf("body %q: the field is %s, but an XML body must be a singular message field", body, kindLabel(e.bodyField))
	}
	if bodyMsg == nil {
		return nil
	}
	if bodyMsg.FullName() == httpBodyName {
		e.reqRaw = true
		return nil
	}
	if e.xml {
		x, err := xmlmap.Plan(bodyMsg)
		if err != nil {
			return fmt.Errorf("request XML: %w", err)
		}
		e.reqXML = x
	}
	return nil
}

// bindResponse compiles the rule's response_body.
func (e *endpoint) bindResponse(rb string) error {
	target := e.r.Method.Output()
	if rb != "" {
		fd, err := topLevelField(target, rb, "response_body")
		if err != nil {
			return err
		}
		e.respField = fd
		switch {
		case singularMessage(fd):
			target = fd.Message()
		case e.xml:
			return fmt.Errorf("response_body %q: the field is %s, but an XML reply must decode into a singular message field", rb, kindLabel(fd))
		default:
			return nil // JSON into a scalar, repeated or map field
		}
	}
	if target.FullName() == httpBodyName {
		e.respRaw = true
		return nil
	}
	if e.xml {
		x, err := xmlmap.Plan(target)
		if err != nil {
			return fmt.Errorf("response XML: %w", err)
		}
		e.respXML = x
	}
	return nil
}

// topLevelField finds a top-level field named by the rule's body or
// response_body.
func topLevelField(md protoreflect.MessageDescriptor, name, what string) (protoreflect.FieldDescriptor, error) {
	if strings.Contains(name, ".") {
		return nil, fmt.Errorf("%s %q: must name a top-level field of %s", what, name, md.FullName())
	}
	fd := md.Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		return nil, fmt.Errorf("%s %q: message %s has no such field", what, name, md.FullName())
	}
	return fd, nil
}

func singularMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && !fd.IsList() && !fd.IsMap()
}

// Unary sends the request built from the call and decodes the reply into
// the route's output message.
func (e *endpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	span := e.step(ctx, "rest.encode")
	req, err := e.newRequest(ctx, c)
	span.End()
	if err != nil {
		return nil, err
	}
	resp, err := httpx.Send(e.a.client, req)
	if err != nil {
		return nil, e.transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if e.a.notify != nil {
		for _, n := range httpx.HeaderNotices(resp.Header) {
			e.a.notify(e.r, n)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, e.httpError(ctx, resp)
	}
	body, err := e.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	span = e.step(ctx, "rest.decode")
	out, err := e.decodeReply(resp.Header.Get("Content-Type"), body)
	span.End()
	if err != nil {
		return nil, e.badResponse(resp, body, err)
	}
	if _, transcoded := out.(*bridge.WireMessage); transcoded {
		// The reply was written anew from the body: its buffer is free.
		putBuf(body)
	}
	return out, nil
}

// step starts the span of one of the adapter's steps when the call is
// traced (its attempt's span records), and costs nothing otherwise.
func (e *endpoint) step(ctx context.Context, name string) trace.Span {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return noop.Span{}
	}
	_, span := e.a.tracer.Start(ctx, name)
	return span
}

// requestMessage returns the call's request as a message of the route's
// input descriptor (a generated type is converted).
func (e *endpoint) requestMessage(c *bridge.Call) (protoreflect.Message, error) {
	if c.Request == nil {
		return dynamicpb.NewMessage(e.in), nil
	}
	m := c.Request.ProtoReflect()
	if m.Descriptor() == e.in {
		return m, nil
	}
	if m.Descriptor().FullName() != e.in.FullName() {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s got a %s request", e.r.Name(), m.Descriptor().FullName())
	}
	b, err := proto.Marshal(c.Request)
	if err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s: %v", e.r.Name(), err)
	}
	dm := dynamicpb.NewMessage(e.in)
	if err := proto.Unmarshal(b, dm); err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s: %v", e.r.Name(), err)
	}
	return dm, nil
}

// newRequest builds the HTTP request: URL from the path template and query
// parameters, body, and headers.
func (e *endpoint) newRequest(ctx context.Context, c *bridge.Call) (*http.Request, error) {
	m, pre, err := e.requestParts(c)
	if err != nil {
		return nil, err
	}
	path, err := e.tmpl.expand(m)
	if err != nil {
		return nil, err
	}
	u := *e.a.base
	u.RawPath = strings.TrimSuffix(e.a.base.EscapedPath(), "/") + path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, bridge.Errorf(codes.InvalidArgument, reason.InvalidPath, e.meta(), "request path: %v", err)
	}
	if e.querySkip != nil {
		q := url.Values{}
		if err := appendQuery(q, m, "", e.querySkip, e.a.names); err != nil {
			return nil, err
		}
		if len(q) > 0 {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += q.Encode()
		}
	}
	body, ctype, err := e.encodeBody(m, pre)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > e.a.maxRequest {
		return nil, bridge.Errorf(codes.ResourceExhausted, reason.RequestTooLarge, e.meta(),
			"the encoded request body is %d bytes, over upstream %s's limit of %d", len(body), e.a.u.Name, e.a.maxRequest)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, e.method, u.String(), rd)
	if err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequest, e.meta(), "cannot build the request: %v", errors.Unwrap(err))
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", e.accept())
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	for _, k := range e.a.forward {
		for _, v := range c.Metadata.Get(k) {
			if httpguts.ValidHeaderFieldValue(v) {
				req.Header.Add(k, v)
			}
		}
	}
	if c.RequestID != "" {
		req.Header.Set("X-Request-Id", c.RequestID)
	}
	for _, h := range e.headerFields {
		if m.Has(h.fd) {
			if v := scalarString(h.fd, m.Get(h.fd)); httpguts.ValidHeaderFieldValue(v) {
				req.Header.Set(h.name, v)
			}
		}
	}
	for k, v := range e.a.headers {
		req.Header[k] = v
	}
	return req, nil
}

func (e *endpoint) accept() string {
	switch {
	case e.stream != nil:
		return streamAccept
	case e.respRaw:
		return "*/*"
	case e.xml:
		return "application/xml"
	}
	return "application/json"
}

// meta is the ErrorInfo metadata of errors raised for this route.
func (e *endpoint) meta() map[string]string {
	return map[string]string{"upstream": e.a.u.Name, "method": e.r.Name()}
}
