package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
)

// replayer answers an upstream's requests from its recordings.
type replayer struct {
	upstream string
	cfg      Config
	red      *redaction
	canon    *canonicalizer
	entries  []*recording
	log      *slog.Logger

	mu   sync.Mutex
	next map[string]int // by match key: how many of its recordings were served
}

// recording is one recorded exchange, read for matching.
type recording struct {
	e     Entry
	path  string
	lines []string
	key   string // route, method, path and canonical request
}

func newReplayer(dir, upstream string, cfg Config, red *redaction, log *slog.Logger) (*replayer, error) {
	entries, err := readHARs(dir, upstream)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	r := &replayer{upstream: upstream, cfg: cfg, red: red, canon: newCanonicalizer(cfg.Match), next: map[string]int{}, log: log}
	for _, e := range entries {
		if e.Response.Status == 0 && e.Response.Error == "" {
			continue
		}
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			continue
		}
		rec := &recording{e: e, path: u.EscapedPath()}
		var b []byte
		if pd := e.Request.PostData; pd != nil {
			b = decodeText(pd.Text, pd.Encoding)
		}
		rec.lines = r.canon.request(e.Request.Headers, e.Request.QueryString, b)
		rec.key = e.Route + "\x00" + e.Request.Method + " " + rec.path + "\x00" + strings.Join(rec.lines, "\n")
		r.entries = append(r.entries, rec)
	}
	if len(r.entries) == 0 {
		// An upstream the recording session never called: every call
		// fails as unrecorded, the others replay.
		log.Warn("sandbox: no recording of the upstream; its calls fail with FAILED_PRECONDITION", "upstream", upstream, "dir", dir)
	}
	return r, nil
}

func decodeText(text, enc string) []byte {
	if enc == "base64" {
		b, err := b64.DecodeString(text)
		if err == nil {
			return b
		}
	}
	return []byte(text)
}

func (r *replayer) RoundTrip(req *http.Request) (*http.Response, error) {
	var b []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if b, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	route := routeName(req.Context())
	_, qs := r.red.requestURL(req)
	lines := r.canon.request(r.red.requestHeaders(req), qs, redacted(r.red, b, req.Header.Get("Content-Type")))
	path := req.URL.EscapedPath()
	key := route + "\x00" + req.Method + " " + path + "\x00" + strings.Join(lines, "\n")

	var same []*recording // same route, method and path
	var exact []*recording
	for _, rec := range r.entries {
		if (route != "" && rec.e.Route != "" && rec.e.Route != route) || rec.e.Request.Method != req.Method || rec.path != path {
			continue
		}
		same = append(same, rec)
		if rec.key == key {
			exact = append(exact, rec)
		}
	}
	var rec *recording
	switch {
	case len(exact) > 0:
		// Identical requests are answered in the order recorded; the last
		// answer repeats.
		r.mu.Lock()
		i := r.next[key]
		r.next[key] = i + 1
		r.mu.Unlock()
		rec = exact[min(i, len(exact)-1)]
	case len(same) > 0 && r.cfg.Match.Lenient:
		rec = closest(same, lines)
	default:
		err := r.miss(route, req.Method, path, lines)
		stateOf(req.Context()).setFailure(err)
		return nil, err
	}
	return r.answer(req, rec)
}

func closest(cands []*recording, lines []string) *recording {
	var best *recording
	bestD := -1
	for _, c := range cands {
		if d := distance(c.lines, lines); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// maxDiffLines bounds the difference quoted in a miss.
const maxDiffLines = 6

// miss is the FAILED_PRECONDITION of a request no recording matches,
// naming the closest recording and how it differs.
func (r *replayer) miss(route, method, path string, lines []string) error {
	meta := map[string]string{"upstream": r.upstream, "request": method + " " + path}
	if len(r.entries) == 0 {
		return bridge.Errorf(codes.FailedPrecondition, reason.SandboxNoRecording, meta, "replay: no recording of upstream %s", r.upstream)
	}
	// Only recordings of this route (or of no route) are quoted: another
	// route's recorded request is not its caller's to see. Prefer the same
	// method and path.
	var pool []*recording
	for _, pick := range []func(*recording) bool{
		func(c *recording) bool { return c.e.Request.Method == method && c.path == path },
		func(*recording) bool { return true },
	} {
		for _, c := range r.entries {
			if (c.e.Route == route || c.e.Route == "") && pick(c) {
				pool = append(pool, c)
			}
		}
		if len(pool) > 0 {
			break
		}
	}
	if len(pool) == 0 {
		return bridge.Errorf(codes.FailedPrecondition, reason.SandboxNoRecording, meta,
			"replay: upstream %s has no recording%s of %s %s (recordings of other routes are not quoted); record this call", r.upstream, forRoute(route), method, path)
	}
	c := closest(pool, lines)
	var d []string
	if c.e.Request.Method != method || c.path != path {
		d = append(d, fmt.Sprintf("recorded %s %s, called %s %s", c.e.Request.Method, c.path, method, path))
	}
	missing, extra := diff(c.lines, lines)
	for _, l := range missing {
		d = append(d, "recorded "+l)
	}
	for _, l := range extra {
		d = append(d, "called "+l)
	}
	if len(d) > maxDiffLines {
		d = append(d[:maxDiffLines], fmt.Sprintf("and %d more", len(d)-maxDiffLines))
	}
	meta["closest"] = c.e.Request.Method + " " + c.path + " at " + c.e.StartedDateTime
	return bridge.Errorf(codes.FailedPrecondition, reason.SandboxNoRecording, meta,
		"replay: no recording of upstream %s matches %s %s%s; the closest is %s %s recorded %s, which differs: %s (record this call, or set sandbox.match.lenient or ignore_fields)",
		r.upstream, method, path, forRoute(route), c.e.Request.Method, c.path, c.e.StartedDateTime, strings.Join(d, "; "))
}

func forRoute(route string) string {
	if route == "" {
		return ""
	}
	return " for " + route
}

// answer replays rec's reply.
func (r *replayer) answer(req *http.Request, rec *recording) (*http.Response, error) {
	e := rec.e
	if e.Truncated {
		err := bridge.Errorf(codes.FailedPrecondition, reason.SandboxNoRecording, map[string]string{"upstream": r.upstream, "recording": e.Request.Method + " " + rec.path + " at " + e.StartedDateTime},
			"replay: the recording of %s %s (%s) was cut at sandbox.max_body_bytes; raise max_body_bytes and record this call again", e.Request.Method, rec.path, e.StartedDateTime)
		stateOf(req.Context()).setFailure(err)
		return nil, err
	}
	if e.Response.Error != "" {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	h := http.Header{}
	for _, kv := range e.Response.Headers {
		switch http.CanonicalHeaderKey(kv.Name) {
		case "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection", "Sec-Websocket-Accept", "Set-Cookie":
			continue
		}
		h.Add(kv.Name, kv.Value)
	}
	if e.Response.Status == http.StatusSwitchingProtocols {
		script := r.socketScript(rec, stateOf(req.Context()))
		if e.Route == "" && stateOf(req.Context()) == nil {
			script = r.sharedScript(rec.path)
		}
		return wsUpgrade(req, h.Get("Sec-WebSocket-Protocol"), script), nil
	}
	resp := synth(req, e.Response.Status, h, "")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	if len(e.Chunks) > 0 {
		resp.Body = &chunkBody{ctx: req.Context(), chunks: e.Chunks, speed: r.cfg.Match.RecordedSpeed, start: time.Now()}
		return resp, nil
	}
	b := decodeText(e.Response.Content.Text, e.Response.Content.Encoding)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return resp, nil
}

// chunkBody replays a recorded stream chunk by chunk, with the recorded
// gaps when speed is set.
type chunkBody struct {
	ctx    context.Context
	chunks []Chunk
	speed  bool
	start  time.Time
	cur    []byte
}

func (c *chunkBody) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if len(c.chunks) == 0 {
			return 0, io.EOF
		}
		ch := c.chunks[0]
		c.chunks = c.chunks[1:]
		if c.speed {
			if wait := time.Duration(ch.Offset*float64(time.Millisecond)) - time.Since(c.start); wait > 0 {
				if err := sleep(c.ctx, wait); err != nil {
					return 0, err
				}
			}
		}
		c.cur = []byte(ch.Data)
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func (c *chunkBody) Close() error { return nil }

// socketScript replays a recorded socket: the upstream's frames are sent
// in order, each after the client frames recorded before it have come;
// a client frame that differs from the recording ends the socket (strict)
// or is let pass (lenient).
func (r *replayer) socketScript(rec *recording, st *state) wsScript {
	msgs := rec.e.WebSocketMessages
	return func(ctx context.Context, recv func() *wsMessage, send func(int, []byte) error) (int, string) {
		subs := map[string]string{}
		var last float64
		if len(msgs) > 0 {
			last = msgs[0].Time
		}
		for _, m := range msgs {
			if r.cfg.Match.RecordedSpeed && m.Time > last {
				if sleep(ctx, time.Duration((m.Time-last)*float64(time.Second))) != nil {
					return 0, ""
				}
			}
			last = m.Time
			switch {
			case m.Type == "send" && m.Opcode == opClose:
				// The client closed here; wait for it to do so again.
				for recv() != nil {
				}
				return 1000, ""
			case m.Type == "send":
				got := recv()
				if got == nil {
					return 0, ""
				}
				// Values the client chose afresh (correlation ids, left out
				// of the comparison by ignore_fields) come back as it chose them.
				learnValues(subs, "$", decodeJSON(frameData(m)), decodeJSON(got.payload))
				if r.cfg.Match.Lenient {
					continue
				}
				want := r.canon.body(frameData(m))
				have := r.canon.body(redacted(r.red, got.payload, ""))
				if distance(want, have) != 0 {
					missing, extra := diff(want, have)
					st.setFailure(bridge.Errorf(codes.FailedPrecondition, reason.SandboxNoRecording, map[string]string{"upstream": r.upstream, "closest": rec.e.Request.Method + " " + rec.path + " at " + rec.e.StartedDateTime},
						"replay: a frame sent to upstream %s differs from the recording of %s at %s: recorded %s; sent %s", r.upstream, rec.path, rec.e.StartedDateTime,
						strings.Join(firstN(missing), ", "), strings.Join(firstN(extra), ", ")))
					return 1008, "replay: frame differs from the recording"
				}
			case m.Opcode == opClose:
				code, reason := parseCloseText(m.Data)
				return code, reason
			default:
				data := frameData(m)
				for from, to := range subs {
					data = bytes.ReplaceAll(data, []byte(from), []byte(to))
				}
				if send(m.Opcode, data) != nil {
					return 0, ""
				}
			}
		}
		// The recording ends without a close: keep the socket open until the client closes.
		for recv() != nil {
		}
		return 1000, ""
	}
}

// exchange is a frame a client sent on a shared socket and the peer's
// frames that answered it.
type exchange struct {
	raw     []byte
	canon   []string
	at      float64 // when it was sent, seconds into the socket
	ids     map[string]string
	replies []WSMessage
}

// sharedScript replays the socket that a WebSocket upstream's unary calls
// share (dialled outside any call, recorded without a route), from every
// recording of it at path. Its calls need not come in the recorded order
// nor one at a time: a recorded reply belongs to the sent frame with the
// same value in a match.ignore_fields key (the correlation id; else to the
// frame sent last before it), and each frame the client sends is answered
// with the replies of the recorded frame it matches — compared as
// requests are, ignore_fields left out; the first not yet answered, else
// the last (lenient: the closest) — with the client's own values of those
// keys. A frame that matches none closes the socket with 1008 and a log
// line, which fails the calls waiting on it.
func (r *replayer) sharedScript(path string) wsScript {
	keys := r.canon.fields
	var xs []*exchange
	for _, rec := range r.entries {
		if rec.e.Route != "" || rec.path != path || rec.e.Response.Status != http.StatusSwitchingProtocols {
			continue
		}
		first := len(xs)
		for _, m := range rec.e.WebSocketMessages {
			switch {
			case m.Opcode == opClose:
			case m.Type == "send":
				ids := map[string]string{}
				idsIn(decodeJSON(frameData(m)), keys, ids)
				xs = append(xs, &exchange{raw: frameData(m), canon: r.canon.body(frameData(m)), at: m.Time, ids: ids})
			case len(xs) > first:
				ids := map[string]string{}
				idsIn(decodeJSON(frameData(m)), keys, ids)
				to := xs[len(xs)-1]
			find:
				for i := len(xs) - 1; i >= first && len(ids) > 0; i-- {
					for k, v := range ids {
						if xs[i].ids[k] == v {
							to = xs[i]
							break find
						}
					}
				}
				to.replies = append(to.replies, m)
			}
		}
	}
	return func(ctx context.Context, recv func() *wsMessage, send func(int, []byte) error) (int, string) {
		used := make([]bool, len(xs))
		for {
			got := recv()
			if got == nil {
				return 1000, ""
			}
			have := r.canon.body(redacted(r.red, got.payload, ""))
			pick, last, best, bestD := -1, -1, -1, -1
			for i, x := range xs {
				d := distance(x.canon, have)
				if d == 0 && !used[i] {
					pick = i
					break
				}
				if d == 0 {
					last = i
				}
				if bestD < 0 || d < bestD {
					best, bestD = i, d
				}
			}
			switch {
			case pick >= 0:
			case last >= 0:
				pick = last
			case best >= 0 && r.cfg.Match.Lenient:
				pick = best
			default:
				r.log.Warn("sandbox: replay: a frame sent on the shared socket matches no recorded frame; the socket is closed", "upstream", r.upstream, "path", path, "frame", strings.Join(firstN(have), ", "))
				return 1008, "replay: frame matches no recording"
			}
			used[pick] = true
			x := xs[pick]
			// The recorded values of the correlation keys, by key, and the
			// client's.
			live := map[string]string{}
			idsIn(decodeJSON(got.payload), keys, live)
			at := x.at
			for _, m := range x.replies {
				if r.cfg.Match.RecordedSpeed && m.Time > at {
					if sleep(ctx, time.Duration((m.Time-at)*float64(time.Second))) != nil {
						return 0, ""
					}
					at = m.Time
				}
				if send(m.Opcode, withIDs(frameData(m), x.ids, live)) != nil {
					return 0, ""
				}
			}
		}
	}
}

// idsIn collects, from a decoded JSON frame, the JSON text of the value of
// each key in keys, wherever it is (the first found).
func idsIn(v any, keys map[string]bool, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if keys[k] {
				if _, seen := out[k]; !seen {
					if b, err := json.Marshal(x); err == nil {
						out[k] = string(b)
					}
				}
			}
			idsIn(x, keys, out)
		}
	case []any:
		for _, x := range v {
			idsIn(x, keys, out)
		}
	}
}

// withIDs rewrites a recorded JSON reply: a key whose value is the one
// the recorded request had (from) takes the value the live request has
// (to). A frame that is not JSON, or needs no change, is returned as is.
func withIDs(reply []byte, from, to map[string]string) []byte {
	subs := map[string]any{}
	for k, f := range from {
		if t, ok := to[k]; ok && t != f {
			var v any
			if json.Unmarshal([]byte(t), &v) == nil {
				subs[k] = v
			}
		}
	}
	if len(subs) == 0 {
		return reply
	}
	v := decodeJSON(reply)
	if v == nil {
		return reply
	}
	var walk func(any) bool
	walk = func(v any) bool {
		changed := false
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if t, ok := subs[k]; ok {
					if b, err := json.Marshal(x); err == nil && string(b) == from[k] {
						v[k], changed = t, true
						continue
					}
				}
				changed = walk(x) || changed
			}
		case []any:
			for _, x := range v {
				changed = walk(x) || changed
			}
		}
		return changed
	}
	if !walk(v) {
		return reply
	}
	b, err := json.Marshal(v)
	if err != nil {
		return reply
	}
	return b
}

func frameData(m WSMessage) []byte {
	if m.Opcode == opBinary {
		return decodeText(m.Data, "base64")
	}
	return []byte(m.Data)
}

func firstN(l []string) []string {
	if len(l) > maxDiffLines {
		return append(l[:maxDiffLines:maxDiffLines], fmt.Sprintf("and %d more", len(l)-maxDiffLines))
	}
	return l
}

// decodeJSON decodes a JSON frame, numbers kept as written; nil when it is
// not JSON.
func decodeJSON(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return nil
	}
	return v
}

// maxSubstitutions bounds the values a replayed socket echoes back.
const maxSubstitutions = 64

// learnValues records, for each string leaf at the same path of a
// recorded and a live frame that differs, the recorded value's JSON text
// and the live one's.
func learnValues(subs map[string]string, path string, rec, live any) {
	switch r := rec.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return
		}
		for k, v := range r {
			learnValues(subs, path+"."+k, v, l[k])
		}
	case []any:
		l, ok := live.([]any)
		if !ok {
			return
		}
		for i := range min(len(r), len(l)) {
			learnValues(subs, path, r[i], l[i])
		}
	case string:
		l, ok := live.(string)
		if !ok || l == r || len(r) < 4 || len(subs) >= maxSubstitutions {
			return
		}
		from, _ := json.Marshal(r)
		to, _ := json.Marshal(l)
		subs[string(from)] = string(to)
	}
}
