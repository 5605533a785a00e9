package rest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestStreamEnds covers the end sentinel, the SSE error event and
// keep-alives, with defaults and with settings in the upstream's and the
// route's rest blocks and in (protobridge.v1.route).stream.
func TestStreamEnds(t *testing.T) {
	ndjson := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			_, _ = io.WriteString(w, body)
		}
	}
	str := func(s string) *string { return &s }
	// What follows a sentinel or an error event must never be read: an
	// event that does not decode.
	const poison = "data: {nope\n\n"
	for _, tc := range []struct {
		name, method, body string
		handler            http.HandlerFunc
		up                 Config
		route              *StreamConfig
		proto              *pbv1.StreamRoute // (protobridge.v1.route).stream
		code               codes.Code
		reason, msg        string
		messages           int
	}{
		{name: "[DONE] ends OK", method: "Events", body: "book",
			handler:  sse(": keep-alive\n\n:\n\ndata: {\"title\":\"a\"}\n\n: ping\ndata: [DONE]\n\n" + poison),
			messages: 1},
		{name: "[DONE] with spaces and CRLF", method: "Events", body: "text",
			handler:  sse("data: hi\r\n\r\ndata:  [DONE] \r\n\r\n" + poison),
			messages: 1},
		{name: "NDJSON [DONE] line", method: "Watch",
			handler:  ndjson("{\"title\":\"a\"}\n[DONE]\n{nope\n"),
			messages: 1},
		{name: "sentinel off: [DONE] is data", method: "Events", body: "text", route: &StreamConfig{End: str("")},
			handler:  sse("data: [DONE]\n\n"),
			messages: 1},
		{name: "upstream sentinel", method: "Events", body: "book", up: Config{StreamEnd: str("END")},
			handler:  sse("data: {}\n\ndata: END\n\n" + poison),
			messages: 1},
		{name: "route sentinel wins", method: "Events", body: "book", up: Config{StreamEnd: str("END")}, route: &StreamConfig{End: str("STOP")},
			handler:  sse("data: {}\n\ndata: STOP\n\n" + poison),
			messages: 1},
		{name: "error event", method: "Events", body: "book",
			handler: sse("data: {}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n" + poison),
			code:    codes.Unknown, reason: "UPSTREAM_STREAM_ERROR", msg: "overloaded_error", messages: 1},
		{name: "error event with an HTTP status", method: "Events", body: "book",
			handler: sse("event: error\ndata: {\"error\":{\"code\":429,\"message\":\"slow down\"}}\n\n"),
			code:    codes.ResourceExhausted, reason: "UPSTREAM_HTTP_429", msg: "slow down"},
		{name: "proto sentinel over the upstream's", method: "Events", body: "book", up: Config{StreamEnd: str("END")}, proto: &pbv1.StreamRoute{End: str("FIN")},
			handler:  sse("data: {}\n\ndata: FIN\n\n" + poison),
			messages: 1},
		{name: "route block over the proto's", method: "Events", body: "text", proto: &pbv1.StreamRoute{End: str("FIN"), ErrorEvent: str("oops")}, route: &StreamConfig{End: str("STOP")},
			handler: sse("data: a\n\ndata: FIN\n\nevent: oops\ndata: {\"status\":503}\n\n"),
			code:    codes.Unavailable, reason: "UPSTREAM_HTTP_503", messages: 2},
		{name: "error event renamed", method: "Events", body: "book", route: &StreamConfig{ErrorEvent: str("failure")},
			handler: sse("event: error\ndata: {}\n\nevent: failure\ndata: {\"status\":503}\n\n"),
			code:    codes.Unavailable, reason: "UPSTREAM_HTTP_503", messages: 1},
		{name: "error event off", method: "Events", body: "text", up: Config{StreamErrorEvent: str("")},
			handler:  sse("event: error\ndata: oops\n\n"),
			messages: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			u := testUpstream(srv.URL)
			setConfig(t, u, tc.up)
			r := newRoute(u, tc.method, withResponseBody(get("/v1/events"), tc.body), "")
			if tc.route != nil {
				var err error
				if r.Config, err = bridge.RawConfigOf(RouteConfig{Stream: tc.route}); err != nil {
					t.Fatal(err)
				}
				r.Options.Stream = &pbv1.StreamRoute{}
			}
			if tc.proto != nil {
				r.Options.Stream = tc.proto
			}
			ep := bindRoute(t, r)
			got, err := runStream(context.Background(), r, ep, &collect{})
			if status.Code(err) != tc.code || len(got) != tc.messages {
				t.Fatalf("%v after %d messages %v, want %v after %d", err, len(got), got, tc.code, tc.messages)
			}
			if reason, _ := errorInfo(err); reason != tc.reason {
				t.Fatalf("reason %q, want %q", reason, tc.reason)
			}
			// The event's data travels in the UpstreamError detail.
			if tc.msg != "" {
				body := ""
				for _, d := range status.Convert(err).Details() {
					if ue, ok := d.(*pbv1.UpstreamError); ok {
						body = ue.GetBody()
					}
				}
				if !strings.Contains(body, tc.msg) {
					t.Fatalf("detail body %q, want %q in it", body, tc.msg)
				}
			}
		})
	}
}
