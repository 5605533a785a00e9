package soap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/test/internal/proc"

	// buf/validate/validate.proto, which `gen wsdl` imports for XSD facets.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

// generated is the output of `protobridge gen wsdl` for one WSDL.
type generated struct {
	// importPath is the root the .proto resolves against; protoPath is the
	// file relative to it (NAME/v1/FILE.proto).
	importPath, protoPath string
	// text is the .proto source.
	text string
	file protoreflect.FileDescriptor
}

// genWSDL runs the built binary's `gen wsdl` on a WSDL into a temporary
// NAME/v1 directory (package NAME.v1) with upstream "up", and compiles the
// result as the daemon will.
func genWSDL(t *testing.T, wsdlPath, name string) *generated {
	t.Helper()
	importPath := t.TempDir()
	out := filepath.Join(importPath, name, "v1")
	stdout, stderr, code := runCommand(t, root, binary, "gen", "wsdl", wsdlPath, "--out", out, "--upstream", "up")
	if code != 0 {
		t.Fatalf("gen wsdl %s exited %d:\n%s%s", wsdlPath, code, stdout, stderr)
	}
	protos, err := filepath.Glob(filepath.Join(out, "*.proto"))
	if err != nil || len(protos) != 1 {
		t.Fatalf("gen wsdl wrote %v (%v), want one .proto", protos, err)
	}
	text, err := os.ReadFile(protos[0])
	if err != nil {
		t.Fatal(err)
	}
	g := &generated{importPath: importPath, protoPath: name + "/v1/" + filepath.Base(protos[0]), text: string(text)}
	g.file = compileProto(t, importPath, g.protoPath)
	return g
}

// compileProto compiles one .proto the way the daemon does: imports resolve
// on importPath, then to the files linked into this test.
func compileProto(t *testing.T, importPath, file string) protoreflect.FileDescriptor {
	t.Helper()
	linked := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		return protocompile.SearchResult{Desc: fd}, nil
	})
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{ImportPaths: []string{importPath}}, linked,
	})}
	files, err := c.Compile(context.Background(), file)
	if err != nil {
		t.Fatalf("compiling %s: %v", file, err)
	}
	return files[0]
}

// service returns the file's only service.
func (g *generated) service(t *testing.T) protoreflect.ServiceDescriptor {
	t.Helper()
	if n := g.file.Services().Len(); n != 1 {
		t.Fatalf("%s has %d services, want 1", g.protoPath, n)
	}
	return g.file.Services().Get(0)
}

// method finds a method of the file's service.
func (g *generated) method(t *testing.T, name string) protoreflect.MethodDescriptor {
	t.Helper()
	md := g.service(t).Methods().ByName(protoreflect.Name(name))
	if md == nil {
		t.Fatalf("%s has no method %s", g.service(t).FullName(), name)
	}
	return md
}

// soapOption is the method's (protobridge.v1.route).soap binding.
func soapOption(t *testing.T, md protoreflect.MethodDescriptor) *pbv1.SoapOperation {
	t.Helper()
	opts := md.Options()
	b, err := proto.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Re-read the options with the linked extension types.
	mo := &descriptorpb.MethodOptions{}
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, mo); err != nil {
		t.Fatal(err)
	}
	r, ok := proto.GetExtension(mo, pbv1.E_Route).(*pbv1.RouteOptions)
	if !ok || r.GetSoap() == nil {
		t.Fatalf("%s has no (protobridge.v1.route).soap option", md.FullName())
	}
	return r.GetSoap()
}

// daemon is a running `protobridge serve`.
type daemon struct {
	*proc.Process
	addr string
	conn *grpc.ClientConn
	stop sync.Once
}

var servingRE = regexp.MustCompile(`msg=serving address=(\S+)`)

// serve writes a config serving g's .proto with upstream "up" (kind soap)
// at baseURL, open to every caller, starts the daemon on 127.0.0.1:0, waits
// until it reports SERVING and dials it. extra is appended to the upstream's
// block (indented four spaces). t.Cleanup stops it with SIGTERM and asserts a
// clean exit.
func serve(t *testing.T, g *generated, baseURL, extra string) *daemon {
	t.Helper()
	config := proc.WriteFile(t, t.TempDir(), "protobridge.yaml", fmt.Sprintf(`server:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [%q]
  protos: [%s]
auth:
  open: true
upstreams:
  up:
    kind: soap
    base_url: %s
%s`, g.importPath, g.protoPath, baseURL, extra))
	d := &daemon{Process: proc.Start(t, root, nil, binary, "serve", "--config", config)}
	m, ok := d.Out.Wait(servingRE)
	if !ok {
		t.Fatalf("daemon exited before serving: %v\n%s", d.Err(), d.Out)
	}
	d.addr = m[1]
	conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	d.conn = conn
	t.Cleanup(func() {
		d.shutdown(t)
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	})
	resp, err := healthpb.NewHealthClient(conn).Check(callCtx(t), &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v\n%s", resp.GetStatus(), err, d.Out)
	}
	return d
}

// shutdown sends SIGTERM once and asserts the daemon exits 0.
func (d *daemon) shutdown(t *testing.T) {
	t.Helper()
	d.stop.Do(func() {
		if code := d.SignalAndWait(t, syscall.SIGTERM, lifetime); code != 0 {
			t.Errorf("daemon exited with %d after SIGTERM, want 0; output:\n%s", code, d.Out)
		}
	})
}

// message parses protojson text into a dynamic message of md.
func message(t *testing.T, md protoreflect.MessageDescriptor, text string) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal([]byte(text), m); err != nil {
		t.Fatalf("%s from %s: %v", md.FullName(), text, err)
	}
	return m
}

// call calls a method of g's service through the daemon with a dynamic
// request given as protojson.
func (d *daemon) call(t *testing.T, g *generated, name, req string) (*dynamicpb.Message, error) {
	t.Helper()
	md := g.method(t, name)
	resp := dynamicpb.NewMessage(md.Output())
	err := d.conn.Invoke(callCtx(t), "/"+string(g.service(t).FullName())+"/"+name, message(t, md.Input(), req), resp)
	return resp, err
}

// mustCall is call failing the test on an error and checking the response
// equals the protojson text want.
func (d *daemon) mustCall(t *testing.T, g *generated, name, req, want string) *dynamicpb.Message {
	t.Helper()
	resp, err := d.call(t, g, name, req)
	if err != nil {
		t.Fatalf("%s(%s): %v\ndaemon output:\n%s", name, req, err, d.Out)
	}
	wantMessage(t, resp, want)
	return resp
}

// wantMessage fails unless got equals the protojson text want.
func wantMessage(t *testing.T, got proto.Message, want string) {
	t.Helper()
	w := message(t, got.ProtoReflect().Descriptor(), want)
	if !proto.Equal(w, got) {
		t.Errorf("got response %s\nwant %s", protojson.Format(got), protojson.Format(w))
	}
}

// soapFault is what a SOAP fault status carries.
type soapFault struct {
	info   *errdetails.ErrorInfo
	fields map[string]any // the google.protobuf.Struct detail, as Go values
}

// wantFault fails unless err is a status with code, ErrorInfo reason
// SOAP_FAULT in protobridge's domain with the metadata given, and a
// google.protobuf.Struct detail; it returns them.
func wantFault(t *testing.T, err error, code codes.Code, meta map[string]string) soapFault {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	var f soapFault
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			f.info = d
		case *structpb.Struct:
			f.fields = d.AsMap()
		case error:
			t.Errorf("undecodable status detail: %v", d)
		}
	}
	if f.info == nil || f.info.GetReason() != "SOAP_FAULT" || f.info.GetDomain() != "protobridge.dev" {
		t.Fatalf("ErrorInfo = %v, want reason SOAP_FAULT in protobridge.dev", f.info)
	}
	for k, v := range meta {
		if got := f.info.GetMetadata()[k]; got != v {
			t.Errorf("ErrorInfo metadata[%q] = %q, want %q (all: %v)", k, got, v, f.info.GetMetadata())
		}
	}
	if f.fields == nil {
		t.Fatalf("no google.protobuf.Struct fault detail in %v", st.Details())
	}
	return f
}

// at returns the value at a path of keys in the fault detail Struct, or nil.
func (f soapFault) at(path ...string) any {
	var v any = f.fields
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// wantAt fails unless the fault Struct holds want at path.
func (f soapFault) wantAt(t *testing.T, want any, path ...string) {
	t.Helper()
	if got := f.at(path...); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fault detail %s = %v, want %v (fault: %v)", strings.Join(path, "."), got, want, f.fields)
	}
}

// grpcurl runs bin/grpcurl (built by `make tools`) and returns its combined
// output and exit status.
func grpcurl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	path := testenv.Tool(t, "grpcurl")
	stdout, stderr, code := runCommand(t, root, path, args...)
	return stdout + stderr, code
}

// wantOutput fails unless out holds every one of want.
func wantOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %s; output:\n%s", w, out)
		}
	}
}

// wantStatusDetails fails unless err is a status with code, and returns its
// ErrorInfo and UpstreamError details (nil when absent).
func wantStatusDetails(t *testing.T, err error, code codes.Code) (*errdetails.ErrorInfo, *pbv1.UpstreamError) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	var info *errdetails.ErrorInfo
	var upstream *pbv1.UpstreamError
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *pbv1.UpstreamError:
			upstream = d
		}
	}
	return info, upstream
}
