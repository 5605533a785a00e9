package rest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/cenkalti/backoff/v5"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Media types of streamed replies.
const (
	sseContentType    = "text/event-stream"
	ndjsonContentType = "application/x-ndjson"
	streamAccept      = sseContentType + ", " + ndjsonContentType
)

// Defaults of (protobridge.v1.route).stream: reconnection of Server-Sent
// Events streams and the fields that receive event types and ids.
const (
	// StreamReconnects bounds consecutive failed reconnection attempts of
	// an SSE stream; the count restarts once an event is delivered.
	StreamReconnects = 5
	// StreamInitialBackoff is the wait before the first attempt unless the
	// upstream set one with a retry: field; it doubles with each further
	// attempt, with full jitter, up to StreamMaxBackoff.
	StreamInitialBackoff = 100 * time.Millisecond
	// StreamMaxBackoff caps the wait between attempts.
	StreamMaxBackoff = 10 * time.Second
	// StreamEventField and StreamIDField name the output fields that receive
	// an SSE event's type and id.
	StreamEventField = "event"
	StreamIDField    = "id"
)

// streamPlan is how a server-streaming route maps events to messages.
//
// Each SSE event's data, or each NDJSON line, decodes as JSON into the
// output message, or into the field named by response_body. A string or
// bytes response_body field takes the data verbatim instead (a token
// stream). Top-level string fields named by the stream option's event_field
// and id_field ("event" and "id" by default) receive the SSE event's type
// ("message" unless the event names one) and its last event id, unless the
// data already set them.
type streamPlan struct {
	// verbatim is a string or bytes response_body field.
	verbatim protoreflect.FieldDescriptor
	// event and id receive the SSE event's type and id; nil when the
	// output has no such string field.
	event, id protoreflect.FieldDescriptor
	// reconnects, initial and max tune Last-Event-ID resumption.
	reconnects      int
	initial, maxoff time.Duration
	// maxEvent bounds one event or line.
	maxEvent int64
}

// bindStream checks a server-streaming route and plans its events.
func (e *endpoint) bindStream() error {
	switch {
	case e.xml:
		return errors.New("a streamed reply carries JSON events (text/event-stream or application/x-ndjson); encoding xml does not apply to server-streaming methods")
	case e.respRaw:
		return errors.New("google.api.HttpBody replies cannot be streamed event by event; use a message with a bytes field and response_body")
	}
	opt := e.r.Options.GetStream()
	p := &streamPlan{reconnects: StreamReconnects, initial: StreamInitialBackoff, maxoff: StreamMaxBackoff, maxEvent: e.a.maxResponse}
	if f := e.respField; f != nil && !f.IsList() && !f.IsMap() && (f.Kind() == protoreflect.StringKind || f.Kind() == protoreflect.BytesKind) {
		p.verbatim = f
	}
	out := e.r.Method.Output().Fields()
	for _, ef := range []struct {
		name, def string
		dst       *protoreflect.FieldDescriptor
	}{{opt.GetEventField(), StreamEventField, &p.event}, {opt.GetIdField(), StreamIDField, &p.id}} {
		name := ef.name
		if name == "" {
			name = ef.def
		}
		fd := out.ByName(protoreflect.Name(name))
		ok := fd != nil && fd != e.respField && fd.Kind() == protoreflect.StringKind && fd.Cardinality() != protoreflect.Repeated
		if ok {
			*ef.dst = fd
		} else if ef.name != "" {
			return fmt.Errorf("stream option names field %q, which is not a singular string field of %s", ef.name, e.r.Method.Output().FullName())
		}
	}
	if opt != nil && opt.MaxReconnects != nil {
		p.reconnects = int(opt.GetMaxReconnects())
	}
	for _, d := range []struct {
		text string
		dst  *time.Duration
	}{{opt.GetInitialBackoff(), &p.initial}, {opt.GetMaxBackoff(), &p.maxoff}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v <= 0 {
			return fmt.Errorf("stream option backoff %q is not a positive duration", d.text)
		}
		*d.dst = v
	}
	if n := opt.GetMaxEventBytes(); n > 0 {
		p.maxEvent = int64(min(n, 1<<40))
		if e.a.maxSend > 0 && p.maxEvent > e.a.maxSend {
			return fmt.Errorf("stream max_event_bytes %d is over server.max_send_bytes (%d): such an event could never be sent; lower it or raise server.max_send_bytes", n, e.a.maxSend)
		}
	}
	e.stream = p
	return nil
}

// Stream serves a server-streaming route whose upstream answers Server-Sent
// Events (text/event-stream) or NDJSON (application/x-ndjson): one message
// per event or line, in order, each sent only once the caller has taken
// the previous one (the body is not read meanwhile, so a slow caller holds
// the upstream back through TCP). The upstream's end of the body ends the
// call with OK, as does a 204 reply (SSE's "do not reconnect") and an event
// or line that is the end sentinel (stream end, default "[DONE]"); an SSE
// event of the error type (stream error_event, default "error") ends it
// with an error status quoting the event's data. Comments and keep-alive
// lines (": ping", blank lines) are skipped. The
// upstream's timeout bounds the wait for the reply's headers; the route's
// timeout, when set, and the caller's deadline bound the whole call.
// Cancelling the call closes the body. One event, or line, is bounded by
// max_response_bytes (RESOURCE_EXHAUSTED past it); the stream is not.
//
// An SSE stream that drops (the connection breaks, or ends without the
// final chunk) after the upstream has sent an event id is requested again
// with Last-Event-ID, up to StreamReconnects attempts in a row with
// backoff; a 502, 503, 504 or a transport failure of such a request counts
// as a failed attempt. What may be lost or duplicated: every event that
// arrived whole is delivered before reconnecting, and a partial event is
// dropped. Events after the last id are replayed only if the upstream
// honours Last-Event-ID (events sent after the last id but without one of
// their own come again), and an upstream that ignores it replays from its
// start, duplicating. A stream that drops before any id, and any NDJSON
// stream, cannot resume: the call ends with UNAVAILABLE.
func (e *endpoint) Stream(ctx context.Context, c *bridge.Call, out bridge.Stream) error {
	if e.r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.r.Timeout)
		defer cancel()
	}
	st := &sseState{}
	failures := 0
	var bo *backoff.ExponentialBackOff
	for {
		retry, err := e.streamOnce(ctx, c, out, st)
		if st.delivered {
			failures, st.delivered, bo = 0, false, nil
		}
		if err == nil || !retry || failures >= e.stream.reconnects {
			return err
		}
		failures++
		if bo == nil {
			bo = e.stream.backoff(st.retry)
		}
		if !sleep(ctx, bo.NextBackOff()) {
			return e.ctxError(ctx)
		}
	}
}

// sseState is what an SSE stream keeps across reconnections.
type sseState struct {
	// lastID is the last event id the upstream sent.
	lastID string
	// retry is the reconnection time the upstream asked for; zero if none.
	retry time.Duration
	// connected says a request of the call was answered with a stream.
	connected bool
	// delivered says an event reached the caller since the last check.
	delivered bool
}

// resumable reports whether a failure may be retried with Last-Event-ID.
func (s *sseState) resumable() bool { return s.connected && s.lastID != "" }

// streamOnce makes one request and relays its events. retry says the
// returned error ends this request only: the stream may be resumed.
func (e *endpoint) streamOnce(ctx context.Context, c *bridge.Call, out bridge.Stream, st *sseState) (retry bool, err error) {
	reqCtx, cancelReq := context.WithCancel(ctx)
	defer cancelReq()
	req, err := e.newRequest(reqCtx, c)
	if err != nil {
		return false, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	if st.lastID != "" {
		req.Header.Set("Last-Event-ID", st.lastID)
	}
	var headerTimeout atomic.Bool
	wait := e.a.u.Timeout
	if wait <= 0 {
		wait = bridge.DefaultUpstreamTimeout
	}
	timer := time.AfterFunc(wait, func() {
		headerTimeout.Store(true)
		cancelReq()
	})
	resp, err := httpx.Send(e.a.client, req)
	timer.Stop()
	switch {
	case err != nil && headerTimeout.Load() && ctx.Err() == nil:
		return st.resumable(), bridge.Errorf(codes.DeadlineExceeded, reason.UpstreamTimeout, e.meta(), "upstream %s sent no reply headers within %s", e.a.u.Name, wait)
	case err != nil:
		return st.resumable() && ctx.Err() == nil, e.transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if e.a.notify != nil {
		for _, n := range httpx.HeaderNotices(resp.Header) {
			e.a.notify(e.r, n)
		}
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return false, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		transient := resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout
		return transient && st.resumable(), e.httpError(ctx, resp)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != sseContentType && mt != ndjsonContentType {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, e.a.maxErrorBody+1))
		return false, e.badResponse(resp, start, fmt.Errorf("the reply is %q, not %s or %s", mt, sseContentType, ndjsonContentType))
	}
	st.connected = true
	lines := &lineReader{r: bufio.NewReader(resp.Body), max: int(e.stream.maxEvent)}
	send := func(m proto.Message) error {
		if err := out.Send(m); err != nil {
			if cerr := e.ctxError(ctx); cerr != nil {
				return cerr
			}
			return err
		}
		st.delivered = true
		return nil
	}
	if mt == ndjsonContentType {
		err = e.relayNDJSON(resp, lines, send)
	} else {
		err = e.relaySSE(resp, lines, st, send)
	}
	var dropped *streamDropped
	var ended *streamEnded
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &ended):
		return false, ended.status
	case errors.As(err, &dropped):
		if cerr := e.ctxError(ctx); cerr != nil {
			return false, cerr
		}
		return mt == sseContentType && st.resumable(), bridge.Errorf(codes.Unavailable, reason.UpstreamStreamDropped, e.meta(),
			"upstream %s's stream broke off: %s", e.a.u.Name, httpx.DescribeCutOff(dropped.err))
	}
	return false, err
}

// streamEnded is an SSE stream ended by its end sentinel (status nil) or
// its error event; it is not resumed.
type streamEnded struct{ status error }

func (s *streamEnded) Error() string { return "stream ended" }

// streamErrorStatus is the status of an SSE error event: the reply status
// the data names (a "status" or "code" of 400-599, at the top or inside
// "error"), mapped as that HTTP reply; else UNKNOWN. Either way the data is
// quoted.
func (e *endpoint) streamErrorStatus(resp *http.Response, data []byte) error {
	quoted, truncated := data, false
	if int64(len(quoted)) > e.a.maxErrorBody {
		quoted, truncated = quoted[:e.a.maxErrorBody], true
	}
	if code := errorEventStatus(data); code != 0 {
		h := http.Header{"Content-Type": {"application/json"}}
		return bridge.HTTPError(e.r, bridge.UpstreamReply{Status: code, Header: h, Body: bytes.Clone(quoted), Truncated: truncated})
	}
	meta := e.meta()
	meta["event"] = e.streamError
	detail := &pbv1.UpstreamError{
		Upstream:      e.a.u.Name,
		HttpStatus:    int32(resp.StatusCode),
		ContentType:   sseContentType,
		Body:          strings.ToValidUTF8(string(quoted), "\uFFFD"),
		BodyTruncated: truncated,
	}
	return bridge.Error(codes.Unknown, reason.UpstreamStreamError, meta,
		fmt.Sprintf("upstream %s sent an %q event: %s", e.a.u.Name, e.streamError, strings.ToValidUTF8(string(quoted), "\uFFFD")), detail)
}

// errorEventStatus finds an HTTP status in an error event's JSON data.
func errorEventStatus(data []byte) int {
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil {
		return 0
	}
	var inner map[string]json.RawMessage
	if raw, ok := doc["error"]; ok && json.Unmarshal(raw, &inner) == nil {
		if c := statusIn(inner); c != 0 {
			return c
		}
	}
	return statusIn(doc)
}

func statusIn(obj map[string]json.RawMessage) int {
	for _, k := range []string{"status", "code", "status_code", "statusCode"} {
		var n int
		if raw, ok := obj[k]; ok && json.Unmarshal(raw, &n) == nil && n >= 400 && n <= 599 {
			return n
		}
	}
	return 0
}

// streamDropped is a body that ended by a transport failure rather than
// its proper end.
type streamDropped struct{ err error }

func (d *streamDropped) Error() string { return "stream dropped: " + d.err.Error() }

// errLineTooLong is a line over the event size limit.
var errLineTooLong = errors.New("line too long")

// readError classifies an error of the line reader.
func (e *endpoint) readError(err error) error {
	if errors.Is(err, errLineTooLong) {
		return e.eventTooLarge()
	}
	return &streamDropped{err}
}

// eventTooLarge is the status of an event or line over max_response_bytes.
func (e *endpoint) eventTooLarge() error {
	meta := e.meta()
	meta["limit"] = strconv.FormatInt(e.stream.maxEvent, 10)
	return bridge.Errorf(codes.ResourceExhausted, reason.StreamEventTooLarge, meta,
		"upstream %s sent an event over the %d byte limit (stream max_event_bytes, else max_response_bytes)", e.a.u.Name, e.stream.maxEvent)
}

// relayNDJSON sends one message per non-blank line.
func (e *endpoint) relayNDJSON(resp *http.Response, lines *lineReader, send func(proto.Message) error) error {
	for n := 1; ; n++ {
		line, err := lines.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return e.readError(err)
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		if e.streamEnd != "" && string(trimmed) == e.streamEnd {
			return nil
		}
		m, err := e.eventMessage(line, "", "")
		if err != nil {
			return e.badResponse(resp, line, fmt.Errorf("line %d: %w", n, err))
		}
		if err := send(m); err != nil {
			return err
		}
	}
}

// relaySSE parses the event stream as the HTML standard says (lines end
// with LF or CRLF) and sends one message per event that has data.
func (e *endpoint) relaySSE(resp *http.Response, lines *lineReader, st *sseState, send func(proto.Message) error) error {
	var data []byte
	event, hasData := "", false
	for {
		line, err := lines.next()
		if err == io.EOF {
			return nil // an event without its closing blank line is dropped
		}
		if err != nil {
			return e.readError(err)
		}
		if len(line) == 0 {
			if hasData {
				if event == "" {
					event = "message"
				}
				if e.streamError != "" && event == e.streamError {
					return &streamEnded{e.streamErrorStatus(resp, data)}
				}
				if e.streamEnd != "" && string(bytes.TrimSpace(data)) == e.streamEnd {
					return &streamEnded{}
				}
				m, err := e.eventMessage(data, event, st.lastID)
				if err != nil {
					return e.badResponse(resp, data, fmt.Errorf("event %q (id %q): %w", event, st.lastID, err))
				}
				if err := send(m); err != nil {
					return err
				}
			}
			data, event, hasData = data[:0], "", false
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if len(name) == 0 {
			continue // a comment
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "event":
			event = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			if len(data)+len(value) > lines.max {
				return e.eventTooLarge()
			}
			data, hasData = append(data, value...), true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				st.lastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 32); err == nil {
				st.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

// eventMessage builds the message of one event: data decoded as JSON into
// the output (or its response_body field), or set verbatim; then the event
// type and id where the output has fields for them that data left unset.
func (e *endpoint) eventMessage(data []byte, event, id string) (proto.Message, error) {
	m := dynamicpb.NewMessage(e.r.Method.Output())
	p := e.stream
	switch {
	case p.verbatim != nil && p.verbatim.Kind() == protoreflect.BytesKind:
		m.Set(p.verbatim, protoreflect.ValueOfBytes(bytes.Clone(data)))
	case p.verbatim != nil:
		m.Set(p.verbatim, protoreflect.ValueOfString(string(data)))
	default:
		if err := e.decode("", data, m); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		fd protoreflect.FieldDescriptor
		v  string
	}{{p.event, event}, {p.id, id}} {
		if f.fd != nil && f.v != "" && !m.Has(f.fd) {
			m.Set(f.fd, protoreflect.ValueOfString(f.v))
		}
	}
	return m, nil
}

// lineReader reads lines ending with LF or CRLF, each at most max bytes.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its ending; it is valid until the
// next call. A last line without an ending is returned before io.EOF; a
// line cut short by any other error is not returned.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		if len(l.buf)+len(chunk) > l.max+2 {
			return nil, errLineTooLong
		}
		l.buf = append(l.buf, chunk...)
		switch {
		case err == nil:
			line := bytes.TrimSuffix(l.buf[:len(l.buf)-1], []byte("\r"))
			if len(line) > l.max {
				return nil, errLineTooLong
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(l.buf) > 0:
			if len(l.buf) > l.max {
				return nil, errLineTooLong
			}
			return l.buf, nil
		}
		return nil, err
	}
}

// backoff is the reconnection backoff of a run of failures: exponential
// from the upstream's retry: value (or StreamInitialBackoff), capped by
// StreamMaxBackoff, with full jitter.
func (p *streamPlan) backoff(base time.Duration) *backoff.ExponentialBackOff {
	if base <= 0 {
		base = p.initial
	}
	return httpx.Backoff(base, p.maxoff, 2)
}

// sleep waits for d; false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
