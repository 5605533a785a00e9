// Command p5 measures the heap an idle bridged stream costs protobridge:
// 10,000 concurrent bidi streams, each bridged by adapters/websocket to a
// socket of its own on a coder/websocket server, none sending anything.
// It prints
//
//	BENCH P5 ws-idle heap_per_stream_kib=<n>
//
// (the target is at most 16). The bridge runs in this process; the
// upstream and the grpc-go clients run in a child process (this binary
// with -peer), so the process's live heap (runtime.MemStats.HeapAlloc
// after a GC) is the bridge's own: the figure is the growth from before
// the streams open to when all are open, divided by their number.
// Goroutine stacks are not heap; they are reported beside it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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
}
service ChatService {
  option (protobridge.v1.service).upstream = "idle";
  rpc Chat(stream ChatMessage) returns (stream ChatMessage) {
    option (protobridge.v1.route).websocket = {path: "/idle"};
  }
}
`

const configYAML = `descriptors:
  import_paths: [.]
  protos: [chat.proto]
auth:
  open: true
upstreams:
  idle:
    kind: websocket
    base_url: %s
`

// Streams per gRPC connection of the clients.
const perConn = 100

func main() {
	out := flag.String("out", "results", "directory of summary.txt")
	n := flag.Int("streams", 10000, "concurrent idle streams")
	peer := flag.Bool("peer", false, "run as the child: the upstream and the clients")
	heapProfile := flag.String("heapprofile", "", "write a heap profile to this file once the streams are open")
	flag.Parse()
	var err error
	if *peer {
		err = runPeer()
	} else {
		if *heapProfile != "" {
			// Record every allocation, for exact figures per stream.
			runtime.MemProfileRate = 1
		}
		err = run(*out, *n, *heapProfile)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// lines reads the child's stdout line by line.
type lines struct{ sc *bufio.Scanner }

func (l lines) expect(prefix string) (string, error) {
	for l.sc.Scan() {
		if t := l.sc.Text(); strings.HasPrefix(t, prefix) {
			return strings.TrimPrefix(t, prefix), nil
		}
	}
	return "", fmt.Errorf("the peer ended before %q: %v", prefix, l.sc.Err())
}

func run(out string, n int, heapProfile string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-peer")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	child := lines{bufio.NewScanner(stdout)}
	upstream, err := child.expect("upstream ")
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "p5-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "chat.proto"), []byte(chatProto), 0o644); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "protobridge.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, configYAML, upstream), 0o644); err != nil {
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

	// Warm the server with one stream so that one-off allocations
	// (descriptors, pools) are in the baseline.
	if _, err := fmt.Fprintf(stdin, "open %s 1\n", lis.Addr()); err != nil {
		return err
	}
	if _, err := child.expect("opened "); err != nil {
		return err
	}
	before, gBefore := liveHeap()
	start := time.Now()
	if _, err := fmt.Fprintf(stdin, "open %s %d\n", lis.Addr(), n); err != nil {
		return err
	}
	if _, err := child.expect("opened "); err != nil {
		return err
	}
	took := time.Since(start)
	after, gAfter := liveHeap()
	if heapProfile != "" {
		if err := writeHeapProfile(heapProfile); err != nil {
			return err
		}
	}
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n) / 1024
	stack := float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n) / 1024
	if _, err := fmt.Fprintln(stdin, "close"); err != nil {
		return err
	}
	return report(out, []string{
		fmt.Sprintf("P5 ws-idle streams=%d opened in %s heap_before=%.1fMiB heap_after=%.1fMiB goroutines/stream=%.1f stack_per_stream_kib=%.1f",
			n, took.Round(time.Millisecond), mib(before.HeapAlloc), mib(after.HeapAlloc), float64(gAfter-gBefore)/float64(n), stack),
		fmt.Sprintf("BENCH P5 ws-idle heap_per_stream_kib=%.1f", heap),
	})
}

// liveHeap collects garbage and returns the memory statistics and the
// number of goroutines.
func liveHeap() (runtime.MemStats, int) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms, runtime.NumGoroutine()
}

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// runPeer serves the idle upstream (sockets that only wait to be closed),
// prints "upstream URL", then on "open ADDR N" opens N bidi streams to the
// bridge at ADDR and prints "opened N" once the upstream has accepted their
// sockets; on "close" (or the end of stdin) it exits.
func runPeer() error {
	var accepted atomic.Int64
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		accepted.Add(1)
		_, _, _ = c.Read(context.Background())
	})}
	go func() { _ = hs.Serve(lis) }()
	fmt.Printf("upstream http://%s\n", lis.Addr())

	var conns []*grpc.ClientConn
	defer func() {
		for _, cc := range conns {
			_ = cc.Close()
		}
	}()
	total := int64(0)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 3 || f[0] != "open" {
			return nil
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		for lo := 0; lo < n; lo += perConn {
			cc, err := grpc.NewClient(f[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			conns = append(conns, cc)
			wg.Add(1)
			go func(cc *grpc.ClientConn, k int) {
				defer wg.Done()
				for range k {
					// The streams stay open, idle, until the process exits.
					if _, err := cc.NewStream(context.Background(), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/bench.ws.v1.ChatService/Chat"); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
				}
			}(cc, min(perConn, n-lo))
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		total += int64(n)
		for accepted.Load() < total {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Printf("opened %d\n", n)
	}
	return in.Err()
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
