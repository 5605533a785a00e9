package rest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/testenv"
)

const peersDir = "../../test/peers"

// ssePeer starts test/peers/sse/server.js (better-sse and ndjson, pinned
// npm packages) for the test and returns its base URL and a function that
// waits for a line it prints. It skips (or, with CI=true, fails) when node
// or the peers are not installed.
func ssePeer(t *testing.T) (string, func(prefix string)) {
	t.Helper()
	testenv.Peer(t, "better-sse")
	cmd := exec.Command("node", filepath.Join(peersDir, "sse", "server.js"), "0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the peer exits when its stdin closes
		for range lines {
		}
		_ = cmd.Wait()
	})
	wait := func(prefix string) string {
		t.Helper()
		timer := time.NewTimer(30 * time.Second)
		defer timer.Stop()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("peer exited before printing %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-timer.C:
				t.Fatalf("peer did not print %q", prefix)
			}
		}
	}
	port := strings.TrimPrefix(wait("ready "), "ready ")
	return "http://127.0.0.1:" + port, func(prefix string) { wait(prefix) }
}

// TestStreamsThroughBridge drives the SSE and NDJSON peer through a bridge
// server with a grpc-go client: events with their type and id, a dropped
// event stream resumed with Last-Event-ID, and NDJSON lines, each ending OK.
func TestStreamsThroughBridge(t *testing.T) {
	base, waitLine := ssePeer(t)
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "protobridge.yaml")
	cfgText := fmt.Sprintf("descriptors:\n  import_paths: [%q]\n  protos: [streams.proto]\nauth:\n  open: true\nupstreams:\n  peer:\n    kind: rest\n    base_url: %s\n", testdata, base)
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := daemontest.Start(t, path, daemontest.Options{})
	conn := srv.Conn

	var events protoreflect.MethodDescriptor
	for _, r := range srv.Router.Routes() {
		if r.Method.Name() == "Events" {
			events = r.Method
		}
	}
	call := func(method, req string) []string {
		t.Helper()
		st, err := conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, "/streamtest.v1.Ticks/"+method)
		if err != nil {
			t.Fatal(err)
		}
		in := dynamicpb.NewMessage(events.Input())
		if err := protojson.Unmarshal([]byte(req), in); err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(in); err != nil {
			t.Fatal(err)
		}
		_ = st.CloseSend()
		var got []string
		for {
			m := dynamicpb.NewMessage(events.Output())
			err := st.RecvMsg(m)
			if errors.Is(err, io.EOF) {
				return got
			}
			if err != nil {
				t.Fatalf("%s after %q: %v", method, got, err)
			}
			got = append(got, toJSONNoT(m))
		}
	}
	wantMessages(t, call("Events", `{"count":2,"tag":"plain"}`),
		`{"event":"tick","id":"1","seq":"1","text":"tick 1"}`, `{"event":"tick","id":"2","seq":"2","text":"tick 2"}`)
	wantMessages(t, call("Events", `{"count":4,"dropAfter":2,"tag":"resume"}`),
		`{"event":"tick","id":"1","seq":"1","text":"tick 1"}`, `{"event":"tick","id":"2","seq":"2","text":"tick 2"}`,
		`{"event":"tick","id":"3","seq":"3","text":"tick 3"}`, `{"event":"tick","id":"4","seq":"4","text":"tick 4"}`)
	waitLine("connected resume 2 2")
	wantMessages(t, call("Lines", `{"count":2}`), `{"seq":"1","text":"line 1"}`, `{"seq":"2","text":"line 2"}`)
}
