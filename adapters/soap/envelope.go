package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
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
)

// envVersion is a SOAP envelope version.
type envVersion struct {
	name, ns, prefix string
	// mediaType is the request Content-Type's media type.
	mediaType string
	// mustUnderstand is the true value of the mustUnderstand attribute.
	mustUnderstand string
}

var (
	soap11 = &envVersion{name: "1.1", ns: "http://schemas.xmlsoap.org/soap/envelope/", prefix: "soap", mediaType: "text/xml", mustUnderstand: "1"}
	soap12 = &envVersion{name: "1.2", ns: "http://www.w3.org/2003/05/soap-envelope", prefix: "soap12", mediaType: "application/soap+xml", mustUnderstand: "true"}
)

// qname names an element of the envelope namespace.
func (v *envVersion) qname(local string) xml.Name { return xml.Name{Space: v.ns, Local: local} }

// Unary sends the call as one SOAP request and decodes the reply.
func (e *endpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	req, err := e.newRequest(ctx, c)
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
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	out := dynamicpb.NewMessage(e.r.Method.Output())
	if ok && e.oneWay {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return out, nil
	}
	body, err := e.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if err := e.reply(resp, body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// newRequest writes the envelope and builds the HTTP request.
func (e *endpoint) newRequest(ctx context.Context, c *bridge.Call) (*http.Request, error) {
	m, err := e.requestMessage(c)
	if err != nil {
		return nil, err
	}
	w := xmlcodec.NewWriter()
	w.Prefer(e.env.ns, e.env.prefix)
	w.Prefer(wsseNS, "wsse")
	w.Prefer(wsuNS, "wsu")
	w.Header()
	w.Start(e.env.qname("Envelope"))
	if e.a.wss != nil || e.anyHeader(m) {
		w.Start(e.env.qname("Header"))
		if e.a.wss != nil {
			if err := e.a.wss.write(w, e.env); err != nil {
				return nil, bridge.Errorf(codes.Internal, reason.WSSecurity, e.meta(), "cannot build the WS-Security header: %v", err)
			}
		}
		if err := e.header.EncodeContent(w, m); err != nil {
			return nil, e.encodeError(err)
		}
		w.End()
	}
	w.Start(e.env.qname("Body"))
	if e.style == styleWrapped {
		err = e.body.EncodeElement(w, e.reqElem, m)
	} else {
		err = e.body.EncodeContent(w, m)
	}
	if err != nil {
		return nil, e.encodeError(err)
	}
	w.End()
	w.End()
	doc, err := w.Bytes()
	if err != nil {
		return nil, e.encodeError(err)
	}
	if int64(len(doc)) > e.a.maxRequest {
		return nil, bridge.Errorf(codes.ResourceExhausted, reason.RequestTooLarge, e.meta(),
			"the SOAP request is %d bytes, over upstream %s's limit of %d", len(doc), e.a.u.Name, e.a.maxRequest)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.a.endpoint, bytes.NewReader(doc))
	if err != nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequest, e.meta(), "cannot build the request: %v", err)
	}
	req.Header.Set("User-Agent", userAgent)
	if c.RequestID != "" {
		req.Header.Set("X-Request-Id", c.RequestID)
	}
	if e.env == soap12 {
		ct := "application/soap+xml; charset=utf-8"
		if e.action != "" {
			ct += `; action="` + e.action + `"`
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", "application/soap+xml, multipart/related")
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+e.action+`"`)
		req.Header.Set("Accept", "text/xml, multipart/related")
	}
	for _, k := range e.a.forward {
		for _, v := range c.Metadata.Get(k) {
			if httpguts.ValidHeaderFieldValue(v) {
				req.Header.Add(k, v)
			}
		}
	}
	for k, v := range e.a.headers {
		req.Header[k] = v
	}
	return req, nil
}

// anyHeader reports whether the request sets a header field (required scalars
// count as set: they are always written).
func (e *endpoint) anyHeader(m protoreflect.Message) bool {
	for _, fd := range e.headerFields {
		if m.Has(fd) || !fd.HasPresence() && !fd.IsList() {
			return true
		}
	}
	return false
}

// encodeError maps a request that cannot be written: INVALID_ARGUMENT naming
// the field's path.
func (e *endpoint) encodeError(err error) error {
	meta := e.meta()
	if xe, ok := err.(*xmlcodec.Error); ok {
		meta["path"] = xe.Path
	}
	return bridge.Errorf(codes.InvalidArgument, reason.InvalidRequest, meta, "the request cannot be written as SOAP XML: %v", err)
}

// reply reads the reply envelope into out, or returns the status for a
// fault, an HTTP error or a bad reply.
func (e *endpoint) reply(resp *http.Response, body []byte, out proto.Message) error {
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case ok && mt == "text/html":
		return e.badResponse(resp, body, reason.UpstreamBadResponse, nil, "an HTML page, not a SOAP envelope")
	case ok && strings.HasPrefix(mt, "multipart/"):
		return e.badResponse(resp, body, reason.UpstreamBadResponse, nil, "a multipart (MTOM/SwA) reply, which is not supported")
	case ok && len(bytes.TrimSpace(body)) == 0:
		return e.badResponse(resp, body, reason.UpstreamBadResponse, nil, "an empty body, not a SOAP envelope")
	}
	// First pass: find the Body's first child; a Fault is read there.
	d := e.decoder(body)
	first, err := e.firstInBody(d)
	if err != nil {
		if !ok {
			return e.httpError(resp, body)
		}
		return e.decodeError(resp, body, err)
	}
	if first != nil && first.Name == e.env.qname("Fault") {
		f, err := readFault(d, e.env)
		if err != nil {
			return e.decodeError(resp, body, err)
		}
		return e.faultError(resp, f)
	}
	if !ok {
		return e.httpError(resp, body)
	}
	// Second pass: decode the message, header blocks included.
	d = e.decoder(body)
	bodyStart, err := e.openBody(d, out.ProtoReflect())
	if err == nil {
		err = e.decodeBody(d, bodyStart, out)
	}
	if err == nil {
		err = d.Finish()
	}
	if err != nil {
		return e.decodeError(resp, body, err)
	}
	return nil
}

// firstInBody returns the Body's first child element, nil when the Body is
// empty.
func (e *endpoint) firstInBody(d *xmlcodec.Decoder) (*xmlcodec.Start, error) {
	if _, err := e.openBody(d, nil); err != nil {
		return nil, err
	}
	lax := d.Lax
	d.Lax = false
	defer func() { d.Lax = lax }()
	return d.Child()
}

func (e *endpoint) decoder(body []byte) *xmlcodec.Decoder {
	d := xmlcodec.NewDecoder(bytes.NewReader(body), xmlcodec.Limits{MaxBytes: e.a.maxResponse})
	d.Lax = e.a.lax
	return d
}

// errVersion marks a reply in the other SOAP version's envelope.
type errVersion struct{ got string }

// Error says which version the reply is.
func (v *errVersion) Error() string { return "the reply is a SOAP " + v.got + " envelope" }

// errNotEnvelope marks a reply whose root is not a SOAP Envelope.
type errNotEnvelope struct{ root xml.Name }

// Error names the root element.
func (n *errNotEnvelope) Error() string {
	return fmt.Sprintf("the reply's root element is %s, not a SOAP Envelope", xmlcodec.FormatQName(n.root))
}

// openBody reads the Envelope up to the Body's start tag and returns it. With
// out set, the Header's blocks are decoded into out's element fields of the
// same name, and other blocks skipped; without, the Header is skipped.
func (e *endpoint) openBody(d *xmlcodec.Decoder, out protoreflect.Message) (*xmlcodec.Start, error) {
	root, err := d.Root()
	if err != nil {
		return nil, err
	}
	if root.Name != e.env.qname("Envelope") {
		for _, v := range []*envVersion{soap11, soap12} {
			if root.Name == v.qname("Envelope") {
				return nil, &errVersion{got: v.name}
			}
		}
		return nil, &errNotEnvelope{root: root.Name}
	}
	lax := d.Lax
	d.Lax = false
	defer func() { d.Lax = lax }()
	for {
		c, err := d.Child()
		if err != nil {
			return nil, err
		}
		switch {
		case c == nil:
			return nil, xmlcodecError(d, "the Envelope has no Body")
		case c.Name == e.env.qname("Header") && out != nil:
			d.Lax = lax
			err := e.out.DecodeBlocks(d, c, out)
			d.Lax = false
			if err != nil {
				return nil, err
			}
		case c.Name == e.env.qname("Header"):
			if err := d.Skip(); err != nil {
				return nil, err
			}
		case c.Name == e.env.qname("Body"):
			return c, nil
		default:
			return nil, xmlcodecError(d, fmt.Sprintf("element %s is not allowed in a SOAP %s Envelope", xmlcodec.FormatQName(c.Name), e.env.name))
		}
	}
}

func xmlcodecError(d *xmlcodec.Decoder, msg string) error {
	return &xmlcodec.Error{Kind: xmlcodec.ErrUnknown, Path: d.Path(), Msg: msg}
}

// decodeBody decodes the Body's content into out; the decoder is just
// inside the Body.
func (e *endpoint) decodeBody(d *xmlcodec.Decoder, body *xmlcodec.Start, out proto.Message) error {
	m := out.ProtoReflect()
	if e.style == styleBare {
		// The Body's children are the response message's fields.
		return e.out.DecodeElement(d, body, m)
	}
	first, err := d.Child()
	if err != nil {
		return err
	}
	if first == nil {
		return xmlcodecError(d, "the Body is empty")
	}
	if e.respElem.Local != "" && first.Name != e.respElem && !d.Lax {
		return xmlcodecError(d, fmt.Sprintf("the response element is %s, not %s", xmlcodec.FormatQName(first.Name), xmlcodec.FormatQName(e.respElem)))
	}
	if err := e.out.DecodeElement(d, first, m); err != nil {
		return err
	}
	for {
		c, err := d.Child()
		if err != nil || c == nil {
			return err
		}
		if !d.Lax {
			return xmlcodecError(d, fmt.Sprintf("element %s follows the response element", xmlcodec.FormatQName(c.Name)))
		}
		if err := d.Skip(); err != nil {
			return err
		}
	}
}
