package protogen

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/internal/genproto"
)

// Compile compiles a generated file as the daemon would load it (imports
// resolve to the descriptors built into the binary), keeping its comments. path is the file's
// path in its module, e.g. "calculator/v1/calculator.proto".
func Compile(ctx context.Context, path string, content []byte) (protoreflect.FileDescriptor, error) {
	fd, err := genproto.Compile(ctx, path, content, true)
	if err != nil {
		return nil, fmt.Errorf("protogen: %w", err)
	}
	return fd, nil
}
