package protobridgecmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/protobridge/protobridge/internal/testenv"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestGenOpenAPICorpus runs `gen openapi` on every spec of the corpus, then
// `check` on the config stub it wrote (the .proto loads, every route binds),
// buf lint (STANDARD) on the .proto, and `gen openapi` again: the same
// files.
func TestGenOpenAPICorpus(t *testing.T) {
	var specs []string
	_ = filepath.WalkDir(filepath.Join(testenv.CorpusDir(t), "openapi"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")) {
			specs = append(specs, p)
		}
		return nil
	})
	if len(specs) == 0 {
		if testenv.CI() {
			t.Fatalf("no specs under %s", filepath.Join(testenv.CorpusDir(t), "openapi"))
		}
		t.Skipf("no specs under %s", filepath.Join(testenv.CorpusDir(t), "openapi"))
	}
	buf := bufCommand(t)
	for _, spec := range specs {
		name := strings.TrimPrefix(spec, filepath.Join(testenv.CorpusDir(t), "openapi")+"/")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "proto", "api", "v1")
			var stdout, stderr bytes.Buffer
			if code := Main([]string{"gen", "openapi", spec, "--out", out}, &stdout, &stderr); code != 0 {
				t.Fatalf("gen openapi: exit %d: %s", code, stderr.String())
			}
			protos, _ := filepath.Glob(filepath.Join(out, "*.proto"))
			cfgs, _ := filepath.Glob(filepath.Join(out, "*.config.yaml"))
			if len(protos) != 1 || len(cfgs) != 1 {
				t.Fatalf("wrote %v and %v", protos, cfgs)
			}
			first, _ := os.ReadFile(protos[0])
			stdout.Reset()
			stderr.Reset()
			code := Main([]string{"check", "--config", cfgs[0]}, &stdout, &stderr)
			switch {
			case !bytes.Contains(first, []byte("\nservice ")):
				// A spec without operations the bridge can call (only
				// webhooks, or only paths no URL template can express):
				// messages only, and check says nothing is bound.
				if code == 0 || !strings.Contains(stderr.String(), "no method of the loaded services is bound") {
					t.Fatalf("check of a file without services: exit %d: %s", code, stderr.String())
				}
				t.Logf("no callable operations: %s", strings.TrimSpace(stderr.String()))
			case code != 0:
				t.Fatalf("check: exit %d: %s\n%s", code, stderr.String(), stdout.String())
			}
			if code := Main([]string{"gen", "openapi", spec, "--out", out}, &stdout, &stderr); code != 0 {
				t.Fatalf("gen openapi again: exit %d: %s", code, stderr.String())
			}
			if again, _ := os.ReadFile(protos[0]); !bytes.Equal(first, again) {
				t.Errorf("regenerating changed %s", protos[0])
			}
			if buf != nil {
				bufLint(t, buf, filepath.Join(dir, "proto"), "api/v1/"+filepath.Base(protos[0]))
			}
		})
	}
}

// bufCommand is the pinned buf (tools/go.mod); nil, with a log line, when
// it cannot be built here — but CI must have it.
func bufCommand(t *testing.T) []string {
	cmd := []string{"go", "tool", "-modfile=../tools/go.mod", "buf"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cmd[0], append(cmd[1:], "--version")...).CombinedOutput(); err != nil {
		if testenv.CI() {
			t.Fatalf("buf: %v: %s", err, out)
		}
		t.Logf("buf lint skipped: %v: %s", err, out)
		return nil
	}
	return cmd
}

// bufLint lints one file with buf's STANDARD rules. The file's imports
// (google/api, protobridge/v1) are built into the daemon rather than
// sources on disk, so buf gets an image: the file and its imports as a
// descriptor set, linting only the file.
func bufLint(t *testing.T, buf []string, root, file string) {
	t.Helper()
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{ImportPaths: []string{root}},
			protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
				fd, err := protoregistry.GlobalFiles.FindFileByPath(p)
				if err != nil {
					return protocompile.SearchResult{}, err
				}
				return protocompile.SearchResult{Desc: fd}, nil
			}),
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	files, err := comp.Compile(context.Background(), file)
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
	image := filepath.Join(t.TempDir(), "image.binpb")
	if err := os.WriteFile(image, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"version":"v2","lint":{"use":["STANDARD"]}}`
	args := append(buf[1:], "lint", image, "--path", file, "--config", cfg)
	if out, err := exec.Command(buf[0], args...).CombinedOutput(); err != nil {
		t.Errorf("buf lint: %v\n%s", err, out)
	}
}

// TestGenWSDLConfigStub: `gen wsdl` writes a config that `check` accepts,
// with base_url from the WSDL's soap:address.
func TestGenWSDLConfigStub(t *testing.T) {
	wsdlFile := testenv.Corpus(t, "wsdl", "postman", "valid", "calculator-soap11and12.wsdl")
	out := filepath.Join(t.TempDir(), "proto", "calculator", "v1")
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"gen", "wsdl", wsdlFile, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("gen wsdl: %d: %s", code, stderr.String())
	}
	cfgs, _ := filepath.Glob(filepath.Join(out, "*.config.yaml"))
	if len(cfgs) != 1 {
		t.Fatalf("config stubs %v", cfgs)
	}
	cfg, _ := os.ReadFile(cfgs[0])
	for _, want := range []string{"kind: soap", `base_url: "http://www.dneonline.com/calculator.asmx"`, `protos: ["calculator/v1/`, "# credentials: {basic:"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("stub lacks %q:\n%s", want, cfg)
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"check", "--config", cfgs[0]}, &stdout, &stderr); code != 0 {
		t.Fatalf("check: %d: %s\n%s", code, stderr.String(), cfg)
	}
}
