// Package soap tests protobridge's SOAP path end to end against live peers
// nobody here wrote: node-soap (npm `soap`, pinned in test/peers) and PHP's
// SoapServer (Debian php-cli + php-soap) serve corpus WSDLs, and zeep
// (Debian python3-zeep) is a client oracle for the envelopes protobridge
// writes. For each peer the test generates the .proto with the built binary
// (`protobridge gen wsdl`), writes a config whose upstream is the peer,
// starts `protobridge serve` on 127.0.0.1:0 and calls through it with a
// grpc-go client (dynamic messages) and with bin/grpcurl.
//
// Missing peers skip the tests with the command that installs them (`make
// peers`, `make tools`, `apt-get install php-cli php-soap python3-zeep`);
// with CI=true they fail instead. Every process started is killed in
// t.Cleanup. Tests assert outcomes, never durations.
package soap

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

	"go.uber.org/goleak"
)

var (
	// root is the repository's root directory; corpus is ../shared/corpus.
	root, corpus string
	// binary is the protobridge binary built by TestMain.
	binary string
)

// lifetime bounds any single wait (a process start, a call, a shutdown) so
// a hang fails the test instead of the whole run.
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
	corpus = filepath.Join(root, "..", "shared", "corpus")
	dir, err := os.MkdirTemp("", "protobridge-soap-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// PROTOBRIDGE_BIN names a prebuilt binary to test instead of building
	// ./cmd/protobridge.
	if binary = os.Getenv("PROTOBRIDGE_BIN"); binary == "" {
		binary = filepath.Join(dir, "protobridge")
		build := exec.Command("go", "build", "-o", binary, "./cmd/protobridge")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building protobridge: %v\n%s", err, out)
			return 1
		}
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

// ci reports whether missing peers must fail tests instead of skipping them.
func ci() bool { return os.Getenv("CI") == "true" }

// missing skips the test (fails it with CI=true) saying what is missing and
// how to install it.
func missing(t *testing.T, what, how string) {
	t.Helper()
	if ci() {
		t.Fatalf("%s is missing: %s", what, how)
	}
	t.Skipf("%s is missing: %s", what, how)
}

// need skips (or, with CI=true, fails) the test when path does not exist.
func need(t *testing.T, path, how string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(t, path, how)
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

// callCtx is a context for one call, bounded by lifetime.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	t.Cleanup(cancel)
	return ctx
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

// len is the number of lines so far.
func (b *logBuffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines)
}

// waitFrom returns the first line at index from or later matching re and
// the index after it, waiting for it; false once the output ended without
// one.
func (b *logBuffer) waitFrom(from int, re *regexp.Regexp) ([]string, int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := from; ; b.cond.Wait() {
		for ; i < len(b.lines); i++ {
			if m := re.FindStringSubmatch(b.lines[i]); m != nil {
				return m, i + 1, true
			}
		}
		if b.closed {
			return nil, i, false
		}
	}
}

// wait returns the first line matching re, waiting for it.
func (b *logBuffer) wait(re *regexp.Regexp) ([]string, bool) {
	m, _, ok := b.waitFrom(0, re)
	return m, ok
}

// process is a child process whose output is collected.
type process struct {
	cmd   *exec.Cmd
	out   *logBuffer
	stdin *os.File // the write end of its stdin; closing it stops the node peers
	done  chan struct{}
	err   error // cmd.Wait's result, set before done closes
}

// startProcess starts a process in its own process group with env added
// to the environment, collecting its stdout and stderr. Its stdin stays open
// until the test ends. t.Cleanup closes stdin and kills the group if the
// process is still running.
func startProcess(t *testing.T, dir string, env []string, name string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ir, iw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr, cmd.Stdin = pw, pw, ir
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{pr, pw, ir, iw} {
			f.Close()
		}
		t.Fatal(err)
	}
	pw.Close()
	ir.Close()
	p := &process{cmd: cmd, out: newLogBuffer(), stdin: iw, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for sc.Scan() {
			p.out.add(sc.Text())
		}
		pr.Close()
		p.err = cmd.Wait()
		p.out.close()
		close(p.done)
	}()
	t.Cleanup(func() {
		iw.Close()
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

// runCommand runs a command to completion and returns its stdout, stderr
// and exit status; a command that cannot start fails the test.
func runCommand(t *testing.T, dir, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return stdout.String(), stderr.String(), 0
}
