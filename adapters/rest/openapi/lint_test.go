package openapi

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/protobridge/protobridge/adapters/internal/genproto"

	"google.golang.org/protobuf/reflect/protoreflect"
)

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
