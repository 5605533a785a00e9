package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// ErrorDomain is the ErrorInfo domain of every error protobridge raises.
const ErrorDomain = "protobridge.dev"

// Error builds a gRPC status error with an ErrorInfo detail (reason and
// metadata) and any further details. The message goes to the caller: never
// put secrets in it.
func Error(code codes.Code, reason string, meta map[string]string, msg string, details ...proto.Message) error {
	st := status.New(code, msg)
	ds := make([]protoadapt.MessageV1, 0, len(details)+1)
	if reason != "" {
		ds = append(ds, protoadapt.MessageV1Of(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: meta}))
	}
	for _, d := range details {
		ds = append(ds, protoadapt.MessageV1Of(d))
	}
	if len(ds) > 0 {
		if withDetails, err := st.WithDetails(ds...); err == nil {
			st = withDetails
		}
	}
	return st.Err()
}

// Errorf is Error with a formatted message and no extra details.
func Errorf(code codes.Code, reason string, meta map[string]string, format string, args ...any) error {
	return Error(code, reason, meta, fmt.Sprintf(format, args...))
}

// Wrap is Errorf keeping cause, so errors.Is and errors.As see it (a
// context error, a net.Error, an adapter's own type). The caller gets the
// status only: the cause's text is not in the message unless format puts
// it there.
func Wrap(cause error, code codes.Code, reason string, meta map[string]string, format string, args ...any) error {
	return &wrapped{st: status.Convert(Errorf(code, reason, meta, format, args...)), cause: cause}
}

// wrapped is a status error with the error that caused it.
type wrapped struct {
	st    *status.Status
	cause error
}

func (w *wrapped) Error() string              { return w.st.Err().Error() }
func (w *wrapped) GRPCStatus() *status.Status { return w.st }
func (w *wrapped) Unwrap() error              { return w.cause }

// NotSent marks err as a failure that provably did not reach the
// upstream's processing: the request never left (connection refused, DNS,
// TLS handshake), or the upstream answered that it did not process it
// (HTTP 429 or 503). The retry policy reads the mark: such a call may be
// repeated even when its method is not idempotent. err's status is kept.
// Adapters attach it where they know; HTTPError and the httpx toolkit do
// it for HTTP.
func NotSent(err error) error {
	if err == nil || IsNotSent(err) {
		return err
	}
	return &notSent{err: err}
}

// IsNotSent reports whether err carries the NotSent mark.
func IsNotSent(err error) bool {
	var ns *notSent
	return errors.As(err, &ns)
}

type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

// GRPCStatus returns the marked failure's status.
func (e *notSent) GRPCStatus() *status.Status { return status.Convert(e.err) }

// CodeForHTTPStatus maps an upstream HTTP status to a gRPC code by meaning
// (DESIGN §6). creates says the method creates a resource, which turns 409
// into ALREADY_EXISTS.
func CodeForHTTPStatus(httpStatus int, creates bool) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound, http.StatusGone:
		return codes.NotFound
	case http.StatusConflict:
		if creates {
			return codes.AlreadyExists
		}
		return codes.Aborted
	case http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusRequestedRangeNotSatisfiable:
		return codes.OutOfRange
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case 499:
		return codes.Canceled
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusRequestTimeout:
		return codes.DeadlineExceeded
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	}
	switch {
	case httpStatus >= 500:
		return codes.Internal
	case httpStatus >= 400:
		return codes.FailedPrecondition
	case httpStatus >= 300:
		// Redirects are not followed (credentials must not travel to
		// another host): the route's binding needs fixing.
		return codes.FailedPrecondition
	}
	return codes.Unknown
}

// CodeByName parses a gRPC code name such as "NOT_FOUND".
func CodeByName(name string) (codes.Code, bool) {
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(name)))); err != nil {
		return 0, false
	}
	return c, true
}

// UpstreamReply is what an upstream answered, as far as error mapping needs it.
type UpstreamReply struct {
	// Status is the HTTP status code.
	Status int
	// Header holds the reply's headers.
	Header http.Header
	// Body is the start of the reply body (already bounded by the caller).
	Body []byte
	// Truncated says Body was cut.
	Truncated bool
}

// HTTPError builds the status for an upstream HTTP error reply: the code by
// meaning (or the route's override), ErrorInfo with reason UPSTREAM_HTTP_<n>,
// RetryInfo from Retry-After, and an UpstreamError detail quoting the body.
func HTTPError(r *Route, reply UpstreamReply) error {
	code, ok := r.StatusCodes[reply.Status]
	if !ok {
		code = CodeForHTTPStatus(reply.Status, r.Creates())
	}
	upstream := ""
	if r.Upstream != nil {
		upstream = r.Upstream.Name
	}
	meta := map[string]string{"upstream": upstream, "http_status": strconv.Itoa(reply.Status), "method": r.Name()}
	details := []proto.Message{&pbv1.UpstreamError{
		Upstream:      upstream,
		HttpStatus:    int32(reply.Status),
		ContentType:   reply.Header.Get("Content-Type"),
		Body:          strings.ToValidUTF8(string(reply.Body), "\uFFFD"),
		BodyTruncated: reply.Truncated,
	}}
	if d, ok := ParseRetryAfter(reply.Header.Get("Retry-After"), time.Now()); ok {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	}
	msg := fmt.Sprintf("upstream %s answered HTTP %d %s", upstream, reply.Status, http.StatusText(reply.Status))
	err := Error(code, reason.UpstreamHTTP(reply.Status), meta, msg, details...)
	if reply.Status == http.StatusTooManyRequests || reply.Status == http.StatusServiceUnavailable {
		// Both say the request was not processed.
		err = NotSent(err)
	}
	return err
}

// maxRetryAfter clamps Retry-After: a larger wait is as good as "never"
// (a retry then fails fast against any deadline) and must not overflow.
const maxRetryAfter = 100 * 365 * 24 * time.Hour

// ParseRetryAfter reads a Retry-After header value: delay seconds or an
// HTTP-date. Dates in the past give zero; waits over a century are
// clamped to one.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		return maxRetryAfter, true
	}
	if err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, perr := http.ParseTime(v)
	if perr != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	d = min(d, maxRetryAfter)
	return d.Round(time.Second), true
}
