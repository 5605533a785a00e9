// Package testenv is the one rule for tests that need something from outside
// the repository: a test peer, a tool, a Debian program or the shared corpus.
// When it is missing the test is skipped, saying what is missing and what
// installs it; on CI (the CI environment variable set and not false, as
// .ci/run sets it) it fails instead, so a green CI run never hides a test
// that did not run.
//
// Every helper takes the test and returns what it found, so each call site is
// one line:
//
//	redis := testenv.LookPath(t, "redis-server") // on PATH; `make deps` installs the Debian packages
//	grpcurl := testenv.Tool(t, "grpcurl")        // bin/grpcurl; `make tools`
//	testenv.Peer(t, "ws")                        // node, and test/peers/node_modules/ws; `make peers`
//	wsdl := testenv.Corpus(t, "wsdl", "a.wsdl")  // ../shared/corpus/wsdl/a.wsdl beside the repository
//	testenv.Require(t, "PHP's soap extension", "`make deps` installs Debian php-soap", err)
//
// `make test` runs make deps, tools and peers first; CI lays the corpus
// beside its clone.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// modulePath is the module whose root Tool, Peer and Corpus start from.
const modulePath = "github.com/protobridge/protobridge"

// debs names the Debian package that provides each program the tests look
// up, for the message; `make deps` installs the Makefile's DEBS, which must
// list every one of them (testenv's own test checks that).
var debs = map[string]string{
	"chromium":     "chromium",
	"php":          "php-cli",
	"redis-server": "redis-server",
}

// CI reports whether missing peers, tools and corpus fail tests instead of
// skipping them: the CI environment variable is set to anything but empty or
// a false value (0, f, false).
func CI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// Require does nothing when err is nil. Otherwise what is missing: the test
// fails on CI and is skipped elsewhere, with err and how, which says what
// installs it (a make target, preferably).
func Require(t testing.TB, what, how string, err error) {
	t.Helper()
	gate(t, CI(), what, how, err)
}

// gate is Require with the CI decision as an argument.
func gate(t testing.TB, ci bool, what, how string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if ci {
		t.Fatalf("%s is missing (%v); %s. CI is set, so this fails instead of skipping", what, err, how)
		return
	}
	t.Skipf("%s is missing (%v); %s. Skipped: with CI=true this fails", what, err, how)
}

// LookPath returns the path of the program name (exec.LookPath: a name
// without a slash is searched on PATH, a path is checked as it is), gating
// the test when it is not there.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, name, installHint(filepath.Base(name)), err)
	return p
}

// installHint says what installs the program name.
func installHint(name string) string {
	if name == "node" {
		return "install Node.js 20 (README.md; CI machines have it)"
	}
	if deb, ok := debs[name]; ok {
		return fmt.Sprintf("`make test` installs it with `make deps` (Debian package %s)", deb)
	}
	return "nothing `make test` runs installs it"
}

// Tool returns the absolute path of bin/name in the repository, the tools
// `make tools` builds (grpcurl, ghz), gating the test when it is not there.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(root(t), "bin", name)
	_, err := os.Stat(p)
	Require(t, p, "`make test` builds it with `make tools`", err)
	return p
}

// Peer returns the absolute path of test/peers/node_modules/pkg (an npm
// package or a file such as .bin/prism), gating the test when it or node is
// not there.
func Peer(t testing.TB, pkg string) string {
	t.Helper()
	LookPath(t, "node")
	p := filepath.Join(root(t), "test", "peers", "node_modules", filepath.FromSlash(pkg))
	_, err := os.Stat(p)
	Require(t, p, "`make test` installs the npm peers with `make peers` (test/peers/package-lock.json)", err)
	return p
}

// Corpus returns the absolute path of a file or directory of the shared
// corpus, ../shared/corpus beside the repository root (parts are joined
// below it; none is the corpus itself), gating the test when it is not there.
func Corpus(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{CorpusDir(t)}, parts...)...)
	_, err := os.Stat(p)
	Require(t, p, "the corpus is shared/corpus beside the repository (../shared/corpus); CI lays it there, `make test` does not", err)
	return p
}

// CorpusDir is ../shared/corpus beside the repository root, whether or not
// it exists: Corpus is the helper for tests, this is for what only adds
// corpus files when there are some (fuzz seeds).
func CorpusDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(filepath.Dir(root(t)), "shared", "corpus")
}

// root is the repository root: the nearest directory above the working
// directory (a test's package directory) whose go.mod is this module's, so
// nested modules such as bench/ and examples' are passed over. Not finding
// it fails the test.
func root(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	r, err := moduleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// moduleRoot walks up from dir to the directory whose go.mod declares
// modulePath.
func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if modulePathOf(filepath.Join(d, "go.mod")) == modulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod of " + modulePath + " above " + dir)
		}
		d = parent
	}
}

// modulePathOf returns the module path the go.mod file declares, or "".
func modulePathOf(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
