package websocket

import (
	"log/slog"
	"net/http"

	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/config"
)

// TestHandshakeRefused maps HTTP refusals of the handshake by meaning.
func TestHandshakeRefused(t *testing.T) {
	p := peer(t, "echo.js")
	for _, tc := range []struct {
		status int
		code   codes.Code
	}{{401, codes.Unauthenticated}, {403, codes.PermissionDenied}, {404, codes.NotFound}, {503, codes.Unavailable}} {
		e := bind(t, route(t, "Chat", p.url("/?status="+strconv.Itoa(tc.status))))
		ctx := context.Background()
		err := e.Stream(ctx, &bridge.Call{Route: e.r}, newFake(ctx))
		meta := wantStatus(t, err, tc.code, "UPSTREAM_HTTP_"+strconv.Itoa(tc.status))
		if meta["http_status"] != strconv.Itoa(tc.status) {
			t.Fatalf("http_status %q", meta["http_status"])
		}
		var body string
		for _, d := range status.Convert(err).Details() {
			if ue, ok := d.(*pbv1.UpstreamError); ok {
				body = ue.GetBody()
			}
		}
		if !strings.Contains(body, "refused with") {
			t.Fatalf("body %q", body)
		}
	}
}

// TestHandshakeHeaders sends configured headers, forwarded metadata, basic
// credentials and the subprotocol; wrong credentials are UNAUTHENTICATED,
// an unselected subprotocol FAILED_PRECONDITION.
func TestHandshakeHeaders(t *testing.T) {
	p := peer(t, "echo.js")
	t.Setenv("WS_TEST_PASSWORD", "s3cret")
	r := route(t, "Chat", p.url("/headers?user=ann&pass=s3cret&protocols=v2.chat"), `websocket {subprotocols: ["v1.chat", "v2.chat"]}`)
	r.Upstream.Headers = map[string]string{"X-Static": "yes"}
	r.Upstream.ForwardMetadata = []string{"x-trace"}
	// Basic credentials come with the transport the core wraps around
	// every upstream's: the handshake must go through it.
	creds := &config.Credentials{Basic: &config.BasicCredentials{Username: "ann", Password: bridge.Secret{Env: "WS_TEST_PASSWORD"}}}
	bindWithCreds := func() *endpoint {
		wrap, err := auth.Outbound(creds, "")
		if err != nil {
			t.Fatal(err)
		}
		return bindEnv(t, r, &bridge.Env{Logger: slog.New(slog.DiscardHandler), WrapTransport: wrap})
	}
	e := bindWithCreds()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r, Metadata: metadata.Pairs("x-trace", "t-42", "x-other", "no"), RequestID: "rid-1"}, f)
	var h map[string]string
	if err := json.Unmarshal([]byte(field(recvOut(t, f, done), "text").String()), &h); err != nil {
		t.Fatal(err)
	}
	if h["x-trace"] != "t-42" || h["x-static"] != "yes" || h["x-request-id"] != "rid-1" || h["protocol"] != "v2.chat" || !strings.HasPrefix(h["authorization"], "Basic ") {
		t.Fatalf("handshake headers %v", h)
	}
	cancel()
	<-done

	t.Setenv("WS_TEST_PASSWORD", "wrong")
	e = bindWithCreds()
	err := e.Stream(context.Background(), &bridge.Call{Route: e.r}, newFake(context.Background()))
	wantStatus(t, err, codes.Unauthenticated, "UPSTREAM_HTTP_401")

	e = bind(t, route(t, "Chat", p.url("/?protocols=other"), `websocket {subprotocols: "v1.chat"}`))
	err = e.Stream(context.Background(), &bridge.Call{Route: e.r}, newFake(context.Background()))
	wantStatus(t, err, codes.FailedPrecondition, "UPSTREAM_WS_SUBPROTOCOL")
}

// TestBadFrames ends the call with a precise status, the socket closed, for
// each way a peer's frames can be wrong.
func TestBadFrames(t *testing.T) {
	gp := startGoPeer(t)
	for _, tc := range []struct {
		name, url, options string
		code               codes.Code
		reason             string
	}{
		{"bad json", "/badjson", "", codes.Internal, "UPSTREAM_WS_BAD_FRAME"},
		{"bad xml", "/badjson", "encoding: ENCODING_XML", codes.Internal, "UPSTREAM_WS_BAD_FRAME"},
		{"text for binary", "/text", "encoding: ENCODING_PROTOBUF", codes.Internal, "UPSTREAM_WS_FRAME_TYPE"},
		{"bad protobuf", "/badproto", "encoding: ENCODING_PROTOBUF", codes.Internal, "UPSTREAM_WS_BAD_FRAME"},
		{"frame over read limit", "/big?n=4096", "websocket {read_limit: 1024}", codes.ResourceExhausted, "UPSTREAM_WS_FRAME_TOO_LARGE"},
		{"no pong", "/nopong", `websocket {keepalive: "20ms" keepalive_timeout: "20ms"}`, codes.Unavailable, "UPSTREAM_WS_KEEPALIVE_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := bind(t, route(t, "Tick", gp.url(tc.url), tc.options))
			ctx := context.Background()
			err := e.Stream(ctx, &bridge.Call{Route: e.r, Request: msg(t, map[string]any{"text": "go"})}, newFake(ctx))
			wantStatus(t, err, tc.code, tc.reason)
			if tc.name == "bad json" {
				var ue *pbv1.UpstreamError
				for _, d := range status.Convert(err).Details() {
					if u, ok := d.(*pbv1.UpstreamError); ok {
						ue = u
					}
				}
				if ue.GetBody() != "{not json" {
					t.Fatalf("detail %v", ue)
				}
			}
		})
	}
}

// TestDeadlines: a peer that never answers, a handshake that never
// completes and a closed port end the call with DEADLINE_EXCEEDED or
// UNAVAILABLE.
func TestDeadlines(t *testing.T) {
	gp := startGoPeer(t)
	short := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 100*time.Millisecond)
	}

	e := bind(t, route(t, "Tick", gp.url("/silent")))
	ctx, cancel := short()
	err := e.Stream(ctx, &bridge.Call{Route: e.r, Request: msg(t, nil)}, newFake(ctx))
	cancel()
	wantStatus(t, err, codes.DeadlineExceeded, "DEADLINE_EXCEEDED")

	r := route(t, "Tick", gp.url("/silent"))
	r.Timeout = 50 * time.Millisecond // the route's timeout bounds a stream too
	e = bind(t, r)
	err = e.Stream(context.Background(), &bridge.Call{Route: e.r, Request: msg(t, nil)}, newFake(context.Background()))
	wantStatus(t, err, codes.DeadlineExceeded, "DEADLINE_EXCEEDED")

	e = bind(t, route(t, "Chat", gp.url("/hang")))
	ctx, cancel = short()
	err = e.Stream(ctx, &bridge.Call{Route: e.r}, newFake(ctx))
	cancel()
	wantStatus(t, err, codes.DeadlineExceeded, "DEADLINE_EXCEEDED")

	r = route(t, "Chat", gp.url("/hang"))
	r.Upstream.ConnectTimeout = 50 * time.Millisecond
	e = bind(t, r)
	err = e.Stream(context.Background(), &bridge.Call{Route: e.r}, newFake(context.Background()))
	wantStatus(t, err, codes.DeadlineExceeded, "UPSTREAM_WS_HANDSHAKE_TIMEOUT")

	e = bind(t, route(t, "Call", gp.url("/silent")))
	ctx, cancel = short()
	_, err = e.Unary(ctx, &bridge.Call{Route: e.r, Request: msg(t, nil)})
	cancel()
	wantStatus(t, err, codes.DeadlineExceeded, "DEADLINE_EXCEEDED")

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	e = bind(t, route(t, "Chat", "ws://"+addr+"/"))
	err = e.Stream(context.Background(), &bridge.Call{Route: e.r}, newFake(context.Background()))
	wantStatus(t, err, codes.Unavailable, "UPSTREAM_UNAVAILABLE")
}

// TestRequestTooLarge refuses a caller message over the write limit and
// closes the socket.
func TestRequestTooLarge(t *testing.T) {
	gp := startGoPeer(t)
	r := route(t, "Chat", gp.url("/echo"))
	r.Upstream.MaxRequestBytes = 64
	e := bind(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(ctx)
	done := run(ctx, e, &bridge.Call{Route: e.r}, f)
	f.in <- msg(t, map[string]any{"text": strings.Repeat("x", 100)})
	wantStatus(t, <-done, codes.ResourceExhausted, "REQUEST_TOO_LARGE")
}

// TestHandshakeTraceContext sends the call's W3C trace context with the
// handshake when the bridge wraps transports for tracing.
func TestHandshakeTraceContext(t *testing.T) {
	p := peer(t, "echo.js")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	r := route(t, "Chat", p.url("/headers"))
	a, err := New(r.Upstream, &bridge.Env{Logger: slog.New(slog.DiscardHandler), WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagation.TraceContext{}))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := newFake(ctx)
	done := run(ctx, ep.(*endpoint), &bridge.Call{Route: r}, f)
	var h map[string]string
	if err := json.Unmarshal([]byte(field(recvOut(t, f, done), "text").String()), &h); err != nil {
		t.Fatal(err)
	}
	span.End()
	if want := span.SpanContext().TraceID().String(); !strings.Contains(h["traceparent"], want) {
		t.Fatalf("handshake traceparent %q, want trace %s", h["traceparent"], want)
	}
	cancel()
	<-done
}
