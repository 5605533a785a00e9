// Package shop holds what both sides of the benchmark share: the .proto,
// compiled at run time; the ~5.5 KB order payload; the REST upstream that
// answers it; and a gRPC client that sends pre-encoded bytes, so the client's
// own cost is the same whatever it calls.
package shop

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// google/api/annotations.proto resolves from the global registry.
	_ "google.golang.org/genproto/googleapis/api/annotations"
)

//go:embed shop.proto
var protoSource []byte

// Names of the benchmark's proto file, service and method.
const (
	ProtoPath  = "bench/v1/shop.proto"
	Service    = "bench.v1.ShopService"
	Method     = Service + "/UpdateOrder"
	FullMethod = "/" + Method
	// Shop is the path variable every request carries.
	Shop = "acme-outdoor"
	// RESTPath is where the HTTP rule sends the request for Shop.
	RESTPath = "/v1/shops/" + Shop + "/orders"
	// GeneratedPath is the path under which the generated Go types (package
	// shoppb, for vanguard-generated) register this same .proto: where it
	// lives in the repository. It differs from ProtoPath on purpose:
	// protobridge takes a file it finds in the global registry at the path
	// its config names instead of compiling it, and the in-process benchmark
	// links shoppb; under another path protobridge compiles shop.proto from
	// its config there too, as the shipped daemon does in P2.
	GeneratedPath = "bench/internal/shop/shop.proto"
)

// Schema is the compiled .proto.
type Schema struct {
	File    protoreflect.FileDescriptor
	Service protoreflect.ServiceDescriptor
	Method  protoreflect.MethodDescriptor
	Request protoreflect.MessageDescriptor
	Order   protoreflect.MessageDescriptor
}

// Standard rebuilds the schema with the protobuf runtime's own descriptor
// implementation (protodesc.NewFile over the serialized FileDescriptorProto),
// which is what generated code and descriptor sets (`buf build -o`) give.
// protocompile's linker descriptors resolve some properties (field presence,
// packed encoding) through editions features on every call, which costs
// time on every message encoded or decoded.
func (s *Schema) Standard() (*Schema, error) {
	b, err := proto.Marshal(protodesc.ToFileDescriptorProto(s.File))
	if err != nil {
		return nil, err
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		return nil, err
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return nil, err
	}
	return newSchema(fd)
}

// Compile compiles the embedded .proto with protocompile, as protobridge does
// with the files named in its config. Imports resolve to the built-in
// google.api annotations, so the google.api.http option stays typed.
func Compile(ctx context.Context) (*Schema, error) {
	return CompileAt(ctx, ProtoPath)
}

// CompileAt is Compile with the file at path instead of ProtoPath
// (GeneratedPath for the descriptor set shoppb is generated from).
func CompileAt(ctx context.Context, path string) (*Schema, error) {
	builtin := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{Desc: fd}, nil
	})
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{path: string(protoSource)})},
			builtin,
		}),
	}
	files, err := comp.Compile(ctx, path)
	if err != nil {
		return nil, err
	}
	return newSchema(files[0])
}

func newSchema(fd protoreflect.FileDescriptor) (*Schema, error) {
	sd := fd.Services().ByName(protoreflect.Name(strings.TrimPrefix(Service, "bench.v1.")))
	if sd == nil {
		return nil, fmt.Errorf("%s: no service %s", fd.Path(), Service)
	}
	md := sd.Methods().ByName("UpdateOrder")
	if md == nil {
		return nil, fmt.Errorf("%s: no method %s", fd.Path(), Method)
	}
	return &Schema{File: fd, Service: sd, Method: md, Request: md.Input(), Order: md.Output()}, nil
}

// WriteProto writes the .proto under dir (as dir/bench/v1/shop.proto).
func WriteProto(dir string) error {
	p := filepath.Join(dir, filepath.FromSlash(ProtoPath))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, protoSource, 0o644)
}

// Protoset returns a FileDescriptorSet of the .proto and its imports, for ghz.
func (s *Schema) Protoset() ([]byte, error) {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			add(imps.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(s.File)
	return proto.Marshal(set)
}

// WriteProtobridgeConfig writes the .proto and a protobridge config under
// dir: the daemon listens on listen and the "rest" upstream lives at
// upstreamURL. Its rest block sets json_names: lower_camel, the spelling
// protojson (and so vanguard) writes. jsonInt64 sets the upstream's
// json_int64 ("string" writes 64-bit integers as protojson does, which is
// what vanguard sends; "" keeps protobridge's default). It returns the
// config's path.
func WriteProtobridgeConfig(dir, listen, upstreamURL, jsonInt64 string) (string, error) {
	if err := WriteProto(dir); err != nil {
		return "", err
	}
	extra := "    rest: {json_names: lower_camel}\n"
	if jsonInt64 != "" {
		extra = fmt.Sprintf("    rest: {json_names: lower_camel, json_int64: %q}\n", jsonInt64)
	}
	cfg := fmt.Sprintf(`# Written by the benchmark: one REST (JSON) route, auth open.
server:
  listen: %q
descriptors:
  import_paths: ["."]
  protos: [%q]
auth:
  open: true
upstreams:
  shop:
    kind: rest
    base_url: %q
%sroutes:
  - method: %s
    upstream: shop
`, listen, ProtoPath, upstreamURL, extra, Method)
	p := filepath.Join(dir, "protobridge.yaml")
	return p, os.WriteFile(p, []byte(cfg), 0o644)
}

// NewOrder returns the benchmark's order: a realistic nested message of
// about 5.5 KB as JSON (strings, repeated nested items, int64s, enums, maps).
func (s *Schema) NewOrder() (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(s.Order)
	if err := protojson.Unmarshal([]byte(orderJSON()), m); err != nil {
		return nil, fmt.Errorf("benchmark order: %w", err)
	}
	return m, nil
}

// Payloads are the encoded messages of one benchmark run.
type Payloads struct {
	// Request is UpdateOrderRequest{shop, order} in the protobuf wire format,
	// as the gRPC client sends it.
	Request []byte
	// RequestOrder is the order the upstream must receive as its JSON body.
	RequestOrder proto.Message
	// ResponseJSON is the upstream's reply body.
	ResponseJSON []byte
	// Response is the order both bridges must return.
	Response proto.Message
}

// NewPayloads builds the request and the upstream's canned reply: the same
// order, now paid, one revision later.
func (s *Schema) NewPayloads() (*Payloads, error) {
	order, err := s.NewOrder()
	if err != nil {
		return nil, err
	}
	req := dynamicpb.NewMessage(s.Request)
	req.Set(s.Request.Fields().ByName("shop"), protoreflect.ValueOfString(Shop))
	req.Set(s.Request.Fields().ByName("order"), protoreflect.ValueOfMessage(order))
	reqBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp := proto.Clone(order).(*dynamicpb.Message)
	f := s.Order.Fields()
	resp.Set(f.ByName("status"), protoreflect.ValueOfEnum(2)) // STATUS_PAID
	resp.Set(f.ByName("revision"), protoreflect.ValueOfUint64(order.Get(f.ByName("revision")).Uint()+1))
	resp.Set(f.ByName("updated_at_unix_ms"), protoreflect.ValueOfInt64(1767225600123))
	respJSON, err := protojson.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return &Payloads{Request: reqBytes, RequestOrder: order, ResponseJSON: respJSON, Response: resp}, nil
}

// DecodeOrder parses an order from the protobuf wire format.
func (s *Schema) DecodeOrder(b []byte) (proto.Message, error) {
	m := dynamicpb.NewMessage(s.Order)
	return m, proto.Unmarshal(b, m)
}

// DecodeOrderJSON parses an order from JSON.
func (s *Schema) DecodeOrderJSON(b []byte) (proto.Message, error) {
	m := dynamicpb.NewMessage(s.Order)
	return m, protojson.Unmarshal(b, m)
}
