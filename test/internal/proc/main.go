package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests of a test/<pkg> package against the daemon: it sets
// *root to the repository root (two levels above the package), *binary to
// ./cmd/protobridge built into a temporary directory (or to the prebuilt
// binary PROTOBRIDGE_BIN names), calls setup when given, runs m, and checks
// for leaked goroutines when the tests passed. It returns the exit code.
func Main(m *testing.M, root, binary *string, setup func() error) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*root = filepath.Clean(filepath.Join(wd, "..", ".."))
	if *binary = os.Getenv("PROTOBRIDGE_BIN"); *binary == "" {
		dir, err := os.MkdirTemp("", "protobridge-"+filepath.Base(wd)+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		*binary = filepath.Join(dir, "protobridge")
		build := exec.Command("go", "build", "-o", *binary, "./cmd/protobridge")
		build.Dir = *root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building protobridge: %v\n%s", err, out)
			return 1
		}
	}
	if setup != nil {
		if err := setup(); err != nil {
			fmt.Fprintln(os.Stderr, err)
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
