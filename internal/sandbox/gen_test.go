package sandbox

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/bridge"
)

// TestGenerateDelimitedRecursionStops: a recursive field encoded as a group
// (editions DELIMITED, proto2 groups) stops at maxDepth like any message
// field, instead of recursing until the stack overflows.
func TestGenerateDelimitedRecursionStops(t *testing.T) {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("node.proto"), Package: proto.String("test.v1"), Syntax: proto.String("editions"), Edition: descriptorpb.Edition_EDITION_2023.Enum(),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Node"), Field: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("name"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
			{Name: proto.String("child"), Number: proto.Int32(2), Type: descriptorpb.FieldDescriptorProto_TYPE_GROUP.Enum(), TypeName: proto.String(".test.v1.Node"), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
		}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().Get(0)
	child := md.Fields().Get(1)
	if k := child.Kind(); k != protoreflect.GroupKind {
		t.Fatalf("child kind = %v, want group", k)
	}
	g := &generator{r: rand.New(rand.NewPCG(1, 2)), items: 2}
	m := g.message(md, nil)
	depth := 0
	for cur := protoreflect.Message(m); cur.Has(child); cur = cur.Get(child).Message() {
		depth++
	}
	if depth != maxDepth {
		t.Fatalf("nesting depth = %d, want %d", depth, maxDepth)
	}
}

// TestGenerateBoundedByMessageBudget: a recursive repeated type with the
// most items allowed yields at most maxMessages messages per reply, and
// items beyond MaxItems are refused by Check.
func TestGenerateBoundedByMessageBudget(t *testing.T) {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("cat.proto"), Package: proto.String("test.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Category"), Field: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("name"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
			{Name: proto.String("children"), Number: proto.Int32(2), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".test.v1.Category"), Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()},
		}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().Get(0)
	children := md.Fields().ByName("children")
	var count func(protoreflect.Message) int
	count = func(m protoreflect.Message) int {
		n, l := 1, m.Get(children).List()
		for i := 0; i < l.Len(); i++ {
			n += count(l.Get(i).Message())
		}
		return n
	}
	g := &generator{r: rand.New(rand.NewPCG(1, 2)), items: MaxItems}
	for range 2 { // the budget is per reply
		if n := count(g.message(md, nil)); n > maxMessages || n < maxMessages/2 {
			t.Errorf("reply holds %d messages, want at most %d (and not far fewer)", n, maxMessages)
		}
	}
	if err := (&Config{Mock: MockConfig{Items: MaxItems + 1}}).Check(); err == nil || !strings.Contains(err.Error(), "sandbox.mock.items") {
		t.Errorf("Check of items %d = %v, want an error naming sandbox.mock.items", MaxItems+1, err)
	}
	for _, bad := range []*Config{{MaxEntries: MaxEntries + 1}, {MaxBodyBytes: MaxBodyBytes + 1}, {Mock: MockConfig{Interval: time.Hour}}} {
		if bad.Check() == nil {
			t.Errorf("%+v passed the check", bad)
		}
	}
	if err := (&Config{Mock: MockConfig{Items: MaxItems}}).Check(); err != nil {
		t.Errorf("Check of items %d = %v", MaxItems, err)
	}
}

// TestGenerateObeysValidateRules: mocked values obey a field's buf.validate
// rules the way protovalidate checks them — float ranges, repeated counts
// and the rules of each repeated entry, map sizes.
func TestGenerateObeysValidateRules(t *testing.T) {
	fd, err := protogen.Compile(context.Background(), "rules/v1/rules.proto", []byte(`syntax = "proto3";
package rules.v1;
import "buf/validate/validate.proto";
message Reading {
  float ratio = 1 [(buf.validate.field).float = {gt: 0.5, lt: 0.75}];
  float level = 2 [(buf.validate.field).float = {in: [2.5, 7.5]}];
  repeated string tags = 3 [(buf.validate.field).repeated = {min_items: 5, max_items: 6, items: {string: {min_len: 12}}}];
  repeated double samples = 4 [(buf.validate.field).repeated = {max_items: 1, items: {double: {gte: 100, lte: 101}}}];
  map<string, int32> counts = 5 [(buf.validate.field).map = {min_pairs: 3}];
}
`))
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().ByName("Reading")
	for seed := range uint64(20) {
		out := (&generator{r: newRand(seed), items: 2}).message(md, nil)
		if err := protovalidate.Validate(out); err != nil {
			t.Fatalf("seed %d: %v breaks its rules: %v", seed, out, err)
		}
	}
}

// TestGenerateBoundsLargeMinimums: min_items in a repeated message does not
// multiply into an unbounded reply: what minimums add beyond items is
// bounded per reply.
func TestGenerateBoundsLargeMinimums(t *testing.T) {
	fd, err := protogen.Compile(context.Background(), "big/v1/big.proto", []byte(`syntax = "proto3";
package big.v1;
import "buf/validate/validate.proto";
message Row { repeated float v = 1 [(buf.validate.field).repeated = {min_items: 5000}]; }
message Table { repeated Row rows = 1 [(buf.validate.field).repeated = {min_items: 5000}]; }
`))
	if err != nil {
		t.Fatal(err)
	}
	out := (&generator{r: newRand(1), items: 2}).message(fd.Messages().ByName("Table"), nil)
	rows := out.ProtoReflect().Get(fd.Messages().ByName("Table").Fields().ByName("rows")).List()
	values := 0
	for i := range rows.Len() {
		values += rows.Get(i).Message().Get(fd.Messages().ByName("Row").Fields().ByName("v")).List().Len()
	}
	if limit := maxExtraEntries + 2*(rows.Len()+1); values+rows.Len() > limit {
		t.Fatalf("%d rows and %d values, over %d", rows.Len(), values, limit)
	}
	if rows.Len() != 5000 {
		t.Errorf("%d rows, want the minimum 5000 while the allowance lasts", rows.Len())
	}
}

// TestRouteOfFrame: a shared socket's frame goes to the route whose
// request type takes it with the fewest fields left out.
func TestRouteOfFrame(t *testing.T) {
	fd, err := protogen.Compile(context.Background(), "q/v1/q.proto", []byte(`syntax = "proto3";
package q.v1;
message Wide { string id = 1; string sku = 2; string region = 3; }
message Narrow { string id = 1; string sku = 2; }
message Out { string id = 1; }
service Q { rpc GetWide(Wide) returns (Out); rpc GetNarrow(Narrow) returns (Out); }
`))
	if err != nil {
		t.Fatal(err)
	}
	ms := fd.Services().Get(0).Methods()
	wide, narrow := &bridge.Route{Method: ms.ByName("GetWide")}, &bridge.Route{Method: ms.ByName("GetNarrow")}
	routes := []*bridge.Route{wide, narrow}
	for frame, want := range map[string]*bridge.Route{
		`{"id":"1","sku":"a"}`:               narrow, // both take it; Narrow leaves nothing out
		`{"id":"1","sku":"a","region":"eu"}`: wide,   // only Wide takes it
		`{"other":1}`:                        wide,   // none takes it: the first
	} {
		if got := routeOfFrame(routes, []byte(frame)); got != want {
			t.Errorf("%s went to %s, want %s", frame, got.Method.Name(), want.Method.Name())
		}
	}
}
