package mapping_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/daemontest"
)

var p10 = flag.Bool("p10", false, "print the BENCH P10 lines (composite routes, and the cost of CEL to routes without it)")

// benchLatency is each upstream call's latency in P10: enough that
// running independent steps side by side shows.
const benchLatency = 20 * time.Millisecond

const benchProto = `syntax = "proto3";
package bench.v1;

import "google/api/annotations.proto";
import "protobridge/v1/options.proto";

service Bench {
  option (protobridge.v1.service).upstream = "up";
  rpc Slow(Req) returns (Reply) { option (google.api.http) = {get: "/slow/{name}"}; }
  rpc Fast(Req) returns (Reply) { option (google.api.http) = {get: "/fast/{name}"}; }
  rpc Mapped(Req) returns (Reply) { option (google.api.http) = {get: "/fast/{name}"}; }
  rpc Three(Req) returns (Reply) { option (google.api.http) = {get: "/slow/{name}"}; }
}

message Req { string name = 1; }
message Reply { string name = 1; }
`

// benchCEL makes Three a composite of three Slow calls, a and b
// independent and c reading a, and maps Mapped; Fast has neither.
const benchCEL = `
routes:
  - method: bench.v1.Bench/Mapped
    map:
      request: {name: 'request.name + "!"'}
      reply: {name: reply.name.upperAscii()}
  - method: bench.v1.Bench/Three
    steps:
      - {name: a, call: bench.v1.Bench/Slow, request: {name: '"a"'}}
      - {name: b, call: bench.v1.Bench/Slow, request: {name: '"b"'}}
      - {name: c, call: bench.v1.Bench/Slow, request: {name: 'a.name + "c"'}}
    reply: {name: 'c.name + b.name'}
`

func benchServer(t testing.TB, url string, withCEL bool) *daemontest.Server {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bench.proto"), []byte(benchProto), 0o600); err != nil {
		t.Fatal(err)
	}
	text := `server: {listen: 127.0.0.1:0}
descriptors: {import_paths: [` + dir + `], protos: [bench.proto]}
auth: {open: true}
upstreams:
  up: {kind: rest, base_url: ` + url + `, max_idle_conns: 64}
`
	if withCEL {
		text += benchCEL
	}
	return daemontest.Start(t, daemontest.WriteConfig(t, text), daemontest.Options{})
}

func benchUpstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, slow := strings.CutPrefix(r.URL.Path, "/slow/")
		if slow {
			time.Sleep(benchLatency)
		} else {
			name = strings.TrimPrefix(r.URL.Path, "/fast/")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"name": name})
	}))
}

// call runs one unary call through BridgeService/Invoke.
func call(b testing.TB, srv *daemontest.Server, method string, req *structpb.Struct) *structpb.Struct {
	resp, err := pbv1.NewBridgeServiceClient(srv.Conn).Invoke(context.Background(), &pbv1.InvokeRequest{Method: method, Payload: req})
	if err != nil {
		b.Fatal(err)
	}
	return resp.GetResult()
}

// TestBenchP10 prints
//
//	BENCH P10 composite-3 protobridge/sequential-direct time=…
//	BENCH P10 no-cel-route with-cel/without-cel time=…
//
// The first is a three-step composite (two independent steps, one after)
// against the same three upstream calls made one after another by a Go
// HTTP client; the second is a route with neither map nor steps, in a
// table whose other routes use them, against the same route in a table
// without CEL. Each figure is the median of rounds.
func TestBenchP10(t *testing.T) {
	if !*p10 {
		t.Skip("run with -p10 to print the BENCH P10 lines")
	}
	up := benchUpstream()
	defer up.Close()
	with, without := benchServer(t, up.URL, true), benchServer(t, up.URL, false)
	req := &structpb.Struct{Fields: map[string]*structpb.Value{"name": structpb.NewStringValue("x")}}
	if got := call(t, with, "bench.v1.Bench/Three", req).AsMap()["name"]; got != "acb" {
		t.Fatalf("composite answered %v", got)
	}
	if got := call(t, with, "bench.v1.Bench/Mapped", req).AsMap()["name"]; got != "X!" {
		t.Fatalf("mapped route answered %v", got)
	}
	client := &http.Client{}
	direct := func(b *testing.B) {
		for b.Loop() {
			var last string
			for _, name := range []string{"a", "b", "c"} {
				resp, err := client.Get(up.URL + "/slow/" + name + last)
				if err != nil {
					b.Fatal(err)
				}
				var body struct{ Name string }
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err := json.Unmarshal(data, &body); err != nil {
					b.Fatal(err)
				}
				if name == "a" {
					last = body.Name
				}
			}
		}
	}
	on := func(srv *daemontest.Server, method string) func(*testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				call(b, srv, method, req)
			}
		}
	}
	ratio := func(a, b func(*testing.B), rounds int) (float64, time.Duration, time.Duration) {
		var ra, rb []float64
		for i := range rounds {
			// Alternate which runs first: a shared machine drifts.
			var x, y testing.BenchmarkResult
			if i%2 == 0 {
				x, y = testing.Benchmark(a), testing.Benchmark(b)
			} else {
				y, x = testing.Benchmark(b), testing.Benchmark(a)
			}
			ra, rb = append(ra, float64(x.NsPerOp())), append(rb, float64(y.NsPerOp()))
		}
		slices.Sort(ra)
		slices.Sort(rb)
		ma, mb := ra[len(ra)/2], rb[len(rb)/2]
		return ma / mb, time.Duration(ma), time.Duration(mb)
	}
	r, a, b := ratio(on(with, "bench.v1.Bench/Three"), direct, 3)
	fmt.Printf("P10 composite-3 protobridge=%v sequential-direct=%v (upstream latency %v)\n", a.Round(time.Microsecond), b.Round(time.Microsecond), benchLatency)
	fmt.Printf("BENCH P10 composite-3 protobridge/sequential-direct time=%.2f\n", r)
	r, a, b = ratio(on(with, "bench.v1.Bench/Fast"), on(without, "bench.v1.Bench/Fast"), 6)
	fmt.Printf("P10 no-cel-route with-cel=%v without-cel=%v\n", a.Round(time.Microsecond), b.Round(time.Microsecond))
	fmt.Printf("BENCH P10 no-cel-route with-cel/without-cel time=%.2f\n", r)
	r, a, b = ratio(on(with, "bench.v1.Bench/Mapped"), on(without, "bench.v1.Bench/Fast"), 4)
	fmt.Printf("P10 mapped-route mapped=%v plain=%v\n", a.Round(time.Microsecond), b.Round(time.Microsecond))
	fmt.Printf("BENCH P10 mapped-route mapped/plain time=%.2f\n", r)
}
