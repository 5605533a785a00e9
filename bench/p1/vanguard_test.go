package p1

import (
	"net/url"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protobridge/protobridge/bench/internal/anchor"
	"github.com/protobridge/protobridge/bench/internal/shop"
)

// vanguards are the anchor's sub-benchmarks: vanguard with the Go types
// generated from shop.proto (what its users run, the BENCH line users care
// about) and with dynamicpb messages built from the compiled .proto.
var vanguards = []struct {
	name  string
	types anchor.Types
}{
	{"vanguard-generated", anchor.Generated},
	{"vanguard-dynamicpb", anchor.DynamicPB},
}

// targetNames are the sub-benchmarks in order.
func targetNames() []string {
	names := []string{nameProtobridge}
	for _, v := range vanguards {
		names = append(names, v.name)
	}
	return append(names, nameDefault)
}

// startVanguard serves vanguard with the given message types for the
// upstream at upURL on a loopback listener and returns its address.
func startVanguard(tb testing.TB, types anchor.Types, schema *shop.Schema, upURL *url.URL) string {
	tb.Helper()
	h, err := anchor.New(types, schema, upURL, anchor.NewTransport())
	if err != nil {
		tb.Fatal(err)
	}
	srv := anchor.NewServer(h)
	lis := listen(tb)
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return lis.Addr().String()
}

// TestProtobridgeCompilesItsProto checks that linking the generated types
// (for vanguard-generated) leaves protobridge's side as the daemon runs it:
// they are registered under shop.GeneratedPath, so the global registry has
// nothing at the path protobridge's config names and protobridge compiles
// shop.proto from its config instead of taking the generated file.
func TestProtobridgeCompilesItsProto(t *testing.T) {
	if _, err := protoregistry.GlobalFiles.FindFileByPath(shop.GeneratedPath); err != nil {
		t.Errorf("the generated types are not linked in: %v", err)
	}
	if fd, err := protoregistry.GlobalFiles.FindFileByPath(shop.ProtoPath); err == nil {
		t.Errorf("the global registry has %s, which protobridge would use instead of compiling its config's", fd.Path())
	}
}
