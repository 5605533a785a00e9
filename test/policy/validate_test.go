package policy

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// TestValidationBeforeUpstream sends requests breaking buf.validate rules:
// they fail with INVALID_ARGUMENT and a BadRequest naming every field,
// and never reach the upstream.
func TestValidationBeforeUpstream(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	text := strings.Replace(config(up.srv.URL, "", ""), "protos: [fault/v1/fault.proto]", "protos: [fault/v1/fault.proto, validated/v1/validated.proto]", 1)
	b := startBridge(t, text)
	var md protoreflect.MethodDescriptor
	for _, r := range b.srv.Router.Routes() {
		if r.Name() == "validated.v1.SignupService/Signup" {
			md = r.Method
		}
	}
	signup := func(req string) error {
		in := dynamicpb.NewMessage(md.Input())
		if err := protojson.Unmarshal([]byte(req), in); err != nil {
			t.Fatal(err)
		}
		return b.conn.Invoke(ctx(t), "/validated.v1.SignupService/Signup", in, dynamicpb.NewMessage(md.Output()))
	}
	err := signup(`{"email": "not-an-address", "age": 12, "tags": ["ok", ""]}`)
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField()+" "+v.GetReason())
			}
		}
	}
	want := []string{"email string.email", "age int32.gte_lte", "tags[1] string.min_len"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("violations %q, want %q", got, want)
	}
	if up.count() != 0 {
		t.Fatalf("an invalid request reached the upstream")
	}
	if err := signup(`{"email": "a@example.com", "age": 30, "tags": ["ok"]}`); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	if up.count() != 1 {
		t.Fatalf("requests %d, want 1", up.count())
	}
	// validate: false lets the request through.
	off := startBridge(t, strings.Replace(text, "    timeout: 20s\n", "    timeout: 20s\n    policies: {validate: false}\n", 1))
	in := dynamicpb.NewMessage(md.Input())
	if err := off.conn.Invoke(ctx(t), "/validated.v1.SignupService/Signup", in, dynamicpb.NewMessage(md.Output())); err != nil || up.count() != 2 {
		t.Fatalf("with validate: false: %v, requests %d", err, up.count())
	}
}
