package websocket_test

import (
	"context"
	"fmt"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/websocket"
	"github.com/protobridge/protobridge/bridge"
)

// Until options.proto carries WebSocket route options, they ride in the
// fragment of the upstream's base_url, which is never sent on the wire. A
// key prefixed by a method name applies to that method only:
//
//	upstreams:
//	  quotes:
//	    kind: websocket
//	    base_url: "wss://quotes.example.com/v1#encoding=binary&Watch.path=/watch&Watch.reconnect=5&Watch.resume_cursor=seq&Watch.resume_field=after_seq"
func ExampleParseOptions() {
	r := exampleRoute("wss://quotes.example.com/v1#subprotocol=quotes.v2&Watch.path=/watch&Watch.reconnect=5&keepalive=15s")
	o, err := websocket.ParseOptions(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.URL, o.Encoding, o.Subprotocols, o.Reconnect.MaxAttempts, o.KeepaliveInterval)
	// Output: wss://quotes.example.com/v1/watch json [quotes.v2] 5 15s
}

// exampleRoute binds the server-streaming method Watch of a compiled-in
// service to an upstream at baseURL.
func exampleRoute(baseURL string) *bridge.Route {
	return &bridge.Route{
		Method:   watchMethod(),
		Upstream: &bridge.Upstream{Kind: websocket.Kind, Name: "quotes", BaseURL: baseURL},
		Encoding: "json",
	}
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
