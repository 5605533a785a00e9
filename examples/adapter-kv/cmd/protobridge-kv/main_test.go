package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// lifetime bounds every wait of the test; only a hang reaches it.
const lifetime = time.Minute

// bin is the daemon built by TestMain.
var bin string

// TestMain builds this package's daemon once for the tests.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "protobridge-kv-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		goTool, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintln(os.Stderr, "the go command is needed to build the daemon:", err)
			return 1
		}
		bin = filepath.Join(dir, "protobridge-kv")
		if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}

// writeConfig writes a config serving kv.v1.Store from dir/kv-data.json
// on a free port of 127.0.0.1.
func writeConfig(t *testing.T, dir, kvBlock string) string {
	t.Helper()
	protos, err := filepath.Abs("../../proto")
	if err != nil {
		t.Fatal(err)
	}
	text := `server:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [` + protos + `]
  protos: [kv/v1/kv.proto]
auth:
  open: true
upstreams:
  store:
    kind: kv
    kv:
` + kvBlock + `
routes:
  - method: kv.v1.Store/Get
    upstream: store
    kv: {op: get}
  - method: kv.v1.Store/Await
    upstream: store
    kv: {op: get, wait: true}
  - method: kv.v1.Store/Put
    upstream: store
    kv: {op: put}
  - method: kv.v1.Store/Delete
    upstream: store
    kv: {op: delete}
`
	p := filepath.Join(dir, "kv.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// daemon is a running protobridge-kv with its output lines.
type daemon struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	seen  chan string
	done  chan struct{}
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// start runs the binary with args, collecting its output.
func start(t *testing.T, bin string, args ...string) *daemon {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: exec.Command(bin, args...), seen: make(chan string, 1024), done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = w, w
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	go func() {
		defer close(d.done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			d.mu.Unlock()
			select {
			case d.seen <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
		_ = d.cmd.Wait()
	})
	return d
}

// wait waits for an output line matching re.
func (d *daemon) wait(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timer := time.NewTimer(lifetime)
	defer timer.Stop()
	for {
		select {
		case l := <-d.seen:
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-d.done:
			t.Fatalf("the daemon exited before printing %s:\n%s", re, d.output())
		case <-timer.C:
			t.Fatalf("the daemon did not print %s:\n%s", re, d.output())
		}
	}
}

var servingRE = regexp.MustCompile(`msg=serving address=(\S+)`)

// store returns kv.v1.Store, compiled as the daemon compiles it.
func store(t *testing.T) protoreflect.ServiceDescriptor {
	t.Helper()
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{"../../proto"}})}
	files, err := c.Compile(context.Background(), "kv/v1/kv.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0].Services().ByName("Store")
}

// TestDaemonServesKV builds protobridge-kv, serves a config using the kv
// kind and calls it with grpc-go.
func TestDaemonServesKV(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "      file: kv-data.json")
	d := start(t, bin, "serve", "--config", cfg)
	addr := d.wait(t, servingRE)[1]

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svc := store(t)
	call := func(ctx context.Context, method string, fields map[string]string) (map[string]string, error) {
		md := svc.Methods().ByName(protoreflect.Name(method))
		req := dynamicpb.NewMessage(md.Input())
		for k, v := range fields {
			req.Set(md.Input().Fields().ByName(protoreflect.Name(k)), protoreflect.ValueOfString(v))
		}
		resp := dynamicpb.NewMessage(md.Output())
		if err := conn.Invoke(ctx, "/kv.v1.Store/"+method, req, resp); err != nil {
			return nil, err
		}
		out := map[string]string{}
		resp.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			out[string(fd.Name())] = v.String()
			return true
		})
		return out, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()

	// Await waits for a key that a later Put stores.
	awaited := make(chan error, 1)
	go func() {
		got, err := call(ctx, "Await", map[string]string{"key": "later"})
		if err == nil && got["value"] != "at last" {
			err = status.Errorf(codes.Internal, "Await returned %v", got)
		}
		awaited <- err
	}()

	if got, err := call(ctx, "Put", map[string]string{"key": "greeting", "value": "hello"}); err != nil || got["key"] != "greeting" || got["value"] != "hello" {
		t.Fatalf("Put: %v, %v\n%s", got, err, d.output())
	}
	if got, err := call(ctx, "Get", map[string]string{"key": "greeting"}); err != nil || got["value"] != "hello" {
		t.Fatalf("Get: %v, %v", got, err)
	}
	_, err = call(ctx, "Get", map[string]string{"key": "missing"})
	st := status.Convert(err)
	var info *errdetails.ErrorInfo
	for _, det := range st.Details() {
		if ei, ok := det.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	if st.Code() != codes.NotFound || info.GetReason() != "KV_KEY_NOT_FOUND" || info.GetDomain() != "protobridge.dev" {
		t.Fatalf("Get of a missing key: %v (ErrorInfo %v), want NOT_FOUND with reason KV_KEY_NOT_FOUND", err, info)
	}
	select {
	case err := <-awaited:
		t.Fatalf("Await returned before its key was put: %v", err)
	default:
	}
	if _, err := call(ctx, "Put", map[string]string{"key": "later", "value": "at last"}); err != nil {
		t.Fatal(err)
	}
	if err := <-awaited; err != nil {
		t.Fatalf("Await: %v", err)
	}

	// The map is in the file next to the config.
	b, err := os.ReadFile(filepath.Join(dir, "kv-data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || m["greeting"] != "hello" || m["later"] != "at last" {
		t.Fatalf("kv-data.json holds %s (%v)", b, err)
	}

	// SIGTERM drains and exits 0.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { <-d.done; exited <- d.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the daemon exited with %v after SIGTERM:\n%s", err, d.output())
		}
	case <-time.After(lifetime):
		t.Fatalf("the daemon did not exit after SIGTERM:\n%s", d.output())
	}
}

// TestCheckReportsKVProblems runs `protobridge-kv check` on a config whose
// kv: blocks have mistakes: each is reported at its file:line.
func TestCheckReportsKVProblems(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "      file: kv-data.json\n      max_value: 1KiB")
	out, err := exec.Command(bin, "check", "--config", cfg).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("check exited with %v, want 1:\n%s", err, out)
	}
	want := cfg + `:13: unknown key "max_value"`
	if !strings.Contains(string(out), want) {
		t.Fatalf("check said:\n%s\nwant a line with %q", out, want)
	}
}
