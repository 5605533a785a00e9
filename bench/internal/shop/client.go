package shop

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rawCodec sends and receives the protobuf wire format as it is. It is
// named "proto" so servers see an ordinary application/grpc call.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// Dial opens a plaintext gRPC connection whose calls carry pre-encoded bytes.
func Dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})),
	)
}

// Call sends the encoded request to UpdateOrder and returns the encoded reply,
// reusing resp's storage.
func Call(ctx context.Context, cc *grpc.ClientConn, req []byte, resp *[]byte) error {
	return cc.Invoke(ctx, FullMethod, &req, resp)
}
