package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBinary runs the protobridge binary to completion and returns its
// combined output and exit status.
func runBinary(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return string(out), 0
}

// marked finds the line of file marked "<- here: MESSAGE" and returns its
// number and the message.
func marked(t *testing.T, file string) (int, string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, msg, ok := strings.Cut(sc.Text(), "<- here: "); ok {
			return n, msg
		}
	}
	t.Fatalf("%s has no line marked <- here:", file)
	return 0, ""
}

// TestInvalidConfig runs `check` and `serve` on configs with one mistake
// each: both exit 1 printing the problem as file:line: message, where the
// line is the one marked in the testdata.
func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		config string
		at     string // the file holding the mistake
	}{
		{"unknown_key.yaml", "unknown_key.yaml"},
		{"unknown_upstream.yaml", "unknown_upstream.yaml"},
		{"bad_kind.yaml", "bad_kind.yaml"},
		{"missing_method.yaml", "missing_method.yaml"},
		{"proto_syntax.yaml", "proto/broken/v1/common.proto"},
	} {
		t.Run(strings.TrimSuffix(c.config, ".yaml"), func(t *testing.T) {
			config, at := filepath.Join(dir, c.config), filepath.Join(dir, c.at)
			line, msg := marked(t, at)
			want := fmt.Sprintf("%s:%d: %s", at, line, msg)
			for _, cmd := range []string{"check", "serve"} {
				out, code := runBinary(t, cmd, "--config", config)
				if code != 1 {
					t.Errorf("%s exited %d, want 1; output:\n%s", cmd, code, out)
				}
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != 2 || !strings.HasPrefix(lines[0], want) || lines[1] != "1 problem(s)" {
					t.Errorf("%s printed:\n%s\nwant one problem starting %q", cmd, out, want)
				}
			}
		})
	}
}

// TestCheckExample checks the example config and lists its routes.
func TestCheckExample(t *testing.T) {
	t.Parallel()
	config := filepath.Join(root, "examples", "petstore", "petstore.yaml")
	out, code := runBinary(t, "check", "--config", config)
	if code != 0 || out != config+": ok, 5 route(s)\n" {
		t.Errorf("check exited %d printing:\n%s", code, out)
	}
	out, code = runBinary(t, "routes", "--config", config)
	if code != 0 {
		t.Fatalf("routes exited %d printing:\n%s", code, out)
	}
	for _, want := range []string{
		"petstore.v1.PetService/GetPetByIdXml     petstore  rest  GET /pet/{pet_id} (xml)",
		"petstore.v1.PetService/FindPetsByStatus  petstore  rest  GET /pet/findByStatus (json)",
		"petstore.v1.PetService/AddPet            petstore  rest  POST /pet (json)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("routes lacks %q:\n%s", want, out)
		}
	}
}
