package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/internal/daemon"
	"github.com/protobridge/protobridge/internal/sandbox"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeMockThroughTheDaemon runs the daemon as `serve --mock` does
// (daemon.WithSandbox) with its admin listener: the chaos knobs set with
// PUT /sandbox/chaos/{upstream} outlive a reload, DELETE returns to the
// config's.
func TestServeMockThroughTheDaemon(t *testing.T) {
	cfg := demoConfig(t, nil) // the demo serves its admin listener (on a free port beside :0)
	if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), "admin:\n  listen: 127.0.0.1:0\n") {
		t.Fatalf("the demo config has no admin listener on a free port:\n%s", b)
	}
	logs := &lockedBuffer{}
	d, err := daemon.New(context.Background(), cfg, logs, daemon.WithSandbox(sandbox.Flags{Mode: sandbox.Mock}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan [2]net.Addr, 1)
	go func() { done <- d.Run(ctx, func(g, a net.Addr) { ready <- [2]net.Addr{g, a} }) }()
	var addrs [2]net.Addr
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	conn, err := grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin := "http://" + addrs[1].String()
	md := d.Router().Table().Services()["library.v1.LibraryService"].Methods().ByName("GetBook")
	call := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return conn.Invoke(cctx, "/library.v1.LibraryService/GetBook", parse(t, md.Input(), `{"name":"shelves/1/books/1"}`), dynamicpb.NewMessage(md.Output()))
	}
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, admin+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	if err := call(); err != nil {
		t.Fatalf("mocked GetBook: %v", err)
	}
	if code, body := do(http.MethodGet, "/sandbox", ""); code != 200 || !strings.Contains(body, `"library": {`) || !strings.Contains(body, `"mode": "mock"`) {
		t.Fatalf("GET /sandbox: %d %s", code, body)
	}
	if code, body := do(http.MethodGet, "/", ""); code != 200 || !strings.Contains(body, `id="sandbox"`) || !strings.Contains(body, "calculator: mock") {
		t.Fatalf("the status page does not say the upstreams are mocked: %d\n%s", code, body)
	}
	if code, body := do(http.MethodPut, "/sandbox/chaos/nosuch", `{}`); code != 404 {
		t.Fatalf("PUT for an unknown upstream: %d %s", code, body)
	}
	if code, body := do(http.MethodPut, "/sandbox/chaos/library", `{"error_rate": 1, "error_status": 502, "bogus": 1}`); code != 400 || !strings.Contains(body, "bogus") {
		t.Fatalf("PUT with an unknown knob: %d %s", code, body)
	}
	if code, body := do(http.MethodPut, "/sandbox/chaos/library", `{"error_rate": 1, "error_status": 502}`); code != 200 || !strings.Contains(body, `"chaos_from": "admin"`) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if st := status.Convert(call()); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "502") {
		t.Fatalf("with error_rate 1: %v", st)
	}
	if code, body := do(http.MethodPost, "/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if st := status.Convert(call()); st.Code() != codes.Unavailable {
		t.Fatalf("the knobs did not outlive the reload: %v", st)
	}
	if code, _ := do(http.MethodDelete, "/sandbox/chaos/library", ""); code != 200 {
		t.Fatalf("DELETE: %d", code)
	}
	if err := call(); err != nil {
		t.Fatalf("after DELETE: %v", err)
	}
	if !strings.Contains(logs.String(), "msg=sandbox upstream=library mode=mock") {
		t.Errorf("no sandbox line in the log:\n%s", logs.String())
	}
}
