package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// adoptProto is the caller's contract: flat, its own names, none of the
// Petstore's nesting or spelling.
const adoptProto = `syntax = "proto3";
package adopt.v1;

service AdoptionService {
  rpc Adopt(AdoptRequest) returns (Adoption);
  rpc CheckPet(CheckPetRequest) returns (PetStatus);
}

message AdoptRequest {
  string pet_name = 1;
  string species = 2;
  repeated string labels = 3;
  string photo = 4;
}

message Adoption {
  int64 pet_id = 1;
  string label = 2;
  int32 photos = 3;
}

message CheckPetRequest { int64 id = 1; }
message PetStatus { string status = 1; }
`

// mappingConfig maps the caller's messages onto Petstore operations served
// by Prism: addPet with a JSON body unlike AdoptRequest, and getPetById
// with guards on the request and on the reply's body.
const mappingConfig = `server:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [PROTOS, ADOPT]
  protos: [petstore/v1/petstore.proto, adopt/v1/adopt.proto]
auth:
  open: true
upstreams:
  petstore:
    kind: rest
    base_url: BASE
    timeout: 10s
    headers:
      Authorization: Bearer demo-token
routes:
  - method: adopt.v1.AdoptionService/Adopt
    upstream: petstore
    http: {post: /pet, body: pet}
    map:
      request_type: petstore.v1.AddPetRequest
      reply_type: petstore.v1.Pet
      request:
        pet.name: request.pet_name
        pet.category.name: 'request.species == "" ? "Dogs" : request.species'
        pet.photo_urls: '[request.photo]'
        pet.tags: 'request.labels.map(l, petstore.v1.Tag{name: l})'
        pet.status: '"pending"'
      reply:
        pet_id: reply.id
        label: 'reply.name + " (" + reply.category.name + ")"'
        photos: size(reply.photo_urls)
  - method: adopt.v1.AdoptionService/CheckPet
    upstream: petstore
    http: {get: "/pet/{pet_id}"}
    map:
      request_type: petstore.v1.GetPetByIdRequest
      reply_type: petstore.v1.Pet
      request: {pet_id: request.id}
      reply: {status: reply.status}
    guards:
      request:
        - name: positive_id
          fail: request.id <= 0
          message: '"pet ids start at 1, not " + string(request.id)'
      reply:
        - name: sold_only
          fail: reply.status != "sold"
          code: FAILED_PRECONDITION
          message: '"pet " + reply.name + " is " + reply.status'
`

// TestPrismMapping calls Petstore operations mocked by Prism through
// routes whose messages differ from the API's JSON. Prism validates every
// request against the spec, so a call that passes was mapped as it says.
func TestPrismMapping(t *testing.T) {
	t.Parallel()
	base := startPrism(t)
	dir := t.TempDir()
	proc.WriteFile(t, filepath.Join(dir, "adopt", "v1"), "adopt.proto", adoptProto)
	text := strings.NewReplacer("PROTOS", filepath.Join(root, "examples", "petstore", "proto"), "ADOPT", dir, "BASE", base).Replace(mappingConfig)
	d := startDaemon(t, proc.WriteFile(t, dir, "mapping.yaml", text))
	client := pbv1.NewBridgeServiceClient(d.conn)
	invoke := func(method, payload string) (map[string]any, error) {
		var p structpb.Struct
		if err := protojson.Unmarshal([]byte(payload), &p); err != nil {
			t.Fatal(err)
		}
		resp, err := client.Invoke(callCtx(t), &pbv1.InvokeRequest{Method: method, Payload: &p})
		return resp.GetResult().AsMap(), err
	}

	t.Run("Adopt", func(t *testing.T) {
		got, err := invoke("adopt.v1.AdoptionService/Adopt", `{"pet_name":"rex","species":"Dogs","labels":["new"],"photo":"rex.jpg"}`)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		// Prism answers with the spec's example pet, mapped back.
		if want := `{"label":"doggie (Dogs)","petId":"10","photos":1}`; string(b) != want {
			t.Errorf("reply %s, want %s", b, want)
		}
		// Without a name the mapped body has none: the spec requires one,
		// and Prism refuses it.
		_, err = invoke("adopt.v1.AdoptionService/Adopt", `{"photo":"x.jpg"}`)
		info, _ := wantStatus(t, err, codes.InvalidArgument)
		wantErrorInfo(t, info, "UPSTREAM_HTTP_422", map[string]string{"upstream": "petstore"})
	})

	t.Run("CheckPet/reply guard", func(t *testing.T) {
		_, err := invoke("adopt.v1.AdoptionService/CheckPet", `{"id":10}`)
		info, _ := wantStatus(t, err, codes.FailedPrecondition)
		wantErrorInfo(t, info, "GUARD_FAILED", map[string]string{"guard": "sold_only", "method": "adopt.v1.AdoptionService/CheckPet"})
		if !strings.Contains(err.Error(), "pet doggie is available") {
			t.Errorf("status %v, want the guard's message", err)
		}
	})

	t.Run("CheckPet/request guard", func(t *testing.T) {
		_, err := invoke("adopt.v1.AdoptionService/CheckPet", `{"id":-3}`)
		info, _ := wantStatus(t, err, codes.InvalidArgument)
		wantErrorInfo(t, info, "GUARD_FAILED", map[string]string{"guard": "positive_id"})
		if !strings.Contains(err.Error(), "pet ids start at 1, not -3") {
			t.Errorf("status %v, want the guard's message", err)
		}
	})
}
