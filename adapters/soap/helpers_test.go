package soap_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protobridge/protobridge/adapters/soap"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	svcOnce sync.Once
	svc     protoreflect.ServiceDescriptor
	svcErr  error
)

func service(t testing.TB) protoreflect.ServiceDescriptor {
	t.Helper()
	svcOnce.Do(func() {
		src, err := os.ReadFile("testdata/soaptest.proto")
		if err != nil {
			svcErr = err
			return
		}
		fds, err := xmltest.CompileProtos(map[string]string{"soaptest.proto": string(src)})
		if err != nil {
			svcErr = err
			return
		}
		svc = fds["soaptest.proto"].Services().ByName("Calculator")
	})
	if svcErr != nil {
		t.Fatal(svcErr)
	}
	return svc
}

// route builds the route of a Calculator method as the bridge does.
func route(t testing.TB, method string, u *bridge.Upstream) *bridge.Route {
	t.Helper()
	md := service(t).Methods().ByName(protoreflect.Name(method))
	if md == nil {
		t.Fatalf("no method %s", method)
	}
	opts := &descriptorpb.MethodOptions{}
	b, _ := proto.Marshal(md.Options())
	_ = proto.Unmarshal(b, opts)
	ro, _ := proto.GetExtension(opts, pbv1.E_Route).(*pbv1.RouteOptions)
	if ro == nil {
		ro = &pbv1.RouteOptions{}
	}
	return &bridge.Route{Method: md, Upstream: u, Options: ro}
}

// upstream is an httptest SOAP server recording the last request.
type upstream struct {
	srv   *httptest.Server
	mu    sync.Mutex
	req   *http.Request
	body  []byte
	reply http.HandlerFunc
}

func newUpstream(t *testing.T, reply http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{reply: reply}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.req, u.body = r, b
		u.mu.Unlock()
		u.reply(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) last() (*http.Request, []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.req, u.body
}

// replyXML answers with a status, content type and body.
func replyXML(code int, ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// bind builds an adapter for the upstream and binds a method.
func bind(t *testing.T, u *bridge.Upstream, method string) (bridge.Endpoint, *bridge.Route) {
	t.Helper()
	return bindEnv(t, u, method, &bridge.Env{})
}

// bindEnv is bind with the adapter built with env.
func bindEnv(t *testing.T, u *bridge.Upstream, method string, env *bridge.Env) (bridge.Endpoint, *bridge.Route) {
	t.Helper()
	if u.Name == "" {
		u.Name = "calc"
	}
	a, err := soap.New(u, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	r := route(t, method, u)
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	return ep, r
}

// call runs one unary call with a request given as protojson.
func call(t *testing.T, ep bridge.Endpoint, r *bridge.Route, reqJSON string) (string, error) {
	t.Helper()
	return callCtx(context.Background(), t, ep, r, reqJSON)
}

func callCtx(ctx context.Context, t *testing.T, ep bridge.Endpoint, r *bridge.Route, reqJSON string) (string, error) {
	t.Helper()
	in := dynamicpb.NewMessage(r.Method.Input())
	if err := protojson.Unmarshal([]byte(reqJSON), in); err != nil {
		t.Fatal(err)
	}
	out, err := ep.Unary(ctx, &bridge.Call{Route: r, Request: in})
	if err != nil {
		return "", err
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	b, _ = json.Marshal(v)
	return string(b), nil
}

// statusParts returns an error's code, ErrorInfo and Struct detail.
func statusParts(t *testing.T, err error) (codes.Code, *errdetails.ErrorInfo, *structpb.Struct) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a status: %v", err)
	}
	var info *errdetails.ErrorInfo
	var s *structpb.Struct
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *structpb.Struct:
			s = d
		}
	}
	if info == nil {
		t.Fatalf("no ErrorInfo in %v", err)
	}
	return st.Code(), info, s
}

func soapNew(u *bridge.Upstream) (bridge.Adapter, error) { return soap.New(u, &bridge.Env{}) }

func xmlName(ns, local string) xml.Name { return xml.Name{Space: ns, Local: local} }

func itoa(n int) string { return strconv.Itoa(n) }

func jsonOf(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	b, _ = json.Marshal(v)
	return string(b)
}

// soapConfig is an upstream's soap: block.
func soapConfig(t testing.TB, v any) bridge.RawConfig {
	t.Helper()
	c, err := bridge.RawConfigOf(v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
