package wirejson

import (
	"context"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const namesProto = `syntax = "proto3";
package names;
message Req {
  int32 max_tokens = 1;
  string top_p = 2 [json_name = "topP"];
  string user_id = 3 [json_name = "UserID"];
  Inner inner_msg = 4;
  string plain = 5;
}
message Inner { bool stream_options = 1; }
`

func namesType(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	comp := protocompile.Compiler{SourceInfoMode: protocompile.SourceInfoStandard,
		Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{"names.proto": namesProto})}}
	fs, err := comp.Compile(context.Background(), "names.proto")
	if err != nil {
		t.Fatal(err)
	}
	return fs[0].Messages().ByName("Req")
}

func TestNames(t *testing.T) {
	md := namesType(t)
	msg := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(`{"maxTokens":5,"topP":"0.5","UserID":"u","innerMsg":{"streamOptions":true},"plain":"p"}`), msg); err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names Names
		want  string
	}{
		// An explicit json_name wins, even one equal to the lowerCamel
		// default (topP); otherwise the proto name as written.
		{NamesAsWritten, `{"max_tokens":5,"topP":"0.5","UserID":"u","inner_msg":{"stream_options":true},"plain":"p"}`},
		{NamesLowerCamel, `{"maxTokens":5,"topP":"0.5","UserID":"u","innerMsg":{"streamOptions":true},"plain":"p"}`},
	} {
		c, err := NewCodecOptions(md, Options{Names: tc.names})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.AppendJSON(nil, wire, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := sameJSON(got, []byte(tc.want)); err != nil {
			t.Errorf("names %d: %v", tc.names, err)
		}
		// Every spelling reads back.
		for _, doc := range []string{tc.want,
			`{"max_tokens":5,"top_p":"0.5","user_id":"u","inner_msg":{"stream_options":true},"plain":"p"}`,
			`{"maxTokens":5,"topP":"0.5","userId":"u","innerMsg":{"streamOptions":true},"plain":"p"}`} {
			back, err := c.AppendWire(nil, []byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", doc, err)
			}
			m2 := dynamicpb.NewMessage(md)
			if err := proto.Unmarshal(back, m2); err != nil || !proto.Equal(m2, msg) {
				t.Errorf("%s read back as %v (%v)", doc, m2, err)
			}
		}
	}
	if !ExplicitJSONName(md.Fields().ByName("top_p")) || ExplicitJSONName(md.Fields().ByName("max_tokens")) {
		t.Error("ExplicitJSONName")
	}
}
