// Command p4 measures messages per second over a bidi stream through
// protobridge (a grpc-go client → the bridge, in process, with the real
// adapters/websocket → a coder/websocket echo server) against a direct
// coder/websocket client of the same echo server, in one run, and prints
//
//	BENCH P4 ws-bidi protobridge/direct msgs=<ratio>
//
// (above 1 is better for protobridge). Both sides stream the same small
// message: one goroutine sends -n messages while another reads the -n
// echoes; the direct client encodes and decodes protojson as the bridge
// does, so the ratio is the cost of the gRPC hop and the bridge. Rounds
// alternate between the two sides; the medians are compared.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ws "github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/internal/config"
	grpcfront "github.com/protobridge/protobridge/internal/frontdoor/grpc"
	"github.com/protobridge/protobridge/internal/router"

	_ "github.com/protobridge/protobridge/adapters/websocket"
)

// chatProto is the bridged service: one bidi method on a WebSocket upstream.
const chatProto = `syntax = "proto3";
package bench.ws.v1;
import "protobridge/v1/options.proto";
message ChatMessage {
  string user = 1;
  string text = 2;
  int64 seq = 3;
}
service ChatService {
  option (protobridge.v1.service).upstream = "echo";
  rpc Chat(stream ChatMessage) returns (stream ChatMessage) {
    option (protobridge.v1.route).websocket = {path: "/echo", keepalive: "0"};
  }
}
`

const configYAML = `descriptors:
  import_paths: [.]
  protos: [chat.proto]
auth:
  open: true
upstreams:
  echo:
    kind: websocket
    base_url: %s
`

func main() {
	out := flag.String("out", "results", "directory of summary.txt")
	n := flag.Int("n", 50000, "messages per round")
	rounds := flag.Int("rounds", 7, "rounds per side")
	flag.Parse()
	if err := run(*out, *n, *rounds); err != nil {
		log.Fatal(err)
	}
}

func run(out string, n, rounds int) error {
	echo := httptest.NewServer(http.HandlerFunc(echoHandler))
	defer echo.Close()
	dir, err := os.MkdirTemp("", "p4-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "chat.proto"), []byte(chatProto), 0o644); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "protobridge.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, configYAML, echo.URL), 0o644); err != nil {
		return err
	}
	cfg, err := config.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	table, err := router.Build(context.Background(), cfg, router.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer table.Close()
	srv := grpcfront.New(cfg, router.New(table, logger, nil), logger, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Shutdown(time.Second)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	md := table.Routes()[0].Method
	msg := dynamicpb.NewMessage(md.Input())
	set := func(name string, v protoreflect.Value) {
		msg.Set(md.Input().Fields().ByName(protoreflect.Name(name)), v)
	}
	set("user", protoreflect.ValueOfString("bench"))
	set("text", protoreflect.ValueOfString(strings.Repeat("lorem ipsum ", 6)))

	sides := []struct {
		name string
		run  func(n int) error
	}{
		{"protobridge", func(n int) error { return viaBridge(cc, md, msg, n) }},
		{"direct", func(n int) error { return direct(echo.URL+"/echo", md.Output(), msg, n) }},
	}
	// Warm up both sides once.
	for _, s := range sides {
		if err := s.run(n / 10); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	rates := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for i := range sides {
			s := sides[(i+r)%len(sides)]
			start := time.Now()
			if err := s.run(n); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			rates[s.name] = append(rates[s.name], float64(n)/time.Since(start).Seconds())
		}
	}
	pb, dr := median(rates["protobridge"]), median(rates["direct"])
	lines := []string{
		fmt.Sprintf("P4 ws-bidi protobridge msgs/s=%.0f (rounds %v)", pb, rounded(rates["protobridge"])),
		fmt.Sprintf("P4 ws-bidi direct      msgs/s=%.0f (rounds %v)", dr, rounded(rates["direct"])),
		fmt.Sprintf("BENCH P4 ws-bidi protobridge/direct msgs=%.2f", pb/dr),
	}
	return report(out, lines)
}

// echoHandler echoes every frame of a socket.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	c, err := ws.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, data, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, data); err != nil {
			return
		}
	}
}

// viaBridge streams n messages through the bridge and reads n echoes.
func viaBridge(cc *grpc.ClientConn, md protoreflect.MethodDescriptor, msg proto.Message, n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/bench.ws.v1.ChatService/Chat")
	if err != nil {
		return err
	}
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := st.SendMsg(msg); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	reply := dynamicpb.NewMessage(md.Output())
	for i := 0; i < n; i++ {
		if err := st.RecvMsg(reply); err != nil {
			return fmt.Errorf("echo %d: %w", i, err)
		}
	}
	return <-sent
}

// direct streams n messages over a socket of its own, encoding and
// decoding protojson, and reads n echoes.
func direct(url string, out protoreflect.MessageDescriptor, msg proto.Message, n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, _, err := ws.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			b, err := protojson.Marshal(msg)
			if err == nil {
				err = c.Write(ctx, ws.MessageText, b)
			}
			if err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := 0; i < n; i++ {
		_, data, err := c.Read(ctx)
		if err != nil {
			return fmt.Errorf("echo %d: %w", i, err)
		}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, dynamicpb.NewMessage(out)); err != nil {
			return err
		}
	}
	if err := <-sent; err != nil {
		return err
	}
	return c.Close(ws.StatusNormalClosure, "")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rounded(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

// report prints lines and appends them to out/summary.txt.
func report(out string, lines []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(out, "summary.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Println(l)
		if _, err := fmt.Fprintln(f, l); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	return f.Close()
}
