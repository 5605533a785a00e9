package mapping

import (
	"context"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/config"
)

// FuzzExpressions compiles arbitrary text as a field expression, a whole
// message and a guard, and runs what compiles on arbitrary requests:
// problems and errors are fine, a panic or a run past its bounds is not.
func FuzzExpressions(f *testing.F) {
	for _, seed := range []string{
		`request.method`, `request.method + "x"`, `request.?payload.orValue(google.protobuf.Struct{})`,
		`pbv1.InvokeRequest{}`, `protobridge.v1.InvokeRequest{method: "a"}`, `[1,2,3].map(x, x*2).size() > 2`,
		`string(1/0)`, `request.method.split("/")[1]`, `lists.range(100000).size() == 1`, `"a".repeat(1000000)`,
		`{"a": 1}["b"] == 1`, `request.method.matches("(a+)+$")`, ``, `)`, "\"\n\"", `dyn(request).nope`,
	} {
		f.Add(seed, []byte("\n\x03a/b"))
	}
	env, err := NewEnv(protoregistry.GlobalFiles)
	if err != nil {
		f.Fatal(err)
	}
	md := (&pbv1.InvokeRequest{}).ProtoReflect().Descriptor()
	scope, err := env.Scope(MessageVar("request", md), MetadataVar)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string, wire []byte) {
		req := &pbv1.InvokeRequest{}
		_ = proto.Unmarshal(wire, req)
		vars := Vars{"request": req, "metadata": map[string]string{"k": "v"}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pos := bridge.Pos{File: "fuzz.yaml", Line: 3}
		var ps bridge.Problems
		progs := []*Program{
			scope.Message(&config.MessageExpr{Fields: []config.FieldExpr{{Path: "method", Expr: config.Expr{Text: expr, Pos: pos}, KeyPos: pos}}, Pos: pos}, md, "f", &ps),
			scope.Message(&config.MessageExpr{Whole: &config.Expr{Text: expr, Pos: pos}, Pos: pos}, md, "w", &ps),
			scope.Typed(config.Expr{Text: expr, Pos: pos}, cel.BoolType, "g", &ps),
		}
		for _, p := range ps {
			if p.Pos.File != "fuzz.yaml" || p.Pos.Line < 3 {
				t.Errorf("problem at %v, outside the expression", p.Pos)
			}
		}
		for i, p := range progs {
			if p == nil {
				continue
			}
			if i < 2 {
				if m, err := p.Message(ctx, vars); err == nil && m.ProtoReflect().Descriptor().FullName() != md.FullName() {
					t.Errorf("message of type %s", m.ProtoReflect().Descriptor().FullName())
				}
				continue
			}
			_, _ = p.Bool(ctx, vars)
		}
	})
}
