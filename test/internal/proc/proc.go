// Package proc runs the child processes end-to-end tests need (the daemon,
// Prism, node-soap, PHP, redis-server) and collects their output lines, so
// a test can wait for a line instead of sleeping.
package proc

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Lines collects a process's output lines and lets tests wait for one.
type Lines struct {
	mu     sync.Mutex
	cond   *sync.Cond
	lines  []string
	closed bool
}

func newLines() *Lines {
	b := &Lines{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *Lines) add(line string) {
	b.mu.Lock()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *Lines) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

// String returns every line so far.
func (b *Lines) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// Len is the number of lines so far.
func (b *Lines) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines)
}

// WaitFrom returns the submatches of the first line at index from or later
// matching re and the index after it, waiting for it; false once the output
// ended without one.
func (b *Lines) WaitFrom(from int, re *regexp.Regexp) ([]string, int, bool) {
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

// Wait returns the submatches of the first line matching re, waiting for it.
func (b *Lines) Wait(re *regexp.Regexp) ([]string, bool) {
	m, _, ok := b.WaitFrom(0, re)
	return m, ok
}

// Process is a child process whose output is collected.
type Process struct {
	// Cmd is the running command.
	Cmd *exec.Cmd
	// Out holds its stdout and stderr lines.
	Out *Lines
	// Stdin is the write end of its stdin, open until the test ends
	// (closing it stops peers that exit on EOF).
	Stdin *os.File

	done chan struct{}
	err  error // cmd.Wait's result, set before done closes
}

// Done is closed once the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is cmd.Wait's result; valid after Done.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Start starts name in dir (the current one when empty) in its own process
// group, with env added to the environment, collecting its output.
// t.Cleanup closes its stdin and kills the group if it still runs.
func Start(t testing.TB, dir string, env []string, name string, args ...string) *Process {
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
	p := &Process{Cmd: cmd, Out: newLines(), Stdin: iw, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for sc.Scan() {
			p.Out.add(sc.Text())
		}
		pr.Close()
		p.err = cmd.Wait()
		p.Out.close()
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

// SignalAndWait sends sig to the process and waits up to wait for it to
// exit, returning its exit code.
func (p *Process) SignalAndWait(t testing.TB, sig syscall.Signal, wait time.Duration) int {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(wait):
		t.Fatalf("%s did not exit after %v; output:\n%s", p.Cmd.Path, sig, p.Out)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// WriteFile writes text to dir/name (creating folders) and returns the path.
func WriteFile(t testing.TB, dir, name, text string) string {
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
