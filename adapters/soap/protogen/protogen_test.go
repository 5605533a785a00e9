package protogen

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/adapters/internal/genproto"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the generator's output")

// corpusRemotePrefix is where the postman corpus's remote imports point; the corpus
// holds the same files under wsdl/postman/imports.
const corpusRemotePrefix = "https://raw.githubusercontent.com/postmanlabs/wsdl-to-postman/development/test/data/separatedFiles/"

// loadCorpus loads a corpus WSDL without the network: remote imports are served from
// their local copies (the postman folder, or a file of the same name beside the WSDL).
func loadCorpus(corpus, file string) (*wsdl.Definitions, error) {
	fetch := func(loc string) ([]byte, error) {
		if rest, ok := strings.CutPrefix(loc, corpusRemotePrefix); ok {
			return os.ReadFile(filepath.Join(corpus, "wsdl", "postman", "imports", filepath.FromSlash(rest)))
		}
		if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
			sibling := filepath.Join(filepath.Dir(file), path.Base(loc))
			if _, err := os.Stat(sibling); err == nil {
				return os.ReadFile(sibling)
			}
			return nil, errors.New("no network in tests")
		}
		return os.ReadFile(loc)
	}
	// The wsdl package's corpus test checks which files need IgnoreUnreadableImports.
	return wsdl.Load(file, wsdl.Options{AllowRemote: true, Fetch: fetch, IgnoreUnreadableImports: true})
}

func corpusWSDLs(t testing.TB, corpus string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(corpus, "wsdl"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wsdl") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := filepath.Glob(filepath.Join(corpus, "soap-samples", "*", "soap.wsdl"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, samples...)
	sort.Strings(files)
	return files
}

// generateChecked generates d, compiles the output and lints it.
func generateChecked(t testing.TB, d *wsdl.Definitions, opts Options) (*File, protoreflect.FileDescriptor) {
	t.Helper()
	f, err := Generate(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.ReplaceAll(opts.Package, ".", "/") + "/" + f.Name
	fd, err := Compile(context.Background(), p, f.Content)
	if err != nil {
		t.Fatalf("%v\n%s", err, numbered(f.Content))
	}
	for _, problem := range lint(fd) {
		t.Errorf("lint: %s", problem)
	}
	if imported, used := bytes.Contains(f.Content, []byte(`import "protobridge/v1/options.proto"`)), bytes.Contains(f.Content, []byte("(protobridge.v1.")); imported != used {
		t.Errorf("IMPORT_USED: options.proto imported %v, used %v", imported, used)
	}
	// The SOAP adapter compiles every request and response with the codec, which
	// checks the XML options; so must every message.
	ms := fd.Messages()
	for i := 0; i < ms.Len(); i++ {
		if _, err := xmlcodec.Compile(ms.Get(i)); err != nil {
			t.Errorf("xmlcodec: %v", err)
		}
	}
	return f, fd
}

func numbered(content []byte) string {
	var b strings.Builder
	for i, l := range strings.Split(string(content), "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, l)
	}
	return b.String()
}

// TestCorpus generates every corpus WSDL that wsdl.Load accepts; each must compile and
// pass the lint checks.
func TestCorpus(t *testing.T) {
	corpus := testenv.Corpus(t)
	var loaded, generated, empty int
	for _, file := range corpusWSDLs(t, corpus) {
		rel, _ := filepath.Rel(corpus, file)
		d, err := loadCorpus(corpus, file)
		if err != nil {
			continue // excluded by the wsdl package's corpus test
		}
		loaded++
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			f, fd := generateChecked(t, d, Options{Package: "corpus.v1"})
			if t.Failed() {
				return
			}
			generated++
			if fd.Services().Len() == 0 {
				empty++
				t.Logf("no service: %v", f.Warnings)
			}
		})
	}
	t.Logf("corpus: %d WSDLs loaded, %d generated .proto files compile and lint clean (%d without a SOAP service)", loaded, generated, empty)
	if loaded < 100 {
		t.Errorf("only %d corpus WSDLs loaded; the corpus or its fetcher is broken", loaded)
	}
	if generated != loaded {
		t.Errorf("%d of %d loaded WSDLs failed to generate", loaded-generated, loaded)
	}
}

// goldens are the representative WSDLs whose output is kept in testdata.
var goldens = []struct{ name, file, pkg string }{
	{"calculator", "wsdl/postman/valid/calculator-soap11and12.wsdl", "calculator.v1"},
	{"check_vat", "wsdl/public/checkVatService.wsdl", "check_vat.v1"},
	{"element_form_default_qualified", "wsdl/postman/valid/elementFormDefaultQualified.wsdl", "efdq.v1"},
	{"features", "", "features.v1"},
}

func TestGolden(t *testing.T) {
	for _, gt := range goldens {
		t.Run(gt.name, func(t *testing.T) {
			var d *wsdl.Definitions
			var err error
			if gt.file == "" {
				d, err = wsdl.Load(filepath.Join("testdata", gt.name+".wsdl"), wsdl.Options{})
			} else {
				corpus := testenv.Corpus(t)
				d, err = loadCorpus(corpus, filepath.Join(corpus, filepath.FromSlash(gt.file)))
			}
			if err != nil {
				t.Fatal(err)
			}
			f, _ := generateChecked(t, d, Options{Package: gt.pkg})
			golden := filepath.Join("testdata", gt.name+".proto.golden")
			if *update {
				if err := os.WriteFile(golden, f.Content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(f.Content, want) {
				t.Errorf("output differs from %s (run go test -update and review the diff)", golden)
			}
			again, err := Generate(d, Options{Package: gt.pkg})
			if err != nil || !bytes.Equal(again.Content, f.Content) {
				t.Errorf("a second Generate differs: not deterministic")
			}
		})
	}
}

// lint applies the buf STANDARD rules the generator relies on.
func lint(fd protoreflect.FileDescriptor) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	comps := strings.Split(string(fd.Package()), ".")
	if len(comps) < 2 || !regexp.MustCompile(`^v\d+$`).MatchString(comps[len(comps)-1]) {
		bad("PACKAGE_VERSION_SUFFIX: package %s", fd.Package())
	}
	for _, c := range comps {
		if genproto.LowerSnake(c) != c {
			bad("PACKAGE_LOWER_SNAKE_CASE: package %s", fd.Package())
		}
	}
	base := strings.TrimSuffix(path.Base(fd.Path()), ".proto")
	if genproto.LowerSnake(base) != base {
		bad("FILE_LOWER_SNAKE_CASE: %s", fd.Path())
	}
	usesAny := false
	var enums func(es protoreflect.EnumDescriptors)
	enums = func(es protoreflect.EnumDescriptors) {
		for i := 0; i < es.Len(); i++ {
			e := es.Get(i)
			if genproto.Pascal(string(e.Name())) != string(e.Name()) {
				bad("ENUM_PASCAL_CASE: %s", e.FullName())
			}
			prefix := genproto.UpperSnake(string(e.Name())) + "_"
			vs := e.Values()
			if vs.Get(0).Number() != 0 || !strings.HasSuffix(string(vs.Get(0).Name()), "_UNSPECIFIED") {
				bad("ENUM_ZERO_VALUE_SUFFIX: %s", e.FullName())
			}
			for j := 0; j < vs.Len(); j++ {
				n := string(vs.Get(j).Name())
				if genproto.UpperSnake(n) != n {
					bad("ENUM_VALUE_UPPER_SNAKE_CASE: %s", n)
				}
				if !strings.HasPrefix(n, prefix) {
					bad("ENUM_VALUE_PREFIX: %s in %s", n, e.FullName())
				}
			}
		}
	}
	var messages func(ms protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			if genproto.Pascal(string(m.Name())) != string(m.Name()) {
				bad("MESSAGE_PASCAL_CASE: %s", m.FullName())
			}
			fs := m.Fields()
			for j := 0; j < fs.Len(); j++ {
				f := fs.Get(j)
				if genproto.LowerSnake(string(f.Name())) != string(f.Name()) {
					bad("FIELD_LOWER_SNAKE_CASE: %s", f.FullName())
				}
				if f.Message() != nil && f.Message().FullName() == "google.protobuf.Any" {
					usesAny = true
				}
			}
			os := m.Oneofs()
			for j := 0; j < os.Len(); j++ {
				if o := os.Get(j); !o.IsSynthetic() && genproto.LowerSnake(string(o.Name())) != string(o.Name()) {
					bad("ONEOF_LOWER_SNAKE_CASE: %s", o.FullName())
				}
			}
			enums(m.Enums())
			messages(m.Messages())
		}
	}
	enums(fd.Enums())
	messages(fd.Messages())
	used := map[protoreflect.FullName]string{}
	ss := fd.Services()
	for i := 0; i < ss.Len(); i++ {
		s := ss.Get(i)
		if genproto.Pascal(string(s.Name())) != string(s.Name()) || !strings.HasSuffix(string(s.Name()), "Service") {
			bad("SERVICE_PASCAL_CASE/SERVICE_SUFFIX: %s", s.Name())
		}
		ms := s.Methods()
		for j := 0; j < ms.Len(); j++ {
			m := ms.Get(j)
			rpc := string(m.Name())
			if genproto.Pascal(rpc) != rpc {
				bad("RPC_PASCAL_CASE: %s", m.FullName())
			}
			for _, io := range []struct {
				md     protoreflect.MessageDescriptor
				suffix string
			}{{m.Input(), "Request"}, {m.Output(), "Response"}} {
				n := string(io.md.Name())
				if n != rpc+io.suffix && n != string(s.Name())+rpc+io.suffix {
					bad("RPC_%s_STANDARD_NAME: %s uses %s", strings.ToUpper(io.suffix), m.FullName(), n)
				}
				if prev, dup := used[io.md.FullName()]; dup {
					bad("RPC_REQUEST_RESPONSE_UNIQUE: %s used by %s and %s", n, prev, m.FullName())
				}
				used[io.md.FullName()] = string(m.FullName())
			}
		}
	}
	imps := fd.Imports()
	for i := 0; i < imps.Len(); i++ {
		if imps.Get(i).Path() == "google/protobuf/any.proto" && !usesAny {
			bad("IMPORT_USED: google/protobuf/any.proto")
		}
	}
	return out
}
