package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/protobridge/protobridge/test/internal/proc"
)

// petstoreConfig writes a config serving the example petstore proto from
// baseURL, on a free port.
func petstoreConfig(t *testing.T, baseURL string) string {
	t.Helper()
	return proc.WriteFile(t, t.TempDir(), "protobridge.yaml", fmt.Sprintf(`server:
  listen: 127.0.0.1:0
  shutdown_grace: 1m
descriptors:
  import_paths: [%q]
  protos: [petstore/v1/petstore.proto]
auth:
  open: true
upstreams:
  petstore:
    kind: rest
    base_url: %s
    max_response_bytes: %s
    forward_metadata: [api_key]
`, filepath.Join(root, "examples", "petstore", "proto"), baseURL, maxResponseCfg))
}

// callCtx bounds one call so a hang fails the test.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	t.Cleanup(cancel)
	return ctx
}

const doggieJSON = `{"id":"10","name":"doggie","category":{"id":"1","name":"Dogs"},
	"photoUrls":["https://img.example/doggie.jpg"],"tags":[{"id":"9007199254740993","name":"good boy"}],"status":"available"}`

// TestInProcess drives a daemon against the in-process fake Petstore with
// the grpc-go client and grpcurl: every pet method, then each error path.
func TestInProcess(t *testing.T) {
	t.Parallel()
	up := newFakePetstore(t)
	d := startDaemon(t, petstoreConfig(t, up.URL))

	t.Run("GetPetById/JSON", func(t *testing.T) {
		resp, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":10}`)
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, doggieJSON)
		if n := up.count("GET /pet/10"); n != 1 {
			t.Errorf("upstream got %d requests, want 1", n)
		}
	})

	t.Run("GetPetById/XML", func(t *testing.T) {
		up.mu.Lock()
		before := len(up.accepts)
		up.mu.Unlock()
		resp, err := call(callCtx(t), t, d.conn, "GetPetByIdXml", `{"pet_id":10}`)
		if err != nil {
			t.Fatal(err)
		}
		// One photoUrl and one tag stay lists; the tag id keeps all digits.
		wantMessage(t, resp, doggieJSON)
		resp, err = call(callCtx(t), t, d.conn, "GetPetByIdXml", `{"pet_id":11}`)
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, `{"id":"11","name":"Tom & Jerry","photoUrls":["a.jpg","b.jpg"],"status":"sold"}`)
		up.mu.Lock()
		accepts := up.accepts[before:]
		up.mu.Unlock()
		if !reflect.DeepEqual(accepts, []string{"application/xml", "application/xml"}) {
			t.Errorf("upstream saw Accept %q, want application/xml twice", accepts)
		}
	})

	t.Run("FindPetsByStatus", func(t *testing.T) {
		resp, err := call(callCtx(t), t, d.conn, "FindPetsByStatus", `{"status":"sold"}`)
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, `{"pets":[
			{"id":"11","name":"Tom & Jerry","photoUrls":["a.jpg","b.jpg"],"status":"sold"},
			{"id":"12","name":"Garfield","category":{"id":"2","name":"Cats"},"status":"sold"}]}`)
		resp, err = call(callCtx(t), t, d.conn, "FindPetsByStatus", `{"status":"pending"}`)
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, `{}`)
		up.mu.Lock()
		queries := up.queries
		up.mu.Unlock()
		if !reflect.DeepEqual(queries, []string{"status=sold", "status=pending"}) {
			t.Errorf("upstream saw queries %q", queries)
		}
	})

	t.Run("AddPet", func(t *testing.T) {
		resp, err := call(callCtx(t), t, d.conn, "AddPet",
			`{"pet":{"name":"rex","category":{"name":"Dogs"},"photoUrls":["rex.jpg"],"tags":[{"name":"new"}],"status":"pending"}}`)
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, `{"id":"4242","name":"rex","category":{"name":"Dogs"},"photoUrls":["rex.jpg"],"tags":[{"name":"new"}],"status":"pending"}`)
		up.mu.Lock()
		bodies := up.bodies
		up.mu.Unlock()
		if len(bodies) != 1 {
			t.Fatalf("upstream got %d bodies, want 1", len(bodies))
		}
		var got any
		if err := json.Unmarshal(bodies[0], &got); err != nil {
			t.Fatalf("body %s: %v", bodies[0], err)
		}
		want := map[string]any{"name": "rex", "category": map[string]any{"name": "Dogs"}, "photoUrls": []any{"rex.jpg"},
			"tags": []any{map[string]any{"name": "new"}}, "status": "pending"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("upstream got body %s, want the pet alone in spec field names", bodies[0])
		}
		// A pet without the required photoUrls: the upstream answers 422.
		_, err = call(callCtx(t), t, d.conn, "AddPet", `{"pet":{"name":"nophotos"}}`)
		info, _ := wantStatus(t, err, codes.InvalidArgument)
		wantErrorInfo(t, info, "UPSTREAM_HTTP_422", map[string]string{"upstream": "petstore", "http_status": "422"})
	})

	t.Run("DeletePet/api_key", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(callCtx(t), "api_key", "key-123", "x-not-forwarded", "secret")
		resp, err := call(ctx, t, d.conn, "DeletePet", `{"pet_id":12}`)
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, `{}`)
		_, err = call(ctx, t, d.conn, "DeletePet", `{"pet_id":12}`)
		info, _ := wantStatus(t, err, codes.InvalidArgument)
		wantErrorInfo(t, info, "UPSTREAM_HTTP_400", map[string]string{"upstream": "petstore"})
		up.mu.Lock()
		deletes := up.deletes
		up.mu.Unlock()
		if len(deletes) != 2 {
			t.Fatalf("upstream got %d deletes, want 2", len(deletes))
		}
		for _, h := range deletes {
			if got := h.Values("Api_key"); !reflect.DeepEqual(got, []string{"key-123"}) {
				t.Errorf("upstream got api_key %q, want [key-123]", got)
			}
			if got := h.Get("X-Not-Forwarded"); got != "" {
				t.Errorf("metadata outside forward_metadata reached the upstream: %q", got)
			}
		}
	})

	t.Run("UnknownMethod", func(t *testing.T) {
		for _, m := range []string{"/" + petService + "/GetPetByName", "/petstore.v1.StoreService/GetInventory"} {
			err := d.conn.Invoke(callCtx(t), m, &emptypb.Empty{}, &emptypb.Empty{})
			info, _ := wantStatus(t, err, codes.Unimplemented)
			wantErrorInfo(t, info, "UNKNOWN_METHOD", map[string]string{"method": m})
		}
	})

	t.Run("Upstream404", func(t *testing.T) {
		_, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":404}`)
		info, ue := wantStatus(t, err, codes.NotFound)
		wantErrorInfo(t, info, "UPSTREAM_HTTP_404", map[string]string{"upstream": "petstore", "http_status": "404", "method": petService + "/GetPetById"})
		if ue == nil || ue.GetUpstream() != "petstore" || ue.GetHttpStatus() != 404 || ue.GetContentType() != "application/json" ||
			ue.GetBody() != `{"code":1,"type":"error","message":"Pet not found"}` || ue.GetBodyTruncated() {
			t.Errorf("UpstreamError detail = %v", ue)
		}
	})

	badBodies := []struct {
		name string
		pet  int
		body string // the start of the quoted body
	}{
		{"NotJSON", petNotJSON, "<html><body>Welcome to nginx!</body></html>"},
		{"TruncatedJSON", petTruncated, `{"id":901,"name":"trunc`},
	}
	for _, bb := range badBodies {
		t.Run(bb.name, func(t *testing.T) {
			_, err := call(callCtx(t), t, d.conn, "GetPetById", fmt.Sprintf(`{"pet_id":%d}`, bb.pet))
			info, ue := wantStatus(t, err, codes.Internal)
			wantErrorInfo(t, info, "UPSTREAM_BAD_RESPONSE", map[string]string{"upstream": "petstore", "http_status": "200"})
			if ue == nil || ue.GetUpstream() != "petstore" || ue.GetHttpStatus() != 200 || !strings.HasPrefix(ue.GetBody(), bb.body) {
				t.Errorf("UpstreamError detail = %v, want the body starting %q", ue, bb.body)
			}
		})
	}
	// A body the connection cuts off is a transport failure, not a bad body.
	t.Run("ConnectionCut", func(t *testing.T) {
		_, err := call(callCtx(t), t, d.conn, "GetPetById", fmt.Sprintf(`{"pet_id":%d}`, petCut))
		info, _ := wantStatus(t, err, codes.Unavailable)
		wantErrorInfo(t, info, "UPSTREAM_UNAVAILABLE", map[string]string{"upstream": "petstore"})
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "body was cut off") {
			t.Errorf("message %q does not say the body was cut off", msg)
		}
	})

	t.Run("BodyOverLimit", func(t *testing.T) {
		for _, pet := range []int{petHuge, petHugeLength} {
			_, err := call(callCtx(t), t, d.conn, "GetPetById", fmt.Sprintf(`{"pet_id":%d}`, pet))
			info, _ := wantStatus(t, err, codes.ResourceExhausted)
			wantErrorInfo(t, info, "RESPONSE_TOO_LARGE", map[string]string{"upstream": "petstore", "limit": strconv.Itoa(64 << 10)})
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(callCtx(t), 200*time.Millisecond) // the upstream never answers
		defer cancel()
		_, err := call(ctx, t, d.conn, "GetPetById", fmt.Sprintf(`{"pet_id":%d}`, petStall))
		wantStatus(t, err, codes.DeadlineExceeded)
		select {
		case <-up.cancelled:
		case <-callCtx(t).Done():
			t.Fatal("the upstream never saw its request cancelled")
		}
		if n, c := up.count(fmt.Sprintf("GET /pet/%d", petStall)), len(up.cancelled); n != 1 || c != 0 {
			t.Errorf("upstream got %d stalled requests and %d more cancels, want 1 and 0", n, c)
		}
	})

	t.Run("Health", func(t *testing.T) {
		hc := healthpb.NewHealthClient(d.conn)
		for svc, want := range map[string]healthpb.HealthCheckResponse_ServingStatus{
			"": healthpb.HealthCheckResponse_SERVING, petService: healthpb.HealthCheckResponse_SERVING,
		} {
			resp, err := hc.Check(callCtx(t), &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != want {
				t.Errorf("health of %q: %v, %v; want %v", svc, resp.GetStatus(), err, want)
			}
		}
		_, err := hc.Check(callCtx(t), &healthpb.HealthCheckRequest{Service: "petstore.v1.StoreService"})
		wantStatus(t, err, codes.NotFound)
	})

	t.Run("grpcurl", func(t *testing.T) {
		out, code := grpcurl(t, "-plaintext", d.addr, "list")
		if code != 0 {
			t.Fatalf("list: exit %d\n%s", code, out)
		}
		services := strings.Fields(out)
		for _, s := range []string{petService, "protobridge.v1.BridgeService", "grpc.health.v1.Health"} {
			if !slices.Contains(services, s) {
				t.Errorf("list lacks %s:\n%s", s, out)
			}
		}
		out, code = grpcurl(t, "-plaintext", d.addr, "describe", petService)
		if code != 0 {
			t.Fatalf("describe: exit %d\n%s", code, out)
		}
		wantOutput(t, out, "petstore.v1.PetService is a service:",
			"rpc GetPetById ( .petstore.v1.GetPetByIdRequest ) returns ( .petstore.v1.Pet )",
			"rpc DeletePet ( .petstore.v1.DeletePetRequest ) returns ( .google.protobuf.Empty )",
			`option (.google.api.http) = { get: "/pet/{pet_id}" };`)
		out, code = grpcurl(t, "-plaintext", d.addr, "describe", "petstore.v1.Pet")
		if code != 0 {
			t.Fatalf("describe: exit %d\n%s", code, out)
		}
		wantOutput(t, out, "repeated string photo_urls = 4")

		out, code = grpcurl(t, "-plaintext", "-d", `{"pet_id":10}`, d.addr, petService+"/GetPetById")
		if code != 0 {
			t.Fatalf("GetPetById: exit %d\n%s", code, out)
		}
		wantOutput(t, out, `"name": "doggie"`, `"id": "9007199254740993"`)

		out, code = grpcurl(t, "-plaintext", "-d", `{"method":"petstore.v1.PetService/FindPetsByStatus","payload":{"status":"available"}}`,
			d.addr, "protobridge.v1.BridgeService/Invoke")
		if code != 0 {
			t.Fatalf("Invoke: exit %d\n%s", code, out)
		}
		wantOutput(t, out, `"result": {`, `"pets": [`, `"name": "doggie"`)

		out, code = grpcurl(t, "-plaintext", "-format-error", "-d", `{"pet_id":404}`, d.addr, petService+"/GetPetById")
		if code != 64+int(codes.NotFound) {
			t.Errorf("GetPetById 404: exit %d, want %d\n%s", code, 64+int(codes.NotFound), out)
		}
		wantOutput(t, out, `"reason": "UPSTREAM_HTTP_404"`, `"@type": "type.googleapis.com/protobridge.v1.UpstreamError"`)

		out, code = grpcurl(t, "-plaintext", "-d", `{"service":"petstore.v1.PetService"}`, d.addr, "grpc.health.v1.Health/Check")
		if code != 0 {
			t.Fatalf("health: exit %d\n%s", code, out)
		}
		wantOutput(t, out, `"status": "SERVING"`)
	})
}

// TestUpstreamDown calls an upstream nothing listens on: UNAVAILABLE.
func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, petstoreConfig(t, "http://"+addr))
	_, err = call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":10}`)
	info, _ := wantStatus(t, err, codes.Unavailable)
	wantErrorInfo(t, info, "UPSTREAM_UNAVAILABLE", map[string]string{"upstream": "petstore"})
}

// TestGracefulShutdown sends SIGTERM while a call waits on the upstream: the
// call still completes and the daemon exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	up := newFakePetstore(t)
	d := startDaemon(t, petstoreConfig(t, up.URL))
	// Health turns NOT_SERVING when draining starts; watch for it.
	watchCtx, stopWatch := context.WithCancel(callCtx(t))
	defer stopWatch()
	watch, err := healthpb.NewHealthClient(d.conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch: %v, %v", h.GetStatus(), err)
	}
	md := method(t, "GetPetById")
	req, resp := message(t, md.Input(), fmt.Sprintf(`{"pet_id":%d}`, petHold)), dynamicpb.NewMessage(md.Output())
	ctx := callCtx(t)
	done := make(chan error, 1)
	go func() { done <- d.conn.Invoke(ctx, "/"+petService+"/GetPetById", req, resp) }()
	select {
	case <-up.held:
	case <-callCtx(t).Done():
		t.Fatal("the call never reached the upstream")
	}
	if err := d.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		h, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch ended before NOT_SERVING: %v\n%s", err, d.Out)
		}
		if h.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
	}
	stopWatch()
	close(up.release)
	if err := <-done; err != nil {
		t.Fatalf("in-flight call failed during shutdown: %v", err)
	}
	wantMessage(t, resp, `{"id":"906","name":"patient"}`)
	d.shutdown(t)
	if n := up.count(fmt.Sprintf("GET /pet/%d", petHold)); n != 1 {
		t.Errorf("upstream got %d requests, want 1", n)
	}
}
