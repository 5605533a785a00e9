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
// peers`, `make tools`, `make deps`); with CI=true they fail instead
// (internal/testenv). Every process started is killed in
// t.Cleanup. Tests assert outcomes, never durations.
package soap

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/protobridge/protobridge/test/internal/proc"
)

var (
	// root is the repository's root directory.
	root string
	// binary is the protobridge binary built by TestMain.
	binary string
)

// lifetime bounds any single wait (a process start, a call, a shutdown) so
// a hang fails the test instead of the whole run.
const lifetime = 60 * time.Second

// TestMain builds the daemon (PROTOBRIDGE_BIN names a prebuilt binary to
// test instead) and runs the tests.
func TestMain(m *testing.M) {
	os.Exit(proc.Main(m, &root, &binary, nil))
}

// callCtx is a context for one call, bounded by lifetime.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	t.Cleanup(cancel)
	return ctx
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
