package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/protobridge/protobridge/internal/daemontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// bridgeConfig serves testdata/wstest.proto through the adapter: Chat,
// Collect and Call on the ws echo peer (Chat under its own tag), Tick on
// the ticker.
const bridgeConfig = `
descriptors:
  import_paths: [%q]
  protos: [wstest.proto]
auth:
  open: true
upstreams:
  chat:
    kind: websocket
    base_url: "%s/?tag=%s"
  echo:
    kind: websocket
    base_url: "%s/?tag=bridge"
  ticker:
    kind: websocket
    base_url: "%s/?count=3&tag=bridge"
routes:
  - method: wstest.v1.Echo/Chat
    upstream: chat
  - method: wstest.v1.Echo/Collect
    upstream: echo
    websocket: {path: /collect, buffer: 4}
  - method: wstest.v1.Echo/Call
    upstream: echo
    encoding: xml
  - method: wstest.v1.Echo/Tick
    upstream: ticker
`

// TestThroughBridge drives every kind of call from a grpc-go client
// through a real bridge server to the ws peers, then shuts the server down
// under an open stream, which closes its socket with 1001.
func TestThroughBridge(t *testing.T) {
	echo, ticker := peer(t, "echo.js"), peer(t, "ticker.js")
	tag := uniq("bridge-chat")
	dir := t.TempDir()
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "protobridge.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, bridgeConfig, testdata, echo.url(""), tag, echo.url(""), ticker.url("")), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := daemontest.Start(t, path, daemontest.Options{})
	conn := srv.Conn
	ctx := context.Background()
	md := func(name string) protoreflect.MethodDescriptor { return method(t, name) }
	in := func(text string) *dynamicpb.Message { return msg(t, map[string]any{"text": text}) }
	out := func() *dynamicpb.Message { return dynamicpb.NewMessage(md("Call").Output()) }

	// Unary over the shared socket.
	resp := out()
	if err := conn.Invoke(ctx, "/wstest.v1.Echo/Call", in("ping"), resp); err != nil || field(resp, "text").String() != "ping" {
		t.Fatalf("Call: %v %v", resp, err)
	}

	// Bidi echo.
	chat, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/wstest.v1.Echo/Chat")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := chat.SendMsg(in(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
		m := out()
		if err := chat.RecvMsg(m); err != nil || field(m, "text").String() != fmt.Sprint("m", i) {
			t.Fatalf("Chat %d: %v %v", i, m, err)
		}
	}
	_ = chat.CloseSend()

	// Server stream: three ticks, then OK.
	tick, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/wstest.v1.Echo/Tick")
	if err != nil {
		t.Fatal(err)
	}
	if err := tick.SendMsg(in("")); err != nil {
		t.Fatal(err)
	}
	_ = tick.CloseSend()
	for i := 1; ; i++ {
		m := out()
		err := tick.RecvMsg(m)
		if errors.Is(err, io.EOF) && i == 4 {
			break
		}
		if err != nil || field(m, "seq").Int() != int64(i) {
			t.Fatalf("Tick %d: %v %v", i, m, err)
		}
	}

	// Client stream.
	collect, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/wstest.v1.Echo/Collect")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"x", "y", "."} {
		if err := collect.SendMsg(in(s)); err != nil {
			t.Fatal(err)
		}
	}
	_ = collect.CloseSend()
	m := out()
	if err := collect.RecvMsg(m); err != nil || field(m, "text").String() != "x y" {
		t.Fatalf("Collect: %v %v", m, err)
	}

	// Shutdown cuts the still open Chat after the grace: its socket closes
	// with 1001 and the caller gets an error.
	if srv.Shutdown(t, 50*time.Millisecond) {
		t.Fatal("shutdown drained a stream that never ends")
	}
	err = chat.RecvMsg(out())
	if c := status.Code(err); c != codes.Unavailable && c != codes.Canceled {
		t.Fatalf("Chat after shutdown: %v", err)
	}
	echo.waitLine(t, "closed "+tag+" 1001")
}
