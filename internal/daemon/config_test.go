package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

func TestConfigProblemsCarryFileAndLine(t *testing.T) {
	// Line numbers count from the config's first line; writeConfig adds
	// three lines of descriptors before body.
	cases := []struct {
		name string
		body string
		line int
		want string
	}{
		{"unknown key", okUpstreams + "    colour: red\n", 8, `unknown key "colour"`},
		{"unknown top key", "listen: 1\n", 4, `unknown key "listen"`},
		{"misspelt key", "servr: {}\n", 4, `did you mean server?`},
		{"response over send limit", okUpstreams + "    max_response_bytes: 50MB\n", 5, "over server.max_send_bytes"},
		{"moved key", okUpstreams + "    xml_lax: true\n", 8, "xml_lax moved into the soap adapter's own block"},
		{"inline secret not echoed", "admin: {listen: 127.0.0.1:0, token: hunter2}\n", 4, "never inline"},
		{"no kind", "upstreams:\n  shop:\n    base_url: http://x:1\n", 5, `upstream "shop" has no kind`},
		{"bad kind", "upstreams:\n  shop:\n    kind: ftp\n    base_url: http://x:1\n", 5, `unknown kind "ftp"`},
		{"route to unknown upstream", okUpstreams + "routes:\n  - method: shop.v1.ShopService/GetItem\n    upstream: nope\n", 9, `unknown upstream "nope"`},
		{"bad method name", okUpstreams + "routes:\n  - method: GetItem\n", 9, "is not a full method name"},
		{"bad status code", okUpstreams + "    status_codes: {409: NOPE}\n", 5, "status_codes 409"},
		{"bad size", "server:\n  max_recv_bytes: lots\n", 5, `"lots" is not a size`},
		{"two http verbs", okUpstreams + "routes:\n  - method: shop.v1.ShopService/GetItem\n    http: {get: /a, post: /b}\n", 9, "exactly one method and path"},
		{"bad api key digest", okUpstreams + "auth:\n  api_keys: [{id: a, sha256: xyz}]\n", 9, "sha256 is not 64 hex digits"}, // at the key, not line 1
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.body)
			_, err := LoadConfig(p)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			want := p + ":" + itoa(int64(c.line)) + ": "
			for _, pr := range ps {
				if strings.HasPrefix(pr.String(), want) && strings.Contains(pr.String(), c.want) {
					return
				}
			}
			t.Fatalf("want a problem %q…%q, got:\n%v", want, c.want, err)
		})
	}
}

func TestBuildProblemsCarryFileAndLine(t *testing.T) {
	protoDir, _ := filepath.Abs("testdata/proto")
	protoFile := filepath.Join(protoDir, "shop/v1/shop.proto")
	cases := []struct {
		name string
		body string
		pos  string
		want string
	}{
		{"route matches no method", okUpstreams + "routes:\n  - method: shop.v1.ShopService/Nope\n", "CONFIG:9", "matches no loaded method"},
		{"service names undeclared upstream", "upstreams:\n  other:\n    kind: fake\n    base_url: http://127.0.0.1:1\n", protoFile + ":13", `names upstream "shop", which the config does not declare`},
		{"adapter refuses route", okUpstreams + "routes:\n  - method: shop.v1.ShopService/GetItem\n    http: {get: /items}\n  - method: shop.v1.ShopService/Slow\n    upstream: shop\n", "", ""},
		{"adapter fails to build", okUpstreams + "    headers: {fail: build}\n", "CONFIG:5", "cannot build"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lastFake.Store(&fakeAdapter{})
			p := writeConfig(t, c.body)
			cfg, err := LoadConfig(p)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := Build(context.Background(), cfg, discard())
			if c.want == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				_ = tab.Close()
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			pos := strings.Replace(c.pos, "CONFIG", p, 1)
			for _, pr := range ps {
				if strings.HasPrefix(pr.String(), pos+": ") && strings.Contains(pr.String(), c.want) {
					return
				}
			}
			t.Fatalf("want a problem at %s containing %q, got:\n%v", pos, c.want, err)
		})
	}
}

func TestProtoSyntaxErrorIsReportedAtItsLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bad"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "syntax = \"proto3\";\npackage bad;\nmessage M {\n  int32 x = ;\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "bad/bad.proto"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfgPath, []byte("descriptors:\n  import_paths: [.]\n  protos: [bad/bad.proto]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(context.Background(), cfg, discard())
	want := filepath.Join(dir, "bad/bad.proto") + ":4: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("want %q…, got %v", want, err)
	}
}

func TestDefaultsAndRouteMerge(t *testing.T) {
	cfg, tab, _ := buildTable(t, okUpstreams+"routes:\n  - method: /shop.v1.ShopService/GetItem\n    timeout: 1500ms\n    encoding: xml\n    open: true\n    status_codes: {409: ALREADY_EXISTS}\n"+
		"  - method: shop.v1.ShopService/Watch\n    encoding: protobuf\n    fake: {path: /watch, read_limit: 1KiB}\n")
	if cfg.Server.Listen != config.DefaultListen || cfg.Server.ShutdownGrace != config.DefaultShutdownGrace || cfg.Server.MaxRecvBytes != config.DefaultMaxMessageBytes {
		t.Errorf("server defaults not applied: %+v", cfg.Server)
	}
	u := cfg.Upstreams["shop"]
	if u.Timeout != bridge.DefaultUpstreamTimeout || u.MaxResponseBytes != bridge.DefaultMaxBodyBytes || u.Encoding != "" || u.Name != "shop" {
		t.Errorf("upstream defaults not applied: %+v", u)
	}
	routes := tab.Routes()
	if len(routes) != 3 {
		t.Fatalf("want 3 routes, got %d", len(routes))
	}
	byName := map[string]*Route{}
	for _, r := range routes {
		byName[r.Name()] = r
	}
	get := byName["shop.v1.ShopService/GetItem"]
	if get.Timeout != 1500*time.Millisecond || get.Encoding != "xml" || !get.Open || get.StatusCodes[409].String() != "AlreadyExists" {
		t.Errorf("config override not merged: %+v", get)
	}
	if verb, path := bridge.HTTPMethodAndPath(get.HTTP); verb != "GET" || path != "/items/{id}" {
		t.Errorf("http rule from proto lost: %s %s", verb, path)
	}
	// The route's block for its upstream's kind reaches the adapter undecoded.
	var block struct {
		Path      string          `yaml:"path"`
		ReadLimit bridge.ByteSize `yaml:"read_limit"`
	}
	watch := byName["shop.v1.ShopService/Watch"]
	if err := watch.Config.Decode(&block); err != nil || block.Path != "/watch" || block.ReadLimit != 1024 || watch.Encoding != "protobuf" {
		t.Errorf("adapter block not handed over: %+v %v", block, err)
	}
	slow := byName["shop.v1.ShopService/Slow"]
	if slow.Timeout != 5*time.Second || slow.Encoding != "" || slow.Open || !slow.Creates() {
		t.Errorf("proto options not applied: %+v", slow)
	}
}

func TestByteSizeUnits(t *testing.T) {
	for in, want := range map[string]bridge.ByteSize{"512": 512, "1KiB": 1024, "4MiB": 4 << 20, "2MB": 2e6, "1GiB": 1 << 30} {
		p := writeConfig(t, "server: {max_send_bytes: 2GiB}\n"+okUpstreams+"    max_response_bytes: "+in+"\n")
		cfg, err := LoadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Upstreams["shop"].MaxResponseBytes; got != want {
			t.Errorf("%s: got %d want %d", in, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{"120": 2 * time.Minute, "Sat, 28 Nov 2026 12:00:30 GMT": 30 * time.Second, "Sat, 28 Nov 2026 11:00:00 GMT": 0}
	for in, want := range cases {
		got, ok := bridge.ParseRetryAfter(in, now)
		if !ok || got != want {
			t.Errorf("%q: got %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "soon", "-3"} {
		if _, ok := bridge.ParseRetryAfter(bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSecretsResolveWithoutLeaking(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("file-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PB_TEST_PW", "env-s3cret")
	if v, err := (bridge.Secret{Env: "PB_TEST_PW"}).Resolve(dir); err != nil || v != "env-s3cret" {
		t.Errorf("env: %q %v", v, err)
	}
	if v, err := (bridge.Secret{File: "pw"}).Resolve(dir); err != nil || v != "file-s3cret" {
		t.Errorf("file: %q %v", v, err)
	}
	for _, s := range []bridge.Secret{{}, {Env: "PB_TEST_UNSET"}, {File: "nope"}, {Env: "PB_TEST_PW", File: "pw"}} {
		_, err := s.Resolve(dir)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%+v: %v", s, err)
		}
	}
	p := writeConfig(t, okUpstreams+"    credentials:\n      basic: {username: u, password: {env: PB_TEST_UNSET}}\n")
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p+":5: ") || !strings.Contains(err.Error(), "PB_TEST_UNSET is not set") {
		t.Errorf("unset secret: %v", err)
	}
}

// TestDescriptorSet serves the same service from a binary FileDescriptorSet
// (as `buf build -o` writes, imports included) instead of .proto sources.
func TestDescriptorSet(t *testing.T) {
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{ImportPaths: []string{"testdata/proto"}},
		protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
			fd, err := protoregistry.GlobalFiles.FindFileByPath(p)
			return protocompile.SearchResult{Desc: fd}, err
		}),
	})}
	files, err := comp.Compile(context.Background(), "shop/v1/shop.proto")
	if err != nil {
		t.Fatal(err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := 0; i < fd.Imports().Len(); i++ {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(files[0])
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "image.binpb"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfgPath, []byte("descriptors:\n  sets: [image.binpb]\n"+okUpstreams), 0o600); err != nil {
		t.Fatal(err)
	}
	lastFake.Store(&fakeAdapter{})
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Build(context.Background(), cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	routes := tab.Routes()
	if len(routes) != 3 || routes[0].Name() != "shop.v1.ShopService/GetItem" || routes[1].Timeout != 5*time.Second {
		t.Fatalf("routes from the set: %v", routes)
	}
	if verb, path := bridge.HTTPMethodAndPath(routes[0].HTTP); verb != "GET" || path != "/items/{id}" {
		t.Errorf("google.api.http lost in the set: %s %s", verb, path)
	}

	if err := os.WriteFile(filepath.Join(dir, "bad.binpb"), []byte("not a descriptor set"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte("descriptors:\n  sets: [bad.binpb]\n"+okUpstreams), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), cfg, discard()); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "bad.binpb")+": not a FileDescriptorSet") {
		t.Errorf("bad set: %v", err)
	}
}

// TestAuthWarnings: auth.open on an address others can reach, and a config
// with no inbound credential at all, pass check with a warning each; open
// on loopback and a config with credentials pass without one.
func TestAuthWarnings(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	cases := []struct {
		body, want string
	}{
		{"server:\n  listen: 0.0.0.0:50051\nauth: {open: true}\n" + okUpstreams, `:6: auth.open serves every route without authentication on server.listen "0.0.0.0:50051", which is not a loopback address`},
		{"server:\n  listen: :50051\nauth:\n  open: true\n" + okUpstreams, `:6: auth.open serves every route without authentication on server.listen ":50051"`},
		{okUpstreams, ":1: no inbound credentials are configured: every call to a route that is not open will be denied with UNAUTHENTICATED"},
		{"auth: {}\n" + okUpstreams, ":4: no inbound credentials are configured"},
		{"server:\n  listen: 127.0.0.1:50051\nauth: {open: true}\n" + okUpstreams, ""},
		{"server:\n  listen: localhost:50051\nauth: {open: true}\n" + okUpstreams, ""},
		{"server:\n  listen: 0.0.0.0:50051\nauth:\n  api_keys: [{id: svc, sha256: " + sum + "}]\n" + okUpstreams, ""},
	}
	for _, c := range cases {
		p := writeConfig(t, c.body)
		cfg, err := LoadConfig(p)
		if err != nil {
			t.Fatalf("%q: %v", c.body, err)
		}
		got := cfg.Warnings.Error()
		if c.want == "" {
			if len(cfg.Warnings) != 0 {
				t.Errorf("%q: unexpected warnings %s", c.body, got)
			}
			continue
		}
		if len(cfg.Warnings) != 1 || !strings.Contains(got, p+c.want) || cfg.Warnings[0].Hint == "" {
			t.Errorf("%q: warnings %q, want %q", c.body, got, c.want)
		}
	}
	cfg, err := LoadConfig(writeConfig(t, okUpstreams))
	if err != nil || !strings.Contains(cfg.Warnings[0].Hint, "auth: {open: true}") {
		t.Errorf("the no-credentials warning does not say how to open a local trial: %v", err)
	}
}

// TestServeLogsAuthWarning: serve logs the warnings check prints.
func TestServeLogsAuthWarning(t *testing.T) {
	td := startDaemon(t, strings.Replace(daemonConfig("v1", ""), "auth: {open: true}\n", "", 1))
	if logs := td.logLines.String(); !strings.Contains(logs, "level=WARN msg=config") || !strings.Contains(logs, "no inbound credentials are configured") {
		t.Errorf("serve did not log the warning:\n%s", logs)
	}
}
