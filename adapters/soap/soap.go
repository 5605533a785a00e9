// Package soap is protobridge's adapter for SOAP upstreams (kind "soap"). It
// binds each method carrying a (protobridge.v1.route).soap option to one WSDL
// operation and maps every gRPC call to one SOAP 1.1 or 1.2 exchange:
// document/literal (wrapped or bare) or rpc/literal envelopes written by the
// schema-driven codec in package xmlcodec, header blocks, WS-Security
// UsernameToken and HTTP basic credentials, and SOAP faults turned into gRPC
// statuses with details.
//
// Import it for its side effect of registering the kind:
//
//	import _ "github.com/protobridge/protobridge/adapters/soap"
//
// # Bindings
//
// The route's SoapOperation says how the request message goes into the Body:
//
//   - document, wrapped: one element request_element ("{ns}local") whose
//     children are the request message's fields; the reply's Body holds
//     response_element whose children are the response message's fields;
//   - document, bare (wrapped false): the request message's fields are the
//     Body's children (each a part element, named by its xml options), and
//     the response message's fields are the reply Body's children;
//   - rpc: a wrapper named request_element, or operation in namespace, whose
//     children are the parts (the message's fields); the reply's Body holds one
//     wrapper of any name (SOAP 1.1 §7.1: its name is not significant) whose
//     children are the response message's fields.
//
// Fields named in header_fields are written as SOAP header blocks instead of
// in the Body. A reply's header blocks are read into the response message's
// element fields of the same qualified name (the fields protobridge gen wsdl
// adds for output soap:header parts; SoapOperation has no response-side list),
// other blocks are ignored. A one_way operation returns an empty response
// after a 2xx.
//
// # Errors
//
// A SOAP fault (1.1 or 1.2, with any HTTP status) becomes a status by its
// code: Client/Sender → INVALID_ARGUMENT, Server/Receiver → INTERNAL (or
// UNAVAILABLE when a subcode or the reason says unavailable, busy, overloaded
// or temporarily), VersionMismatch → FAILED_PRECONDITION, MustUnderstand and
// DataEncodingUnknown → INVALID_ARGUMENT, with ErrorInfo reason SOAP_FAULT and a
// google.protobuf.Struct holding the fault (detail converted to JSON). A
// non-fault error reply maps by HTTP status (bridge.HTTPError). A 2xx reply
// that is not the expected envelope fails INTERNAL with reason
// UPSTREAM_BAD_RESPONSE (or SOAP_VERSION_MISMATCH, UPSTREAM_XML_FORBIDDEN,
// UPSTREAM_XML_LIMIT), quoting the start of the body.
package soap

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Kind is the upstream kind this package registers.
const Kind = "soap"

// userAgent is sent with every request.
const userAgent = "protobridge"

func init() { bridge.RegisterAdapter(Kind, New) }

// adapter is the SOAP adapter of one upstream: one pooled HTTP client.
type adapter struct {
	u         *bridge.Upstream
	endpoint  string
	transport *http.Transport
	client    *http.Client
	headers   http.Header
	forward   []string
	lax       bool
	wss       *wsSecurity
	// red removes outbound secrets (the core's and the WS-Security
	// password) from what is quoted to callers.
	red *bridge.Redactor
	// notify reports Deprecation/Sunset/Warning headers of replies.
	notify func(*bridge.Route, bridge.Notice)
	// Limits, with the bridge's defaults where the upstream leaves them zero.
	maxRequest, maxResponse, maxErrorBody int64
}

var _ bridge.Adapter = (*adapter)(nil)

// reservedHeaders are request headers the adapter or HTTP client owns.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Content-Type": true, "Soapaction": true, "Authorization": true,
}

// New builds the adapter of one SOAP upstream: base_url is the service's
// endpoint address. The HTTP client has its own keep-alive connection pool,
// dial and TLS handshake bounded by the connect timeout, the upstream's TLS
// settings, and does not follow redirects. WS-Security credentials are
// resolved now; HTTP credentials come with the transport the core wraps.
func New(u *bridge.Upstream, env *bridge.Env) (bridge.Adapter, error) {
	base, err := url.Parse(u.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base_url must be an absolute http:// or https:// URL")
	}
	base.Fragment, base.RawFragment = "", ""
	baseDir := ""
	var notify func(*bridge.Route, bridge.Notice)
	red := bridge.NewRedactor()
	if env != nil {
		baseDir, notify = env.BaseDir, env.Notify
		if env.Redactor != nil {
			red = env.Redactor
		}
	}
	a := &adapter{
		red:          red,
		notify:       notify,
		u:            u,
		endpoint:     base.String(),
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
	var cfg Config
	if err := u.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	a.lax = cfg.XMLLax
	if w := cfg.WSSecurity; w != nil {
		pass, err := w.Password.Resolve(baseDir)
		if err != nil || w.Username == "" {
			return nil, bridge.Problems{{Pos: u.Config.Pos(), Msg: fmt.Sprintf("upstream %q soap.ws_security: %s", u.Name, errOr(err, "username is empty")), Hint: "give username and password: {env: VAR} or {file: path}"}}
		}
		a.wss = newWSSecurity(w.Username, pass, w.Digest)
		red.Add(pass)
		var escaped strings.Builder
		_ = xml.EscapeText(&escaped, []byte(pass))
		red.Add(escaped.String())
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

// Close closes the pool's idle connections.
func (a *adapter) Close() error {
	a.transport.CloseIdleConnections()
	return nil
}

// style is how the request and response messages sit in the Body.
type style int

const (
	styleWrapped style = iota + 1 // document/literal wrapped, and rpc
	styleBare                     // document/literal bare
)

// endpoint is one bound SOAP route.
type endpoint struct {
	a   *adapter
	r   *bridge.Route
	env *envVersion
	// action is the SOAPAction.
	action string
	style  style
	// reqElem and respElem name the Body's wrapper elements (styleWrapped);
	// a zero respElem accepts any name.
	reqElem, respElem xml.Name
	oneWay            bool
	// header maps the request's header fields, body the rest; out the response.
	header, body, out *xmlcodec.Plan
	// headerFields are the request's header fields.
	headerFields []protoreflect.FieldDescriptor
}

var _ bridge.Endpoint = (*endpoint)(nil)

// Bind checks the route's SOAP binding and compiles the codec plans of the
// method's input and output messages.
func (a *adapter) Bind(r *bridge.Route) (bridge.Endpoint, error) {
	md := r.Method
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, errors.New("streaming methods are not supported by the soap adapter; make the method unary")
	}
	op := r.Options.GetSoap()
	if op == nil {
		return nil, errors.New("no SOAP binding: set option (protobridge.v1.route).soap on the method (protobridge gen wsdl writes it)")
	}
	e := &endpoint{a: a, r: r, env: soap11, action: op.GetAction(), oneWay: op.GetOneWay()}
	switch op.GetVersion() {
	case pbv1.SoapVersion_SOAP_VERSION_UNSPECIFIED, pbv1.SoapVersion_SOAP_VERSION_1_1:
	case pbv1.SoapVersion_SOAP_VERSION_1_2:
		e.env = soap12
	default:
		return nil, fmt.Errorf("soap.version %v is not known", op.GetVersion())
	}
	if strings.ContainsAny(e.action, "\"\r\n") {
		return nil, fmt.Errorf("soap.action %q cannot be sent in a header", e.action)
	}
	reqElem, ok := xmlcodec.ParseQName(op.GetRequestElement())
	if !ok {
		return nil, fmt.Errorf("soap.request_element %q is not {namespace}local", op.GetRequestElement())
	}
	respElem, ok := xmlcodec.ParseQName(op.GetResponseElement())
	if !ok {
		return nil, fmt.Errorf("soap.response_element %q is not {namespace}local", op.GetResponseElement())
	}
	switch op.GetStyle() {
	case pbv1.SoapStyle_SOAP_STYLE_UNSPECIFIED, pbv1.SoapStyle_SOAP_STYLE_DOCUMENT:
		e.style = styleBare
		if op.GetWrapped() {
			e.style = styleWrapped
			if reqElem.Local == "" {
				return nil, errors.New("soap.wrapped needs request_element, the wrapper element's {namespace}local name")
			}
		}
	case pbv1.SoapStyle_SOAP_STYLE_RPC:
		e.style = styleWrapped
		if reqElem.Local == "" {
			if op.GetOperation() == "" {
				return nil, errors.New("an rpc operation needs soap.operation or soap.request_element")
			}
			reqElem = xml.Name{Space: op.GetNamespace(), Local: op.GetOperation()}
		}
		// SOAP 1.1 §7.1: the response wrapper's name is not significant (by
		// convention operation + "Response"; some servers echo the operation).
		respElem = xml.Name{}
	default:
		return nil, fmt.Errorf("soap.style %v is not known", op.GetStyle())
	}
	e.reqElem, e.respElem = reqElem, respElem
	in, err := xmlcodec.Compile(md.Input())
	if err != nil {
		return nil, fmt.Errorf("request message: %w", err)
	}
	if e.out, err = xmlcodec.Compile(md.Output()); err != nil {
		return nil, fmt.Errorf("response message: %w", err)
	}
	headers := map[protoreflect.Name]bool{}
	for _, h := range op.GetHeaderFields() {
		fd := md.Input().Fields().ByName(protoreflect.Name(h))
		if fd == nil {
			return nil, fmt.Errorf("soap.header_fields: %s has no field %q", md.Input().FullName(), h)
		}
		if !headers[fd.Name()] {
			e.headerFields = append(e.headerFields, fd)
		}
		headers[fd.Name()] = true
	}
	e.header = in.Select(func(fd protoreflect.FieldDescriptor) bool { return headers[fd.Name()] })
	e.body = in.Select(func(fd protoreflect.FieldDescriptor) bool { return !headers[fd.Name()] })
	return e, nil
}

// Stream refuses: streaming routes are not bound by this adapter.
func (e *endpoint) Stream(context.Context, *bridge.Call, bridge.Stream) error {
	return bridge.Errorf(codes.Unimplemented, reason.StreamingNotAllowed, e.meta(), "%s: the soap adapter does not stream", e.r.Name())
}

// meta is the ErrorInfo metadata of errors raised for this route.
// Describe names the route's SOAP operation, for routes listings.
func (e *endpoint) Describe() string { return "SOAP " + e.r.Options.GetSoap().GetOperation() }

func (e *endpoint) meta() map[string]string {
	return map[string]string{"upstream": e.a.u.Name, "method": e.r.Name()}
}

// requestMessage returns the call's request as a message of the route's
// input descriptor (a generated type is converted).
func (e *endpoint) requestMessage(c *bridge.Call) (protoreflect.Message, error) {
	in := e.r.Method.Input()
	if c.Request == nil {
		return dynamicpb.NewMessage(in), nil
	}
	m := c.Request.ProtoReflect()
	if m.Descriptor() == in {
		return m, nil
	}
	if m.Descriptor().FullName() != in.FullName() {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s got a %s request", e.r.Name(), m.Descriptor().FullName())
	}
	b, err := proto.Marshal(c.Request)
	if err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s: %v", e.r.Name(), err)
	}
	dm := dynamicpb.NewMessage(in)
	if err := proto.Unmarshal(b, dm); err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s: %v", e.r.Name(), err)
	}
	return dm, nil
}
