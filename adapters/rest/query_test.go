package rest

import (
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
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
				skip.add(p)
			}
			q := url.Values{}
			if err := appendQuery(q, newMsg(t, md, tt.req), "", skip); err != nil {
				t.Fatal(err)
			}
			if got := q.Encode(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCheckQuery(t *testing.T) {
	tests := []struct {
		msg     string
		skip    string
		wantErr string
	}{
		{"GetBookRequest", "", ""},
		{"WithStruct", "", "meta (google.protobuf.Struct) cannot be sent as a query parameter"},
		{"WithStruct", "meta", ""},
		{"WithRepeatedMsg", "", "items is a repeated message"},
		{"Inner", "", ""}, // recursive type terminates
	}
	for _, tt := range tests {
		t.Run(tt.msg+"/"+tt.skip, func(t *testing.T) {
			md := messageDesc(tt.msg)
			skip := fieldTree{}
			if tt.skip != "" {
				skip.add(fieldPath{md.Fields().ByName(protoreflect.Name(tt.skip))})
			}
			err := checkQuery(md, skip, "", map[protoreflect.FullName]bool{})
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
