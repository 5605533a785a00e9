package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/config"
)

// seenRequest is what the fake upstream received.
type seenRequest struct {
	method, uri, body string
	header            http.Header
}

// reply is what the fake upstream answers.
type reply struct {
	status int
	ctype  string
	body   string
	header map[string]string
}

// fakeUpstream records requests and answers with a fixed reply.
type fakeUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newFakeUpstream(t *testing.T, rp reply) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{method: r.Method, uri: r.RequestURI, body: string(b), header: r.Header.Clone()})
		f.mu.Unlock()
		for k, v := range rp.header {
			w.Header().Set(k, v)
		}
		if rp.ctype != "" {
			w.Header().Set("Content-Type", rp.ctype)
		}
		if rp.status == 0 {
			rp.status = http.StatusOK
		}
		w.WriteHeader(rp.status)
		_, _ = io.WriteString(w, rp.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUpstream) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func custom(kind, path string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: kind, Path: path}}}
}

func withResponseBody(r *annotations.HttpRule, field string) *annotations.HttpRule {
	r.ResponseBody = field
	return r
}

func TestUnary(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		rule     *annotations.HttpRule
		encoding string
		base     string // path prefix of base_url
		// int64Strings sets the upstream's json_int64 to "string".
		int64Strings bool
		// camel sets the upstream's json_names to "lower_camel".
		camel bool
		req   string
		reply reply
		// want* describe the HTTP request; want is the response as protojson.
		wantMethod, wantURI, wantBody, wantCT, wantAccept string
		want                                              string
	}{
		{
			name: "GET with path pattern and query", method: "GetBook", base: "/api/v3/",
			rule: get("/v1/{name=shelves/*/books/*}"),
			req:  `{"name":"shelves/1/books/2","tag":["a","b"],"inner":{"x":"1"},"big":"9007199254740993"}`,
			reply: reply{ctype: "application/json; charset=utf-8",
				body: `{"name":"n","id":"9007199254740993","extra":{"unknown":true},"pages":0,"next_page_token":"ignored"}`},
			wantMethod: "GET", wantURI: "/api/v3/v1/shelves/1/books/2?big=9007199254740993&inner.x=1&tag=a&tag=b", wantAccept: "application/json",
			want: `{"name":"n","id":"9007199254740993","pages":0}`,
		},
		{
			name: "proto names accepted in replies", method: "ListBooks", rule: get("/v1/books"),
			reply:      reply{body: `{"books":[{"name":"a"}],"next_page_token":"p2"}`},
			wantMethod: "GET", wantURI: "/v1/books",
			want: `{"books":[{"name":"a"}],"nextPageToken":"p2"}`,
		},
		{
			name: "body star leaves path fields out and sends no query, int64 as numbers", method: "CreateBook",
			rule:       post("/v1/{parent=shelves/*}/books", "*"),
			req:        `{"parent":"shelves/1","book":{"title":"T","id":"9007199254740993"},"requestId":"r1"}`,
			reply:      reply{status: http.StatusCreated, body: `{"name":"shelves/1/books/9","title":"T"}`},
			wantMethod: "POST", wantURI: "/v1/shelves/1/books", wantBody: `{"book":{"title":"T","id":9007199254740993},"request_id":"r1"}`, wantCT: "application/json",
			want: `{"name":"shelves/1/books/9","title":"T"}`,
		},
		{
			name: "json_int64 string keeps protojson's int64 strings", method: "CreateBook", int64Strings: true,
			rule:       post("/v1/{parent=shelves/*}/books", "*"),
			req:        `{"parent":"shelves/1","book":{"title":"T","id":"9007199254740993"},"requestId":"r1"}`,
			reply:      reply{status: http.StatusCreated, body: `{"name":"shelves/1/books/9","title":"T"}`},
			wantMethod: "POST", wantURI: "/v1/shelves/1/books", wantBody: `{"book":{"title":"T","id":"9007199254740993"},"request_id":"r1"}`, wantCT: "application/json",
			want: `{"name":"shelves/1/books/9","title":"T"}`,
		},
		{
			name: "body field, the rest in the query", method: "CreateBook",
			rule:       post("/v1/{parent=shelves/*}/books", "book"),
			req:        `{"parent":"shelves/1","book":{"title":"T"},"requestId":"r 1","ids":["x"]}`,
			reply:      reply{body: `{"title":"T"}`},
			wantMethod: "POST", wantURI: "/v1/shelves/1/books?ids=x&request_id=r+1", wantBody: `{"title":"T"}`, wantCT: "application/json",
			want: `{"title":"T"}`,
		},
		{
			name: "unset body field sends an empty object", method: "CreateBook",
			rule: post("/v1/books", "book"), req: `{}`,
			wantMethod: "POST", wantURI: "/v1/books", wantBody: `{}`, wantCT: "application/json", want: `{}`,
		},
		{
			name: "repeated body field", method: "CreateBook",
			rule: post("/v1/batch", "ids"), req: `{"ids":["a","b"],"requestId":"r"}`,
			wantMethod: "POST", wantURI: "/v1/batch?request_id=r", wantBody: `["a","b"]`, wantCT: "application/json", want: `{}`,
		},
		{
			name: "response_body repeated", method: "ListBooks",
			rule:  withResponseBody(get("/v1/books"), "books"),
			reply: reply{body: `[{"name":"a"},{"name":"b"}]`}, wantMethod: "GET", wantURI: "/v1/books",
			want: `{"books":[{"name":"a"},{"name":"b"}]}`,
		},
		{
			name: "response_body message", method: "GetWrapper",
			rule: withResponseBody(get("/v1/{name}"), "book"), req: `{"name":"b1"}`,
			reply: reply{body: `{"name":"b1","unknown":1}`}, wantMethod: "GET", wantURI: "/v1/b1",
			want: `{"book":{"name":"b1"}}`,
		},
		{
			name: "response_body scalar", method: "GetWrapper",
			rule:  withResponseBody(get("/v1/note"), "note"),
			reply: reply{body: ` "hello" `}, wantMethod: "GET", wantURI: "/v1/note",
			want: `{"note":"hello"}`,
		},
		{
			name: "response_body map", method: "GetWrapper",
			rule:  withResponseBody(get("/v1/counts"), "counts"),
			reply: reply{body: `{"a":"9007199254740993"}`}, wantMethod: "GET", wantURI: "/v1/counts",
			want: `{"counts":{"a":"9007199254740993"}}`,
		},
		{
			name: "204 gives an empty message", method: "DeleteBook",
			rule:       &annotations.HttpRule{Pattern: &annotations.HttpRule_Delete{Delete: "/v1/{name}"}},
			req:        `{"name":"b/1"}`,
			reply:      reply{status: http.StatusNoContent},
			wantMethod: "DELETE", wantURI: "/v1/b%2F1", want: `{}`,
		},
		{
			name: "custom verb and method", method: "DeleteBook",
			rule: custom("PURGE", "/v1/{name}:purge"), req: `{"name":"b1","shelf":"s"}`,
			wantMethod: "PURGE", wantURI: "/v1/b1:purge?shelf=s", want: `{}`,
		},
		{
			name: "XML reply", method: "GetBook", encoding: "xml",
			rule: get("/v1/{name}"), req: `{"name":"b1"}`,
			reply: reply{ctype: "text/xml", body: `<?xml version="1.0"?><book id="9007199254740993"><name>b1</name><tag>only</tag>` +
				`<authors><author>A</author></authors><price>1.10</price></book>`},
			wantMethod: "GET", wantURI: "/v1/b1", wantAccept: "application/xml",
			want: `{"name":"b1","id":"9007199254740993","tags":["only"],"authors":["A"],"price":1.1}`,
		},
		{
			name: "XML request body field", method: "CreateBook", encoding: "xml",
			rule:       post("/v1/{parent}/books", "book"),
			req:        `{"parent":"s1","book":{"title":"T & U","id":"5","tags":["a","b"]},"requestId":"r"}`,
			reply:      reply{ctype: "application/xml", body: `<book><title>T &amp; U</title></book>`},
			wantMethod: "POST", wantURI: "/v1/s1/books?request_id=r",
			wantBody: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ns1:book xmlns:ns1="urn:books" id="5"><title>T &amp; U</title><tag>a</tag><tag>b</tag></ns1:book>`,
			wantCT:   "application/xml; charset=utf-8", wantAccept: "application/xml",
			want: `{"title":"T & U"}`,
		},
		{
			name: "HttpBody request and reply", method: "Upload",
			rule: post("/v1/upload", "*"), req: `{"contentType":"image/png","data":"iVBORw=="}`,
			reply:      reply{ctype: "text/plain", body: "not json at all"},
			wantMethod: "POST", wantURI: "/v1/upload", wantBody: "\x89PNG", wantCT: "image/png", wantAccept: "*/*",
			want: `{"contentType":"text/plain","data":"bm90IGpzb24gYXQgYWxs"}`,
		},
		{
			name: "HttpBody reply on an XML route is not parsed", method: "Download", encoding: "xml",
			rule: get("/v1/{name}:download"), req: `{"name":"f"}`,
			reply:      reply{ctype: "text/html", body: "<html>"},
			wantMethod: "GET", wantURI: "/v1/f:download", wantAccept: "*/*",
			want: `{"contentType":"text/html","data":"PGh0bWw+"}`,
		},
		{
			name: "HttpBody body field", method: "CreateBook",
			rule: post("/v1/{parent}:import", "raw"), req: `{"parent":"p","raw":{"data":"AAE="},"requestId":"r"}`,
			reply:      reply{ctype: "application/json", body: `{"title":"ok"}`},
			wantMethod: "POST", wantURI: "/v1/p:import?request_id=r", wantBody: "\x00\x01", wantCT: "application/octet-stream",
			want: `{"title":"ok"}`,
		},
		{
			name: "json_names lower_camel sends protojson's names", method: "CreateBook", camel: true,
			rule:       post("/v1/{parent=shelves/*}/books", "*"),
			req:        `{"parent":"shelves/1","book":{"title":"T"},"requestId":"r1"}`,
			reply:      reply{body: `{"name":"b"}`},
			wantMethod: "POST", wantURI: "/v1/shelves/1/books", wantBody: `{"book":{"title":"T"},"requestId":"r1"}`, wantCT: "application/json",
			want: `{"name":"b"}`,
		},
		{
			name: "json_names lower_camel in the query", method: "CreateBook", camel: true,
			rule:       post("/v1/{parent=shelves/*}/books", "book"),
			req:        `{"parent":"shelves/1","book":{"title":"T"},"requestId":"r 1"}`,
			reply:      reply{body: `{}`},
			wantMethod: "POST", wantURI: "/v1/shelves/1/books?requestId=r+1", wantBody: `{"title":"T"}`, wantCT: "application/json",
			want: `{}`,
		},
		{
			name: "HttpBody response_body field", method: "GetWrapper",
			rule:  withResponseBody(get("/v1/raw"), "raw"),
			reply: reply{ctype: "application/pdf", body: "%PDF\x00"}, wantMethod: "GET", wantURI: "/v1/raw", wantAccept: "*/*",
			want: `{"raw":{"contentType":"application/pdf","data":"JVBERgA="}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newFakeUpstream(t, tt.reply)
			u := testUpstream(up.URL + tt.base)
			switch {
			case tt.int64Strings:
				setConfig(t, u, Config{JSONInt64: "string"})
			case tt.camel:
				setConfig(t, u, Config{JSONNames: "lower_camel"})
			}
			r := newRoute(u, tt.method, tt.rule, tt.encoding)
			ep := bindRoute(t, r)
			req := newMsg(t, r.Method.Input(), tt.req)
			resp, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: req})
			if err != nil {
				t.Fatalf("Unary: %v", err)
			}
			seen := up.requests()
			if len(seen) != 1 {
				t.Fatalf("upstream saw %d requests", len(seen))
			}
			s := seen[0]
			if s.method != tt.wantMethod || s.uri != tt.wantURI {
				t.Errorf("request %s %s, want %s %s", s.method, s.uri, tt.wantMethod, tt.wantURI)
			}
			if strings.HasPrefix(tt.wantCT, "application/json") && s.body != "" {
				// protojson varies its spacing; compare compacted.
				var buf bytes.Buffer
				if err := json.Compact(&buf, []byte(s.body)); err != nil {
					t.Fatalf("request body %q: %v", s.body, err)
				}
				s.body = buf.String()
			}
			if s.body != tt.wantBody {
				t.Errorf("body %q, want %q", s.body, tt.wantBody)
			}
			if ct := s.header.Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			if tt.wantAccept != "" && s.header.Get("Accept") != tt.wantAccept {
				t.Errorf("Accept %q, want %q", s.header.Get("Accept"), tt.wantAccept)
			}
			want := newMsg(t, r.Method.Output(), tt.want)
			if !proto.Equal(resp, want) {
				t.Errorf("response\ngot  %s\nwant %s", toJSON(t, resp), toJSON(t, want))
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	up := newFakeUpstream(t, reply{body: `{}`})
	u := testUpstream(up.URL)
	r := newRoute(u, "GetBook", get("/v1/x"), "")
	ep := bindRoute(t, r)
	md := metadata.Pairs("x-request-id", "r-1", "traceparent", "00-abc", "authorization", "Bearer caller", "x-api-key", "caller-key", "cookie", "c=1")
	if _, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), ""), Metadata: md, RequestID: "r-1"}); err != nil {
		t.Fatal(err)
	}
	h := up.requests()[0].header
	want := map[string]string{
		"X-Request-Id":  "r-1",
		"Traceparent":   "00-abc",
		"X-Api-Key":     "secret", // configured headers win over caller metadata
		"User-Agent":    "protobridge",
		"Accept":        "application/json",
		"Authorization": "",
		"Cookie":        "",
		"Content-Type":  "",
	}
	for k, v := range want {
		if got := strings.Join(h.Values(k), ","); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestEnvHooks(t *testing.T) {
	up := newFakeUpstream(t, reply{body: `{}`, header: map[string]string{"Deprecation": "@1700000000", "Sunset": "Wed, 11 Nov 2026 23:59:59 GMT"}})
	u := testUpstream(up.URL)
	r := newRoute(u, "GetBook", get("/v1/x"), "")
	var (
		mu      sync.Mutex
		notices []string
		wrapped bool
	)
	env := &bridge.Env{
		Notify: func(got *bridge.Route, n bridge.Notice) {
			mu.Lock()
			defer mu.Unlock()
			if got == r {
				notices = append(notices, n.Kind)
			}
		},
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			wrapped = true
			return rt
		},
	}
	ep := bindRouteEnv(t, r, env)
	if _, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !wrapped || strings.Join(notices, ",") != "deprecation,sunset" {
		t.Errorf("wrapped=%v notices=%v", wrapped, notices)
	}
}

func TestBasicCredentials(t *testing.T) {
	up := newFakeUpstream(t, reply{body: `{}`})
	u := testUpstream(up.URL)
	t.Setenv("PB_REST_TEST_PW", "s3cret")
	// Basic credentials come with the transport the core wraps around every
	// upstream's; the caller's own authorization is not forwarded.
	wrap, err := auth.Outbound(&config.Credentials{Basic: &config.BasicCredentials{Username: "svc", Password: bridge.Secret{Env: "PB_REST_TEST_PW"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	r := newRoute(u, "GetBook", get("/v1/x"), "")
	a, err := New(u, &bridge.Env{WrapTransport: wrap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	md := metadata.Pairs("authorization", "Bearer caller")
	if _, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), ""), Metadata: md}); err != nil {
		t.Fatal(err)
	}
	if got := up.requests()[0].header.Get("Authorization"); got != "Basic c3ZjOnMzY3JldA==" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestUnaryErrors(t *testing.T) {
	big := strings.Repeat("x", 2000)
	tests := []struct {
		name     string
		method   string
		rule     *annotations.HttpRule
		req      string
		reply    reply
		override map[int]codes.Code
		// wants
		code      codes.Code
		reason    string
		msg       string
		body      string // UpstreamError body, when set
		truncated bool
		retry     time.Duration
		noRequest bool
	}{
		{name: "404", reply: reply{status: 404, ctype: "application/json", body: `{"error":"no such book"}`},
			code: codes.NotFound, reason: "UPSTREAM_HTTP_404", msg: "HTTP 404", body: `{"error":"no such book"}`},
		{name: "429 with Retry-After", reply: reply{status: 429, header: map[string]string{"Retry-After": "7"}},
			code: codes.ResourceExhausted, reason: "UPSTREAM_HTTP_429", retry: 7 * time.Second},
		{name: "503", reply: reply{status: 503}, code: codes.Unavailable, reason: "UPSTREAM_HTTP_503"},
		{name: "409 on create", method: "CreateBook", rule: post("/v1/books", "*"), reply: reply{status: 409},
			code: codes.AlreadyExists, reason: "UPSTREAM_HTTP_409"},
		{name: "route override", reply: reply{status: 404}, override: map[int]codes.Code{404: codes.FailedPrecondition},
			code: codes.FailedPrecondition, reason: "UPSTREAM_HTTP_404"},
		{name: "error body bounded", reply: reply{status: 500, body: big},
			code: codes.Internal, reason: "UPSTREAM_HTTP_500", body: big[:64], truncated: true},
		{name: "redirect not followed", reply: reply{status: 302, header: map[string]string{"Location": "http://127.0.0.1:1/elsewhere"}},
			code: codes.FailedPrecondition, reason: "UPSTREAM_HTTP_302"},
		{name: "not JSON", reply: reply{ctype: "text/plain", body: "hello"},
			code: codes.Internal, reason: "UPSTREAM_BAD_RESPONSE", msg: "does not decode as JSON into test.v1.Book", body: "hello"},
		{name: "truncated JSON", reply: reply{ctype: "application/json", body: `{"name":"x`},
			code: codes.Internal, reason: "UPSTREAM_BAD_RESPONSE", msg: "unexpected EOF", body: `{"name":"x`},
		{name: "HTML page with 200", reply: reply{ctype: "text/html; charset=utf-8", body: "<html><body>Login</body></html>"},
			code: codes.Internal, reason: "UPSTREAM_BAD_RESPONSE", msg: "the reply is text/html, not JSON"},
		{name: "XML for a JSON route", reply: reply{ctype: "application/xml", body: "<book/>"},
			code: codes.Internal, reason: "UPSTREAM_BAD_RESPONSE", msg: "not JSON"},
		{name: "wrong JSON type", reply: reply{body: `{"id":"abc"}`},
			code: codes.Internal, reason: "UPSTREAM_BAD_RESPONSE", msg: "invalid value for int64"},
		{name: "body over the limit", reply: reply{body: big},
			code: codes.ResourceExhausted, reason: "RESPONSE_TOO_LARGE", msg: "2000 bytes, over the 1024 byte limit"},
		{name: "request body over the limit", method: "CreateBook", rule: post("/v1/books", "*"), req: `{"book":{"title":"` + big + `"}}`,
			code: codes.ResourceExhausted, reason: "REQUEST_TOO_LARGE", noRequest: true},
		{name: "path field unset", rule: get("/v1/{name}"),
			code: codes.InvalidArgument, reason: "INVALID_PATH_FIELD", msg: "request field name (bound to the URL path) is not set", noRequest: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newFakeUpstream(t, tt.reply)
			if tt.method == "" {
				tt.method = "GetBook"
			}
			if tt.rule == nil {
				tt.rule = get("/v1/book")
			}
			r := newRoute(testUpstream(up.URL), tt.method, tt.rule, "")
			for k, v := range tt.override {
				r.StatusCodes[k] = v
			}
			ep := bindRoute(t, r)
			_, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), tt.req)})
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if reason, meta := errorInfo(err); reason != tt.reason || (meta["upstream"] != "books" && !tt.noRequest) {
				t.Errorf("ErrorInfo %s %v, want reason %s", reason, meta, tt.reason)
			}
			if tt.body != "" {
				ue := upstreamError(err)
				if ue == nil || ue.GetBody() != tt.body || ue.GetBodyTruncated() != tt.truncated {
					t.Errorf("UpstreamError = %v, want body %q truncated=%v", ue, tt.body, tt.truncated)
				}
			}
			if tt.retry != 0 {
				ri := retryInfo(err)
				if ri == nil || ri.GetRetryDelay().AsDuration() != tt.retry {
					t.Errorf("RetryInfo = %v, want %v", ri, tt.retry)
				}
			}
			if n := len(up.requests()); (n == 0) != tt.noRequest {
				t.Errorf("upstream saw %d requests", n)
			}
			if strings.Contains(st.Message(), up.URL) {
				t.Errorf("message quotes the upstream URL: %s", st.Message())
			}
		})
	}
}

func TestBodyTooLargeChunked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i < 10; i++ {
			_, _ = io.WriteString(w, strings.Repeat("y", 200))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	r := newRoute(testUpstream(srv.URL), "GetBook", get("/v1/x"), "")
	ep := bindRoute(t, r)
	_, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
	if reason, _ := errorInfo(err); status.Code(err) != codes.ResourceExhausted || reason != "RESPONSE_TOO_LARGE" {
		t.Fatalf("got %v (%s)", err, reason)
	}
}

func TestBodyCutShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, `{"name":`)
	}))
	defer srv.Close()
	r := newRoute(testUpstream(srv.URL), "GetBook", get("/v1/x"), "")
	ep := bindRoute(t, r)
	_, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
	// The connection cut the body off: a transport failure, not a bad reply.
	if reason, _ := errorInfo(err); status.Code(err) != codes.Unavailable || reason != "UPSTREAM_UNAVAILABLE" || !strings.Contains(status.Convert(err).Message(), "cut off after 8 bytes") {
		t.Fatalf("got %v (%s)", err, reason)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("upstream down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		r := newRoute(testUpstream("http://user:hunter2@"+addr), "GetBook", get("/v1/x"), "")
		ep := bindRoute(t, r)
		_, err = ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
		st := status.Convert(err)
		if reason, _ := errorInfo(err); st.Code() != codes.Unavailable || reason != "UPSTREAM_UNAVAILABLE" || !strings.Contains(st.Message(), "connection refused") {
			t.Fatalf("got %v %q (%s)", st.Code(), st.Message(), reason)
		}
		if strings.Contains(st.Message(), "hunter2") {
			t.Errorf("message leaks credentials: %s", st.Message())
		}
	})
	t.Run("connection dropped", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}))
		defer srv.Close()
		r := newRoute(testUpstream(srv.URL), "GetBook", get("/v1/x"), "")
		ep := bindRoute(t, r)
		_, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
		if reason, _ := errorInfo(err); status.Code(err) != codes.Unavailable || reason != "UPSTREAM_UNAVAILABLE" {
			t.Fatalf("got %v (%s)", err, reason)
		}
	})
	for _, tc := range []struct {
		name   string
		code   codes.Code
		cancel bool
	}{
		{"deadline", codes.DeadlineExceeded, false},
		{"cancel", codes.Canceled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered, observed := make(chan struct{}), make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				close(entered)
				<-r.Context().Done()
				close(observed)
			}))
			defer srv.Close()
			r := newRoute(testUpstream(srv.URL), "GetBook", get("/v1/x"), "")
			ep := bindRoute(t, r)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if tc.cancel {
				ctx, cancel = context.WithCancel(context.Background())
				defer cancel()
				go func() {
					<-entered
					cancel()
				}()
			}
			_, err := ep.Unary(ctx, &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
			if status.Code(err) != tc.code {
				t.Fatalf("got %v, want %v", err, tc.code)
			}
			select {
			case <-observed:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream handler never saw the request end")
			}
		})
	}
}

func TestBindErrors(t *testing.T) {
	tests := []struct {
		name, method string
		rule         *annotations.HttpRule
		encoding     string
		wantErr      string
	}{
		{"no binding", "GetBook", nil, "", "no HTTP binding"},
		{"client streaming", "Upload2", post("/v1/x", "*"), "", "client and bidi streaming methods have no REST mapping"},
		{"XML stream", "Watch", get("/v1/x"), "xml", "encoding xml does not apply to server-streaming methods"},
		{"empty path", "GetBook", get(""), "", "needs a method and a path"},
		{"bad custom method", "GetBook", custom("BAD METHOD", "/x"), "", "not a valid method name"},
		{"bad template", "GetBook", get("/v1/*"), "", "outside a variable"},
		{"unknown path field", "GetBook", get("/v1/{nope}"), "", `path /v1/{nope}: path variable {nope}: message test.v1.GetBookRequest has no field "nope"`},
		{"unknown body field", "CreateBook", post("/v1/x", "nope"), "", `body "nope": message test.v1.CreateBookRequest has no such field`},
		{"dotted body field", "CreateBook", post("/v1/x", "book.title"), "", "must name a top-level field"},
		{"body bound to path", "CreateBook", post("/v1/{parent}", "parent"), "", "already bound to the URL path"},
		{"GET with body", "GetBook", &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/x"}, Body: "*"}, "", "a GET request has no body"},
		{"unknown response_body", "GetBook", withResponseBody(get("/v1/x"), "nope"), "", `response_body "nope": message test.v1.Book has no such field`},
		{"unknown encoding", "GetBook", get("/v1/x"), "yaml", `encoding "yaml" is not known`},
		{"XML body must be a message", "CreateBook", post("/v1/x", "ids"), "xml", "an XML body must be a singular message field"},
		{"XML response_body must be a message", "GetWrapper", withResponseBody(get("/v1/x"), "note"), "xml", "XML reply must decode into a singular message field"},
		{"XML map", "BadMap", post("/v1/x", "*"), "xml", "request XML: field test.v1.BadXML.m is a map"},
		{"XML attribute message", "BadAttrs", get("/v1/x"), "xml", "response XML: field test.v1.BadAttr.i is an XML attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRoute(testUpstream("http://127.0.0.1:1"), tt.method, tt.rule, tt.encoding)
			a, err := New(r.Upstream, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = a.Close() }()
			_, err = a.Bind(r)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(u *bridge.Upstream)
		wantErr string
	}{
		{"relative base_url", func(u *bridge.Upstream) { u.BaseURL = "/api" }, "must be an absolute"},
		{"other scheme", func(u *bridge.Upstream) { u.BaseURL = "ftp://x" }, "must be an absolute"},
		{"password not echoed", func(u *bridge.Upstream) { u.BaseURL = "ftp://u:hunter2@x" }, "u:xxxxx@x"},
		{"reserved header", func(u *bridge.Upstream) { u.Headers = map[string]string{"Host": "x"} }, `"Host" cannot be set`},
		{"bad header value", func(u *bridge.Upstream) { u.Headers = map[string]string{"X-A": "a\nb"} }, "characters a header cannot carry"},
		{"reserved forward", func(u *bridge.Upstream) { u.ForwardMetadata = []string{"content-length"} }, `"content-length" cannot be forwarded`},
		{"pseudo-header forward", func(u *bridge.Upstream) { u.ForwardMetadata = []string{":authority"} }, "cannot be forwarded"},
		{"bad TLS files", func(u *bridge.Upstream) { u.TLS = &bridge.TLSConfig{CAFile: "missing.pem"} }, "tls: ca_file"},
		{"unknown key in the rest block", func(u *bridge.Upstream) {
			u.Config, _ = bridge.RawConfigOf(map[string]any{"json_int46": "string"})
		}, `unknown key "json_int46"`},
		{"bad json_int64", func(u *bridge.Upstream) {
			u.Config, _ = bridge.RawConfigOf(Config{JSONInt64: "text"})
		}, `json_int64 "text" is not known`},
		{"bad json_names", func(u *bridge.Upstream) {
			u.Config, _ = bridge.RawConfigOf(Config{JSONNames: "camel"})
		}, `json_names "camel" is not known`},
		{"bad encoding", func(u *bridge.Upstream) { u.Encoding = "yaml" }, `encoding "yaml" is not known`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := testUpstream("http://127.0.0.1:1")
			tt.mod(u)
			_, err := New(u, &bridge.Env{BaseDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	for _, k := range bridge.AdapterKinds() {
		if k == Kind {
			return
		}
	}
	t.Fatalf("kind %q is not registered: %v", Kind, bridge.AdapterKinds())
}

// TestStepSpans: the encode and decode steps get spans under a traced call
// (a recording parent span) and none under a call that is not traced.
func TestStepSpans(t *testing.T) {
	up := newFakeUpstream(t, reply{body: `{}`})
	u := testUpstream(up.URL)
	r := newRoute(u, "GetBook", get("/v1/x"), "")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ep := bindRouteEnv(t, r, &bridge.Env{Tracer: tp.Tracer("test")})
	call := func(ctx context.Context) {
		t.Helper()
		if _, err := ep.Unary(ctx, &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")}); err != nil {
			t.Fatal(err)
		}
	}
	call(context.Background())
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("an untraced call recorded %d spans", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "attempt")
	call(ctx)
	parent.End()
	var names []string
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			names = append(names, s.Name())
		}
	}
	if got := strings.Join(names, ","); got != "rest.encode,rest.decode" {
		t.Errorf("child spans of a traced call = %q, want rest.encode,rest.decode", got)
	}
}
