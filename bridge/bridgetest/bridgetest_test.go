package bridgetest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/bridgetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(defectEnv) != "" {
		// A defect run fails on purpose and may leave goroutines behind.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// defectEnv names the defect a child test process gives the mem adapter.
const defectEnv = "BRIDGETEST_DEFECT"

// memHarness describes the mem adapter with the upstream block cfg.
func memHarness(t *testing.T, cfg memConfig, shapes bridgetest.Shape) bridgetest.Harness {
	t.Helper()
	return bridgetest.Harness{
		Kind:    memKind,
		Factory: newMem,
		Start: func(t *testing.T) *bridgetest.Peer {
			addr, stop := startMemPeer()
			t.Cleanup(stop)
			block, err := bridge.RawConfigOf(cfg)
			if err != nil {
				t.Fatal(err)
			}
			routes := map[string]bridgetest.Route{}
			for _, m := range []string{"Echo", "Fail", "Hang", "Count", "Collect", "Chat"} {
				rc, err := bridge.RawConfigOf(memRoute{Op: strings.ToLower(m)})
				if err != nil {
					t.Fatal(err)
				}
				routes[m] = bridgetest.Route{Config: rc}
			}
			return &bridgetest.Peer{Upstream: &bridge.Upstream{BaseURL: addr, Config: block}, Routes: routes}
		},
		Shapes:    shapes,
		RequestID: shapes,
		FailCode:  codes.NotFound,
	}
}

const allShapes = bridgetest.Unary | bridgetest.ServerStream | bridgetest.ClientStream | bridgetest.BidiStream

// TestMem runs the suite on an adapter that keeps the contract.
func TestMem(t *testing.T) {
	if os.Getenv(defectEnv) != "" {
		t.Skip("a defect run")
	}
	bridgetest.Run(t, memHarness(t, memConfig{}, allShapes))
}

// TestMemUnaryOnly runs the suite on an adapter that refuses streams.
func TestMemUnaryOnly(t *testing.T) {
	if os.Getenv(defectEnv) != "" {
		t.Skip("a defect run")
	}
	bridgetest.Run(t, memHarness(t, memConfig{Shapes: "unary"}, bridgetest.Unary))
}

// defects are adapters breaking one rule each, the check that must catch
// it, and what its failure must say.
var defects = []struct {
	defect, check, want string
	shapes              bridgetest.Shape
}{
	{"bind-panic", "Bind", "Bind(Count) panicked", allShapes},
	{"", "Bind", "Bind(Chat) accepted a bidi streaming method", bridgetest.Unary | bridgetest.ServerStream | bridgetest.ClientStream},
	{"wrong-type", "Unary", "want the method's output type bridgetest.v1.EchoResponse", allShapes},
	{"no-request-id", "Unary", "the peer received request id \"\"", allShapes},
	{"mutate-request", "Unary", "the adapter changed the caller's request", allShapes},
	{"plain-error", "Error", "the error is not a gRPC status", allShapes},
	{"wrong-domain", "Error", "the status has no google.rpc.ErrorInfo detail", allShapes},
	{"ignore-deadline", "Deadline", "has not returned after", allShapes},
	{"raw-ctx-error", "Deadline", "the error is not a gRPC status", allShapes},
	{"cancel-as-deadline", "Cancel", "code DeadlineExceeded, want Canceled", allShapes},
	{"mixed-up", "Concurrent", "got the reply", allShapes},
	{"drop-last", "ServerStream", "Count delivered 4 messages, want 5", allShapes},
	{"eof-error", "ServerStream", "Count ended with EOF", allShapes},
	{"stream-ignore-cancel", "ServerStreamCancel", "has not returned after", allShapes},
	{"stream-nil-on-end", "ServerStreamDeadline", "returned a nil error", allShapes},
	// An early reply is caught as a return before the caller's end, or, when
	// the reply wins the race, by its content.
	{"collect-early", "ClientStream", `the call returned|want text "one two three"`, allShapes},
	{"duplicate", "Bidi", "Chat replied {text: \"ping\"", allShapes},
	{"stream-nil-on-end", "BidiCancel", "returned a nil error", allShapes},
	{"leak", "Close", "still running", allShapes},
	{"close-error", "Close", "Close: cannot close", allShapes},
}

// TestDefectiveAdapter is what a child process runs: the suite on the mem
// adapter with the defect named by BRIDGETEST_DEFECT ("none" for none).
func TestDefectiveAdapter(t *testing.T) {
	name := os.Getenv(defectEnv)
	if name == "" {
		t.Skip("run by TestChecksCatchDefects")
	}
	if name == "none" {
		name = ""
	}
	bridgetest.Run(t, memHarness(t, memConfig{Defect: name}, shapesOf(os.Getenv(defectEnv+"_SHAPES"))))
}

// TestChecksCatchDefects shows that every check can fail: each defect
// runs the check meant to catch it in a child process, which must fail
// saying why.
func TestChecksCatchDefects(t *testing.T) {
	if os.Getenv(defectEnv) != "" {
		t.Skip("a defect run")
	}
	for _, d := range defects {
		name := d.defect
		if name == "" {
			name = "none"
		}
		t.Run(d.check+"/"+name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDefectiveAdapter$/^"+d.check+"$", "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), defectEnv+"="+name, defectEnv+"_SHAPES="+shapesString(d.shapes))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the %s check passed an adapter with defect %q:\n%s", d.check, name, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestDefectiveAdapter/"+d.check+" ") {
				t.Fatalf("the %s check did not fail for defect %q:\n%s", d.check, name, out)
			}
			said := false
			for _, want := range strings.Split(d.want, "|") {
				said = said || strings.Contains(string(out), want)
			}
			if !said {
				t.Fatalf("the %s check failed for defect %q without saying %q:\n%s", d.check, name, d.want, out)
			}
		})
	}
}

// shapesString and shapesOf carry a Shape to the child process.
func shapesString(s bridgetest.Shape) string {
	var parts []string
	for _, sh := range []struct {
		s bridgetest.Shape
		n string
	}{{bridgetest.Unary, "u"}, {bridgetest.ServerStream, "s"}, {bridgetest.ClientStream, "c"}, {bridgetest.BidiStream, "b"}} {
		if s.Has(sh.s) {
			parts = append(parts, sh.n)
		}
	}
	return strings.Join(parts, "")
}

func shapesOf(s string) bridgetest.Shape {
	var out bridgetest.Shape
	for _, c := range s {
		switch c {
		case 'u':
			out |= bridgetest.Unary
		case 's':
			out |= bridgetest.ServerStream
		case 'c':
			out |= bridgetest.ClientStream
		case 'b':
			out |= bridgetest.BidiStream
		}
	}
	return out
}
