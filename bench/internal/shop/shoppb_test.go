package shop_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"

	"github.com/protobridge/protobridge/bench/internal/shop"
	"github.com/protobridge/protobridge/bench/internal/shop/shoppb"
)

// TestShoppbIsCurrent checks that the committed generated types describe
// shop.proto as it is: the generated file's descriptor equals the .proto
// compiled under shop.GeneratedPath. Regenerate with `make gen`.
func TestShoppbIsCurrent(t *testing.T) {
	s, err := shop.CompileAt(context.Background(), shop.GeneratedPath)
	if err != nil {
		t.Fatal(err)
	}
	want := protodesc.ToFileDescriptorProto(s.File)
	got := protodesc.ToFileDescriptorProto(shoppb.File_bench_internal_shop_shop_proto)
	if !proto.Equal(got, want) {
		t.Errorf("internal/shop/shoppb is stale: run `make gen` in bench/")
	}
}
