package mapping

import (
	"context"
	"testing"

	"cel.dev/cel-go/cel"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
)

// TestEvalLimitsStatus: an evaluation stopped by the caller's deadline or
// cancellation, or by the cost limit, is not blamed on the data it read
// (INVALID_ARGUMENT for a request, UNKNOWN for a reply): it gets the
// deadline's status, or RESOURCE_EXHAUSTED naming the limit.
func TestEvalLimitsStatus(t *testing.T) {
	env, err := NewEnv(protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := env.Scope()
	var ps bridge.Problems
	// Cheap enough per iteration to be interrupted, costly in all.
	long := sc.Typed(config.Expr{Text: `lists.range(10000).map(i, lists.range(90).exists(j, j == i)).size() > 0`}, cel.BoolType, "guard", &ps)
	costly := sc.Typed(config.Expr{Text: `lists.range(5000).map(i, lists.range(5000).size()).size() > 0`}, cel.BoolType, "guard", &ps)
	bad := sc.Typed(config.Expr{Text: `1 / (lists.range(1).size() - 1) > 0`}, cel.BoolType, "guard", &ps)
	if long == nil || costly == nil || bad == nil {
		t.Fatal(ps)
	}
	c := &bridge.Call{Route: &bridge.Route{Method: healthpb.File_grpc_health_v1_health_proto.Services().Get(0).Methods().Get(0)}}
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	for _, tc := range []struct {
		name string
		p    *Program
		ctx  context.Context
		want codes.Code
	}{
		{"deadline", long, expired, codes.DeadlineExceeded},
		{"cancelled", long, cancelled, codes.Canceled},
		{"cost limit", costly, context.Background(), codes.ResourceExhausted},
		{"division by zero", bad, context.Background(), codes.InvalidArgument},
	} {
		_, err := tc.p.Bool(tc.ctx, Vars{})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := status.Code(evalError(err, c)); got != tc.want {
			t.Errorf("%s: request side %v (%v), want %v", tc.name, got, err, tc.want)
		}
		want := tc.want
		if want == codes.InvalidArgument {
			want = codes.Unknown // the upstream's data
		}
		if got := status.Code(replyEvalError(err, c)); got != want {
			t.Errorf("%s: reply side %v, want %v", tc.name, got, want)
		}
	}
}
