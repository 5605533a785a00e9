package rest

import (
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/internal/wirejson"
)

func TestAppendQuery(t *testing.T) {
	md := messageDesc("GetBookRequest")
	name := fieldPath{md.Fields().ByName("name")}
	innerX := fieldPath{md.Fields().ByName("inner"), messageDesc("Inner").Fields().ByName("x")}
	tests := []struct {
		name string
		req  string
		skip []fieldPath
		want string // url.Values.Encode form (sorted by key)
	}{
		{"empty", `{}`, nil, ""},
		{"defaults are not sent", `{"name":"","big":"0","flag":false,"color":"COLOR_UNSPECIFIED"}`, nil, ""},
		{"presence sends zero", `{"opt":0}`, nil, "opt=0"},
		{"scalars", `{"name":"a b&c","flag":true,"ratio":0.25,"id":"18446744073709551615"}`, nil, "flag=true&id=18446744073709551615&name=a+b%26c&ratio=0.25"},
		{"int64 exact", `{"big":"9007199254740993"}`, nil, "big=9007199254740993"},
		{"repeated", `{"tag":["a","b","a"]}`, nil, "tag=a&tag=b&tag=a"},
		{"enums by name", `{"color":"RED","colors":["GREEN",7]}`, nil, "color=RED&colors=GREEN&colors=7"},
		{"nested dotted", `{"inner":{"x":"1","n":"2","tags":["p","q"],"deeper":{"x":"z"}}}`, nil, "inner.deeper.x=z&inner.n=2&inner.tags=p&inner.tags=q&inner.x=1"},
		{"bytes url-safe", `{"blob":"+/8="}`, nil, "blob=-_8%3D"},
		{"maps skipped", `{"labels":{"k":"v"}}`, nil, ""},
		{"well-known types", `{"since":"2024-01-02T03:04:05Z","wrapped":"-5"}`, nil, "since=2024-01-02T03%3A04%3A05Z&wrapped=-5"},
		{"path field skipped", `{"name":"n","shelf":"s"}`, []fieldPath{name}, "shelf=s"},
		{"nested path field skipped, siblings kept", `{"inner":{"x":"1","n":"2"}}`, []fieldPath{innerX}, "inner.n=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skip := fieldTree{}
			for _, p := range tt.skip {
				skip.Add(p)
			}
			q := url.Values{}
			if err := appendQuery(q, newMsg(t, md, tt.req), "", skip, wirejson.NamesAsWritten); err != nil {
				t.Fatal(err)
			}
			if got := q.Encode(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAppendQueryRefuses(t *testing.T) {
	tests := []struct{ msg, req, wantErr string }{
		{"WithStruct", `{"meta":{"a":1}}`, "meta is a message (google.protobuf.Struct)"},
		{"WithRepeatedMsg", `{"items":[{"x":"1"}]}`, "items is repeated"},
		{"WithRepeatedMsg", `{"name":"unset items are fine"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			err := appendQuery(url.Values{}, newMsg(t, messageDesc(tt.msg), tt.req), "", fieldTree{}, wirejson.NamesAsWritten)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && status.Code(err) != codes.InvalidArgument {
				t.Errorf("code %v", status.Code(err))
			}
		})
	}
}
