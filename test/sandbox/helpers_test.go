package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/internal/daemontest"
)

// method finds a served method by its full name ("pkg.Service/Method").
func method(t *testing.T, s *daemontest.Server, name string) protoreflect.MethodDescriptor {
	t.Helper()
	svc, m, _ := strings.Cut(name, "/")
	sd, ok := s.Router.Table().Services()[svc]
	if !ok {
		t.Fatalf("service %s is not served", svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(m))
	if md == nil {
		t.Fatalf("method %s is not served", name)
	}
	return md
}

func parse(t *testing.T, md protoreflect.MessageDescriptor, js string) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(js), m); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return m
}

func text(m proto.Message) string {
	return protojson.MarshalOptions{Multiline: false}.Format(m)
}

// unary calls name over gRPC (grpc-go, the generic client) and returns the
// reply as protojson, or the error.
func unary(t *testing.T, s *daemontest.Server, name, req string) (string, error) {
	t.Helper()
	md := method(t, s, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := dynamicpb.NewMessage(md.Output())
	if err := s.Conn.Invoke(ctx, "/"+name, parse(t, md.Input(), req), out); err != nil {
		return "", err
	}
	return text(out), nil
}

// stream sends reqs on a streaming method, closes its side and returns
// every reply and the stream's end.
func stream(t *testing.T, s *daemontest.Server, name string, reqs ...string) ([]string, error) {
	t.Helper()
	md := method(t, s, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := s.Conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient()}, "/"+name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range reqs {
		if err := cs.SendMsg(parse(t, md.Input(), r)); err != nil {
			return out, err
		}
		if md.IsStreamingClient() && md.IsStreamingServer() {
			// Bidi: take the echo of each message before the next.
			m := dynamicpb.NewMessage(md.Output())
			if err := cs.RecvMsg(m); err != nil {
				return out, err
			}
			out = append(out, text(m))
		}
	}
	if err := cs.CloseSend(); err != nil {
		return out, err
	}
	for {
		m := dynamicpb.NewMessage(md.Output())
		err := cs.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, text(m))
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
