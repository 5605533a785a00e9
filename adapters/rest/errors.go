package rest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

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

// readBody reads a 2xx reply body, at most the upstream's response limit.
func (e *endpoint) readBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	limit := e.a.maxResponse
	if resp.ContentLength > limit {
		return nil, e.tooLarge(resp.ContentLength)
	}
	var dst []byte
	if n := resp.ContentLength; n >= 0 && n < maxPooled {
		dst = takeBuf(int(n) + 1)
	}
	body, err := httpx.AppendBody(dst, resp, limit+1)
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

// httpError maps a non-2xx reply, quoting the start of its body.
func (e *endpoint) httpError(ctx context.Context, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, e.a.maxErrorBody+1))
	if err != nil {
		if cerr := e.ctxError(ctx); cerr != nil {
			return cerr
		}
	}
	body, truncated := e.a.red.Quote(body, e.a.maxErrorBody, err != nil)
	return bridge.HTTPError(e.r, bridge.UpstreamReply{Status: resp.StatusCode, Header: resp.Header, Body: body, Truncated: truncated})
}

// badResponse is the error for a 2xx reply that cannot be decoded: INTERNAL
// with reason UPSTREAM_BAD_RESPONSE and the start of the body.
func (e *endpoint) badResponse(resp *http.Response, body []byte, cause error) error {
	meta := e.meta()
	meta["http_status"] = strconv.Itoa(resp.StatusCode)
	quoted, truncated := e.a.red.Quote(body, e.a.maxErrorBody, false)
	enc := "JSON"
	if e.xml {
		enc = "XML"
	}
	detail := &pbv1.UpstreamError{
		Upstream:      e.a.u.Name,
		HttpStatus:    int32(resp.StatusCode),
		ContentType:   resp.Header.Get("Content-Type"),
		Body:          strings.ToValidUTF8(string(quoted), "\uFFFD"),
		BodyTruncated: truncated,
	}
	return bridge.Error(codes.Internal, reason.UpstreamBadResponse, meta,
		fmt.Sprintf("upstream %s replied HTTP %d with a body that does not decode as %s into %s: %v",
			e.a.u.Name, resp.StatusCode, enc, e.r.Method.Output().FullName(), cause), detail)
}
