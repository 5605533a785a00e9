package mapping_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	_ "github.com/protobridge/protobridge/adapters/all"
	"github.com/protobridge/protobridge/examples/demo"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/daemontest"
)

// deskProto is a service of the caller's own: one method whose reply is
// assembled from the demo's REST library, SOAP calculator and WebSocket
// ticker.
const deskProto = `syntax = "proto3";
package desk.v1;

service DeskService {
  rpc GetOverview(OverviewRequest) returns (Overview);
}

message OverviewRequest {
  string book = 1;
  int32 years_ahead = 2;
  string symbol = 3;
  bool with_price = 4;
}

message Overview {
  string title = 1;
  int32 anniversary = 2;
  string price = 3;
  bool priced = 4;
  bool sequel_found = 5;
}
`

// deskRoutes is the composite: book (REST) and tick (WebSocket) are
// independent, sum (SOAP) reads book; sequel is optional and fails.
const deskRoutes = `
routes:
  - method: desk.v1.DeskService/GetOverview
    steps:
      - name: book
        call: library.v1.LibraryService/GetBook
        request: {name: '"shelves/1/books/" + request.book'}
        timeout: 5s
      - name: sum
        call: calculator.v1.CalculatorService/Add
        request: {int_a: book.year, int_b: request.years_ahead}
      - name: tick
        call: ticker.v1.TickerService/Watch
        when: request.with_price
        request: {symbol: request.symbol, count: '1'}
      - name: sequel
        call: library.v1.LibraryService/GetBook
        optional: true
        request: {name: '"shelves/1/books/99"'}
    reply:
      title: book.title
      anniversary: sum.add_result
      price: tick.?price.orValue("n/a")
      priced: tick.hasValue()
      sequel_found: sequel.hasValue()
`

// startDesk serves the demo's config plus the desk service.
func startDesk(t *testing.T) *daemontest.Server {
	t.Helper()
	d, err := demo.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	dir := filepath.Dir(d.ConfigPath)
	if err := os.MkdirAll(filepath.Join(dir, "proto", "desk", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proto", "desk", "v1", "desk.proto"), []byte(deskProto), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), "    - chat/v1/chat.proto\n", "    - chat/v1/chat.proto\n    - desk/v1/desk.proto\n", 1)
	text = strings.Replace(text, "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\n", 1) + deskRoutes
	path := filepath.Join(dir, "desk.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return daemontest.Start(t, path, daemontest.Options{})
}

// invoke calls method through BridgeService/Invoke and returns the reply
// as compact JSON with sorted keys.
func invoke(t *testing.T, srv *daemontest.Server, method, payload string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var p structpb.Struct
	if err := protojson.Unmarshal([]byte(payload), &p); err != nil {
		t.Fatal(err)
	}
	resp, err := pbv1.NewBridgeServiceClient(srv.Conn).Invoke(ctx, &pbv1.InvokeRequest{Method: method, Payload: &p})
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(resp.GetResult().AsMap())
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

// TestCompositeDemo calls the composite of the demo's REST, SOAP and
// WebSocket upstreams through a real gRPC client.
func TestCompositeDemo(t *testing.T) {
	srv := startDesk(t)

	t.Run("all steps", func(t *testing.T) {
		got, err := invoke(t, srv, "desk.v1.DeskService/GetOverview", `{"book":"1","years_ahead":10,"symbol":"ACME","with_price":true}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"title":"The Go Programming Language"`, `"anniversary":2025`, `"priced":true`} {
			if !strings.Contains(got, want) {
				t.Errorf("reply %s lacks %s", got, want)
			}
		}
		if strings.Contains(got, `"price":"n/a"`) || !strings.Contains(got, `"price":"`) {
			t.Errorf("reply %s has no price from the ticker", got)
		}
		if strings.Contains(got, "sequel_found") || strings.Contains(got, "sequelFound") {
			t.Errorf("reply %s: the optional step that failed is present", got)
		}
	})

	t.Run("when skips", func(t *testing.T) {
		got, err := invoke(t, srv, "desk.v1.DeskService/GetOverview", `{"book":"2","years_ahead":1}`)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, `"price":"n/a"`) || strings.Contains(got, "priced") {
			t.Errorf("reply %s: the skipped step is not absent", got)
		}
	})

	t.Run("required step fails", func(t *testing.T) {
		_, err := invoke(t, srv, "desk.v1.DeskService/GetOverview", `{"book":"42"}`)
		st := status.Convert(err)
		if st.Code() != codes.NotFound {
			t.Fatalf("status %v, want NOT_FOUND", err)
		}
		info := errorInfo(st)
		if info.GetReason() != "COMPOSITE_STEP_FAILED" || info.GetMetadata()["step"] != "book" ||
			info.GetMetadata()["method"] != "library.v1.LibraryService/GetBook" || info.GetMetadata()["step_reason"] != "UPSTREAM_HTTP_404" {
			t.Errorf("ErrorInfo %v, want COMPOSITE_STEP_FAILED naming step book", info)
		}
	})
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
