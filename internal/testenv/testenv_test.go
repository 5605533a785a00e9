package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeTB records what the helpers ask of a test instead of stopping it.
type fakeTB struct {
	testing.TB
	calls []string // "fatal: message" or "skip: message", in order
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatal(args ...any) {
	f.calls = append(f.calls, "fatal: "+fmt.Sprint(args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.calls = append(f.calls, "fatal: "+fmt.Sprintf(format, args...))
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.calls = append(f.calls, "skip: "+fmt.Sprintf(format, args...))
}

// only returns the single call the helper made, failing t otherwise.
func (f *fakeTB) only(t *testing.T) string {
	t.Helper()
	if len(f.calls) != 1 {
		t.Fatalf("got %d calls %q, want 1", len(f.calls), f.calls)
	}
	return f.calls[0]
}

func TestGate(t *testing.T) {
	missing := errors.New("no such file")
	for _, c := range []struct {
		ci   bool
		err  error
		want string // "", "fatal" or "skip"
	}{
		{false, nil, ""},
		{true, nil, ""},
		{false, missing, "skip"},
		{true, missing, "fatal"},
	} {
		t.Run(fmt.Sprintf("ci=%v,err=%v", c.ci, c.err), func(t *testing.T) {
			f := &fakeTB{}
			gate(f, c.ci, "the peer", "`make peers` installs it", c.err)
			if c.want == "" {
				if len(f.calls) != 0 {
					t.Fatalf("calls %q, want none", f.calls)
				}
				return
			}
			got := f.only(t)
			if !strings.HasPrefix(got, c.want+": ") {
				t.Fatalf("got %q, want a %s", got, c.want)
			}
			for _, w := range []string{"the peer is missing", "no such file", "`make peers` installs it"} {
				if !strings.Contains(got, w) {
					t.Errorf("message %q lacks %q", got, w)
				}
			}
		})
	}
}

func TestCI(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, " ": false, "0": false, "false": false, "FALSE": false, "f": false,
		"true": true, "TRUE": true, "1": true, " true\n": true, "yes": true, "woodpecker": true,
	} {
		t.Setenv("CI", v)
		if got := CI(); got != want {
			t.Errorf("CI=%q: CI() = %v, want %v", v, got, want)
		}
	}
	os.Unsetenv("CI") // t.Setenv restores it after the test
	if CI() {
		t.Error("CI unset: CI() = true")
	}
}

// TestRequireReadsCI checks that the exported helpers follow the CI variable.
func TestRequireReadsCI(t *testing.T) {
	for v, want := range map[string]string{"true": "fatal", "": "skip"} {
		t.Setenv("CI", v)
		f := &fakeTB{}
		Require(f, "x", "y", errors.New("z"))
		if got := f.only(t); !strings.HasPrefix(got, want+": ") {
			t.Errorf("CI=%q: got %q, want a %s", v, got, want)
		}
	}
}

func TestCorpus(t *testing.T) {
	root, err := moduleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(root), "shared", "corpus")
	if got := CorpusDir(t); got != want {
		t.Errorf("CorpusDir = %s, want %s", got, want)
	}
	// The corpus itself, through the real gate: skipped without it locally.
	dir := Corpus(t)
	if dir != want {
		t.Errorf("Corpus() = %s, want %s", dir, want)
	}
	wsdl := Corpus(t, "wsdl", "public", "checkVatService.wsdl")
	if wsdl != filepath.Join(want, "wsdl", "public", "checkVatService.wsdl") {
		t.Errorf("Corpus(wsdl, public, checkVatService.wsdl) = %s", wsdl)
	}
	if _, err := os.Stat(wsdl); err != nil {
		t.Error(err)
	}
	for v, kind := range map[string]string{"true": "fatal", "": "skip"} {
		t.Setenv("CI", v)
		f := &fakeTB{}
		Corpus(f, "no-such-dir", "x.wsdl")
		got := f.only(t)
		if !strings.HasPrefix(got, kind+": ") || !strings.Contains(got, filepath.Join(want, "no-such-dir", "x.wsdl")) || !strings.Contains(got, "../shared/corpus") {
			t.Errorf("CI=%q: missing corpus file: %q", v, got)
		}
	}
}

func TestModuleRoot(t *testing.T) {
	tmp := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A nested module (as bench/ is) is passed over.
	write("repo/go.mod", "// comment\nmodule "+modulePath+"\n\ngo 1.26.0\n")
	write("repo/bench/go.mod", "module "+modulePath+"/bench\n")
	write("repo/bench/p3/x_test.go", "package p3\n")
	got, err := moduleRoot(filepath.Join(tmp, "repo", "bench", "p3"))
	if err != nil || got != filepath.Join(tmp, "repo") {
		t.Errorf("moduleRoot(repo/bench/p3) = %q, %v; want %s", got, err, filepath.Join(tmp, "repo"))
	}
	write("other/go.mod", "module example.com/other\n")
	if got, err := moduleRoot(filepath.Join(tmp, "other")); err == nil {
		t.Errorf("moduleRoot(other) = %q, want an error", got)
	}
	// This package is two levels below the root.
	got, err = moduleRoot(".")
	if want, _ := filepath.Abs(filepath.Join("..", "..")); err != nil || got != want {
		t.Errorf("moduleRoot(.) = %q, %v; want %s", got, err, want)
	}
}

func TestToolAndPeerMissing(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeTB{}
	p := Tool(f, "no-such-tool")
	if got := f.only(t); !strings.HasPrefix(got, "skip: ") || !strings.Contains(got, "make tools") {
		t.Errorf("Tool: %q", got)
	}
	if filepath.Base(filepath.Dir(p)) != "bin" || !filepath.IsAbs(p) {
		t.Errorf("Tool path %s, want an absolute bin/no-such-tool", p)
	}
	f = &fakeTB{}
	Peer(f, "no-such-package")
	// node may be missing too; the package is reported either way.
	if last := f.calls[len(f.calls)-1]; !strings.HasPrefix(last, "skip: ") || !strings.Contains(last, "make peers") ||
		!strings.Contains(last, filepath.Join("test", "peers", "node_modules", "no-such-package")) {
		t.Errorf("Peer: %q", f.calls)
	}
	f = &fakeTB{}
	LookPath(f, "no-such-program-testenv")
	if got := f.only(t); !strings.HasPrefix(got, "skip: ") || !strings.Contains(got, "no-such-program-testenv is missing") {
		t.Errorf("LookPath: %q", got)
	}
}

// TestDebianHints keeps the messages true: every Debian package LookPath
// names is one `make deps` installs.
func TestDebianHints(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^DEBS\s*:?=(.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no DEBS := line in the Makefile")
	}
	installed := strings.Fields(string(m[1]))
	for prog, deb := range debs {
		found := false
		for _, d := range installed {
			found = found || d == deb
		}
		if !found {
			t.Errorf("%s: Debian package %s is not in the Makefile's DEBS %v", prog, deb, installed)
		}
		if h := installHint(prog); !strings.Contains(h, "make deps") || !strings.Contains(h, deb) {
			t.Errorf("installHint(%s) = %q", prog, h)
		}
	}
}
