package mapping_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/schema"
)

const shopProto = `syntax = "proto3";
package shop.v1;

import "protobridge/v1/options.proto";

service Shop {
  option (protobridge.v1.service).upstream = "up";
  rpc Adopt(AdoptRequest) returns (AdoptReply);
  rpc Summary(AdoptRequest) returns (AdoptReply);
}

message AdoptRequest {
  string pet_name = 1;
  string species = 2;
  int32 age = 3;
}

message AdoptReply {
  int64 pet_id = 1;
  string label = 2;
}

message UpPet {
  string name = 1;
  UpCategory category = 2;
}
message UpCategory { string name = 1; }
message UpRequest { UpPet pet = 1; }
`

// build writes the shop proto and config text (after a common head) and
// builds the route table, returning its problems as text.
func build(t *testing.T, routes string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.proto"), []byte(shopProto), 0o600); err != nil {
		t.Fatal(err)
	}
	text := `descriptors:
  import_paths: [.]
  protos: [shop.proto]
auth: {open: true}
upstreams:
  up:
    kind: rest
    base_url: http://127.0.0.1:9
routes:
` + routes
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return path, err.Error()
	}
	tab, err := router.Build(context.Background(), cfg, router.Options{})
	if err != nil {
		return path, err.Error()
	}
	_ = tab.Close()
	return path, ""
}

// TestBadExpressions checks that type errors are reported at the line of
// the expression that has them (line 10 is the first routes: entry).
func TestBadExpressions(t *testing.T) {
	for _, tc := range []struct {
		name, routes string
		want         []string
	}{
		{"field type", `  - method: shop.v1.Shop/Adopt
    upstream: up
    map:
      request_type: shop.v1.UpRequest
      request:
        pet.name: request.pet_name
        pet.category.name: request.age
`, []string{":16: map.request field pet.category.name: ", "'string' but provided type is 'int'"}},
		{"unknown field", `  - method: shop.v1.Shop/Adopt
    upstream: up
    map:
      request_type: shop.v1.UpRequest
      request:
        pet.nmae: request.pet_name
`, []string{":15: map.request: shop.v1.UpPet has no field \"nmae\" (did you mean name?)"}},
		{"undeclared variable, block scalar", `  - method: shop.v1.Shop/Adopt
    upstream: up
    map:
      reply: |
        shop.v1.AdoptReply{
          label: replyy.label}
`, []string{":15: map.reply: undeclared reference to 'replyy'"}},
		{"guard not bool", `  - method: shop.v1.Shop/Adopt
    upstream: up
    guards:
      reply:
        - fail: reply.label
          code: FAILED_PRECONDITION
`, []string{":14: guards.reply[0].fail gives string, want bool"}},
		{"unknown type", `  - method: shop.v1.Shop/Adopt
    upstream: up
    map: {request_type: shop.v1.Nope, request: 'request'}
`, []string{":12: map.request_type: message \"shop.v1.Nope\" is not in the loaded descriptors"}},
		{"step cycle", `  - method: shop.v1.Shop/Adopt
    http: {post: /adopt, body: "*"}
  - method: shop.v1.Shop/Summary
    steps:
      - name: a
        call: shop.v1.Shop/Adopt
        request: {pet_name: b.label}
      - name: b
        call: shop.v1.Shop/Adopt
        request: {pet_name: a.label}
    reply: {label: a.label}
`, []string{":12: shop.v1.Shop/Summary: steps read each other in a cycle: a → b → a"}},
		{"optional step read as a message", `  - method: shop.v1.Shop/Adopt
    http: {post: /adopt, body: "*"}
  - method: shop.v1.Shop/Summary
    steps:
      - name: a
        call: shop.v1.Shop/Adopt
        optional: true
        request: {pet_name: request.pet_name}
    reply: {label: a.label}
`, []string{":18: reply field label: ", "optional_type(shop.v1.AdoptReply)"}},
		{"step calls unknown route", `  - method: shop.v1.Shop/Adopt
    http: {post: /adopt, body: "*"}
  - method: shop.v1.Shop/Summary
    steps:
      - name: a
        call: shop.v1.Shop/Nope
        request: {pet_name: request.pet_name}
    reply: {label: '"x"'}
`, []string{":14: step \"a\" calls shop.v1.Shop/Nope, which no route serves"}},
		{"config: step name, upstream and guard code", `  - method: shop.v1.Shop/Summary
    upstream: up
    guards:
      request: [{fail: 'true', code: NOPE}]
    steps:
      - name: Bad-Name
        call: shop.v1.Shop/Adopt
        request: {pet_name: '""'}
    reply: {label: '""'}
`, []string{":10: route \"shop.v1.Shop/Summary\" has steps: and an upstream binding", ":13: guard code \"NOPE\" is not known",
			":15: step name \"Bad-Name\" is not a CEL identifier"}},
		{"config: reply without steps", `  - method: shop.v1.Shop/Summary
    reply: {label: '""'}
`, []string{":11: reply: without steps:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, got := build(t, tc.routes)
			if got == "" {
				t.Fatal("the config built")
			}
			if strings.Contains(got, "matches no loaded method") {
				t.Errorf("problems:\n%s\nsay a route with a bad expression matches no method", got)
			}
			for _, w := range tc.want {
				if strings.HasPrefix(w, ":") {
					w = path + w
				}
				if !strings.Contains(got, w) {
					t.Errorf("problems:\n%s\nwant %q", got, w)
				}
			}
		})
	}
	if _, got := build(t, `  - method: shop.v1.Shop/Adopt
    upstream: up
    http: {post: /pet, body: pet}
    map:
      request_type: shop.v1.UpRequest
      request:
        pet.name: request.pet_name
        ?pet.category.name: 'request.species != "" ? optional.of(request.species) : optional.none()'
      reply: {label: '"#" + string(reply.pet_id)'}
      headers: {X-Age: string(request.age)}
      query: {tag: request.species}
  - method: shop.v1.Shop/Summary
    steps:
      - name: a
        call: shop.v1.Shop/Adopt
        request: {pet_name: request.pet_name}
    reply: {label: a.label}
`); got != "" {
		t.Errorf("a good config: %s", got)
	}
}

// TestConfigsPassTheSchema checks the CEL configs of these tests against
// the config's JSON Schema, which editors use.
func TestConfigsPassTheSchema(t *testing.T) {
	for name, text := range map[string]string{"desk": deskRoutes, "api": apiRoutes, "bench": benchCEL} {
		if ps := schema.Check(name+".yaml", []byte(text)); len(ps) > 0 {
			t.Errorf("%s: %v", name, ps)
		}
	}
	bad := "routes:\n  - method: a.B/C\n    map: {request: {\"pet..name\": x}}\n    steps: [{name: a, cal: a.B/D}]\n"
	if ps := schema.Check("bad.yaml", []byte(bad)); len(ps) != 2 {
		t.Errorf("a bad field path and an unknown step key: %v", ps)
	}
}
