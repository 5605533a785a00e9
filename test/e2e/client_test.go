package e2e

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
)

// petService is the example's petstore.v1.PetService.
const petService = "petstore.v1.PetService"

// method finds a method of petstore.v1.PetService.
func method(t *testing.T, name string) protoreflect.MethodDescriptor {
	t.Helper()
	md := petstoreProto.Services().ByName("PetService").Methods().ByName(protoreflect.Name(name))
	if md == nil {
		t.Fatalf("%s has no method %s", petService, name)
	}
	return md
}

// message parses protojson text into a dynamic message of md.
func message(t *testing.T, md protoreflect.MessageDescriptor, text string) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(text), m); err != nil {
		t.Fatalf("%s from %s: %v", md.FullName(), text, err)
	}
	return m
}

// call calls a PetService method with a dynamic request given as protojson.
func call(ctx context.Context, t *testing.T, conn *grpc.ClientConn, name, req string, opts ...grpc.CallOption) (*dynamicpb.Message, error) {
	t.Helper()
	md := method(t, name)
	resp := dynamicpb.NewMessage(md.Output())
	err := conn.Invoke(ctx, "/"+petService+"/"+name, message(t, md.Input(), req), resp, opts...)
	return resp, err
}

// wantMessage fails unless got equals the protojson text want.
func wantMessage(t *testing.T, got proto.Message, want string) {
	t.Helper()
	w := message(t, got.ProtoReflect().Descriptor(), want)
	if !proto.Equal(w, got) {
		t.Errorf("got response %s\nwant %s", protojson.Format(got), protojson.Format(w))
	}
}

// wantStatus fails unless err is a status with code, and returns its
// ErrorInfo and UpstreamError details (nil when absent).
func wantStatus(t *testing.T, err error, code codes.Code) (*errdetails.ErrorInfo, *pbv1.UpstreamError) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	var info *errdetails.ErrorInfo
	var upstream *pbv1.UpstreamError
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *pbv1.UpstreamError:
			upstream = d
		case error:
			t.Errorf("undecodable status detail: %v", d)
		}
	}
	return info, upstream
}

// wantErrorInfo fails unless info has the reason, protobridge's domain and
// the metadata entries given.
func wantErrorInfo(t *testing.T, info *errdetails.ErrorInfo, reason string, meta map[string]string) {
	t.Helper()
	if info == nil {
		t.Fatalf("no ErrorInfo detail, want reason %s", reason)
	}
	if info.GetReason() != reason || info.GetDomain() != "protobridge.dev" {
		t.Errorf("ErrorInfo reason %q domain %q, want %q and protobridge.dev", info.GetReason(), info.GetDomain(), reason)
	}
	for k, v := range meta {
		if got := info.GetMetadata()[k]; got != v {
			t.Errorf("ErrorInfo metadata[%q] = %q, want %q", k, got, v)
		}
	}
}

// grpcurl runs bin/grpcurl (built by `make tools`) and returns its combined
// output and exit status.
func grpcurl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	path := testenv.Tool(t, "grpcurl")
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("grpcurl: %v", err)
	}
	return string(out), 0
}

// wantOutput fails unless out holds every one of want.
func wantOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %s; output:\n%s", w, out)
		}
	}
}
