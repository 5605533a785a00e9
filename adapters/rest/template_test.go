package rest

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		tmpl    string
		want    string // segments rendered as lit|{field=pattern}, then :verb
		wantErr string
	}{
		{tmpl: "/", want: ""},
		{tmpl: "/v1/books", want: "v1|books"},
		{tmpl: "/v1/books/", want: "v1|books|"},
		{tmpl: "/v1/{name}", want: "v1|{name=*}"},
		{tmpl: "/v1/{inner.x}/y", want: "v1|{inner.x=*}|y"},
		{tmpl: "/v1/{name=shelves/*/books/*}", want: "v1|{name=shelves/*/books/*}"},
		{tmpl: "/v1/{name=files/**}", want: "v1|{name=files/**}"},
		{tmpl: "/v1/{name=**}:download", want: "v1|{name=**}:download"},
		{tmpl: "/v1/{name}:cancel", want: "v1|{name=*}:cancel"},
		{tmpl: "/v1/a:b/c", want: "v1|a:b|c"},
		{tmpl: "/v1/%7Euser/x", want: "v1|%7Euser|x"},
		{tmpl: "v1/books", wantErr: "must start with /"},
		{tmpl: "/v1/*", wantErr: "outside a variable"},
		{tmpl: "/v1/**/x", wantErr: "outside a variable"},
		{tmpl: "/v1/{name=**}/x", wantErr: "** must be the last"},
		{tmpl: "/v1/{name=a/**/b}", wantErr: "** must be the last"},
		{tmpl: "/v1/{name", wantErr: "unbalanced {"},
		{tmpl: "/v1/name}", wantErr: "unbalanced }"},
		{tmpl: "/v1/{a={b}}", wantErr: "cannot nest"},
		{tmpl: "/v1/x{name}", want: "v1|x+{name=*}"},
		{tmpl: "/files/{name}.json", want: "files|{name=*}+.json"},
		{tmpl: "/v{major}.{minor}/x", want: "v+{major=*}+.+{minor=*}|x"},
		{tmpl: "/files/{name}.json:get", want: "files|{name=*}+.json:get"},
		{tmpl: "/x/{a}:{b}", want: "x|{a=*}+:+{b=*}"},
		{tmpl: "/v1/{name=a/*}x", wantErr: "cannot have a pattern"},
		{tmpl: "/v1/{name}.{name}", wantErr: "bound twice"},
		{tmpl: "/v1/{name}x y", wantErr: "not allowed"},
		{tmpl: "/v1/{1name}", wantErr: "not a field path"},
		{tmpl: "/v1/{a..b}", wantErr: "not a field path"},
		{tmpl: "/v1/{name}/{name}", wantErr: "bound twice"},
		{tmpl: "/v1//books", wantErr: "empty segment"},
		{tmpl: "/v1/bo oks", wantErr: "not allowed"},
		{tmpl: "/v1/books?x=1", wantErr: "not allowed"},
		{tmpl: "/v1/{name=a b}", wantErr: "not allowed"},
		{tmpl: "/v1/x:", wantErr: "verb: empty segment"},
		{tmpl: "/:verb", wantErr: "needs a segment"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			got, err := parseTemplate(tt.tmpl)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			render := func(s segment) string {
				if s.v != nil {
					return "{" + s.v.field + "=" + strings.Join(s.v.pattern, "/") + "}"
				}
				return s.literal
			}
			for _, s := range got.segments {
				if s.mixed != nil {
					var mixed []string
					for _, m := range s.mixed {
						mixed = append(mixed, render(m))
					}
					parts = append(parts, strings.Join(mixed, "+"))
					continue
				}
				parts = append(parts, render(s))
			}
			r := strings.Join(parts, "|")
			if got.verb != "" {
				r += ":" + got.verb
			}
			if r != tt.want {
				t.Errorf("got %q, want %q", r, tt.want)
			}
		})
	}
}

func TestTemplateBind(t *testing.T) {
	md := messageDesc("GetBookRequest")
	tests := []struct{ tmpl, wantErr string }{
		{"/v1/{name}", ""},
		{"/v1/{inner.deeper.x}", ""},
		{"/v1/{nope}", `has no field "nope"`},
		{"/v1/{inner.nope}", `test.v1.Inner has no field "nope"`},
		{"/v1/{tag}", "field is repeated"},
		{"/v1/{inner}", "field is a message"},
		{"/v1/{labels}", "field is a map"},
		{"/v1/{name.x}", "is a string, so it cannot hold"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tmpl, err := parseTemplate(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			err = tmpl.bind(md)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTemplateExpand(t *testing.T) {
	md := messageDesc("GetBookRequest")
	tests := []struct {
		tmpl, req string
		want      string
		wantErr   string // substring of an INVALID_ARGUMENT message
	}{
		{"/", `{}`, "/", ""},
		{"/v1/books/", `{}`, "/v1/books/", ""},
		{"/v1/{name}", `{"name":"a b/c?d%e"}`, "/v1/a%20b%2Fc%3Fd%25e", ""},
		{"/v1/{name}", `{"name":"üñí~._-"}`, "/v1/%C3%BC%C3%B1%C3%AD~._-", ""},
		{"/v1/{name}:cancel", `{"name":"x"}`, "/v1/x:cancel", ""},
		{"/v1/{inner.x}/{inner.n}", `{"inner":{"x":"a","n":"9007199254740993"}}`, "/v1/a/9007199254740993", ""},
		{"/v1/{inner.deeper.x}", `{"inner":{"deeper":{"x":"deep"}}}`, "/v1/deep", ""},
		{"/v1/{name=shelves/*/books/*}", `{"name":"shelves/s 1/books/b:2"}`, "/v1/shelves/s%201/books/b%3A2", ""},
		{"/v1/{name=files/**}", `{"name":"files/a/b/c.txt"}`, "/v1/files/a/b/c.txt", ""},
		{"/v1/{name=**}", `{"name":"a/b"}`, "/v1/a/b", ""},
		{"/v1/{color}/{big}/{flag}/{id}", `{"color":"GREEN","big":"-9223372036854775808","flag":true,"id":"18446744073709551615"}`, "/v1/GREEN/-9223372036854775808/true/18446744073709551615", ""},
		{"/v1/{blob}", `{"blob":"+/8="}`, "/v1/-_8%3D", ""},
		{"/v1/{ratio}", `{"ratio":1.5}`, "/v1/1.5", ""},
		{"/v1/{name}", `{}`, "", "name (bound to the URL path) is not set"},
		{"/v1/{inner.x}", `{}`, "", "inner.x (bound to the URL path) is not set"},
		{"/v1/{inner.x}", `{"inner":{}}`, "", "inner.x (bound to the URL path) is not set"},
		{"/v1/{opt}", `{"opt":0}`, "/v1/0", ""},
		{"/v1/{opt}", `{}`, "", "opt (bound to the URL path) is not set"},
		{"/v1/{name=shelves/*/books/*}", `{"name":"shelves/1/books"}`, "", "too few segments"},
		{"/v1/{name=shelves/*/books/*}", `{"name":"shelves/1/books/2/x"}`, "", "too many segments"},
		{"/v1/{name=shelves/*/books/*}", `{"name":"racks/1/books/2"}`, "", `segment "racks" should be "shelves"`},
		{"/v1/{name=shelves/*}", `{"name":"shelves//"}`, "", "empty path segment"},
		{"/v1/{name=files/**}", `{"name":"files/../../admin"}`, "", `path segment ".."`},
		{"/v1/{name}", `{"name":".."}`, "", `path segment ".."`},
		// Variables inside a segment: each value escaped on its own.
		{"/files/{name}.json", `{"name":"a b/c"}`, "/files/a%20b%2Fc.json", ""},
		{"/files/{name}.json", `{"name":".."}`, "/files/...json", ""},
		{"/v{opt}.{ratio}/{color}:{name}", `{"opt":2,"ratio":1.5,"color":"RED","name":"x"}`, "/v2.1.5/RED:x", ""},
		{"/files/{name}.json", `{}`, "", "name (bound to the URL path) is not set"},
		{"/files/{shelf}-{name}", `{"shelf":"s"}`, "", "name (bound to the URL path) is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+" "+tt.req, func(t *testing.T) {
			tmpl, err := parseTemplate(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if err := tmpl.bind(md); err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.expand(newMsg(t, md, tt.req))
			if tt.wantErr != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want INVALID_ARGUMENT %q", err, tt.wantErr)
				}
				if reason, meta := errorInfo(err); reason != "INVALID_PATH_FIELD" || meta["field"] == "" {
					t.Errorf("ErrorInfo = %s %v", reason, meta)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"/v1/{name=shelves/*/books/*}:get", "/v1/{a.b.c}/x/{d=**}", "/", "/a:b/c", "/{x", "/v1/%zz"} {
		f.Add(s)
	}
	md := messageDesc("GetBookRequest")
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := parseTemplate(s)
		if err != nil {
			return
		}
		if err := tmpl.bind(md); err != nil {
			return
		}
		// A bound template expands or fails with INVALID_ARGUMENT, never panics.
		m := newMsg(t, md, `{"name":"a/b","shelf":"s","inner":{"x":"1","deeper":{"x":"2"}}}`)
		if _, err := tmpl.expand(m); err != nil && status.Code(err) != codes.InvalidArgument {
			t.Fatalf("expand(%q): %v", s, err)
		}
	})
}
