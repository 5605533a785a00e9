package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// collect is the caller's side of a server stream: it keeps what is sent;
// onSend, when set, runs after each message.
type collect struct {
	mu     sync.Mutex
	got    []string
	onSend func(n int)
}

func (c *collect) Recv() (proto.Message, error) { return nil, io.EOF }
func (c *collect) SetHeader(metadata.MD) error  { return nil }
func (c *collect) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}
func (c *collect) Send(m proto.Message) error {
	c.mu.Lock()
	c.got = append(c.got, toJSONNoT(m))
	n := len(c.got)
	c.mu.Unlock()
	if c.onSend != nil {
		c.onSend(n)
	}
	return nil
}

// toJSONNoT renders a message compactly, or the error.
func toJSONNoT(m proto.Message) string {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err.Error()
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return err.Error()
	}
	return out.String()
}

// streamRoute binds a server-streaming method to srv.
func streamRoute(t *testing.T, srv *httptest.Server, methodName, responseBody string) (*bridge.Route, bridge.Endpoint) {
	t.Helper()
	u := testUpstream(srv.URL)
	u.MaxResponseBytes = 256
	r := newRoute(u, methodName, withResponseBody(get("/v1/events"), responseBody), "")
	return r, bindRoute(t, r)
}

// runStream calls the route and returns the messages and the status.
func runStream(ctx context.Context, r *bridge.Route, ep bridge.Endpoint, out *collect) ([]string, error) {
	err := ep.Stream(ctx, &bridge.Call{Route: r, Request: dynamicpb.NewMessage(messageDesc("GetBookRequest"))}, out)
	return out.messages(), err
}

// sse answers with the given body as an event stream, flushed.
func sse(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != streamAccept {
			http.Error(w, "bad accept "+r.Header.Get("Accept"), http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = io.WriteString(w, body)
	}
}

func wantMessages(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSSE maps events to messages: data decodes into response_body, the
// event type and id fill the event and id fields; comments, retry, events
// without data and a last event without its blank line are not messages.
func TestSSE(t *testing.T) {
	srv := httptest.NewServer(sse(": hello\n\nretry: 5\nevent: add\nid: 1\ndata: {\"title\":\"A\",\ndata:  \"name\":\"n1\"}\n\n" +
		"data: {\"title\":\"B\"}\r\n\r\nevent: nothing\n\nid: 7\ndata:{}\n\ndata: {\"title\":\"cut\"}\n"))
	defer srv.Close()
	r, ep := streamRoute(t, srv, "Events", "book")
	got, err := runStream(context.Background(), r, ep, &collect{})
	if err != nil {
		t.Fatal(err)
	}
	wantMessages(t, got,
		`{"event":"add","id":"1","book":{"name":"n1","title":"A"}}`,
		`{"event":"message","id":"1","book":{"title":"B"}}`,
		`{"event":"message","id":"7","book":{}}`)
}

// TestSSEVerbatim puts each event's data in a string field as it is.
func TestSSEVerbatim(t *testing.T) {
	srv := httptest.NewServer(sse("data: Hello\n\ndata: , \"world\"\ndata: !\n\n"))
	defer srv.Close()
	r, ep := streamRoute(t, srv, "Events", "text")
	got, err := runStream(context.Background(), r, ep, &collect{})
	if err != nil {
		t.Fatal(err)
	}
	wantMessages(t, got, `{"event":"message","text":"Hello"}`, `{"event":"message","text":", \"world\"\n!"}`)
}

// TestNDJSON sends one message per line, blank lines skipped, the last
// line without its newline included; into the whole output message.
func TestNDJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, "{\"title\":\"A\",\"id\":\"9007199254740993\"}\n\n  \r\n{\"title\":\"B\",\"unknown\":1}\r\n{\"title\":\"C\"}")
	}))
	defer srv.Close()
	r, ep := streamRoute(t, srv, "Watch", "")
	got, err := runStream(context.Background(), r, ep, &collect{})
	if err != nil {
		t.Fatal(err)
	}
	wantMessages(t, got, `{"title":"A","id":"9007199254740993"}`, `{"title":"B"}`, `{"title":"C"}`)
}

// flushAbort writes and flushes body, then breaks the connection without
// ending the chunked reply.
func flushAbort(w http.ResponseWriter, body string) {
	_, _ = io.WriteString(w, body)
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// TestSSEResume reconnects a dropped stream with Last-Event-ID and goes on
// from where the upstream resumes; the partial event before the drop is
// not delivered.
func TestSSEResume(t *testing.T) {
	var mu sync.Mutex
	var lastIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		n := len(lastIDs)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		switch n {
		case 1:
			flushAbort(w, "retry: 1\nid: 1\ndata: {\"title\":\"one\"}\n\nid: 2\ndata: {\"title\":\"two\"}\n\ndata: {\"tit")
		case 2:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 3:
			flushAbort(w, "")
		default:
			_, _ = io.WriteString(w, "id: 3\ndata: {\"title\":\"three\"}\n\n")
		}
	}))
	defer srv.Close()
	r, ep := streamRoute(t, srv, "Events", "book")
	got, err := runStream(context.Background(), r, ep, &collect{})
	if err != nil {
		t.Fatal(err)
	}
	wantMessages(t, got, `{"event":"message","id":"1","book":{"title":"one"}}`, `{"event":"message","id":"2","book":{"title":"two"}}`,
		`{"event":"message","id":"3","book":{"title":"three"}}`)
	if strings.Join(lastIDs, ",") != ",2,2,2" {
		t.Fatalf("Last-Event-ID per request: %q", lastIDs)
	}
}

// TestSSEResumeGivesUp ends with the last failure once the attempts in a
// row are spent.
func TestSSEResumeGivesUp(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		n := requests
		mu.Unlock()
		if n > 1 {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		flushAbort(w, "retry: 1\nid: a\ndata: {}\n\n")
	}))
	defer srv.Close()
	r, ep := streamRoute(t, srv, "Events", "book")
	got, err := runStream(context.Background(), r, ep, &collect{})
	if status.Code(err) != codes.Unavailable || len(got) != 1 {
		t.Fatalf("%d messages, %v", len(got), err)
	}
	if reason, _ := errorInfo(err); reason != "UPSTREAM_HTTP_502" {
		t.Fatalf("reason %s", reason)
	}
	if requests != 1+StreamReconnects {
		t.Fatalf("%d requests, want %d", requests, 1+StreamReconnects)
	}
}

// TestStreamErrors maps what goes wrong to statuses.
func TestStreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name, method, body string
		handler            http.HandlerFunc
		code               codes.Code
		reason             string
		messages           int
	}{
		{"404", "Watch", "", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotFound) }, codes.NotFound, "UPSTREAM_HTTP_404", 0},
		{"204 ends the stream", "Watch", "", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, codes.OK, "", 0},
		{"not a stream", "Watch", "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"title":"x"}`)
		}, codes.Internal, "UPSTREAM_BAD_RESPONSE", 0},
		{"bad event data", "Events", "book", sse("data: {\"title\":\"ok\"}\n\ndata: {nope\n\n"), codes.Internal, "UPSTREAM_BAD_RESPONSE", 1},
		{"bad line", "Watch", "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			_, _ = io.WriteString(w, "{}\n[1]\n")
		}, codes.Internal, "UPSTREAM_BAD_RESPONSE", 1},
		{"line too long", "Watch", "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			_, _ = io.WriteString(w, "{}\n"+`{"title":"`+strings.Repeat("x", 300)+`"}`+"\n")
		}, codes.ResourceExhausted, "STREAM_EVENT_TOO_LARGE", 1},
		{"event too long", "Events", "text", sse(strings.Repeat("data: "+strings.Repeat("x", 100)+"\n", 3) + "\n"), codes.ResourceExhausted, "STREAM_EVENT_TOO_LARGE", 0},
		{"drop without id", "Events", "book", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			flushAbort(w, "data: {}\n\n")
		}, codes.Unavailable, "UPSTREAM_STREAM_DROPPED", 1},
		{"ndjson drop", "Watch", "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			flushAbort(w, "{}\n{\"ti")
		}, codes.Unavailable, "UPSTREAM_STREAM_DROPPED", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			r, ep := streamRoute(t, srv, tc.method, tc.body)
			got, err := runStream(context.Background(), r, ep, &collect{})
			if status.Code(err) != tc.code || len(got) != tc.messages {
				t.Fatalf("%v after %d messages, want %v after %d", err, len(got), tc.code, tc.messages)
			}
			if reason, _ := errorInfo(err); reason != tc.reason {
				t.Fatalf("reason %q, want %q", reason, tc.reason)
			}
		})
	}
}

// TestStreamHeaderTimeout bounds the wait for the reply's headers by the
// upstream's timeout.
func TestStreamHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	u := testUpstream(srv.URL)
	u.Timeout = 1
	r := newRoute(u, "Watch", get("/v1/events"), "")
	_, err := runStream(context.Background(), r, bindRoute(t, r), &collect{})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatal(err)
	}
}

// TestStreamCancel closes the upstream's body when the call is cancelled
// mid-stream: the handler sees its request end.
func TestStreamCancel(t *testing.T) {
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; r.Context().Err() == nil; i++ {
			if _, err := fmt.Fprintf(w, "id: %d\ndata: {}\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	r, ep := streamRoute(t, srv, "Events", "book")
	ctx, cancel := context.WithCancel(context.Background())
	out := &collect{onSend: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	_, err := runStream(ctx, r, ep, out)
	if status.Code(err) != codes.Canceled {
		t.Fatal(err)
	}
	<-ended
}

// TestStreamOptions applies (protobridge.v1.route).stream: the number of
// reconnections, the event size bound and the field names, checked at Bind.
func TestStreamOptions(t *testing.T) {
	for _, tc := range []struct {
		reconnects uint32
		requests   int
	}{{0, 1}, {2, 3}} {
		var mu sync.Mutex
		requests := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			requests++
			n := requests
			mu.Unlock()
			if n > 1 {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			flushAbort(w, "retry: 1\nid: a\ndata: {}\n\n")
		}))
		u := testUpstream(srv.URL)
		r := newRoute(u, "Events", withResponseBody(get("/v1/events"), "book"), "")
		r.Options.Stream = &pbv1.StreamRoute{MaxReconnects: proto.Uint32(tc.reconnects), InitialBackoff: "1ms", MaxBackoff: "2ms"}
		_, err := runStream(context.Background(), r, bindRoute(t, r), &collect{})
		srv.Close()
		if tc.reconnects > 0 && status.Code(err) != codes.Unavailable || requests != tc.requests {
			t.Errorf("max_reconnects %d: %d requests (want %d), %v", tc.reconnects, requests, tc.requests, err)
		}
	}

	srv := httptest.NewServer(sse("data: {\"title\":\"" + strings.Repeat("x", 64) + "\"}\n\n"))
	defer srv.Close()
	r := newRoute(testUpstream(srv.URL), "Events", withResponseBody(get("/v1/events"), "book"), "")
	r.Options.Stream = &pbv1.StreamRoute{MaxEventBytes: 32}
	if _, err := runStream(context.Background(), r, bindRoute(t, r), &collect{}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("event over max_event_bytes: %v", err)
	}

	for _, bad := range []*pbv1.StreamRoute{{EventField: "nope"}, {IdField: "book"}, {MaxBackoff: "soon"}} {
		r := newRoute(testUpstream(srv.URL), "Events", withResponseBody(get("/v1/events"), "book"), "")
		r.Options.Stream = bad
		a, err := New(r.Upstream, &bridge.Env{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Bind(r); err == nil || !strings.Contains(err.Error(), "stream option") {
			t.Errorf("%v: Bind error %v", bad, err)
		}
		_ = a.Close()
	}
}
