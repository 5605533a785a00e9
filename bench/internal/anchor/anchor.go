// Package anchor is the comparison point: connectrpc.com/vanguard v0.4.0
// transcoding gRPC calls to a REST (JSON) upstream, configured the way its
// documentation shows — a Transcoder whose service handler is a reverse proxy
// to the REST backend, with REST as the only target protocol and JSON as the
// only target codec (written without unpopulated fields, as protobridge does).
package anchor

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/reflect/protoreflect"
)

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

// NewHandler returns vanguard's transcoder for the service: it accepts gRPC
// (and the other RPC protocols) and calls upstream as REST with JSON bodies,
// following the methods' google.api.http rules.
func NewHandler(sd protoreflect.ServiceDescriptor, upstream *url.URL, transport http.RoundTripper) (http.Handler, error) {
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		Transport: transport,
	}
	svc := vanguard.NewServiceWithSchema(sd, proxy,
		vanguard.WithTargetProtocols(vanguard.ProtocolREST),
		vanguard.WithTargetCodecs(vanguard.CodecJSON),
		vanguard.WithNoTargetCompression(),
	)
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
