package rest

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestInt64AsNumbers(t *testing.T) {
	cases := []struct {
		msg, in, want string
	}{
		{"CreateBookRequest", `{"book":{"id":"-9223372036854775808","title":"9"},"requestId":"1"}`,
			`{"book":{"id":-9223372036854775808,"title":"9"},"requestId":"1"}`},
		{"Plain", `{ "a" : "12", "nums" : [ "1" , "-2" ] }`, `{"a":"12","nums":[1,-2]}`},
		{"Wrapper", `{"counts":{"a":"18446744073709551615","b":"0"},"note":"\"x\\"}`,
			`{"counts":{"a":18446744073709551615,"b":0},"note":"\"x\\"}`},
		{"GetBookRequest", `{"wrapped":"5","big":"7","since":"2026-01-01T00:00:00Z","labels":{"k":"1"},"id":"3","inner":{"x":"4"}}`,
			`{"wrapped":5,"big":7,"since":"2026-01-01T00:00:00Z","labels":{"k":"1"},"id":3,"inner":{"x":"4"}}`},
		{"Plain", `{"unknown":{"deep":["1",{"x":null}]},"nums":[]}`, `{"unknown":{"deep":["1",{"x":null}]},"nums":[]}`},
	}
	for _, c := range cases {
		got, err := int64AsNumbers([]byte(c.in), messageDesc(c.msg))
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	for _, bad := range []string{`{"a":`, `{"a" "b"}`, `["x"`, `{"nums":["1"]`, `{} x`} {
		if _, err := int64AsNumbers([]byte(bad), messageDesc("Plain")); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if !has64(messageDesc("CreateBookRequest")) || has64(messageDesc("Price")) {
		t.Error("has64 wrong")
	}
}

// TestInt64AsNumbersMatchesProtojson checks that the rewrite of protojson's
// output parses back to the same message with every 64-bit value a number.
func TestInt64AsNumbersMatchesProtojson(t *testing.T) {
	md := messageDesc("GetBookRequest")
	m := newMsg(t, md, `{"name":"n","big":"-9007199254740993","id":"18446744073709551615","wrapped":"42","inner":{"x":"1"},"labels":{"a":"b"},"colors":["RED"]}`)
	for i := 0; i < 20; i++ { // protojson's spacing is randomised per process; vary inputs a little
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := int64AsNumbers(b, md)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(got, []byte(`"-9007199254740993"`)) || !bytes.Contains(got, []byte(`-9007199254740993`)) || !bytes.Contains(got, []byte(`:42`)) {
			t.Fatalf("not rewritten: %s", got)
		}
		back := newMsg(t, md, "")
		if err := protojson.Unmarshal(got, back); err != nil {
			t.Fatalf("rewritten JSON does not parse back: %v\n%s", err, got)
		}
		if !json.Valid(got) || !proto.Equal(back, m) {
			t.Fatalf("round trip differs: %s", got)
		}
	}
}
