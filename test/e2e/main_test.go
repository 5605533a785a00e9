// Package e2e tests the protobridge binary end to end: it builds
// ./cmd/protobridge once, runs daemons on 127.0.0.1 against in-process
// upstreams and Prism (mocking the Petstore spec), and calls them with a
// grpc-go client using dynamic messages and with grpcurl over reflection.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The options the example protos import, for protocompile.
	_ "google.golang.org/genproto/googleapis/api/annotations"

	_ "github.com/protobridge/protobridge/gen/protobridge/v1"

	"github.com/protobridge/protobridge/test/internal/proc"

	// buf/validate/validate.proto, which `gen wsdl` imports for XSD facets.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

var (
	// root is the repository's root directory.
	root string
	// binary is the protobridge binary built by TestMain.
	binary string
	// petstoreProto is the compiled examples/petstore proto.
	petstoreProto protoreflect.FileDescriptor
)

// lifetime bounds any single wait in these tests (process start, a call, a
// shutdown) so a hang fails the test instead of the whole run. Tests assert
// outcomes, never how long they took.
const lifetime = 60 * time.Second

func TestMain(m *testing.M) {
	os.Exit(proc.Main(m, &root, &binary, func() (err error) {
		petstoreProto, err = compileProto(filepath.Join(root, "examples", "petstore", "proto"), "petstore/v1/petstore.proto")
		return err
	}))
}

// compileProto compiles one .proto the way the daemon does: imports resolve
// on importPath, then to the files linked into this test (google.api,
// protobridge.v1, well-known types).
func compileProto(importPath, file string) (protoreflect.FileDescriptor, error) {
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
		return nil, fmt.Errorf("compiling %s: %w", file, err)
	}
	return files[0], nil
}

// daemon is a running `protobridge serve`.
type daemon struct {
	*proc.Process
	addr string
	conn *grpc.ClientConn
	stop sync.Once
}

var servingRE = regexp.MustCompile(`msg=serving address=(\S+)`)

// startDaemon serves the config (whose server.listen should be
// 127.0.0.1:0), waits until grpc.health.v1 reports SERVING and dials it.
// t.Cleanup stops it with SIGTERM and asserts a clean exit.
func startDaemon(t *testing.T, config string, flags ...string) *daemon {
	t.Helper()
	d := &daemon{Process: proc.Start(t, "", nil, binary, append([]string{"serve", "--config", config}, flags...)...)}
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
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
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
