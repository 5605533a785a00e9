// Package anchor is the comparison point: connectrpc.com/vanguard v0.4.0
// transcoding gRPC calls to a REST (JSON) upstream, configured the way its
// documentation shows — a Transcoder whose service handler is a reverse proxy
// to the REST backend, with REST as the only target protocol and JSON as the
// only target codec (written without unpopulated fields, as protobridge does).
//
// It comes in two variants that differ only in the message types vanguard
// decodes and encodes with (see Types): the Go types generated from
// shop.proto, what vanguard's users run, and dynamicpb messages built from a
// descriptor.
package anchor

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protobridge/protobridge/bench/internal/shop"
	"github.com/protobridge/protobridge/bench/internal/shop/shoppb"
)

// Types names the message types vanguard runs with.
type Types string

const (
	// Generated is vanguard with the Go types protoc-gen-go generated from
	// shop.proto (package shoppb, `make gen`), linked in and so registered
	// globally: vanguard.NewService finds the service by name in the global
	// registry and, as every input and output message has a generated type
	// there, decodes and encodes them with it (protoregistry.GlobalTypes).
	// This is what vanguard's users run.
	Generated Types = "generated"
	// DynamicPB is vanguard given the schema at run time
	// (vanguard.NewServiceWithSchema, the .proto compiled and rebuilt as
	// standard descriptors): its file is not the global registry's, so
	// vanguard builds dynamicpb message types from the descriptors, as it
	// does for a descriptor set or reflection.
	DynamicPB Types = "dynamicpb"
)

// AllTypes are the variants, the one users run first.
var AllTypes = []Types{Generated, DynamicPB}

// MaxIdleConns matches protobridge's default pool of idle upstream
// connections (bridge.DefaultMaxIdleConns), so neither side redials under load.
const MaxIdleConns = 64

// NewTransport returns the HTTP transport to the upstream.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          MaxIdleConns,
		MaxIdleConnsPerHost:   MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// New returns vanguard's transcoder for the benchmark's service with the
// given message types: it accepts gRPC (and the other RPC protocols) and
// calls upstream as REST with JSON bodies, following the methods'
// google.api.http rules. schema is the compiled .proto (used by DynamicPB).
func New(types Types, schema *shop.Schema, upstream *url.URL, transport http.RoundTripper) (http.Handler, error) {
	switch types {
	case Generated:
		return NewGeneratedHandler(upstream, transport)
	case DynamicPB:
		std, err := schema.Standard()
		if err != nil {
			return nil, err
		}
		return NewHandler(std.Service, upstream, transport)
	}
	return nil, fmt.Errorf("anchor: unknown types %q (want %q or %q)", types, Generated, DynamicPB)
}

// NewHandler returns vanguard's transcoder for the service sd with dynamicpb
// messages (DynamicPB). sd must not come from the global registry (generated
// code), where vanguard would use the generated types instead.
func NewHandler(sd protoreflect.ServiceDescriptor, upstream *url.URL, transport http.RoundTripper) (http.Handler, error) {
	if fd, err := protoregistry.GlobalFiles.FindFileByPath(sd.ParentFile().Path()); err == nil && fd == sd.ParentFile() {
		return nil, fmt.Errorf("anchor: %s is the global registry's file; vanguard would not use dynamicpb for it", fd.Path())
	}
	return newTranscoder(vanguard.NewServiceWithSchema(sd, newProxy(upstream, transport), serviceOptions()...))
}

// NewGeneratedHandler returns vanguard's transcoder for the service with the
// generated Go types of package shoppb (Generated), set up as vanguard's
// documentation shows for generated code: vanguard.NewService with the
// service's name. It checks first that the global registry resolves the
// service and its messages to shoppb, which is what makes vanguard use them.
func NewGeneratedHandler(upstream *url.URL, transport http.RoundTripper) (http.Handler, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(shop.Service)
	if err != nil {
		return nil, fmt.Errorf("anchor: %s is not registered: %w", shop.Service, err)
	}
	if d.ParentFile() != shoppb.File_bench_internal_shop_shop_proto {
		return nil, fmt.Errorf("anchor: %s resolves to %s, not the generated %s", shop.Service, d.ParentFile().Path(), shop.GeneratedPath)
	}
	for _, m := range []proto.Message{&shoppb.UpdateOrderRequest{}, &shoppb.Order{}} {
		want := m.ProtoReflect().Type()
		if mt, err := protoregistry.GlobalTypes.FindMessageByName(want.Descriptor().FullName()); err != nil || mt != want {
			return nil, fmt.Errorf("anchor: %s does not resolve to its generated Go type (%v)", want.Descriptor().FullName(), err)
		}
	}
	return newTranscoder(vanguard.NewService(shop.Service, newProxy(upstream, transport), serviceOptions()...))
}

// newProxy is the service handler: a reverse proxy to the REST upstream.
func newProxy(upstream *url.URL, transport http.RoundTripper) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		Transport: transport,
	}
}

// serviceOptions make the handler a REST (JSON) backend.
func serviceOptions() []vanguard.ServiceOption {
	return []vanguard.ServiceOption{
		vanguard.WithTargetProtocols(vanguard.ProtocolREST),
		vanguard.WithTargetCodecs(vanguard.CodecJSON),
		vanguard.WithNoTargetCompression(),
	}
}

func newTranscoder(svc *vanguard.Service) (http.Handler, error) {
	// vanguard's JSON codec emits unpopulated fields by default; protobridge
	// writes plain protojson. Turn that off so both send the same document.
	codec := vanguard.WithCodec(func(res vanguard.TypeResolver) vanguard.Codec {
		c := vanguard.NewJSONCodec(res)
		c.MarshalOptions.EmitUnpopulated = false
		return c
	})
	return vanguard.NewTranscoder([]*vanguard.Service{svc}, codec)
}

// NewServer returns an HTTP server for h speaking HTTP/1.1 and cleartext
// HTTP/2 with prior knowledge, which is how gRPC clients connect without TLS.
func NewServer(h http.Handler) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: h, Protocols: &p, ReadHeaderTimeout: 10 * time.Second}
}
