package openapi

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

func generateFile(t *testing.T, path string, o Options) (*File, protoreflect.FileDescriptor) {
	t.Helper()
	s, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Package == "" {
		o.Package = DefaultPackage(s.Title)
	}
	f, err := Generate(s, o)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := Compile(context.Background(), strings.ReplaceAll(o.Package, ".", "/")+"/"+f.Name, f.Content)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.Content)
	}
	for _, p := range lint(fd) {
		t.Errorf("lint: %s", p)
	}
	return f, fd
}

// fieldDesc finds "Message.field" in fd.
func fieldDesc(t *testing.T, fd protoreflect.FileDescriptor, path string) protoreflect.FieldDescriptor {
	t.Helper()
	msg, name, _ := strings.Cut(path, ".")
	md := fd.Messages().ByName(protoreflect.Name(msg))
	for md != nil && strings.Contains(name, ".") {
		var outer string
		outer, name, _ = strings.Cut(name, ".")
		md = md.Messages().ByName(protoreflect.Name(outer))
	}
	if md == nil {
		t.Fatalf("no message for %s", path)
	}
	f := md.Fields().ByName(protoreflect.Name(name))
	if f == nil {
		t.Fatalf("no field %s", path)
	}
	return f
}

func kindOf(f protoreflect.FieldDescriptor) string {
	var s string
	switch {
	case f.IsMap():
		return "map<" + kindOf(f.MapKey()) + "," + kindOf(f.MapValue()) + ">"
	case f.IsList():
		s = "repeated "
	case f.HasOptionalKeyword():
		s = "optional "
	}
	if f.Message() != nil {
		return s + string(f.Message().FullName())
	}
	if f.Enum() != nil {
		return s + string(f.Enum().FullName())
	}
	return s + f.Kind().String()
}

func TestFeatures(t *testing.T) {
	f, fd := generateFile(t, "testdata/features.yaml", Options{})
	src := string(f.Content)
	for _, tc := range []struct{ field, kind, json string }{
		// allOf merged, Base's fields first; json_name as spelled.
		{"Message.id", "optional string", "id"},
		{"Message.created_at", "optional string", "created_at"},
		{"Message.max_tokens", "optional int32", "maxTokens"},
		{"Message.top_p", "optional float", "top_p"},
		{"Message.content", "optional string", "content"},
		{"Message.logit_bias", "map<string,int64>", "logit_bias"},
		{"Message.metadata", "google.protobuf.Struct", "metadata"},
		{"Message.payload", "optional bytes", "payload"},
		{"Message.seed", "optional int64", "seed"},
		{"Message.extra", "google.protobuf.Value", "extra"},
		{"Message.tags", "repeated string", "tags"},
		{"Message.matrix", "repeated google.protobuf.ListValue", "matrix"},
		{"Message.shape", "features.v1.Shape", "shape"},
		{"Message.anything", "google.protobuf.Value", "anything"},
		{"Message.maybe", "features.v1.Base", "maybe"},
		{"Message.ext", "features.v1.Extra", "ext"},
		{"Shape.circle", "features.v1.Shape.Circle", "circle"},
		{"Item.labels", "repeated string", "labels"},
		// String enums are enums (named: top level; inline: nested);
		// integer enums stay integers.
		{"Message.role", "optional features.v1.Message.Role", "role"},
		{"Message.state", "optional features.v1.State", "state"},
		{"Message.history", "repeated features.v1.State", "history"},
		{"Message.by_step", "map<string,features.v1.State>", "by_step"},
		{"Message.priority", "optional int64", "priority"},
		{"CreateChatCompletionRequest.x_request_id", "optional string", "X-Request-Id"},
		{"GetItemsItemIdRequest.item_id", "int64", "itemId"},
		{"GetItemsItemIdRequest.page_size", "optional int64", "page_size"},
		{"PutUploadRequest.body", "google.api.HttpBody", "body"},
	} {
		got := fieldDesc(t, fd, tc.field)
		if k := kindOf(got); k != tc.kind || got.JSONName() != tc.json {
			t.Errorf("%s: %s json %q, want %s json %q", tc.field, k, got.JSONName(), tc.kind, tc.json)
		}
	}
	if o := fieldDesc(t, fd, "Shape.circle").ContainingOneof(); o == nil || o.Fields().Len() != 2 {
		t.Errorf("Shape is not a oneof of two fields")
	}
	chat := fd.Services().ByName("ChatService").Methods().ByName("CreateChatCompletion")
	if chat == nil || !chat.IsStreamingServer() {
		t.Fatalf("CreateChatCompletion is not server-streaming: %v", chat)
	}
	lines := fd.Services().ByName("FeaturesService").Methods().ByName("StreamLines")
	if lines == nil || !lines.IsStreamingServer() {
		t.Fatalf("streamLines (NDJSON) is not server-streaming")
	}
	for _, want := range []string{
		"// Chat completions.\nservice ChatService {",
		`option (protobridge.v1.service).upstream = "features";`,
		"// 429: Too many requests\n  // default: Error",
		"post: \"/chat/completions\"\n      body: \"body\"\n      response_body: \"message\"",
		"get: \"/items/{item_id}\"",
		// A variable inside a segment stays there (the rest adapter's
		// templates accept it).
		"get: \"/files/{id}.json\"",
		"option (protobridge.v1.route).encoding = ENCODING_XML;",
		`option (protobridge.v1.xml_root) = {root: "item", namespace: "urn:x"};`,
		`[json_name = "id", (protobridge.v1.xml) = {attribute: true}]`,
		`(protobridge.v1.xml) = {name: "labels", wrapped: true, item: "label"}`,
		"// One of: system, user, assistant.",
		"  enum Role {\n    ROLE_UNSPECIFIED = 0;\n    ROLE_SYSTEM = 1 [(protobridge.v1.json_value) = \"system\"];",
		// null is left out; "DONE" and "done" differ only in case, which
		// protoc refuses within one enum.
		"// Where a task is.\nenum State {\n  STATE_UNSPECIFIED = 0;\n" +
			"  STATE_IN_PROGRESS = 1 [(protobridge.v1.json_value) = \"in-progress\"];\n" +
			"  STATE_DONE = 2 [(protobridge.v1.json_value) = \"done\"];\n" +
			"  STATE_1_0 = 3 [(protobridge.v1.json_value) = \"1.0\"];\n" +
			"  STATE_DONE_2 = 4 [(protobridge.v1.json_value) = \"DONE\"];\n}",
		"// Format: date-time.",
		"// A note from another file.",
		"option deprecated = true;",
		"// Required.",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	warnings := strings.Join(f.Warnings, "\n")
	for _, want := range []string{"cookie parameter \"session\""} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}
	if len(f.Routes) != 1 || f.Routes[0].Headers["x_request_id"] != "X-Request-Id" {
		t.Errorf("routes %+v", f.Routes)
	}
}

func TestSwagger2AndStub(t *testing.T) {
	f, fd := generateFile(t, "testdata/swagger.json", Options{Package: "old.v1"})
	for _, tc := range []struct{ field, kind, json string }{
		{"Pet.photo_urls", "repeated string", "photoUrls"},
		{"GetPetRequest.pet_id", "int64", "petId"},
		{"GetPetRequest.fields", "repeated string", "fields"},
		{"GetPetResponse.pet", "old.v1.Pet", "pet"},
		{"PostPetsRequest.body", "old.v1.Pet", "body"},
	} {
		got := fieldDesc(t, fd, tc.field)
		if k := kindOf(got); k != tc.kind || got.JSONName() != tc.json {
			t.Errorf("%s: %s json %q, want %s json %q", tc.field, k, got.JSONName(), tc.kind, tc.json)
		}
	}
	s, _ := Load("testdata/swagger.json", LoadOptions{})
	stub := string(ConfigStub(s, f, StubOptions{ImportPath: "../..", ProtoPath: "old/v1/" + f.Name}))
	for _, want := range []string{
		`base_url: "https://old.example.com/api"`,
		`#   basic: {username: EDIT, password: {env: OLD_API_PASSWORD}}`,
		`#   api_key: {query: "key", value: {env: OLD_API_API_KEY}}`,
		"kind: rest",
		`protos: ["old/v1/old_api.proto"]`,
	} {
		if !strings.Contains(stub, want) {
			t.Errorf("stub lacks %q:\n%s", want, stub)
		}
	}
	s3, _ := Load("testdata/features.yaml", LoadOptions{})
	f3, _ := Generate(s3, Options{Package: "features.v1"})
	stub3 := string(ConfigStub(s3, f3, StubOptions{}))
	for _, want := range []string{
		`base_url: "https://api.example.com/v2"`,
		`#   api_key: {header: "X-API-Key", value: {env: FEATURES_API_KEY}}`,
		`#   bearer: {env: FEATURES_TOKEN}`,
		`#   oauth2: {token_url: "https://id.example.com/token", client_id: EDIT, client_secret: {env: FEATURES_CLIENT_SECRET}, scopes: ["read"]}`,
		"- method: features.v1.ChatService/CreateChatCompletion\n    rest: {headers: {x_request_id: \"X-Request-Id\"}}",
	} {
		if !strings.Contains(stub3, want) {
			t.Errorf("stub lacks %q:\n%s", want, stub3)
		}
	}
}

// TestBadSpecs words problems with their position.
func TestBadSpecs(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/bad_yaml.yaml", "testdata/bad_yaml.yaml:4: invalid YAML"},
		{"testdata/bad_json.json", "testdata/bad_json.json:3: invalid JSON"},
		{"testdata/bad_version.json", "testdata/bad_version.json:1: openapi version 2.5.0 is not supported"},
		{"testdata/bad_ref.yaml", "testdata/bad_ref.yaml:12: "},
		{"testdata/missing.yaml", "no such file"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s, err := Load(tc.file, LoadOptions{})
			if err == nil {
				_, err = Generate(s, Options{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLockKeepsNumbers removes a property and adds one: numbers stay,
// the removed one is reserved.
func TestLockKeepsNumbers(t *testing.T) {
	s, _ := Load("testdata/swagger.json", LoadOptions{})
	f, _ := Generate(s, Options{Package: "old.v1"})
	pet := s.Lookup("#/definitions/Pet").Proxy.Schema()
	pet.Properties.Delete("name")
	pet.Properties.Set("age", pet.Properties.GetOrZero("photoUrls"))
	f2, err := Generate(s, Options{Package: "old.v1", Lock: f.Lock})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reserved 1;", `reserved "name";`, "repeated string photo_urls = 2", "repeated string age = 3"} {
		if !strings.Contains(string(f2.Content), want) {
			t.Errorf("lacks %q:\n%s", want, f2.Content)
		}
	}
}

// TestLockKeepsEnumNumbers drops an enum literal and inserts one before
// the others: the values keep their numbers, the dropped one is reserved.
func TestLockKeepsEnumNumbers(t *testing.T) {
	s, _ := Load("testdata/features.yaml", LoadOptions{})
	f, err := Generate(s, Options{Package: "features.v1"})
	if err != nil {
		t.Fatal(err)
	}
	state := s.Lookup("#/components/schemas/State").Proxy.Schema()
	state.Enum = append(state.Enum[3:4], state.Enum[:1]...) // [DONE, in-progress] + new below
	state.Enum[0].Value = "queued"
	f2, err := Generate(s, Options{Package: "features.v1", Lock: f.Lock})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"enum State {\n  reserved 2, 3, 4;\n  STATE_UNSPECIFIED = 0;\n",
		"STATE_QUEUED = 5 [(protobridge.v1.json_value) = \"queued\"];\n",
		"STATE_IN_PROGRESS = 1 [(protobridge.v1.json_value) = \"in-progress\"];\n",
	} {
		if !strings.Contains(string(f2.Content), want) {
			t.Errorf("lacks %q:\n%s", want, f2.Content)
		}
	}
}
