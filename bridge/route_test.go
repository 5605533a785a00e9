package bridge

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"gopkg.in/yaml.v3"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestWithMethodCopiesEveryField sets every exported field of a Route and
// checks that WithMethod keeps all of them but the method: a field added
// to Route and forgotten there fails here.
func TestWithMethodCopiesEveryField(t *testing.T) {
	r := &Route{Upstream: &Upstream{Name: "u"}, HTTP: &annotations.HttpRule{}, Options: &pbv1.RouteOptions{},
		Encoding: "json", Timeout: time.Second, Open: true, StatusCodes: map[int]codes.Code{404: codes.NotFound},
		Config: NewRawConfig(&yaml.Node{}, "f"), Pos: Pos{File: "f", Line: 1}}
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() && f.Name != "Method" && v.Field(i).IsZero() {
			t.Fatalf("the test leaves Route.%s unset", f.Name)
		}
	}
	md := testMethod(t)
	c := r.WithMethod(md)
	cv := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "Method" {
			continue
		}
		if !reflect.DeepEqual(cv.Field(i).Interface(), v.Field(i).Interface()) {
			t.Errorf("WithMethod did not copy Route.%s", f.Name)
		}
	}
	if c.Method != md {
		t.Error("WithMethod did not set the method")
	}
}

// TestNameFollowsTheMethod checks that the cached name is the method's,
// including after the method changes.
func TestNameFollowsTheMethod(t *testing.T) {
	md := testMethod(t)
	r := &Route{Method: md}
	want := string(md.Parent().FullName()) + "/" + string(md.Name())
	if got := r.Name(); got != want {
		t.Fatalf("Name = %q, want %q", got, want)
	}
	if got := r.Name(); got != want {
		t.Fatalf("cached Name = %q, want %q", got, want)
	}
	other := md.Parent().(protoreflect.ServiceDescriptor).Methods().Get(1)
	r.Method = other
	if got, want := r.Name(), string(other.Parent().FullName())+"/"+string(other.Name()); got != want {
		t.Fatalf("Name after the method changed = %q, want %q", got, want)
	}
	if testing.AllocsPerRun(100, func() { _ = r.Name() }) != 0 {
		t.Error("Name allocates once cached")
	}
}

// testMethod returns the first of the two methods of a small service.
func testMethod(t *testing.T) protoreflect.MethodDescriptor {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("route_test.proto"), Package: proto.String("rt.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("S"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String("A"), InputType: proto.String(".rt.v1.M"), OutputType: proto.String(".rt.v1.M")},
			{Name: proto.String("B"), InputType: proto.String(".rt.v1.M"), OutputType: proto.String(".rt.v1.M")},
		}}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Services().Get(0).Methods().Get(0)
}
