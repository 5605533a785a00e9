package protoexport

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"

	"github.com/protobridge/protobridge/internal/testenv"
)

// shopProto is a service as a user writes it: REST binding, validation
// rules and protobridge's route options.
const shopProto = `syntax = "proto3";

package shop.v1;

import "buf/validate/validate.proto";
import "google/api/annotations.proto";
import "protobridge/v1/options.proto";

service ShopService {
  option (protobridge.v1.service) = {upstream: "shop"};
  rpc GetItem(GetItemRequest) returns (Item) {
    option (google.api.http) = {get: "/items/{id}"};
    option (protobridge.v1.route) = {timeout: "2s"};
  }
}

message GetItemRequest {
  string id = 1 [(buf.validate.field).string.min_len = 1];
}

message Item {
  string id = 1;
  string name = 2;
}
`

func export(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	names, err := Export(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"google/api/annotations.proto", "google/api/http.proto", "buf/validate/validate.proto", "protobridge/v1/options.proto", "protobridge/v1/bridge.proto"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("%s not exported (got %v)", want, names)
		}
	}
	return dir
}

// TestExportedProtosCompile compiles a service importing every exported
// file with protocompile, from the exported directory alone.
func TestExportedProtosCompile(t *testing.T) {
	dir := export(t)
	if err := os.MkdirAll(filepath.Join(dir, "shop", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop", "v1", "shop.proto"), []byte(shopProto), 0o644); err != nil {
		t.Fatal(err)
	}
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{dir}})}
	files, err := comp.Compile(context.Background(), "shop/v1/shop.proto", "protobridge/v1/bridge.proto")
	if err != nil {
		t.Fatal(err)
	}
	m := files[0].Services().Get(0).Methods().Get(0)
	if !strings.Contains(m.Options().(interface{ String() string }).String(), "/items/{id}") {
		t.Errorf("GetItem's http option did not survive: %v", m.Options())
	}
	opts, err := os.ReadFile(filepath.Join(dir, "protobridge", "v1", "options.proto"))
	if err != nil || !strings.Contains(string(opts), "// RouteOptions bind one method to an upstream.") {
		t.Errorf("protobridge/v1/options.proto is not written with its comments (%v)", err)
	}
}

// TestGeneratedGoNeedsNotThisModule generates Go stubs for a service in a
// module of its own with buf (pinned in tools/go.mod) and the README's
// buf.gen.yaml, and builds them: the stubs must not import protobridge.
func TestGeneratedGoNeedsNotThisModule(t *testing.T) {
	goBin := testenv.LookPath(t, "go")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	protoDir := filepath.Join(mod, "proto")
	if _, err := Export(protoDir); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		p := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The versions this module builds with: the proxy serves those.
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var requires []string
	for _, l := range strings.Split(string(rootMod), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (strings.HasPrefix(f[0], "google.golang.org/") || strings.HasPrefix(f[0], "buf.build/gen/go/bufbuild/protovalidate/")) {
			requires = append(requires, "require "+f[0]+" "+f[1])
		}
	}
	write("go.mod", "module example.com/shop\n\ngo 1.26\n\n"+strings.Join(requires, "\n")+"\n")
	write("proto/shop/v1/shop.proto", shopProto)
	write("buf.yaml", "version: v2\nmodules:\n  - path: proto\n")
	tool := func(name string) string {
		return `["go", "tool", "-modfile=` + filepath.Join(root, "tools", "go.mod") + `", "` + name + `"]`
	}
	// The README's buf.gen.yaml, with the plugins run from tools/go.mod.
	write("buf.gen.yaml", strings.NewReplacer("protoc-gen-go-grpc-plugin", tool("protoc-gen-go-grpc"), "protoc-gen-go-plugin", tool("protoc-gen-go")).Replace(BufGenYAML))
	run := func(name string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run(goBin, "tool", "-modfile="+filepath.Join(root, "tools", "go.mod"), "buf", "generate", "--path", "proto/shop", "--path", "proto/protobridge")
	run(goBin, "mod", "tidy")
	run(goBin, "build", "./...")
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(gomod), "github.com/protobridge/protobridge") {
		t.Errorf("the generated stubs need this module:\n%s", gomod)
	}
	if _, err := os.Stat(filepath.Join(mod, "gen", "shop", "v1", "shop_grpc.pb.go")); err != nil {
		t.Errorf("no gRPC stub generated: %v", err)
	}
}
