package shop

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// Upstream is the REST backend both bridges call: it reads the JSON body of
// POST RESTPath and answers the canned order. It does the same, cheap work
// for every caller, so differences come from the bridges.
type Upstream struct {
	resp    []byte
	respLen string
	hits    atomic.Int64
	record  atomic.Bool

	mu   sync.Mutex
	last Request
}

// Request is what the upstream received, when recording.
type Request struct {
	Method, Path, ContentType string
	Body                      []byte
}

// NewUpstream returns an upstream that answers resp.
func NewUpstream(resp []byte) *Upstream {
	return &Upstream{resp: resp, respLen: strconv.Itoa(len(resp))}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP implements http.Handler.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != RESTPath {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	u.hits.Add(1)
	if u.record.Load() {
		u.mu.Lock()
		u.last = Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: bytes.Clone(buf.Bytes())}
		u.mu.Unlock()
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{u.respLen}
	_, _ = w.Write(u.resp)
}

// Hits counts the requests answered.
func (u *Upstream) Hits() int64 { return u.hits.Load() }

// Record turns recording of the last request on or off.
func (u *Upstream) Record(on bool) { u.record.Store(on) }

// Last returns the last recorded request.
func (u *Upstream) Last() Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}
