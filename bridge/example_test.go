package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/bridgetest"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// An adapter package registers its kind from init; configs can then name
// it as an upstream's kind.
func init() { bridge.RegisterAdapter("shout", newShout) }

// newShout is the kind's Factory: one adapter per upstream.
func newShout(u *bridge.Upstream, env *bridge.Env) (bridge.Adapter, error) {
	return shout{}, nil
}

// shout answers every call with the request's text in capitals.
type shout struct{}

// Bind accepts unary methods whose input and output have a text field.
func (shout) Bind(r *bridge.Route) (bridge.Endpoint, error) {
	in := r.Method.Input().Fields().ByName("text")
	out := r.Method.Output().Fields().ByName("text")
	switch {
	case r.Method.IsStreamingClient() || r.Method.IsStreamingServer():
		return nil, errors.New("shout serves unary methods only")
	case in == nil || out == nil:
		return nil, errors.New("shout needs a text field in the request and the reply")
	}
	return shoutEndpoint{in: in, out: out, r: r}, nil
}

// Close has nothing to release.
func (shout) Close() error { return nil }

type shoutEndpoint struct {
	in, out protoreflect.FieldDescriptor
	r       *bridge.Route
}

// Unary reads the request's text and replies with a message of the
// route's output type.
func (e shoutEndpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	text := c.Request.ProtoReflect().Get(e.in).String()
	reply := dynamicpb.NewMessage(e.r.Method.Output())
	reply.Set(e.out, protoreflect.ValueOfString(strings.ToUpper(text)))
	return reply, nil
}

// Stream is never called: Bind refuses streaming methods.
func (e shoutEndpoint) Stream(context.Context, *bridge.Call, bridge.Stream) error {
	return errors.New("not a streaming route")
}

// The daemon builds an adapter with the Factory registered for an
// upstream's kind, binds each route of the upstream, and serves calls on
// the endpoints.
func ExampleRegisterAdapter() {
	factory, _ := bridge.LookupAdapter("shout")
	u := &bridge.Upstream{Name: "loud", Kind: "shout"}
	a, err := factory(u, &bridge.Env{})
	if err != nil {
		panic(err)
	}
	defer a.Close()

	echo := bridgetest.Service().Methods().ByName("Echo")
	r := &bridge.Route{Method: echo, Upstream: u, Options: &pbv1.RouteOptions{}}
	ep, err := a.Bind(r)
	if err != nil {
		panic(err)
	}

	req := dynamicpb.NewMessage(echo.Input())
	req.Set(echo.Input().Fields().ByName("text"), protoreflect.ValueOfString("hello"))
	out, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: req})
	if err != nil {
		panic(err)
	}
	fmt.Println(bridge.MessageName(out), out.ProtoReflect().Get(echo.Output().Fields().ByName("text")))

	_, err = a.Bind(&bridge.Route{Method: bridgetest.Service().Methods().ByName("Count"), Upstream: u, Options: &pbv1.RouteOptions{}})
	fmt.Println(err)
	// Output:
	// bridgetest.v1.EchoResponse HELLO
	// shout serves unary methods only
}
