package soap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// ctxError maps a finished call context to DEADLINE_EXCEEDED or CANCELLED;
// nil while the context is live.
func (e *endpoint) ctxError(ctx context.Context) error {
	return httpx.ContextError(ctx, e.a.u.Name, e.meta())
}

// transportError maps a failed round trip: the context's end, or
// UNAVAILABLE with reason UPSTREAM_UNAVAILABLE. The message never quotes
// the URL, which may carry credentials or request data.
func (e *endpoint) transportError(ctx context.Context, err error) error {
	return httpx.TransportError(ctx, err, e.a.u.Name, e.meta())
}

// readBody reads a reply body, at most the upstream's response limit.
func (e *endpoint) readBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	limit := e.a.maxResponse
	if resp.ContentLength > limit {
		return nil, e.tooLarge(resp.ContentLength)
	}
	body, err := httpx.ReadBody(resp, limit+1)
	if err != nil {
		return nil, httpx.BodyError(ctx, err, len(body), e.a.u.Name, e.meta())
	}
	if int64(len(body)) > limit {
		return nil, e.tooLarge(-1)
	}
	return body, nil
}

func (e *endpoint) tooLarge(size int64) error {
	meta := e.meta()
	meta["limit"] = strconv.FormatInt(e.a.maxResponse, 10)
	what := "more than"
	if size >= 0 {
		what = strconv.FormatInt(size, 10) + " bytes, over"
	}
	return bridge.Errorf(codes.ResourceExhausted, reason.ResponseTooLarge, meta,
		"upstream %s replied with %s the %d byte limit (max_response_bytes)", e.a.u.Name, what, e.a.maxResponse)
}

// httpError maps a non-2xx reply that is not a SOAP fault.
func (e *endpoint) httpError(resp *http.Response, body []byte) error {
	quoted, truncated := e.quote(body)
	return bridge.HTTPError(e.r, bridge.UpstreamReply{Status: resp.StatusCode, Header: resp.Header, Body: quoted, Truncated: truncated})
}

// quote is the start of a body for a status, its secrets redacted.
func (e *endpoint) quote(body []byte) ([]byte, bool) {
	return e.a.red.Quote(body, e.a.maxErrorBody, false)
}

// decodeError maps a reply that is not the expected envelope.
func (e *endpoint) decodeError(resp *http.Response, body []byte, err error) error {
	var (
		xe  *xmlcodec.Error
		ve  *errVersion
		nee *errNotEnvelope
	)
	switch {
	case errors.As(err, &ve):
		return e.badResponse(resp, body, reason.SOAPVersionMismatch, nil,
			fmt.Sprintf("a SOAP %s envelope to a SOAP %s request", ve.got, e.env.name))
	case errors.As(err, &nee):
		return e.badResponse(resp, body, reason.UpstreamBadResponse, nil,
			fmt.Sprintf("a document whose root element is %s, not a SOAP %s Envelope", xmlcodec.FormatQName(nee.root), e.env.name))
	case errors.As(err, &xe):
		extra := map[string]string{"xml_error": xe.Kind.String(), "path": xe.Path}
		why := reason.UpstreamBadResponse
		switch xe.Kind {
		case xmlcodec.ErrForbidden:
			why = reason.UpstreamXMLForbidden
		case xmlcodec.ErrTooDeep, xmlcodec.ErrTextTooLarge:
			why = reason.UpstreamXMLLimit
		case xmlcodec.ErrTooLarge:
			return e.tooLarge(-1)
		}
		return e.badResponse(resp, body, why, extra, "XML that does not decode into "+string(e.r.Method.Output().FullName())+": "+xe.Error())
	}
	return e.badResponse(resp, body, reason.UpstreamBadResponse, nil, err.Error())
}

// badResponse is the error for a reply that cannot be used: INTERNAL with
// the reason given and the start of the body.
func (e *endpoint) badResponse(resp *http.Response, body []byte, why string, extra map[string]string, what string) error {
	meta := e.meta()
	meta["http_status"] = strconv.Itoa(resp.StatusCode)
	for k, v := range extra {
		meta[k] = v
	}
	quoted, truncated := e.quote(body)
	detail := &pbv1.UpstreamError{
		Upstream:      e.a.u.Name,
		HttpStatus:    int32(resp.StatusCode),
		ContentType:   resp.Header.Get("Content-Type"),
		Body:          strings.ToValidUTF8(string(quoted), "\uFFFD"),
		BodyTruncated: truncated,
	}
	return bridge.Error(codes.Internal, why, meta,
		fmt.Sprintf("upstream %s replied HTTP %d with %s", e.a.u.Name, resp.StatusCode, what), detail)
}
