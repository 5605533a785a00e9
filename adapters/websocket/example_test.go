package websocket_test

import (
	"context"
	"fmt"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/websocket"
	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// A route's settings come from (protobridge.v1.route).websocket in the
// .proto, or from a routes: entry's websocket: block, which is merged over
// it:
//
//	upstreams:
//	  quotes:
//	    kind: websocket
//	    base_url: wss://quotes.example.com/v1
//	routes:
//	  - method: quotes.v1.Quotes/Watch
//	    upstream: quotes
//	    encoding: protobuf
//	    websocket:
//	      path: /watch
//	      subprotocols: [quotes.v2]
//	      keepalive: 15s
//	      reconnect: {max_attempts: 5, resume_cursor: seq, resume_field: after_seq}
func ExampleParseOptions() {
	r := &bridge.Route{
		Method:   watchMethod(),
		Upstream: &bridge.Upstream{Kind: websocket.Kind, Name: "quotes", BaseURL: "wss://quotes.example.com/v1"},
		Encoding: "protobuf",
		Options: &pbv1.RouteOptions{Websocket: &pbv1.WebSocketRoute{
			Path: "/watch", Subprotocols: []string{"quotes.v2"}, Keepalive: "15s",
			Reconnect: &pbv1.WebSocketReconnect{MaxAttempts: 5, ResumeCursor: "seq", ResumeField: "after_seq"},
		}},
	}
	o, err := websocket.ParseOptions(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.URL, o.Encoding, o.Subprotocols, o.Reconnect.MaxAttempts, o.KeepaliveInterval)
	// Output: wss://quotes.example.com/v1/watch protobuf [quotes.v2] 5 15s
}

// watchMethod compiles quotes.v1.Quotes/Watch, a server-streaming method.
func watchMethod() protoreflect.MethodDescriptor {
	src := `syntax = "proto3";
package quotes.v1;
message Sub { int64 after_seq = 1; }
message Quote { int64 seq = 1; string symbol = 2; }
service Quotes { rpc Watch(Sub) returns (stream Quote); }`
	comp := protocompile.Compiler{Resolver: &protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"quotes.proto": src}),
	}}
	files, err := comp.Compile(context.Background(), "quotes.proto")
	if err != nil {
		panic(err)
	}
	return files[0].Services().Get(0).Methods().Get(0)
}
