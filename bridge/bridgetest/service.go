package bridgetest

import (
	"context"
	"sync"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ProtoPath is the path the test service's .proto is compiled as.
const ProtoPath = "bridgetest/v1/echo.proto"

// ProtoSource is the test service every conformance peer serves,
// bridgetest.v1.Echo; the package documentation says what a peer answers
// to each method.
const ProtoSource = `syntax = "proto3";

// The service an adapter's conformance peer serves (package bridgetest).
package bridgetest.v1;

// EchoRequest is the request, and the caller's stream message, of every method.
message EchoRequest {
  // text is what the peer echoes.
  string text = 1;
  // id is a correlation id, for protocols that match replies to requests
  // by a field (a websocket route's correlation_field); the peer copies it
  // into its reply.
  string id = 2;
  // n is how many messages Count sends.
  int32 n = 3;
  // hold keeps Count's stream open after its n messages, sending nothing,
  // until the caller goes away.
  bool hold = 4;
  // last marks the caller's last message of Collect and Chat, for
  // protocols without a half-close.
  bool last = 5;
}

// EchoResponse is the reply, and the peer's stream message, of every method.
message EchoResponse {
  // text is the echoed text.
  string text = 1;
  // id is the request's correlation id.
  string id = 2;
  // request_id is the request id the peer received with the call (the
  // X-Request-Id header of an HTTP request or handshake); empty when the
  // protocol carried none.
  string request_id = 3;
  // seq numbers the messages of a stream from 1; Collect's reply counts
  // the caller's messages.
  int32 seq = 4;
}

// Echo is served by a peer speaking the adapter's protocol.
service Echo {
  // Echo answers {text, id, request_id}.
  rpc Echo(EchoRequest) returns (EchoResponse);
  // Fail answers with the protocol's error.
  rpc Fail(EchoRequest) returns (EchoResponse);
  // Hang never answers.
  rpc Hang(EchoRequest) returns (EchoResponse);
  // Count sends n messages, then ends (or holds) the stream.
  rpc Count(EchoRequest) returns (stream EchoResponse);
  // Collect answers once, after the caller's last message.
  rpc Collect(stream EchoRequest) returns (EchoResponse);
  // Chat answers each caller message, and ends after the last.
  rpc Chat(stream EchoRequest) returns (stream EchoResponse);
}
`

var (
	serviceOnce sync.Once
	serviceDesc protoreflect.ServiceDescriptor
)

// Service returns bridgetest.v1.Echo, compiled from ProtoSource, for peers
// that need its descriptors (to decode protobuf frames, say). Its file is
// not in the global registry.
func Service() protoreflect.ServiceDescriptor {
	serviceOnce.Do(func() {
		comp := protocompile.Compiler{
			Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
				Accessor: protocompile.SourceAccessorFromMap(map[string]string{ProtoPath: ProtoSource}),
			}),
		}
		files, err := comp.Compile(context.Background(), ProtoPath)
		if err != nil {
			panic("bridgetest: " + err.Error()) // a constant source: a bug
		}
		serviceDesc = files[0].Services().ByName("Echo")
	})
	return serviceDesc
}
