package genproto

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The imports of generated files: google.api's http options and
	// HttpBody, the protobridge.v1 options.
	_ "google.golang.org/genproto/googleapis/api/annotations"
	_ "google.golang.org/genproto/googleapis/api/httpbody"

	// buf.validate rules (gen wsdl writes XSD facets as such).
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"

	_ "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Compile compiles a generated file with protocompile, as the daemon would load it:
// its imports (protobridge/v1/options.proto, google/protobuf/*) resolve to the
// descriptors built into the binary. path is the file's path in its module, e.g.
// "calculator/v1/calculator.proto". sourceInfo keeps comments and positions
// in the descriptor; a check that needs none saves a third of the time on
// large files without it.
func Compile(ctx context.Context, path string, content []byte, sourceInfo bool) (protoreflect.FileDescriptor, error) {
	builtin := protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(p)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{Desc: fd}, nil
	})
	source := &protocompile.SourceResolver{Accessor: func(p string) (io.ReadCloser, error) {
		if p == path {
			return io.NopCloser(bytes.NewReader(content)), nil
		}
		return nil, os.ErrNotExist
	}}
	var errs []string
	mode := protocompile.SourceInfoNone
	if sourceInfo {
		mode = protocompile.SourceInfoStandard
	}
	comp := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(protocompile.CompositeResolver{source, builtin}),
		SourceInfoMode: mode,
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			errs = append(errs, err.Error())
			return nil
		}, nil),
	}
	files, err := comp.Compile(ctx, path)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s does not compile:\n%s", path, strings.Join(errs, "\n"))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return files[0], nil
}
