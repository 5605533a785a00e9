package mapping

import (
	"context"
	"testing"

	"cel.dev/cel-go/cel"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/config"
)

// TestDocumentedFunctions compiles a use of every function the README
// lists, so that the list stays true to the environment.
func TestDocumentedFunctions(t *testing.T) {
	env, err := NewEnv(protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	md := (&pbv1.InvokeRequest{}).ProtoReflect().Descriptor()
	scope, err := env.Scope(MessageVar("request", md), MetadataVar)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{
		`size(request.method) > 0 && !has(request.payload) && "a" in ["a"] && request.method.matches("^a") && request.method.startsWith("a") && request.method.endsWith("a") && request.method.contains("a")`,
		`int("1") + int(uint(1)) == 2 && double(1) > 0.0 && string(1) == "1" && bytes("a") == b"a" && timestamp("2020-01-01T00:00:00Z") > timestamp(0) && duration("1s") > duration("0s")`,
		`[1].all(x, x > 0) && [1].exists(x, x > 0) && [1].exists_one(x, x > 0) && [1].map(x, x).filter(x, x > 0).size() == 1`,
		`optional.of(1).hasValue() && optional.none().orValue(1) == 1 && optional.ofNonZeroValue(0).hasValue() == false && request.?payload.hasValue() == false && optional.of(2).value() == 2`,
		`"abc".charAt(0) == "a" && "abc".indexOf("b") == 1 && "abc".lastIndexOf("c") == 2 && "A".lowerAscii() == "a" && "a".upperAscii() == "A" && "a".replace("a", "b") == "b"`,
		`"a,b".split(",").join("-") == "a-b" && "abc".substring(1) == "bc" && " a ".trim() == "a" && "%s".format(["a"]) == "a" && "ab".reverse() == "ba" && strings.quote("a") != ""`,
		`math.greatest(1, 2) == 2 && math.least(1, 2) == 1 && math.ceil(1.5) == 2.0 && math.floor(1.5) == 1.0 && math.round(1.5) == 2.0 && math.abs(-1) == 1 && math.sign(-1) == -1 && math.bitAnd(3, 1) == 1`,
		`lists.range(3).size() == 3 && [1,2].slice(0, 1) == [1] && [[1]].flatten() == [1] && [1,1].distinct() == [1] && [2,1].sort() == [1,2] && [2,1].sortBy(x, x) == [1,2] && [1,2].reverse() == [2,1] && [1].first().hasValue() && [1].last().hasValue()`,
		`base64.decode(base64.encode(b"a")) == b"a" && metadata[?"x-tenant"].orValue("") == ""`,
	} {
		var ps bridge.Problems
		p := scope.Typed(config.Expr{Text: e, Pos: bridge.Pos{File: "doc", Line: 1}}, cel.BoolType, "doc", &ps)
		if p == nil {
			t.Errorf("%s: %v", e, ps)
			continue
		}
		ok, err := p.Bool(context.Background(), Vars{"request": &pbv1.InvokeRequest{Method: "a"}, "metadata": map[string]string{}})
		if err != nil || !ok {
			t.Errorf("%s = %v, %v; want true", e, ok, err)
		}
	}
}
