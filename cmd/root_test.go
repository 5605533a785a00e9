package protobridgecmd

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errs bytes.Buffer
		if code := Main(args, &out, &errs); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs.String())
		}
		line := out.String()
		if !strings.HasPrefix(line, "protobridge ") || !strings.Contains(line, runtime.Version()) || strings.Count(line, "\n") != 1 {
			t.Errorf("%v printed %q", args, line)
		}
	}
}

// TestCompletion: each shell's script is produced, and bash and fish
// (where installed) accept it as valid syntax.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errs bytes.Buffer
		if code := Main([]string{"completion", shell}, &out, &errs); code != 0 {
			t.Fatalf("completion %s: exit %d: %s", shell, code, errs.String())
		}
		if !strings.Contains(out.String(), "protobridge") {
			t.Fatalf("completion %s: no script:\n%s", shell, out.String())
		}
		if shell != "bash" {
			continue
		}
		script := filepath.Join(t.TempDir(), "protobridge.bash")
		if err := os.WriteFile(script, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v\n%s", err, msg)
		}
	}
	// The completion protocol itself: subcommands of gen.
	var out, errs bytes.Buffer
	if code := Main([]string{"__complete", "gen", ""}, &out, &errs); code != 0 || !strings.Contains(out.String(), "wsdl") || !strings.Contains(out.String(), "openapi") {
		t.Errorf("__complete gen: exit %d\n%s%s", code, out.String(), errs.String())
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	if code := Main([]string{"man", dir}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, page := range []string{"protobridge.1", "protobridge-serve.1", "protobridge-gen-wsdl.1", "protobridge-gen-openapi.1", "protobridge-version.1"} {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(".TH \"PROTOBRIDGE\" \"1\"")) {
			t.Errorf("%s is not a man page:\n%s", page, data)
		}
	}
}

// TestConfigDefault: without --config, $PROTOBRIDGE_CONFIG names the file,
// else ./protobridge.yaml is used.
func TestConfigDefault(t *testing.T) {
	dir := t.TempDir()
	bad := "upstreams:\n  a:\n    kind: rest\n    base_url: http://127.0.0.1:1\n    colour: red\n"
	if err := os.WriteFile(filepath.Join(dir, defaultConfig), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var out, errs bytes.Buffer
	if code := Main([]string{"check"}, &out, &errs); code != 1 || !strings.HasPrefix(errs.String(), defaultConfig+`:5: unknown key "colour"`) {
		t.Errorf("./protobridge.yaml: exit %d\n%s", code, errs.String())
	}
	t.Setenv(configEnv, other)
	errs.Reset()
	if code := Main([]string{"check"}, &out, &errs); code != 1 || !strings.HasPrefix(errs.String(), other+`:5: unknown key "colour"`) {
		t.Errorf("$%s: exit %d\n%s", configEnv, code, errs.String())
	}
}

// TestProtoExport: `proto export DIR` writes the built-in protos and lists
// them; without DIR it is a usage error.
func TestProtoExport(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	if code := Main([]string{"proto", "export", dir}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, f := range []string{"google/api/annotations.proto", "buf/validate/validate.proto", "protobridge/v1/options.proto"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil || !strings.Contains(out.String(), f+"\n") {
			t.Errorf("%s not written or not listed (%v):\n%s", f, err, out.String())
		}
	}
	if code := Main([]string{"proto", "export"}, &out, &errs); code != 2 {
		t.Errorf("proto export without DIR: exit %d, want 2", code)
	}
}

// TestCheckWarnsWhatTheSchemaFinds: a value the loader takes but the
// config schema does not (a number as a header value) is a warning at its
// line; check still passes.
func TestCheckWarnsWhatTheSchemaFinds(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	text := `server: {listen: 127.0.0.1:0}
descriptors:
  import_paths: [` + filepath.Join("..", "examples", "petstore", "proto") + `]
  protos: [petstore/v1/petstore.proto]
auth: {open: true}
upstreams:
  petstore:
    kind: rest
    base_url: http://127.0.0.1:4010
    headers:
      X-Version: 2
`
	abs, err := filepath.Abs(filepath.Join("..", "examples", "petstore", "proto"))
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, filepath.Join("..", "examples", "petstore", "proto"), abs, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := Main([]string{"check", "--config", cfg}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	want := cfg + `:11: upstreams.petstore.headers.X-Version is a number; it takes a string`
	if !strings.Contains(errs.String(), "warning: "+want) {
		t.Errorf("check did not warn %q:\n%s", want, errs.String())
	}
}

// TestServePortInUse: serve on a port another process holds fails with
// the problem at server.listen's line, and check warns about it first.
func TestServePortInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	protos, err := filepath.Abs(filepath.Join("..", "examples", "petstore", "proto"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	text := "descriptors:\n  import_paths: [" + protos + "]\n  protos: [petstore/v1/petstore.proto]\nauth: {open: true}\nserver:\n  listen: " + held.Addr().String() +
		"\nupstreams:\n  petstore: {kind: rest, base_url: http://127.0.0.1:4010}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	want := cfg + ":6: server.listen " + held.Addr().String() + " is in use by another process"
	var out, errs bytes.Buffer
	if code := Main([]string{"check", "--config", cfg}, &out, &errs); code != 0 || !strings.Contains(errs.String(), "warning: "+want) {
		t.Errorf("check: exit %d, want 0 with the warning %q:\n%s", code, want, errs.String())
	}
	errs.Reset()
	if code := Main([]string{"serve", "--config", cfg}, &out, &errs); code != 1 || !strings.Contains(errs.String(), want) {
		t.Errorf("serve: exit %d, want 1 with %q:\n%s", code, want, errs.String())
	}
}
