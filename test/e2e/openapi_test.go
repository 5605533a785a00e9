package e2e

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi/datamodel/high/base"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/rest/openapi"
	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/internal/wirejson"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// prismSpec runs Prism mocking spec on a free port and returns its URL.
func prismSpec(t *testing.T, spec string) string {
	t.Helper()
	prism := testenv.Peer(t, ".bin/prism")
	_, err := os.Stat(spec)
	testenv.Require(t, "OpenAPI spec "+spec, "the specs come from ../shared/corpus", err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	// --errors: a request that does not match the spec is a 422, never
	// a best-effort answer.
	p := proc.Start(t, "", nil, prism, "mock", "--errors", "-d=false", "-h", "127.0.0.1", "-p", port, spec)
	m, ok := p.Out.Wait(prismListeningRE)
	if !ok {
		t.Fatalf("prism exited before listening: %v\n%s", p.Err(), p.Out)
	}
	return m[1]
}

var credentialLine = regexp.MustCompile(`(?m)^    #   ((\w+): \{.*\})   # security scheme .*$`)

// TestGenOpenAPIWithPrism generates a .proto and config with `gen openapi`
// for specs of the corpus, serves the config against Prism mocking each
// spec, and calls every generated GET operation and the operations with a
// request body through the daemon with grpc-go. Prism validates every
// request against the spec (parameters, body, security), so any 4xx from it
// fails the test.
func TestGenOpenAPIWithPrism(t *testing.T) {
	corpus := filepath.Join(root, "..", "shared", "corpus", "openapi")
	for _, tc := range []struct {
		spec string
		// skip names operations not called, with the reason.
		skip map[string]string
	}{
		// GetInventory needs the api_key header, the other operations
		// OAuth2 (a bearer token): both kinds are set.
		{spec: "petstore.yaml"},
		{spec: "xml"},
		// The same XML API mocked by Prism: its replies are read. Prism
		// names the root of every XML reply <xml> whatever the spec says
		// (stoplightio/prism#456), so this copy of the spec says so too;
		// Prism 5.16 (the latest) validates an XML request body as a
		// string against the schema, so it refuses every one.
		{spec: "xml-prism", skip: map[string]string{"PutItem": "Prism refuses every XML request body (\"must be object\")"}},
		{spec: "apis-guru/etmdb.com.json"},
		{spec: "apis-guru/azure.com/sql-renameDatabase.json"},
		{spec: "swagger2"}, // the corpus's specs are all OpenAPI 3
		{spec: "apis-guru/who-hosts-this.com.json"},
		// Paths with a variable inside a segment
		// ("/current-Movie-Data.csv&imdb_id={IMDBid}") and a verb
		// ("/v1/{name}:completeImport").
		{spec: "apis-guru/hydramovies.com.json"},
		{spec: "apis-guru/googleapis.com/chat.json", skip: map[string]string{
			"ChatMediaUpload": "the spec types its application/octet-stream body as a JSON object, so Prism refuses any bytes",
			// Prism's mock Message holds a color alpha (format float) of
			// -3.402823669209385e+38, outside float32's range: the bridge
			// refuses it as protojson does.
			"ChatSpacesMessagesUpdate": "Prism's reply has a float out of float32's range",
			"ChatSpacesMessagesPatch":  "Prism's reply has a float out of float32's range",
			"ChatSpacesMessagesList":   "Prism's reply has a float out of float32's range",
			"ChatSpacesMessagesCreate": "Prism's reply has a float out of float32's range",
		}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			spec := filepath.Join(corpus, tc.spec)
			var url string
			switch tc.spec {
			case "xml":
				// Prism cannot check XML: it refuses XML request bodies
				// ("must be object") and writes replies with an <xml>
				// root. A peer that checks the documents by the spec's
				// names stands in.
				spec = proc.WriteFile(t, t.TempDir(), "xml.yaml", xmlSpec)
				url = xmlPeer(t)
			case "xml-prism":
				spec = proc.WriteFile(t, t.TempDir(), "xml.yaml", strings.Replace(xmlSpec, "      type: object\n      required: [sku, count]", "      type: object\n      xml: {name: xml}\n      required: [sku, count]", 1))
				url = prismSpec(t, spec)
			case "swagger2":
				spec = filepath.Join(root, "adapters", "rest", "openapi", "testdata", "swagger.json")
				url = prismSpec(t, spec)
			default:
				url = prismSpec(t, spec)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "proto", "api", "v1")
			if msg, code := runBinary(t, "gen", "openapi", spec, "--out", out); code != 0 {
				t.Fatalf("gen openapi: %d: %s", code, msg)
			}
			cfgs, _ := filepath.Glob(filepath.Join(out, "*.config.yaml"))
			protos, _ := filepath.Glob(filepath.Join(out, "*.proto"))
			if len(cfgs) != 1 || len(protos) != 1 {
				t.Fatalf("gen wrote %v %v", cfgs, protos)
			}
			cfg, err := os.ReadFile(cfgs[0])
			if err != nil {
				t.Fatal(err)
			}
			// The one line to edit: base_url (here: Prism), and the
			// credentials block uncommented with its variables set: every
			// api_key line, or the first of a kind, and one Authorization
			// kind (a bearer token satisfies OAuth2 schemes too: Prism
			// checks that Authorization is there).
			text := regexp.MustCompile(`(?m)^    base_url: .*$`).ReplaceAllString(string(cfg), "    base_url: "+url)
			text = strings.Replace(text, "listen: 127.0.0.1:50051", "listen: 127.0.0.1:0", 1)
			var env []string
			if lines := credentialLine.FindAllStringSubmatch(text, -1); len(lines) > 0 {
				text = strings.Replace(text, "    # credentials:\n", "    credentials:\n", 1)
				authz := ""
				for _, l := range lines {
					if l[2] != "api_key" && (authz == "" || l[2] == "bearer") {
						authz = l[0]
					}
				}
				kinds := map[string]bool{}
				for _, l := range lines {
					if kinds[l[2]] || l[2] != "api_key" && l[0] != authz {
						continue
					}
					kinds[l[2]] = true
					text = strings.Replace(text, l[0], "      "+l[1], 1)
					for _, v := range regexp.MustCompile(`env: ([A-Z0-9_]+)`).FindAllStringSubmatch(l[1], -1) {
						env = append(env, v[1]+"=e2e-secret")
					}
				}
			}
			config := proc.WriteFile(t, out, "serve.yaml", text)
			d := startDaemonEnv(t, config, env)
			fd, err := compileProto(filepath.Join(dir, "proto"), "api/v1/"+filepath.Base(protos[0]))
			if err != nil {
				t.Fatal(err)
			}
			s, err := openapi.Load(spec, openapi.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			called := 0
			for i := 0; i < fd.Services().Len(); i++ {
				sd := fd.Services().Get(i)
				for j := 0; j < sd.Methods().Len(); j++ {
					md := sd.Methods().Get(j)
					rule := httpRuleOf(md)
					if rule == nil || md.IsStreamingServer() {
						continue
					}
					get := rule.GetGet() != ""
					if !get && rule.GetBody() == "" {
						continue
					}
					if why, ok := tc.skip[string(md.Name())]; ok {
						t.Logf("%s not called: %s", md.Name(), why)
						continue
					}
					req := exampleRequest(t, s, md)
					resp := dynamicpb.NewMessage(md.Output())
					err := d.conn.Invoke(callCtx(t), "/"+string(sd.FullName())+"/"+string(md.Name()), req, resp)
					if err != nil {
						t.Errorf("%s(%s): %v", md.Name(), protojson.Format(req), err)
						continue
					}
					if got := protojson.Format(resp); strings.HasPrefix(tc.spec, "xml") && md.Name() == "GetItem" && !regexp.MustCompile(`"count":\s*3\b`).MatchString(got) {
						t.Errorf("GetItem: the XML reply decoded as %s", got)
					}
					called++
				}
			}
			if called == 0 {
				t.Fatal("no operation called")
			}
			if tc.spec == "petstore.yaml" {
				enumRoundTrip(t, d, fd)
			}
			t.Logf("%s: %d operations called through the daemon", tc.spec, called)
		})
	}
}

// xmlSpec is an API that speaks XML only: a reply and a request body.
// (Prism writes replies with an <xml> root whatever the spec's xml object
// says, stoplightio/prism#456, so the schemas keep to what it renders.)
const xmlSpec = `openapi: 3.0.3
info: {title: Inventory, version: "1"}
servers: [{url: "https://inventory.example.com"}]
components:
  schemas:
    Item:
      type: object
      required: [sku, count]
      properties:
        sku: {type: string, example: A-1}
        count: {type: integer, format: int32, example: 3}
        inStock: {type: boolean, example: true}
paths:
  /items/{sku}:
    get:
      operationId: getItem
      parameters: [{name: sku, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: OK, content: {application/xml: {schema: {$ref: "#/components/schemas/Item"}}}}
        "404": {description: Not found}
    put:
      operationId: putItem
      parameters: [{name: sku, in: path, required: true, schema: {type: string}}]
      requestBody: {required: true, content: {application/xml: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "200": {description: OK, content: {application/xml: {schema: {$ref: "#/components/schemas/Item"}}}}
`

// xmlPeer serves xmlSpec: GET answers an <Item>, PUT checks that the body
// is an <Item> with the spec's element names and echoes it.
func xmlPeer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/items/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		switch r.Method {
		case http.MethodGet:
			_, _ = io.WriteString(w, "<Item><sku>"+strings.TrimPrefix(r.URL.Path, "/items/")+"</sku><count>3</count><inStock>true</inStock></Item>")
		case http.MethodPut:
			var item struct {
				XMLName xml.Name `xml:"Item"`
				SKU     string   `xml:"sku"`
				Count   *int     `xml:"count"`
			}
			body, _ := io.ReadAll(r.Body)
			if err := xml.Unmarshal(body, &item); err != nil || item.SKU == "" || item.Count == nil {
				http.Error(w, fmt.Sprintf("not an Item with sku and count: %s (%v)", body, err), http.StatusUnprocessableEntity)
				return
			}
			_, _ = w.Write(body)
		default:
			http.Error(w, "method", http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// startDaemonEnv is startDaemon with environment variables (credentials)
// for the daemon.
func startDaemonEnv(t *testing.T, config string, env []string) *daemon {
	t.Helper()
	d := &daemon{Process: proc.Start(t, "", env, binary, "serve", "--config", config)}
	m, ok := d.Out.Wait(servingRE)
	if !ok {
		t.Fatalf("daemon exited before serving: %v\n%s", d.Err(), d.Out)
	}
	d.addr = m[1]
	conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	d.conn = conn
	t.Cleanup(func() {
		d.shutdown(t)
		_ = conn.Close()
	})
	return d
}

// exampleRequest builds a request the spec accepts: every path parameter,
// required query and header parameters and the body's required
// properties, with values their schemas allow.
func exampleRequest(t *testing.T, s *openapi.Spec, md protoreflect.MethodDescriptor) proto.Message {
	t.Helper()
	rule := httpRuleOf(md)
	var op *openapi.Operation
	for _, o := range s.Operations {
		m, p := httpOf(rule)
		if strings.EqualFold(o.Method, m) && templateOf(o.Path) == templateOf(p) {
			op = o
		}
	}
	if op == nil {
		t.Fatalf("%s: no operation of the spec for %v", md.Name(), rule)
	}
	doc := map[string]any{}
	in := md.Input().Fields()
	for _, p := range op.Params {
		if !p.Required || (p.In != "path" && p.In != "query" && p.In != "header") {
			continue
		}
		fd := fieldByJSON(in, p.Name)
		if fd == nil {
			t.Fatalf("%s: no field for parameter %s", md.Name(), p.Name)
		}
		doc[fd.JSONName()] = exampleValue(p.Schema, 0)
	}
	if op.Body != nil && rule.GetBody() != "" {
		if f := in.ByName(protoreflect.Name(rule.GetBody())); f != nil && f.Message() != nil && f.Message().FullName() == "google.api.HttpBody" {
			doc[rule.GetBody()] = map[string]any{"contentType": op.Body.MediaType, "data": "QUJD"}
		} else {
			doc[rule.GetBody()] = exampleValue(op.Body.Schema, 0)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The spec's literals ("available") are enum values' json_value:
	// read them as the bridge does (protojson knows only value names).
	c, err := wirejson.NewCodec(md.Input())
	if err != nil {
		t.Fatal(err)
	}
	wire, err := c.AppendWire(nil, b)
	if err != nil {
		t.Fatalf("%s: %s: %v", md.Name(), b, err)
	}
	m := dynamicpb.NewMessage(md.Input())
	if err := proto.Unmarshal(wire, m); err != nil {
		t.Fatalf("%s: %s: %v", md.Name(), b, err)
	}
	return m
}

// enumRoundTrip checks the Petstore's generated enums on the wire: a
// query parameter and a body field set to a value are sent as the spec's
// literal (Prism refuses anything else with a 422) and the literals in
// Prism's replies decode to the values.
func enumRoundTrip(t *testing.T, d *daemon, fd protoreflect.FileDescriptor) {
	t.Helper()
	method := func(name string) protoreflect.MethodDescriptor {
		for i := 0; i < fd.Services().Len(); i++ {
			if md := fd.Services().Get(i).Methods().ByName(protoreflect.Name(name)); md != nil {
				return md
			}
		}
		t.Fatalf("no rpc %s", name)
		return nil
	}
	value := func(f protoreflect.FieldDescriptor, suffix string) protoreflect.Value {
		vals := f.Enum().Values()
		for i := 0; i < vals.Len(); i++ {
			if strings.HasSuffix(string(vals.Get(i).Name()), suffix) {
				return protoreflect.ValueOfEnum(vals.Get(i).Number())
			}
		}
		t.Fatalf("%s has no value *%s", f.Enum().FullName(), suffix)
		return protoreflect.Value{}
	}
	name := func(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
		return string(f.Enum().Values().ByNumber(v.Enum()).Name())
	}
	call := func(md protoreflect.MethodDescriptor, req proto.Message) protoreflect.Message {
		resp := dynamicpb.NewMessage(md.Output())
		if err := d.conn.Invoke(callCtx(t), "/"+string(md.Parent().FullName())+"/"+string(md.Name()), req, resp); err != nil {
			t.Fatalf("%s(%s): %v", md.Name(), protojson.Format(req), err)
		}
		return resp
	}

	find := method("FindPetsByStatus")
	req := dynamicpb.NewMessage(find.Input())
	status := find.Input().Fields().ByName("status")
	if status.Enum() == nil {
		t.Fatalf("FindPetsByStatusRequest.status is %s, want an enum", status.Kind())
	}
	req.Set(status, value(status, "_SOLD"))
	resp := call(find, req)
	items := resp.Get(find.Output().Fields().ByName("items")).List()
	if items.Len() == 0 {
		t.Fatal("FindPetsByStatus: no pets")
	}
	pet := items.Get(0).Message()
	petStatus := pet.Descriptor().Fields().ByName("status")
	if got := name(petStatus, pet.Get(petStatus)); !strings.HasSuffix(got, "_AVAILABLE") {
		t.Errorf("Prism's pet (status \"available\") decoded with status %s", got)
	}

	add := method("AddPet")
	req = dynamicpb.NewMessage(add.Input())
	body := req.Mutable(add.Input().Fields().ByName("body")).Message()
	bf := body.Descriptor().Fields()
	body.Set(bf.ByName("name"), protoreflect.ValueOfString("rex"))
	photos := body.Mutable(bf.ByName("photo_urls")).List()
	photos.Append(protoreflect.ValueOfString("https://example.com/rex.png"))
	body.Set(bf.ByName("status"), value(bf.ByName("status"), "_PENDING"))
	call(add, req)
	t.Logf("enums: status=sold sent as a query literal and status=pending in a body, both accepted by Prism; the reply's \"available\" read back as %s",
		name(petStatus, pet.Get(petStatus)))
}

// httpRuleOf reads a method's google.api.http option (protocompile leaves
// options of files it compiled as dynamic messages: re-read them).
func httpRuleOf(md protoreflect.MethodDescriptor) *annotations.HttpRule {
	b, err := proto.Marshal(md.Options())
	if err != nil {
		return nil
	}
	opts := &descriptorpb.MethodOptions{}
	if err := proto.Unmarshal(b, opts); err != nil {
		return nil
	}
	rule, _ := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
	return rule
}

func fieldByJSON(fields protoreflect.FieldDescriptors, name string) protoreflect.FieldDescriptor {
	for i := 0; i < fields.Len(); i++ {
		if fields.Get(i).JSONName() == name {
			return fields.Get(i)
		}
	}
	return nil
}

func httpOf(r *annotations.HttpRule) (string, string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "get", p.Get
	case *annotations.HttpRule_Put:
		return "put", p.Put
	case *annotations.HttpRule_Post:
		return "post", p.Post
	case *annotations.HttpRule_Delete:
		return "delete", p.Delete
	case *annotations.HttpRule_Patch:
		return "patch", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

var anyVar = regexp.MustCompile(`\{[^}]*\}`)

func templateOf(p string) string { return anyVar.ReplaceAllString(p, "{}") }

// exampleValue is a JSON value the schema allows: its example, default or
// first enum value, else one made up by type and format; objects get their
// required properties.
func exampleValue(sp *base.SchemaProxy, depth int) any {
	if sp == nil || depth > 8 {
		return nil
	}
	s := sp.Schema()
	if s == nil {
		return nil
	}
	for _, n := range []*base.Schema{s} {
		if n.Example != nil {
			var v any
			if err := n.Example.Decode(&v); err == nil && v != nil {
				return v
			}
		}
		if len(n.Enum) > 0 && n.Enum[0] != nil {
			var v any
			if err := n.Enum[0].Decode(&v); err == nil {
				return v
			}
		}
		if n.Default != nil {
			var v any
			if err := n.Default.Decode(&v); err == nil && v != nil {
				return v
			}
		}
	}
	if len(s.AllOf) > 0 {
		out := map[string]any{}
		for _, b := range s.AllOf {
			if m, ok := exampleValue(b, depth+1).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	if len(s.OneOf) > 0 {
		return exampleValue(s.OneOf[0], depth+1)
	}
	if len(s.AnyOf) > 0 {
		return exampleValue(s.AnyOf[0], depth+1)
	}
	typ := ""
	for _, ty := range s.Type {
		if ty != "null" {
			typ = ty
			break
		}
	}
	switch typ {
	case "integer":
		if s.Minimum != nil {
			return int(*s.Minimum) + 1
		}
		return 1
	case "number":
		return 1.5
	case "boolean":
		return true
	case "array":
		if s.Items != nil && s.Items.IsA() {
			return []any{exampleValue(s.Items.A, depth+1)}
		}
		return []any{}
	case "string":
		switch s.Format {
		case "date-time":
			return "2024-01-02T03:04:05Z"
		case "date":
			return "2024-01-02"
		case "uuid":
			return "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		case "email":
			return "a@example.com"
		case "uri", "url":
			return "https://example.com/x"
		case "byte":
			return "QUJD"
		}
		return "abc"
	}
	out := map[string]any{}
	if s.Properties != nil {
		for name, p := range s.Properties.FromOldest() {
			for _, r := range s.Required {
				if r == name {
					out[name] = exampleValue(p, depth+1)
				}
			}
		}
	}
	return out
}
