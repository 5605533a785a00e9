package mcpfront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/protobridge/protobridge/adapters/rest/openapi"
	"github.com/protobridge/protobridge/internal/daemontest"
	mcpfront "github.com/protobridge/protobridge/internal/frontdoor/mcp"
	"github.com/protobridge/protobridge/internal/testenv"
)

// TestOpenAPICorpusToolSchemas runs every spec of the OpenAPI corpus as a
// user would: `gen openapi` (the .proto and its config stub), a daemon
// serving that config, and the MCP front door's tools/list. Every tool's
// inputSchema and outputSchema must compile as JSON Schema 2020-12, which
// also checks them against the 2020-12 meta-schema.
func TestOpenAPICorpusToolSchemas(t *testing.T) {
	dir := filepath.Join(testenv.CorpusDir(t), "openapi")
	var specs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")) {
			specs = append(specs, p)
		}
		return nil
	})
	if len(specs) < 42 {
		t.Fatalf("%d specs under %s, want 42 (41 published APIs and the Petstore)", len(specs), dir)
	}
	tools, schemas := 0, 0
	for _, spec := range specs {
		rel, _ := filepath.Rel(dir, spec)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			s, err := openapi.Load(spec, openapi.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := openapi.Generate(s, openapi.Options{Package: openapi.DefaultPackage(s.Title), Source: rel})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(f.Content, []byte("\nservice ")) {
				t.Logf("no operations (webhooks or schemas only): no tools")
				return
			}
			out := t.TempDir()
			if err := os.WriteFile(filepath.Join(out, f.Name), f.Content, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(out, "config.yaml")
			if err := os.WriteFile(cfg, openapi.ConfigStub(s, f, openapi.StubOptions{ImportPath: ".", ProtoPath: f.Name}), 0o644); err != nil {
				t.Fatal(err)
			}
			srv := daemontest.Start(t, cfg, daemontest.Options{})
			cs := connectPipes(t, &demoServer{MCP: mcpfront.New(srv.Router, nil)})
			n := 0
			for tl, err := range cs.Tools(context.Background(), nil) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				for what, sch := range map[string]any{"inputSchema": tl.InputSchema, "outputSchema": tl.OutputSchema} {
					if sch == nil {
						if what == "inputSchema" {
							t.Errorf("%s has no inputSchema", tl.Name)
						}
						continue
					}
					if err := compile2020(sch); err != nil {
						t.Errorf("%s %s: %v", tl.Name, what, err)
					}
					schemas++
				}
			}
			if n != len(srv.Router.Routes()) {
				t.Errorf("%d tools for %d routes", n, len(srv.Router.Routes()))
			}
			tools += n
		})
	}
	t.Logf("%d specs: %d tools, %d schemas valid JSON Schema 2020-12", len(specs), tools, schemas)
}

// compile2020 compiles a tool schema as JSON Schema 2020-12.
func compile2020(s any) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("tool.json", doc); err != nil {
		return err
	}
	_, err = c.Compile("tool.json")
	return err
}
