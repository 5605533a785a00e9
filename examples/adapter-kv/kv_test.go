package kv_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"gopkg.in/yaml.v3"

	kv "github.com/protobridge/protobridge/examples/adapter-kv"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/bridgetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness describes the kv adapter to the conformance suite. The "peer"
// is the map itself: Echo puts the text under itself and replies with the
// stored value, Fail gets a key never put (NOT_FOUND), Hang waits for
// one. file is the map's file, relative to the peer's directory ("" for
// memory).
func harness(file string) bridgetest.Harness {
	return bridgetest.Harness{
		Kind:     kv.Kind,
		Shapes:   bridgetest.Unary,
		FailCode: codes.NotFound,
		Start: func(t *testing.T) *bridgetest.Peer {
			block := func(v any) bridge.RawConfig {
				c, err := bridge.RawConfigOf(v)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			route := func(op string, wait bool) bridgetest.Route {
				return bridgetest.Route{Config: block(kv.RouteConfig{Op: op, Key: "text", Value: "text", Wait: wait})}
			}
			return &bridgetest.Peer{
				Upstream: &bridge.Upstream{Config: block(kv.Config{File: file})},
				Env:      &bridge.Env{BaseDir: t.TempDir()},
				Routes: map[string]bridgetest.Route{
					"Echo": route("put", false),
					"Fail": route("get", false),
					"Hang": route("get", true),
					// Streams are refused whatever their block says.
					"Count":   route("get", false),
					"Collect": route("get", false),
					"Chat":    route("get", false),
				},
			}
		},
	}
}

func TestConformanceFile(t *testing.T) { bridgetest.Run(t, harness("kv.json")) }

func TestConformanceMemory(t *testing.T) { bridgetest.Run(t, harness("")) }

// block reads a kv: block from YAML text, as the config file kv.yaml.
func block(t *testing.T, text string) bridge.RawConfig {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return bridge.NewRawConfig(doc.Content[0], "kv.yaml")
}

// TestConfigProblems checks that mistakes in the blocks are reported at
// their file:line.
func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ name, upstream, route, want string }{
		{"unknown upstream key", "file: a.json\nfil: b.json\n", "", `kv.yaml:2: unknown key "fil" (did you mean file?`},
		{"bad size", "max_value_bytes: lots\n", "", `kv.yaml:1: "lots" is not a size`},
		{"unknown route key", "", "op: get\nwaits: true\n", `kv.yaml:2: unknown key "waits" (did you mean wait?`},
		{"unknown op", "", "\nop: fetch\n", `kv.yaml:2: bridgetest.v1.Echo/Echo: kv.op "fetch" is not known (use get, put or delete)`},
		{"wait on put", "", "op: put\nkey: text\nvalue: text\nwait: true\n", `kv.yaml:1: bridgetest.v1.Echo/Echo: kv.wait applies to get only`},
		{"key field", "", "op: get\nkey: nope\n", `kv.yaml:1: bridgetest.v1.Echo/Echo: kv.key "nope" is not a string field of bridgetest.v1.EchoRequest`},
		{"wrong type", "", "op: get\nwait: sometimes\n", `kv.yaml:2: this value has the wrong type (use true or false)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &bridge.Upstream{Name: "store", Kind: kv.Kind}
			if tc.upstream != "" {
				u.Config = block(t, tc.upstream)
			}
			a, err := kv.New(u, &bridge.Env{BaseDir: t.TempDir()})
			if err == nil {
				defer a.Close()
				r := &bridge.Route{Method: bridgetest.Service().Methods().ByName("Echo"), Upstream: u, Config: block(t, tc.route)}
				_, err = a.Bind(r)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestFileKeepsTheMap checks that a put reaches the file, keeping what
// the file held, and that a new adapter reads it back.
func TestFileKeepsTheMap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "kv.json")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"a": "1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	echo := bridgetest.Service().Methods().ByName("Echo")
	call := func(op, text string) (string, error) {
		t.Helper()
		cfg, _ := bridge.RawConfigOf(kv.Config{File: "data/kv.json"})
		u := &bridge.Upstream{Name: "store", Kind: kv.Kind, Config: cfg}
		a, err := kv.New(u, &bridge.Env{BaseDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		rc, _ := bridge.RawConfigOf(kv.RouteConfig{Op: op, Key: "text", Value: "text"})
		r := &bridge.Route{Method: echo, Upstream: u, Config: rc}
		ep, err := a.Bind(r)
		if err != nil {
			t.Fatal(err)
		}
		req := dynamicpb.NewMessage(echo.Input())
		req.Set(echo.Input().Fields().ByName("text"), protoreflect.ValueOfString(text))
		out, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: req})
		if err != nil {
			return "", err
		}
		return out.ProtoReflect().Get(echo.Output().Fields().ByName("text")).String(), nil
	}
	if got, err := call("put", "b"); err != nil || got != "b" {
		t.Fatalf("put: %q, %v", got, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 2 || m["a"] != "1" || m["b"] != "b" {
		t.Fatalf("the file holds %s (%v), want a and b", b, err)
	}
	for _, key := range []string{"a", "b"} {
		if _, err := call("get", key); err != nil {
			t.Errorf("a new adapter cannot get %q: %v", key, err)
		}
	}
	if _, err := call("delete", "a"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := call("get", "a"); status.Code(err) != codes.NotFound {
		t.Fatalf("get after delete: %v, want NOT_FOUND", err)
	}
}
