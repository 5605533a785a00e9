package policy

import (
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestHasRules finds rules on a nested field and none where there are none,
// so routes without rules never inspect their requests.
func TestHasRules(t *testing.T) {
	rules := &descriptorpb.FieldOptions{}
	proto.SetExtension(rules, validate.E_Field, &validate.FieldRules{Type: &validate.FieldRules_String_{String_: &validate.StringRules{MinLen: proto.Uint64(1)}}})
	str, msg := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("rules_test.proto"), Package: proto.String("rt"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("s"), Number: proto.Int32(1), Type: str, Options: rules}}},
			{Name: proto.String("Outer"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("in"), Number: proto.Int32(1), Type: msg, TypeName: proto.String(".rt.Inner")}}},
			{Name: proto.String("Plain"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("s"), Number: proto.Int32(1), Type: str},
				{Name: proto.String("self"), Number: proto.Int32(2), Type: msg, TypeName: proto.String(".rt.Plain")},
			}},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[protoreflect.Name]bool{"Inner": true, "Outer": true, "Plain": false} {
		if got := hasRules(fd.Messages().ByName(name), map[protoreflect.FullName]bool{}); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}
