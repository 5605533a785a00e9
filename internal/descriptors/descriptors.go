// Package descriptors loads the service definitions a config names:
// .proto files compiled at run time (bufbuild/protocompile) and binary
// descriptor sets, with imports that are not on the import paths resolved
// to the files built into the daemon (well-known types, google/api,
// buf/validate, protobridge/v1).
package descriptors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// The google.api, buf.validate and protobridge.v1 option files must be
	// in the global registry: user protos import them and routes read them.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	_ "google.golang.org/genproto/googleapis/api/annotations"
	_ "google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/protobridge/protobridge/bridge"
	_ "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/config"
)

// maxDescriptorSetBytes bounds one descriptor set file.
const maxDescriptorSetBytes = 64 << 20

// Set is the files a config loads: Roots hold the services to serve,
// Files resolves every name (imports included) for routing and reflection.
type Set struct {
	Files *protoregistry.Files
	Roots []protoreflect.FileDescriptor
	// where maps a root file's path to the file on disk, for positions.
	where map[string]string
}

// Load compiles the config's .proto files and reads its
// descriptor sets. Imports that are not found on the import paths resolve to
// the well-known types, google.api annotations and protobridge.v1 options
// built into the daemon.
func Load(ctx context.Context, c *config.Config) (*Set, error) {
	d := &Set{Files: &protoregistry.Files{}, where: map[string]string{}}
	var ps bridge.Problems
	top := bridge.Pos{File: c.File, Line: 1}

	if len(c.Descriptors.Protos) > 0 {
		importPaths := make([]string, len(c.Descriptors.ImportPaths))
		for i, p := range c.Descriptors.ImportPaths {
			importPaths[i] = bridge.AbsPath(c.BaseDir, p)
		}
		if len(importPaths) == 0 {
			importPaths = []string{c.BaseDir}
		}
		onDisk := func(name string) string {
			for _, ip := range importPaths {
				p := filepath.Join(ip, name)
				if _, err := os.Stat(p); err == nil {
					return p
				}
			}
			return name
		}
		builtin := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
			if err != nil {
				return protocompile.SearchResult{}, err
			}
			return protocompile.SearchResult{Desc: fd}, nil
		})
		comp := protocompile.Compiler{
			Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
				&protocompile.SourceResolver{ImportPaths: importPaths},
				builtin,
			}),
			SourceInfoMode: protocompile.SourceInfoStandard,
			Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
				pos := err.GetPosition()
				ps.Add(bridge.Pos{File: onDisk(pos.Filename), Line: pos.Line}, protoHint(err.Unwrap()), "%v", err.Unwrap())
				return nil
			}, nil),
		}
		files, err := comp.Compile(ctx, c.Descriptors.Protos...)
		if err != nil && len(ps) == 0 {
			ps.Add(top, "check descriptors.import_paths and descriptors.protos", "%v", err)
		}
		if len(ps) > 0 {
			return nil, ps
		}
		for _, f := range files {
			fd, err := standardFile(d.Files, f)
			if err != nil {
				ps.Add(bridge.Pos{File: onDisk(f.Path())}, "", "%v", err)
				continue
			}
			d.Roots = append(d.Roots, fd)
			d.where[fd.Path()] = onDisk(fd.Path())
		}
	}
	for _, setPath := range c.Descriptors.Sets {
		if err := d.loadSet(bridge.AbsPath(c.BaseDir, setPath)); err != nil {
			ps.Add(bridge.Pos{File: bridge.AbsPath(c.BaseDir, setPath)}, "build it with `buf build -o FILE` or `protoc --include_imports -o FILE`", "%v", err)
		}
	}
	return d, ps.Err()
}

// standardFile rebuilds a file compiled by protocompile (and, first, its
// imports) as a standard protodesc descriptor and registers it in reg.
// protocompile's own descriptors resolve features and presence lazily on
// every call, which costs ~10% of a translated call; the standard ones
// precompute them. Files built into the daemon are used as they are.
func standardFile(reg *protoregistry.Files, f protoreflect.FileDescriptor) (protoreflect.FileDescriptor, error) {
	if fd, err := reg.FindFileByPath(f.Path()); err == nil {
		return fd, nil
	}
	if fd, err := protoregistry.GlobalFiles.FindFileByPath(f.Path()); err == nil {
		return fd, registerWithDeps(reg, fd)
	}
	imps := f.Imports()
	for i := 0; i < imps.Len(); i++ {
		if _, err := standardFile(reg, imps.Get(i).FileDescriptor); err != nil {
			return nil, err
		}
	}
	fd, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(f), ChainResolver{reg, protoregistry.GlobalFiles})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path(), err)
	}
	if err := reg.RegisterFile(fd); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path(), err)
	}
	return fd, nil
}

// registerWithDeps registers fd and, first, its imports, skipping files that
// are already registered.
func registerWithDeps(reg *protoregistry.Files, fd protoreflect.FileDescriptor) error {
	if _, err := reg.FindFileByPath(fd.Path()); err == nil {
		return nil
	}
	imps := fd.Imports()
	for i := 0; i < imps.Len(); i++ {
		if err := registerWithDeps(reg, imps.Get(i).FileDescriptor); err != nil {
			return err
		}
	}
	if err := reg.RegisterFile(fd); err != nil {
		return fmt.Errorf("%s: %w", fd.Path(), err)
	}
	return nil
}

// loadSet reads a binary FileDescriptorSet. Every file in it is a root;
// imports missing from the set resolve to the built-in files.
func (d *Set) loadSet(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return errors.Unwrap(err)
	}
	if info.Size() > maxDescriptorSetBytes {
		return fmt.Errorf("descriptor set is %d bytes, over the %d byte limit", info.Size(), maxDescriptorSetBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return fmt.Errorf("not a FileDescriptorSet: %w", err)
	}
	local := &protoregistry.Files{}
	resolver := ChainResolver{local, protoregistry.GlobalFiles}
	for _, fdp := range set.GetFile() {
		if existing, err := protoregistry.GlobalFiles.FindFileByPath(fdp.GetName()); err == nil {
			// A copy of a built-in file (descriptor.proto, google/api/...):
			// use the daemon's, so options stay typed.
			if err := local.RegisterFile(existing); err != nil {
				return err
			}
			continue
		}
		fd, err := protodesc.NewFile(fdp, resolver)
		if err != nil {
			return fmt.Errorf("%s: %w", fdp.GetName(), err)
		}
		if err := local.RegisterFile(fd); err != nil {
			return fmt.Errorf("%s: %w", fdp.GetName(), err)
		}
		if err := registerWithDeps(d.Files, fd); err != nil {
			return err
		}
		d.Roots = append(d.Roots, fd)
		d.where[fd.Path()] = path
	}
	return nil
}

// ChainResolver looks names up in each registry in turn.
type ChainResolver []interface {
	FindFileByPath(string) (protoreflect.FileDescriptor, error)
	FindDescriptorByName(protoreflect.FullName) (protoreflect.Descriptor, error)
}

func (c ChainResolver) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	for _, r := range c {
		if fd, err := r.FindFileByPath(p); err == nil {
			return fd, nil
		}
	}
	return nil, protoregistry.NotFound
}

func (c ChainResolver) FindDescriptorByName(n protoreflect.FullName) (protoreflect.Descriptor, error) {
	for _, r := range c {
		if d, err := r.FindDescriptorByName(n); err == nil {
			return d, nil
		}
	}
	return nil, protoregistry.NotFound
}

// MethodPos is where a method is declared in its .proto file, when known.
func (d *Set) MethodPos(md protoreflect.MethodDescriptor) bridge.Pos {
	file := md.ParentFile()
	p := bridge.Pos{File: d.where[file.Path()]}
	if p.File == "" {
		p.File = file.Path()
	}
	if loc := file.SourceLocations().ByDescriptor(md); loc.StartLine > 0 || loc.StartColumn > 0 || loc.EndLine > 0 {
		p.Line = loc.StartLine + 1
	}
	return p
}

// protoHint says what to do about a compile error of a .proto: the import
// an option needs (the files are built in; `protobridge proto export`
// writes them for other tools), or where imports are looked for.
func protoHint(err error) string {
	msg := err.Error()
	if _, ext, ok := strings.Cut(msg, "unknown extension "); ok {
		ext = strings.Trim(strings.Fields(ext)[0], "()")
		if xt, err := protoregistry.GlobalTypes.FindExtensionByName(protoreflect.FullName(ext)); err == nil {
			imp := xt.TypeDescriptor().ParentFile().Path()
			return fmt.Sprintf("add import %q; to the .proto: it is built in, and `protobridge proto export DIR` writes it for buf or protoc", imp)
		}
		return "import the .proto that declares " + ext
	}
	if strings.Contains(msg, "no such file or directory") || strings.Contains(msg, "file not found") {
		return "imports are looked for under descriptors.import_paths, and google/api, buf/validate and protobridge/v1 are built in"
	}
	return ""
}
