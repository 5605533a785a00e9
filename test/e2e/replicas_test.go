package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// startRedis runs a throwaway redis-server (no persistence) on a free
// loopback port and returns its address. Without redis-server the test is
// skipped, except with CI=true, where it fails.
func startRedis(t *testing.T) string {
	t.Helper()
	bin := testenv.LookPath(t, "redis-server")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	_ = lis.Close()
	p := proc.Start(t, "", nil, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(lifetime)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen: %v\n%s", err, p.Out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasShareState runs two daemon processes against one Redis: a
// rate limit holds across both, and a call made with an idempotency key on
// one is replayed by the other without reaching the upstream again.
func TestReplicasShareState(t *testing.T) {
	redisAddr := startRedis(t)
	up := newFakePetstore(t)
	config := func(name string) string {
		return proc.WriteFile(t, t.TempDir(), name+".yaml", fmt.Sprintf(`server:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [%q]
  protos: [petstore/v1/petstore.proto]
auth:
  open: true
state:
  backend: redis
  address: %s
  key_prefix: e2e-replicas
upstreams:
  petstore:
    kind: rest
    base_url: %s
    policies:
      dedup: {ttl: 1h}
routes:
  - method: petstore.v1.PetService/GetPetById
    policies:
      rate_limit: {rate: 0.001, burst: 2, max_wait: 0s}
`, filepath.Join(root, "examples", "petstore", "proto"), redisAddr, up.URL))
	}
	a := startDaemon(t, config("a"))
	b := startDaemon(t, config("b"))

	// Two tokens in all: one call on each replica passes, the third is refused.
	for i, d := range []*daemon{a, b} {
		if _, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := call(callCtx(t), t, a.conn, "GetPetById", `{"pet_id":"10"}`)
	if info, _ := wantStatus(t, err, codes.ResourceExhausted); info.GetReason() != "RATE_LIMITED" {
		t.Fatalf("third call: %v", err)
	}
	if n := up.count("GET /pet/10"); n != 2 {
		t.Fatalf("upstream got %d GETs, want 2", n)
	}

	// An idempotent create on replica a, replayed on replica b.
	ctx := metadata.AppendToOutgoingContext(callCtx(t), "idempotency-key", "create-rex-1")
	const pet = `{"pet":{"name":"rex","photoUrls":["rex.jpg"]}}`
	first, err := call(ctx, t, a.conn, "AddPet", pet)
	if err != nil {
		t.Fatal(err)
	}
	var hdr metadata.MD
	again, err := call(ctx, t, b.conn, "AddPet", pet, grpc.Header(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(first, again) {
		t.Errorf("replayed %v, first call got %v", again, first)
	}
	if got := hdr.Get("x-protobridge-replay"); len(got) != 1 || got[0] != "true" {
		t.Errorf("replay header = %v", hdr)
	}
	if n := up.count("POST /pet"); n != 1 {
		t.Fatalf("upstream got %d POSTs, want 1", n)
	}
	// The same key with another payload is refused on either replica.
	_, err = call(ctx, t, b.conn, "AddPet", `{"pet":{"name":"other","photoUrls":[]}}`)
	if info, _ := wantStatus(t, err, codes.FailedPrecondition); info.GetReason() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("other payload: %v", err)
	}
}
