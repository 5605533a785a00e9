package openapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/internal/genproto"
)

// Compile compiles a generated file as the daemon would load it (imports
// resolve to the descriptors built into the binary), without source info: the check needs none. path is the file's
// path in its module, e.g. "petstore/v1/petstore.proto".
func Compile(ctx context.Context, path string, content []byte) (protoreflect.FileDescriptor, error) {
	fd, err := genproto.Compile(ctx, path, content, false)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return fd, nil
}
