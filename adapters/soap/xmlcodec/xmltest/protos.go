package xmltest

import (
	"context"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// protobridge/v1/options.proto must resolve from the global registry.
	_ "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// CompileProtos compiles .proto sources (path → text) at run time, as the
// daemon does; imports of google/protobuf/* and protobridge/v1/options.proto
// resolve from the global registry. It returns the files by path.
func CompileProtos(sources map[string]string) (map[string]protoreflect.FileDescriptor, error) {
	builtin := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{Desc: fd}, nil
	})
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(sources)},
			builtin,
		}),
	}
	names := make([]string, 0, len(sources))
	for p := range sources {
		names = append(names, p)
	}
	files, err := comp.Compile(context.Background(), names...)
	if err != nil {
		return nil, err
	}
	out := map[string]protoreflect.FileDescriptor{}
	for _, f := range files {
		out[f.Path()] = f
	}
	return out, nil
}
