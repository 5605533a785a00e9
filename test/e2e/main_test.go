// Package e2e tests the protobridge binary end to end: it builds
// ./cmd/protobridge once, runs daemons on 127.0.0.1 against in-process
// upstreams and Prism (mocking the Petstore spec), and calls them with a
// grpc-go client using dynamic messages and with grpcurl over reflection.
package e2e

import (
	"bufio"
	"context"
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
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The options the example protos import, for protocompile.
	_ "google.golang.org/genproto/googleapis/api/annotations"

	_ "github.com/protobridge/protobridge/gen/protobridge/v1"
)

var (
	// root is the repository's root directory.
	root string
	// binary is the protobridge binary built by TestMain.
	binary string
	// petstoreProto is the compiled examples/petstore proto.
	petstoreProto protoreflect.FileDescriptor
)

// lifetime bounds any single wait in these tests (process start, a call, a
// shutdown) so a hang fails the test instead of the whole run. Tests assert
// outcomes, never how long they took.
const lifetime = 60 * time.Second

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root = filepath.Clean(filepath.Join(wd, "..", ".."))
	dir, err := os.MkdirTemp("", "protobridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "protobridge")
	build := exec.Command("go", "build", "-o", binary, "./cmd/protobridge")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building protobridge: %v\n%s", err, out)
		return 1
	}
	if petstoreProto, err = compileProto(filepath.Join(root, "examples", "petstore", "proto"), "petstore/v1/petstore.proto"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak: %v\n", err)
			return 1
		}
	}
	return code
}

// compileProto compiles one .proto the way the daemon does: imports resolve
// on importPath, then to the files linked into this test (google.api,
// protobridge.v1, well-known types).
func compileProto(importPath, file string) (protoreflect.FileDescriptor, error) {
	linked := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{Desc: fd}, nil
	})
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{ImportPaths: []string{importPath}}, linked,
	})}
	files, err := c.Compile(context.Background(), file)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", file, err)
	}
	return files[0], nil
}

// ci reports whether missing peers or tools must fail tests instead of
// skipping them.
func ci() bool { return os.Getenv("CI") == "true" }

// need skips (or, with CI=true, fails) the test when path is missing.
func need(t *testing.T, path, how string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if ci() {
			t.Fatalf("%s is missing: %s", path, how)
		}
		t.Skipf("%s is missing: %s", path, how)
	}
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuffer collects a process's output lines and lets tests wait for one.
type logBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	lines  []string
	closed bool
}

func newLogBuffer() *logBuffer {
	b := &logBuffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *logBuffer) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// wait returns the first line matching re, waiting for it; false once the
// output ended without one.
func (b *logBuffer) wait(re *regexp.Regexp) ([]string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := 0; ; b.cond.Wait() {
		for ; i < len(b.lines); i++ {
			if m := re.FindStringSubmatch(b.lines[i]); m != nil {
				return m, true
			}
		}
		if b.closed {
			return nil, false
		}
	}
}

// process is a child process whose output is collected.
type process struct {
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{}
	err  error // cmd.Wait's result, set before done closes
}

// startProcess starts a process in its own process group, collecting its
// stdout and stderr. t.Cleanup kills the group if it is still running.
func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatal(err)
	}
	pw.Close()
	p := &process{cmd: cmd, out: newLogBuffer(), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.out.add(sc.Text())
		}
		pr.Close()
		p.err = cmd.Wait()
		p.out.close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// signalAndWait sends sig to the process and waits for it to exit,
// returning its exit code.
func (p *process) signalAndWait(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(lifetime):
		t.Fatalf("%s did not exit after %v; output:\n%s", p.cmd.Path, sig, p.out)
	}
	return p.cmd.ProcessState.ExitCode()
}

// daemon is a running `protobridge serve`.
type daemon struct {
	*process
	addr string
	conn *grpc.ClientConn
	stop sync.Once
}

var servingRE = regexp.MustCompile(`msg=serving address=(\S+)`)

// startDaemon serves the config (whose server.listen should be
// 127.0.0.1:0), waits until grpc.health.v1 reports SERVING and dials it.
// t.Cleanup stops it with SIGTERM and asserts a clean exit.
func startDaemon(t *testing.T, config string) *daemon {
	t.Helper()
	d := &daemon{process: startProcess(t, binary, "serve", "--config", config)}
	m, ok := d.out.wait(servingRE)
	if !ok {
		t.Fatalf("daemon exited before serving: %v\n%s", d.err, d.out)
	}
	d.addr = m[1]
	conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	d.conn = conn
	t.Cleanup(func() {
		d.shutdown(t)
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v\n%s", resp.GetStatus(), err, d.out)
	}
	return d
}

// shutdown sends SIGTERM once and asserts the daemon exits 0.
func (d *daemon) shutdown(t *testing.T) {
	t.Helper()
	d.stop.Do(func() {
		if code := d.signalAndWait(t, syscall.SIGTERM); code != 0 {
			t.Errorf("daemon exited with %d after SIGTERM, want 0; output:\n%s", code, d.out)
		}
	})
}
