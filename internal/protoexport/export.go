// Package protoexport writes the .proto files built into protobridge —
// google/api (http annotations), buf/validate (protovalidate rules) and
// protobridge/v1 (route options) — into a directory, so that buf or protoc
// can compile a service's .proto that imports them and generate stubs.
// protobridge/v1 is written as in this repository, with its comments; the
// others are printed from the descriptors linked into the binary.
package protoexport

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate" // registers buf/validate
	"github.com/jhump/protoreflect/desc"
	"github.com/jhump/protoreflect/desc/protoprint"
	_ "google.golang.org/genproto/googleapis/api/annotations" // registers google/api
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	protofiles "github.com/protobridge/protobridge/proto"
)

// printed are the path prefixes of the files printed from descriptors.
var printed = []string{"google/api/", "buf/validate/"}

// Export writes every built-in .proto under dir (made if missing) and
// returns their paths relative to dir, sorted. Existing files are
// overwritten; nothing else in dir is touched.
func Export(dir string) ([]string, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(protofiles.FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := protofiles.FS.ReadFile(p)
		files[p] = data
		return err
	})
	if err != nil {
		return nil, err
	}
	pr := &protoprint.Printer{Compact: false, SortElements: false}
	var perr error
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		p := fd.Path()
		if !hasPrefix(p) {
			return true
		}
		d, err := desc.WrapFile(fd)
		if err != nil {
			perr = fmt.Errorf("%s: %w", p, err)
			return false
		}
		var b bytes.Buffer
		b.WriteString("// " + p + " as built into protobridge (printed from its descriptor by `protobridge proto export`).\n\n")
		if err := pr.PrintProtoFile(d, &b); err != nil {
			perr = fmt.Errorf("%s: %w", p, err)
			return false
		}
		files[p] = b.Bytes()
		return true
	})
	if perr != nil {
		return nil, perr
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		out := filepath.Join(dir, filepath.FromSlash(path.Clean(p)))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(out, files[p], 0o644); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func hasPrefix(p string) bool {
	for _, pre := range printed {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
