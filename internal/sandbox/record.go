package sandbox

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/protobridge/protobridge/bridge/httpx"
)

// recorder is the transport of an upstream in record mode: it passes every
// exchange on and writes it, redacted, to the upstream's HAR files when
// the reply body is done (a stream when it ends, a WebSocket when it closes).
type recorder struct {
	next  http.RoundTripper
	w     *harWriter
	red   *redaction
	limit int
	log   *slog.Logger
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	e := &Entry{StartedDateTime: start.UTC().Format(time.RFC3339Nano), Timings: Timings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1}}
	if st := stateOf(req.Context()); st != nil {
		e.Route = st.route.Name()
	}
	u, qs := r.red.requestURL(req)
	e.Request = Request{Method: req.Method, URL: u, HTTPVersion: "HTTP/1.1", Cookies: []NameValue{}, Headers: r.red.requestHeaders(req), QueryString: qs, HeadersSize: -1, BodySize: len(reqBody)}
	if reqBody != nil {
		kept, cut := r.red.record(reqBody, req.Header.Get("Content-Type"), r.limit, false)
		e.Truncated = cut
		text, enc := body(kept)
		e.Request.PostData = &PostData{MimeType: req.Header.Get("Content-Type"), Params: []NameValue{}, Text: text, Encoding: enc}
	}
	resp, err := r.next.RoundTrip(req)
	e.Timings.Wait = millis(time.Since(start))
	if err != nil {
		e.Time = e.Timings.Wait
		e.Response = Response{HTTPVersion: "HTTP/1.1", Cookies: []NameValue{}, Headers: []NameValue{}, Content: Content{MimeType: "x-unknown"}, HeadersSize: -1, BodySize: -1, Error: httpx.DescribeNetError(err)}
		if req.Context().Err() == nil { // the call's own end is not the upstream's answer
			r.write(e)
		}
		return nil, err
	}
	e.Response = Response{Status: resp.StatusCode, StatusText: http.StatusText(resp.StatusCode), HTTPVersion: resp.Proto, Cookies: []NameValue{},
		Headers: r.red.headers(resp.Header), Content: Content{MimeType: resp.Header.Get("Content-Type")}, HeadersSize: -1, BodySize: -1}
	if e.Response.HTTPVersion == "" {
		e.Response.HTTPVersion = "HTTP/1.1"
	}
	if e.Response.Content.MimeType == "" {
		e.Response.Content.MimeType = "x-unknown"
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body = &wsRecorder{rwc: rwc, rec: r, e: e, start: start, in: frameReader{limit: r.limit}, out: frameReader{limit: r.limit}}
		return resp, nil
	}
	resp.Body = &bodyRecorder{ctx: req.Context(), body: resp.Body, rec: r, e: e, start: start, headers: time.Now(), stream: isStream(resp.Header.Get("Content-Type"))}
	return resp, nil
}

func (r *recorder) write(e *Entry) {
	if err := r.w.add(*e); err != nil {
		r.log.Warn("sandbox: writing the recording failed", "error", err)
	}
}

// isStream reports whether a reply of this type is an event stream, whose
// reads are recorded with their times.
func isStream(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "text/event-stream", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq", "application/stream+json":
		return true
	}
	return false
}

// bodyRecorder records a reply body as the adapter reads it; the entry is
// written once, at the end of the body or when it is closed. Stream
// bodies are kept as chunks cut at line ends, so that a secret within a
// line is redacted whole.
type bodyRecorder struct {
	ctx     context.Context // the call's: once done, an unfinished body is not recorded
	body    io.ReadCloser
	rec     *recorder
	e       *Entry
	start   time.Time
	headers time.Time
	stream  bool

	once    sync.Once
	all     []byte
	pending []byte
	eof     bool
	cut     bool // all stops short of the body
	chunked int  // bytes of all kept as chunks
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.keep(p[:n])
	}
	if err != nil {
		b.eof = err == io.EOF
		b.finish()
	}
	return n, err
}

// margin is how far past max_body_bytes a reply body is read before it
// is redacted and cut, so that a secret or field straddling the cut is
// seen whole.
const margin = 64 << 10

func (b *bodyRecorder) keep(p []byte) {
	if room := b.rec.limit + margin - len(b.all); room < len(p) {
		p, b.cut = p[:max(room, 0)], true
	}
	b.all = append(b.all, p...)
	if !b.stream || b.chunked >= b.rec.limit {
		return
	}
	b.pending = append(b.pending, p...)
	if i := bytes.LastIndexByte(b.pending, '\n'); i >= 0 {
		b.chunked += i + 1
		b.chunk(b.pending[:i+1])
		b.pending = append(b.pending[:0:0], b.pending[i+1:]...)
	}
}

func (b *bodyRecorder) chunk(p []byte) {
	text, _ := body(redacted(b.rec.red, p, b.e.Response.Content.MimeType))
	b.e.Chunks = append(b.e.Chunks, Chunk{Offset: millis(time.Since(b.headers)), Data: text})
}

func (b *bodyRecorder) Close() error {
	err := b.body.Close()
	b.finish()
	return err
}

func (b *bodyRecorder) finish() {
	b.once.Do(func() {
		if !b.eof && b.ctx.Err() != nil && !b.stream {
			// Cut by the call's own end, not the upstream's answer (a
			// stream the caller ends is recorded as far as it went).
			return
		}
		if len(b.pending) > 0 && b.chunked < b.rec.limit {
			b.chunk(b.pending)
		}
		kept, cut := b.rec.red.record(b.all, b.e.Response.Content.MimeType, b.rec.limit, b.cut)
		b.e.Truncated = b.e.Truncated || cut || b.chunked > b.rec.limit
		text, enc := body(kept)
		b.e.Response.Content.Text, b.e.Response.Content.Encoding = text, enc
		b.e.Response.Content.Size, b.e.Response.BodySize = min(len(b.all), b.rec.limit), min(len(b.all), b.rec.limit)
		b.e.Timings.Receive = millis(time.Since(b.headers))
		b.e.Time = millis(time.Since(b.start))
		b.rec.write(b.e)
	})
}

// wsRecorder records the frames of an upgraded connection: what the
// adapter writes (masked client frames) and what it reads. The entry is
// written when the connection closes.
type wsRecorder struct {
	rwc   io.ReadWriteCloser
	rec   *recorder
	e     *Entry
	start time.Time

	mu      sync.Mutex
	in, out frameReader
	size    int
	once    sync.Once
}

func (w *wsRecorder) Read(p []byte) (int, error) {
	n, err := w.rwc.Read(p)
	if n > 0 {
		w.add("receive", &w.in, p[:n])
	}
	return n, err
}

func (w *wsRecorder) Write(p []byte) (int, error) {
	w.add("send", &w.out, p)
	return w.rwc.Write(p)
}

func (w *wsRecorder) add(typ string, fr *frameReader, p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := float64(time.Now().UnixMicro()) / 1e6
	for _, m := range fr.feed(p) {
		if m.opcode == opPing || m.opcode == opPong {
			continue
		}
		if w.size += len(m.payload); w.size > w.rec.limit {
			w.e.Truncated = true
			continue
		}
		var data string
		switch m.opcode {
		case opClose:
			data = closeText(m.payload)
		case opBinary:
			data = b64.EncodeToString(w.rec.red.red.Redact(m.payload))
		default:
			data = string(redacted(w.rec.red, m.payload, ""))
		}
		w.e.WebSocketMessages = append(w.e.WebSocketMessages, WSMessage{Type: typ, Time: now, Opcode: m.opcode, Data: data})
	}
	if fr.cut {
		w.e.Truncated = true
	}
}

func (w *wsRecorder) Close() error {
	err := w.rwc.Close()
	w.once.Do(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.e.Time = millis(time.Since(w.start))
		w.e.Timings.Receive = w.e.Time - w.e.Timings.Wait
		w.rec.write(w.e)
	})
	return err
}
