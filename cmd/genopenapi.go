package protobridgecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/protobridge/protobridge/adapters/rest/openapi"
)

// genOpenAPICommand is `protobridge gen openapi`.
func genOpenAPICommand() *cobra.Command {
	var g openAPIGen
	cmd := &cobra.Command{
		Use:   "openapi SPEC --out DIR",
		Short: "Generate a .proto, lock file and config from an OpenAPI/Swagger spec",
		Long: `Generates one .proto from an OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML,
local and relative $refs; remote ones with --allow-remote): a service per tag (or one,
--one-service), an rpc per operation with its google.api.http binding, messages for the
schemas with json_name set to each property's exact spelling. It also writes
NAME.lock.json (field numbers, as for gen wsdl) and NAME.config.yaml, a config that serves
the file: base_url from the spec's servers and credentials placeholders from its security
schemes. The conventions are in adapters/rest/openapi's package documentation.`,
		Example: "  protobridge gen openapi petstore.yaml --out proto/petstore/v1",
		Args:    exactlyOne("SPEC"),
		RunE:    genRunE(&g.file, func(stdout, stderr io.Writer) error { return g.Main(stdout, stderr) }),
	}
	f := cmd.Flags()
	f.StringVar(&g.out, "out", "", "directory to write NAME.proto, NAME.lock.json and NAME.config.yaml into")
	f.StringVar(&g.pkg, "package", "", "proto package (default: from --out when it ends in NAME/vN, else from the spec's title)")
	f.StringVar(&g.upstream, "upstream", "", "upstream the services name (default: from the spec's title)")
	f.BoolVar(&g.oneService, "one-service", false, "one service for the whole spec instead of one per tag")
	f.BoolVar(&g.allowRemote, "allow-remote", false, "allow a remote SPEC and remote $refs")
	requireOut(cmd)
	return cmd
}

// openAPIGen is one `gen openapi` run.
type openAPIGen struct {
	file, out, pkg, upstream string
	oneService, allowRemote  bool
}

func (g openAPIGen) Main(stdout, stderr io.Writer) error {
	// A one-shot batch job that builds a large model: collect garbage
	// less often (a quarter less CPU on the 5 MB mailchimp spec).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	spec, err := openapi.Load(g.file, openapi.LoadOptions{AllowRemote: g.allowRemote})
	if err != nil {
		return err
	}
	if g.pkg == "" {
		g.pkg = openAPIPackage(g.out, spec.Title)
	}
	base := openapi.BaseName(spec)
	lockPath := filepath.Join(g.out, base+".lock.json")
	var lock *openapi.Lock
	switch data, err := os.ReadFile(lockPath); {
	case err == nil:
		if lock, err = openapi.ParseLock(data); err != nil {
			return fmt.Errorf("%s: %w", lockPath, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	f, err := openapi.Generate(spec, openapi.Options{Package: g.pkg, Upstream: g.upstream, Source: filepath.Base(g.file), Lock: lock, OneService: g.oneService})
	if err != nil {
		return err
	}
	protoPath := strings.ReplaceAll(g.pkg, ".", "/") + "/" + f.Name
	if _, err := openapi.Compile(context.Background(), protoPath, f.Content); err != nil {
		return err
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(stderr, "protobridge gen openapi: warning: %s\n", w)
	}
	if err := os.MkdirAll(g.out, 0o755); err != nil {
		return err
	}
	protoFile := filepath.Join(g.out, f.Name)
	if err := os.WriteFile(protoFile, f.Content, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(lockPath, f.Lock.Marshal(), 0o644); err != nil {
		return err
	}
	// The config stub lives beside the .proto; its import path is the
	// root the package's directories hang from.
	root, rel := importRoot(g.out, g.pkg, f.Name)
	cfgPath := filepath.Join(g.out, base+".config.yaml")
	stub := openapi.ConfigStub(spec, f, openapi.StubOptions{ImportPath: root, ProtoPath: rel})
	if err := os.WriteFile(cfgPath, stub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (package %s, upstream %s), %s and %s\n", protoFile, g.pkg, f.Upstream, lockPath, cfgPath)
	return nil
}

// importRoot is the descriptors import path for a file written to out
// (relative to out, where the config stub lives) and the file's path under
// it: the directory above the package's when out ends in the package's
// path (proto/petstore/v1 for petstore.v1), else out itself.
func importRoot(out, pkg, name string) (root, rel string) {
	pkgDir := filepath.FromSlash(strings.ReplaceAll(pkg, ".", "/"))
	clean := filepath.Clean(out)
	if strings.HasSuffix(clean, string(filepath.Separator)+pkgDir) || clean == pkgDir {
		depth := strings.Count(pkgDir, string(filepath.Separator)) + 1
		up := strings.TrimSuffix(strings.Repeat("../", depth), "/")
		return up, filepath.ToSlash(filepath.Join(pkgDir, name))
	}
	return ".", name
}

// openAPIPackage derives the package: from an output directory ending in
// NAME/vN, else from the spec's title.
func openAPIPackage(out, title string) string {
	abs, err := filepath.Abs(out)
	if err == nil {
		version, parent := filepath.Base(abs), filepath.Base(filepath.Dir(abs))
		if versionDir.MatchString(version) {
			if p := openapi.DefaultPackage(parent); p != "" {
				return strings.TrimSuffix(p, ".v1") + "." + version
			}
		}
	}
	return openapi.DefaultPackage(title)
}
