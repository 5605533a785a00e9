package rest

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
)

// enumProto has enum values with (protobridge.v1.json_value) literals, as
// `gen openapi` writes them.
const enumProto = `
syntax = "proto3";
package enums.v1;

import "protobridge/v1/options.proto";

enum Mood {
  MOOD_UNSPECIFIED = 0;
  MOOD_GLAD = 1 [(protobridge.v1.json_value) = "glad-ish"];
  MOOD_SAD = 2 [(protobridge.v1.json_value) = "sad"];
}

message Feeling {
  Mood mood = 1;
  repeated Mood moods = 2;
}
message Days { map<string, Mood> by_day = 1; }
message FeelRequest {
  Mood mood = 1;
  Feeling feeling = 2;
  repeated Mood also = 3;
  Days days = 4;
}
message Feelings { repeated Feeling items = 1; }

service Moods {
  rpc Feel(FeelRequest) returns (Feeling);
  rpc FeelAll(FeelRequest) returns (Feelings);
}
`

// TestEnumLiterals: enum values travel as their json_value literal in the
// path, the query string and JSON and XML bodies, on the fast and the
// dynamic path and with json_names lower_camel; replies may spell a value
// as its literal or its name, in a whole reply, a response_body message
// or a repeated response_body.
func TestEnumLiterals(t *testing.T) {
	fd := compileProto(enumProto)
	svc := fd.Services().ByName("Moods")
	rec := &recorder{ctype: "application/json"}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	const feeling = `{"mood":"MOOD_SAD","moods":["MOOD_GLAD","MOOD_SAD"]}`
	for _, tc := range []struct {
		name, method, encoding string
		rule                   *annotations.HttpRule
		names                  string
		reply, replyType       string
		wantURL, wantBody      string
		wantReply              string
	}{
		{name: "path, query and body", method: "Feel", rule: post("/v1/{mood}", "feeling"),
			reply:   `{"mood":"glad-ish","moods":["sad","MOOD_GLAD"]}`,
			wantURL: "/v1/glad-ish?also=sad&also=glad-ish", wantBody: `{"mood":"sad","moods":["glad-ish","sad"]}`,
			wantReply: `{"mood":"MOOD_GLAD","moods":["MOOD_SAD","MOOD_GLAD"]}`},
		{name: "body star with a map", method: "Feel", rule: post("/v1/feel", "*"),
			reply:   `{"mood":"sad"}`,
			wantURL: "/v1/feel", wantBody: `{"mood":"glad-ish","feeling":{"mood":"sad","moods":["glad-ish","sad"]},"also":["sad","glad-ish"],"days":{"by_day":{"mon":"glad-ish"}}}`,
			wantReply: `{"mood":"MOOD_SAD"}`},
		{name: "lower_camel", method: "Feel", rule: post("/v1/feel", "*"), names: "lower_camel",
			reply:   `{"mood":"glad-ish"}`,
			wantURL: "/v1/feel", wantBody: `{"mood":"glad-ish","feeling":{"mood":"sad","moods":["glad-ish","sad"]},"also":["sad","glad-ish"],"days":{"byDay":{"mon":"glad-ish"}}}`,
			wantReply: `{"mood":"MOOD_GLAD"}`},
		{name: "repeated response_body", method: "FeelAll", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/{mood}"}, ResponseBody: "items"},
			reply: `[{"mood":"sad"},{"moods":["glad-ish"]}]`, wantURL: "/v1/glad-ish?also=sad&also=glad-ish",
			wantReply: `{"items":[{"mood":"MOOD_SAD"},{"moods":["MOOD_GLAD"]}]}`},
		{name: "xml", method: "Feel", encoding: "xml", rule: post("/v1/x/{mood}", "feeling"), replyType: "application/xml",
			reply:   `<Feeling><mood>glad-ish</mood><moods>sad</moods><moods>MOOD_GLAD</moods></Feeling>`,
			wantURL: "/v1/x/glad-ish?also=sad&also=glad-ish", wantBody: `<mood>sad</mood><moods>glad-ish</moods><moods>sad</moods>`,
			wantReply: `{"mood":"MOOD_GLAD","moods":["MOOD_SAD","MOOD_GLAD"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := testUpstream(srv.URL)
			u.MaxRequestBytes, u.MaxResponseBytes = 1<<20, 1<<20
			setConfig(t, u, Config{JSONNames: tc.names})
			r := newRoute(u, "GetBook", tc.rule, tc.encoding)
			r.Method = svc.Methods().ByName(protoreflect.Name(tc.method))
			ep := bindRoute(t, r)
			rec.reply, rec.ctype = tc.reply, "application/json"
			if tc.replyType != "" {
				rec.ctype = tc.replyType
			}
			in := newMsg(t, r.Method.Input(), `{"mood":"MOOD_GLAD","feeling":`+feeling+`,"also":["MOOD_SAD","MOOD_GLAD"],"days":{"byDay":{"mon":"MOOD_GLAD"}}}`)
			if tc.rule.GetBody() != "*" {
				// Only a whole-request body carries the message fields.
				in.Clear(r.Method.Input().Fields().ByName("days"))
				if tc.rule.GetBody() == "" {
					in.Clear(r.Method.Input().Fields().ByName("feeling"))
				}
			}
			wire, err := proto.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range []proto.Message{bridge.NewWireMessage(r.Method.Input(), wire), in} {
				out, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: req})
				if err != nil {
					t.Fatalf("%T: %v", req, err)
				}
				got := rec.last()
				if got.url != tc.wantURL {
					t.Errorf("%T: URL %s, want %s", req, got.url, tc.wantURL)
				}
				switch {
				case tc.encoding == "xml":
					if !strings.Contains(string(got.body), tc.wantBody) {
						t.Errorf("%T: body %s, want it to hold %s", req, got.body, tc.wantBody)
					}
				case tc.wantBody != "":
					if !reflect.DeepEqual(jsonValue(t, got.body), jsonValue(t, []byte(tc.wantBody))) {
						t.Errorf("%T: body %s, want %s", req, got.body, tc.wantBody)
					}
				}
				if g, w := jsonValue(t, []byte(toJSON(t, out))), jsonValue(t, []byte(tc.wantReply)); !reflect.DeepEqual(g, w) {
					t.Errorf("%T: reply %s, want %s", req, toJSON(t, out), tc.wantReply)
				}
			}
		})
	}
}
