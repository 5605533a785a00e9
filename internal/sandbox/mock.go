package sandbox

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// mocker answers from the route's contract: SOAP envelopes encoded by
// the schema-driven codec from the WSDL-generated types, REST JSON or XML
// bodies and SSE/NDJSON streams, and WebSocket frames at a configured rate, all
// from the route's output type. The same seed and request give the same
// answer.
type mocker struct {
	upstream string
	cfg      Config
	// defs is mock.wsdl loaded, for the facets of SOAP values; nil without.
	defs *wsdl.Definitions
	// examples are mock.openapi's reply examples; nil without.
	examples examples

	mu sync.Mutex
	// unary are the upstream's unary routes, for a socket dialled outside
	// any call: the one unary calls share.
	unary []*bridge.Route
}

func (m *mocker) addRoute(r *bridge.Route) {
	if r.Method.IsStreamingClient() || r.Method.IsStreamingServer() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unary = append(m.unary, r)
}

func (m *mocker) RoundTrip(req *http.Request) (*http.Response, error) {
	var r *bridge.Route
	if st := stateOf(req.Context()); st != nil {
		r = st.route
	} else if req.Header.Get("Sec-WebSocket-Key") != "" {
		// The socket unary calls share is dialled outside any call.
		return m.shared(req)
	}
	if r == nil {
		return nil, errNoRoute
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	g := m.generator(r, req, body)
	switch {
	case req.Header.Get("Sec-WebSocket-Key") != "":
		return wsUpgrade(req, "", m.socket(r, g)), nil
	case r.Options.GetSoap() != nil:
		return m.soap(req, r, g)
	}
	return m.rest(req, r, g)
}

// generator is seeded by the config's seed, the route and the request, so
// that a call repeated gets the same answer and different calls differ.
func (m *mocker) generator(r *bridge.Route, req *http.Request, body []byte) *generator {
	h := fnv.New64a()
	_, _ = io.WriteString(h, r.Name()+"\x00"+req.URL.RequestURI()+"\x00")
	// The WS-Security header changes with every call; it is not part of the request.
	_, _ = h.Write(wsseHeader.ReplaceAll(body, nil))
	return &generator{r: rand.New(rand.NewPCG(uint64(m.cfg.Mock.Seed), h.Sum64())), items: m.cfg.Mock.Items}
}

func (m *mocker) fail(req *http.Request, format string, args ...any) error {
	err := bridge.Errorf(codes.Unimplemented, reason.SandboxMock, map[string]string{"upstream": m.upstream}, "mock: "+format, args...)
	stateOf(req.Context()).setFailure(err)
	return err
}

// rest answers a REST route with its output message as JSON (XML when the
// request accepts XML), or as a
// stream of Messages events (SSE when the request accepts
// text/event-stream, NDJSON otherwise) for a server-streaming route.
func (m *mocker) rest(req *http.Request, r *bridge.Route, g *generator) (*http.Response, error) {
	md := r.Method.Output()
	if strings.Contains(req.Header.Get("Accept"), "xml") && !r.Method.IsStreamingServer() {
		// An XML API: the reply written with the descriptor's XML options.
		p, err := xmlcodec.Compile(md)
		if err != nil {
			return nil, m.fail(req, "the reply type has no XML mapping: %v", err)
		}
		if p.Root().Local == "" {
			return nil, m.fail(req, "%s has no (protobridge.v1.xml_root) option to name the XML reply's root", md.FullName())
		}
		b, err := p.Marshal(g.message(md, nil))
		if err != nil {
			return nil, m.fail(req, "encoding a %s as XML: %v", md.FullName(), err)
		}
		return synth(req, http.StatusOK, http.Header{"Content-Type": {"application/xml"}}, string(b)), nil
	}
	field := ""
	if rb := r.HTTP.GetResponseBody(); rb != "" && rb != "*" {
		if fd := md.Fields().ByJSONName(rb); fd != nil {
			field = rb
		} else if fd := md.Fields().ByName(protoreflect.Name(rb)); fd != nil {
			field = rb
		}
	}
	encode := func() ([]byte, error) {
		msg := g.message(md, nil)
		var v proto.Message = msg
		if field != "" {
			fd := md.Fields().ByName(protoreflect.Name(field))
			if fd == nil {
				fd = md.Fields().ByJSONName(field)
			}
			if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
				return nil, fmt.Errorf("response_body %s is not a message field", field)
			}
			v = msg.Get(fd).Message().Interface()
		}
		return protojson.Marshal(v)
	}
	if !r.Method.IsStreamingServer() {
		b, err := encode()
		if err != nil {
			return nil, m.fail(req, "%v", err)
		}
		b = m.withExample(r, replyType(md, field), b)
		return synth(req, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, string(b)), nil
	}
	sse := strings.Contains(req.Header.Get("Accept"), "text/event-stream")
	ct := "application/x-ndjson"
	if sse {
		ct = "text/event-stream"
	}
	pr, pw := io.Pipe()
	go func() {
		n := max(m.cfg.Mock.Messages, 1)
		for i := 0; i < n; i++ {
			if i > 0 && sleep(req.Context(), m.cfg.Mock.Interval) != nil {
				pw.CloseWithError(req.Context().Err())
				return
			}
			b, err := encode()
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if sse {
				b = append(append([]byte(fmt.Sprintf("id: %d\ndata: ", i+1)), b...), '\n', '\n')
			} else {
				b = append(b, '\n')
			}
			if _, err := pw.Write(b); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	resp := synth(req, http.StatusOK, http.Header{"Content-Type": {ct}}, "")
	resp.Header.Del("Content-Length")
	resp.Body, resp.ContentLength = pr, -1
	return resp, nil
}

// withExample lays the spec's reply example of the route's operation over
// a generated reply b, when the result still fits the reply type.
func (m *mocker) withExample(r *bridge.Route, md protoreflect.MessageDescriptor, b []byte) []byte {
	if m.examples == nil || r.HTTP == nil {
		return b
	}
	verb, path := bridge.HTTPMethodAndPath(r.HTTP)
	ex, ok := m.examples[exampleKey(verb, path)]
	if !ok {
		return b
	}
	var gen any
	if json.Unmarshal(b, &gen) != nil {
		return b
	}
	out, err := json.Marshal(overlay(gen, ex))
	if err != nil || protojson.Unmarshal(out, dynamicpb.NewMessage(md)) != nil {
		return b
	}
	return out
}

var soapEnvelopes = map[pbv1.SoapVersion]struct{ ns, media string }{
	pbv1.SoapVersion_SOAP_VERSION_UNSPECIFIED: {"http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8"},
	pbv1.SoapVersion_SOAP_VERSION_1_1:         {"http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8"},
	pbv1.SoapVersion_SOAP_VERSION_1_2:         {"http://www.w3.org/2003/05/soap-envelope", "application/soap+xml; charset=utf-8"},
}

// replyType is the type of a REST reply body: the output, or its response_body field's.
func replyType(md protoreflect.MessageDescriptor, field string) protoreflect.MessageDescriptor {
	if field == "" {
		return md
	}
	fd := md.Fields().ByName(protoreflect.Name(field))
	if fd == nil {
		fd = md.Fields().ByJSONName(field)
	}
	return fd.Message()
}

// soap answers a SOAP route with an envelope holding its output message,
// encoded by the schema-driven codec the adapter decodes with, or with a
// Server fault for a share of calls (mock.fault_rate).
func (m *mocker) soap(req *http.Request, r *bridge.Route, g *generator) (*http.Response, error) {
	op := r.Options.GetSoap()
	env := soapEnvelopes[op.GetVersion()]
	w := xmlcodec.NewWriter()
	w.Header()
	w.Prefer(env.ns, "soap")
	w.Start(xml.Name{Space: env.ns, Local: "Envelope"})
	w.Start(xml.Name{Space: env.ns, Local: "Body"})
	status := http.StatusOK
	if m.cfg.Mock.FaultRate > 0 && g.r.Float64() < m.cfg.Mock.FaultRate {
		status = http.StatusInternalServerError
		writeFault(w, env.ns, op.GetVersion() == pbv1.SoapVersion_SOAP_VERSION_1_2)
	} else {
		p, err := xmlcodec.Compile(r.Method.Output())
		if err != nil {
			return nil, m.fail(req, "the output type has no XML mapping: %v", err)
		}
		msg := g.message(r.Method.Output(), m.schemaType(op, r.Method.Output()))
		switch {
		case op.GetStyle() == pbv1.SoapStyle_SOAP_STYLE_RPC:
			err = p.EncodeElement(w, xml.Name{Space: op.GetNamespace(), Local: op.GetOperation() + "Response"}, msg)
		case op.GetWrapped():
			name, _ := xmlcodec.ParseQName(op.GetResponseElement())
			err = p.EncodeElement(w, name, msg)
		default:
			err = p.EncodeContent(w, msg)
		}
		if err != nil {
			return nil, m.fail(req, "encoding a %s: %v", r.Method.Output().FullName(), err)
		}
	}
	w.End()
	w.End()
	b, err := w.Bytes()
	if err != nil {
		return nil, m.fail(req, "%v", err)
	}
	return synth(req, status, http.Header{"Content-Type": {env.media}}, string(b)), nil
}

// schemaType is the XSD type a SOAP reply message stands for: the
// response element's type (wrapped), or the Body's part elements as a
// sequence (bare); nil without mock.wsdl or for rpc parts.
func (m *mocker) schemaType(op *pbv1.SoapOperation, md protoreflect.MessageDescriptor) wsdl.Type {
	if m.defs == nil || m.defs.Schemas == nil {
		return nil
	}
	switch {
	case op.GetStyle() == pbv1.SoapStyle_SOAP_STYLE_RPC:
		return nil
	case op.GetWrapped():
		name, _ := xmlcodec.ParseQName(op.GetResponseElement())
		if e := m.defs.Schemas.Element(name); e != nil {
			return e.Type
		}
		return nil
	}
	seq := &wsdl.ModelGroup{Kind: wsdl.Sequence}
	for i := 0; i < md.Fields().Len(); i++ {
		x := xmlOptions(md.Fields().Get(i))
		if e := m.defs.Schemas.Element(xml.Name{Space: x.GetNamespace(), Local: x.GetName()}); e != nil {
			seq.Particles = append(seq.Particles, e)
		}
	}
	return &wsdl.ComplexType{ContentKind: wsdl.ElementContent, Content: seq}
}

func writeFault(w *xmlcodec.Writer, ns string, v12 bool) {
	el := func(name xml.Name, text string) {
		w.Start(name)
		w.Text(text)
		w.End()
	}
	w.Start(xml.Name{Space: ns, Local: "Fault"})
	if v12 {
		w.Start(xml.Name{Space: ns, Local: "Code"})
		el(xml.Name{Space: ns, Local: "Value"}, "soap:Receiver")
		w.End()
		w.Start(xml.Name{Space: ns, Local: "Reason"})
		w.Start(xml.Name{Space: ns, Local: "Text"})
		w.Attr(xml.Name{Space: "http://www.w3.org/XML/1998/namespace", Local: "lang"}, "en")
		w.Text("mock fault (sandbox.mock.fault_rate)")
		w.End()
		w.End()
	} else {
		el(xml.Name{Local: "faultcode"}, "soap:Server")
		el(xml.Name{Local: "faultstring"}, "mock fault (sandbox.mock.fault_rate)")
	}
	w.End()
}

// socket answers a WebSocket route: a server stream gets Messages frames,
// one per interval, after the caller's first frame, then a normal close;
// a bidi or client stream gets one frame per frame it sends, and the
// close after Messages of them (WebSocket has no half-close to wait for).
func (m *mocker) socket(r *bridge.Route, g *generator) wsScript {
	md := r.Method.Output()
	frame := func() []byte {
		b, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(g.message(md, nil))
		return b
	}
	return func(ctx context.Context, recv func() *wsMessage, send func(int, []byte) error) (int, string) {
		if r.Method.IsStreamingClient() || !r.Method.IsStreamingServer() {
			// WebSocket has no half-close: a bidi socket ends after Messages
			// answers (or when the caller closes it); a shared socket of
			// unary calls lives on.
			corr := correlationPath(r)
			for i := 0; !r.Method.IsStreamingServer() || m.cfg.Mock.Messages < 0 || i < m.cfg.Mock.Messages; i++ {
				in := recv()
				if in == nil {
					return 1000, ""
				}
				out := frame()
				if !r.Method.IsStreamingClient() {
					// A unary call over a shared socket: the reply carries
					// the request's correlation id.
					out = withCorrelation(out, in.payload, corr)
				}
				if send(opText, out) != nil {
					return 1000, ""
				}
			}
			return 1000, "mock stream done"
		}
		if recv() == nil {
			return 1000, ""
		}
		for i := 0; m.cfg.Mock.Messages < 0 || i < m.cfg.Mock.Messages; i++ {
			if i > 0 && sleep(ctx, m.cfg.Mock.Interval) != nil {
				return 0, ""
			}
			if send(opText, frame()) != nil {
				return 0, ""
			}
		}
		return 1000, "mock stream done"
	}
}

// shared answers the socket that the unary routes of a WebSocket URL share,
// dialled outside any call: each request frame gets a reply of the route
// whose request it is — among the unary routes bound to the socket's path
// (all of them when none is), the first whose request type the frame
// decodes as, strictly; else the first — carrying the request's
// correlation id.
func (m *mocker) shared(req *http.Request) (*http.Response, error) {
	m.mu.Lock()
	var routes []*bridge.Route
	for _, r := range m.unary {
		if p := r.Options.GetWebsocket().GetPath(); p != "" && strings.HasSuffix(req.URL.Path, p) {
			routes = append(routes, r)
		}
	}
	if len(routes) == 0 {
		routes = append(routes, m.unary...)
	}
	m.mu.Unlock()
	if len(routes) == 0 {
		return nil, errNoRoute
	}
	gens := map[*bridge.Route]*generator{}
	return wsUpgrade(req, "", func(_ context.Context, recv func() *wsMessage, send func(int, []byte) error) (int, string) {
		for {
			in := recv()
			if in == nil {
				return 1000, ""
			}
			r := routeOfFrame(routes, in.payload)
			g := gens[r]
			if g == nil {
				g = m.generator(r, req, nil)
				gens[r] = g
			}
			out, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(g.message(r.Method.Output(), nil))
			if send(opText, withCorrelation(out, in.payload, correlationPath(r))) != nil {
				return 1000, ""
			}
		}
	}), nil
}

// routeOfFrame is the route whose request a shared socket's frame is: of
// the routes whose request type takes the frame (strictly), the one whose
// type has the fewest fields the frame leaves out; the first route when
// none takes it. protojson leaves out fields at their zero value, so a
// frame that sets only fields every request type has cannot tell them
// apart: it goes to the first such route.
func routeOfFrame(routes []*bridge.Route, frame []byte) *bridge.Route {
	best, bestLeft := routes[0], -1
	for _, c := range routes {
		m := dynamicpb.NewMessage(c.Method.Input())
		if protojson.Unmarshal(frame, m) != nil {
			continue
		}
		set := 0
		m.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { set++; return true })
		if left := c.Method.Input().Fields().Len() - set; bestLeft < 0 || left < bestLeft {
			best, bestLeft = c, left
		}
	}
	return best
}

// correlationPath is the route's correlation field as a path ("id" when
// unset).
func correlationPath(r *bridge.Route) []string {
	if f := r.Options.GetWebsocket().GetCorrelationField(); f != "" {
		return strings.Split(f, ".")
	}
	return []string{"id"}
}

// withCorrelation copies the value at path of the request frame into the
// reply frame.
func withCorrelation(reply, req []byte, path []string) []byte {
	var in, out map[string]any
	if json.Unmarshal(req, &in) != nil || json.Unmarshal(reply, &out) != nil {
		return reply
	}
	src, dst := in, out
	for i, k := range path {
		if i == len(path)-1 {
			if v, ok := src[k]; ok {
				dst[k] = v
			}
			break
		}
		s, ok := src[k].(map[string]any)
		if !ok {
			return reply
		}
		d, ok := dst[k].(map[string]any)
		if !ok {
			d = map[string]any{}
			dst[k] = d
		}
		src, dst = s, d
	}
	b, err := json.Marshal(out)
	if err != nil {
		return reply
	}
	return b
}
