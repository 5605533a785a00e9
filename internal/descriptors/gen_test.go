package descriptors

import (
	"context"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestGeneratedCodeIsCurrent fails when proto/ changed but gen/ was not
// regenerated with `make gen`: the descriptors compiled from proto/ must equal
// the ones embedded in the generated Go.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	generated := map[string]protoreflect.FileDescriptor{
		"protobridge/v1/options.proto": pbv1.File_protobridge_v1_options_proto,
		"protobridge/v1/bridge.proto":  pbv1.File_protobridge_v1_bridge_proto,
	}
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{"../../proto"}})}
	files, err := comp.Compile(context.Background(), "protobridge/v1/options.proto", "protobridge/v1/bridge.proto")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want := protodesc.ToFileDescriptorProto(f)
		got := protodesc.ToFileDescriptorProto(generated[f.Path()])
		want.SourceCodeInfo, got.SourceCodeInfo = nil, nil
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("gen/ is stale for %s; run `make gen` (-proto +gen):\n%s", f.Path(), diff)
		}
		if !proto.Equal(want, got) {
			t.Errorf("gen/ differs from proto/ for %s", f.Path())
		}
	}
}
