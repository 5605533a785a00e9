package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/bufbuild/protocompile"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	// google/api/httpbody.proto must resolve from the global registry.
	_ "google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testProto is compiled at run time, as the daemon compiles user protos.
const testProto = `
syntax = "proto3";
package test.v1;

import "google/api/httpbody.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "protobridge/v1/options.proto";

enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; }

message Inner {
  string x = 1;
  int64 n = 2;
  repeated string tags = 3;
  Inner deeper = 4;
}

message Book {
  option (protobridge.v1.xml_root) = {root: "book", namespace: "urn:books"};
  string name = 1;
  string title = 2;
  int64 id = 3 [(protobridge.v1.xml) = {attribute: true}];
  repeated string authors = 4 [(protobridge.v1.xml) = {wrapped: true, item: "author"}];
  repeated string tags = 5 [(protobridge.v1.xml) = {name: "tag"}];
  Color color = 6;
  double price = 7;
  bool available = 8;
  bytes cover = 9;
  uint64 big = 10;
  optional int32 pages = 11;
  Inner inner = 12;
  repeated Inner chapters = 13 [(protobridge.v1.xml) = {name: "chapter"}];
  string isbn = 14 [(protobridge.v1.xml) = {namespace: "urn:isbn"}];
  float rating = 15;
  string lang = 16 [(protobridge.v1.xml) = {attribute: true, name: "lang", namespace: "http://www.w3.org/XML/1998/namespace"}];
  Price cost = 17;
}

message Price {
  string currency = 1 [(protobridge.v1.xml) = {attribute: true}];
  string amount = 2 [(protobridge.v1.xml) = {text: true}];
}

message Plain {
  string a = 1;
  repeated int64 nums = 2;
}

message GetBookRequest {
  string name = 1;
  string shelf = 2;
  Inner inner = 3;
  repeated string tag = 4;
  Color color = 5;
  int64 big = 6;
  bool flag = 7;
  optional int32 opt = 8;
  bytes blob = 9;
  map<string, string> labels = 10;
  google.protobuf.Timestamp since = 11;
  google.protobuf.Int64Value wrapped = 12;
  float ratio = 13;
  uint64 id = 14;
  repeated Color colors = 15;
}

message CreateBookRequest {
  string parent = 1;
  Book book = 2;
  string request_id = 3;
  repeated string ids = 4;
  google.api.HttpBody raw = 5;
}

message ListBooksResponse {
  repeated Book books = 1;
  string next_page_token = 2;
}

message Wrapper {
  Book book = 1;
  google.api.HttpBody raw = 2;
  repeated Book list = 3;
  string note = 4;
  map<string, int64> counts = 5;
}

message BadXML { map<string, string> m = 1; }
message BadAttr { Inner i = 1 [(protobridge.v1.xml) = {attribute: true}]; }
message BadWrap { string s = 1 [(protobridge.v1.xml) = {wrapped: true}]; }
message Dup {
  string a = 1 [(protobridge.v1.xml) = {name: "x"}];
  string b = 2 [(protobridge.v1.xml) = {name: "x"}];
}
message TextAndElem {
  string a = 1 [(protobridge.v1.xml) = {text: true}];
  string b = 2;
}
message RawField { string r = 1 [(protobridge.v1.xml) = {raw: true}]; }
message WithStruct { string name = 1; google.protobuf.Struct meta = 2; }
message WithRepeatedMsg { string name = 1; repeated Inner items = 2; }

message Empty {}

// Event receives SSE events: data into book (or text), the event's type
// and id into event and id.
message Event {
  string event = 1;
  string id = 2;
  Book book = 3;
  string text = 4;
  bytes raw = 5;
}

service Library {
  rpc GetBook(GetBookRequest) returns (Book);
  rpc CreateBook(CreateBookRequest) returns (Book);
  rpc ListBooks(GetBookRequest) returns (ListBooksResponse);
  rpc Upload(google.api.HttpBody) returns (google.api.HttpBody);
  rpc Download(GetBookRequest) returns (google.api.HttpBody);
  rpc DeleteBook(GetBookRequest) returns (Empty);
  rpc GetWrapper(GetBookRequest) returns (Wrapper);
  rpc Watch(GetBookRequest) returns (stream Book);
  rpc Events(GetBookRequest) returns (stream Event);
  rpc Upload2(stream Plain) returns (Plain);
  rpc PlainCall(Plain) returns (Plain);
  rpc BadMap(BadXML) returns (Empty);
  rpc BadAttrs(BadAttr) returns (BadAttr);
  rpc BadWraps(BadWrap) returns (BadWrap);
  rpc Dups(Dup) returns (Dup);
  rpc Structs(WithStruct) returns (Empty);
  rpc RepeatedMsgs(WithRepeatedMsg) returns (Empty);
}
`

var testFile = compileProto(testProto)

// compileProto compiles one .proto from source; imports fall back to the
// global registry, as bridge/descriptors.go does.
func compileProto(src string) protoreflect.FileDescriptor {
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{"test.proto": src})},
			protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
				fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
				if err != nil {
					return protocompile.SearchResult{}, err
				}
				return protocompile.SearchResult{Desc: fd}, nil
			}),
		}),
	}
	files, err := comp.Compile(context.Background(), "test.proto")
	if err != nil {
		panic(err)
	}
	return files[0]
}

func method(name string) protoreflect.MethodDescriptor {
	md := testFile.Services().ByName("Library").Methods().ByName(protoreflect.Name(name))
	if md == nil {
		panic("no method " + name)
	}
	return md
}

func messageDesc(name string) protoreflect.MessageDescriptor {
	md := testFile.Messages().ByName(protoreflect.Name(name))
	if md == nil {
		panic("no message " + name)
	}
	return md
}

// newMsg builds a message of md from protojson text.
func newMsg(t testing.TB, md protoreflect.MessageDescriptor, js string) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	if js != "" {
		if err := protojson.Unmarshal([]byte(js), m); err != nil {
			t.Fatalf("bad test message %s: %v", js, err)
		}
	}
	return m
}

func testUpstream(baseURL string) *bridge.Upstream {
	return &bridge.Upstream{
		Name:              "books",
		Kind:              Kind,
		BaseURL:           baseURL,
		MaxRequestBytes:   1 << 10,
		MaxResponseBytes:  1 << 10,
		MaxErrorBodyBytes: 64,
		MaxIdleConns:      4,
		Headers:           map[string]string{"X-Api-Key": "secret"},
		ForwardMetadata:   []string{"X-Request-Id", "traceparent"},
	}
}

func get(path string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: path}}
}

func post(path, body string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: path}, Body: body}
}

func newRoute(u *bridge.Upstream, methodName string, rule *annotations.HttpRule, encoding string) *bridge.Route {
	return &bridge.Route{
		Method:      method(methodName),
		Upstream:    u,
		HTTP:        rule,
		Options:     &pbv1.RouteOptions{},
		Encoding:    encoding,
		StatusCodes: map[int]codes.Code{},
	}
}

// bindRoute builds an adapter for the route's upstream and binds the route.
func bindRoute(t testing.TB, r *bridge.Route) bridge.Endpoint {
	t.Helper()
	return bindRouteEnv(t, r, &bridge.Env{})
}

// bindRouteEnv is bindRoute with the adapter given env.
func bindRouteEnv(t testing.TB, r *bridge.Route, env *bridge.Env) bridge.Endpoint {
	t.Helper()
	a, err := New(r.Upstream, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return ep
}

// errorInfo returns the reason of the status's ErrorInfo detail.
func errorInfo(err error) (string, map[string]string) {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason(), ei.GetMetadata()
		}
	}
	return "", nil
}

func upstreamError(err error) *pbv1.UpstreamError {
	for _, d := range status.Convert(err).Details() {
		if ue, ok := d.(*pbv1.UpstreamError); ok {
			return ue
		}
	}
	return nil
}

func retryInfo(err error) *errdetails.RetryInfo {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri
		}
	}
	return nil
}

// toJSON renders a message for comparisons.
func toJSON(t testing.TB, m proto.Message) string {
	t.Helper()
	b, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// protojson output spacing is randomised; compact it.
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// setConfig sets the upstream's rest: block.
func setConfig(t testing.TB, u *bridge.Upstream, c Config) {
	t.Helper()
	var err error
	if u.Config, err = bridge.RawConfigOf(c); err != nil {
		t.Fatal(err)
	}
}
