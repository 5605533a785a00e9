package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
)

// recorder is an upstream that records requests and answers a set reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []recorded
	ctype string
	reply string
}

type recorded struct {
	method, url, ctype string
	body               []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.String(), req.Header.Get("Content-Type"), body})
	r.mu.Unlock()
	w.Header().Set("Content-Type", r.ctype)
	_, _ = io.WriteString(w, r.reply)
}

func (r *recorder) last() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

// jsonValue decodes a JSON document for comparisons (numbers by text).
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v
}

// TestFastPathMatchesDynamic calls routes once with the request as wire
// bytes (the fast path) and once as a dynamic message, and compares what
// the upstream received and what came back.
func TestFastPathMatchesDynamic(t *testing.T) {
	rec := &recorder{ctype: "application/json"}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	book := `{"name":"shelves/s1/books/b1","title":"T \"q\" é","id":"9007199254740993","authors":["a","b"],"color":"RED",` +
		`"price":1.5,"available":true,"cover":"AAEC","big":"18446744073709551615","pages":0,"inner":{"x":"y","n":"-5","deeper":{"n":"7"}},` +
		`"chapters":[{"x":"c1"},{}],"rating":0.25,"cost":{"currency":"EUR","amount":"3"}}`
	reply := `{"name":"n","id":"12","big":18446744073709551615,"color":2,"authors":["x"],"inner":{"n":3e2},"price":"NaN","cover":"AAE","unknown":{"a":[1]}}`
	cases := []struct {
		name   string
		method string
		rule   *annotations.HttpRule
		req    string
		reply  string
	}{
		{"body field", "CreateBook", post("/v1/{parent=shelves/*}/books", "book"),
			`{"parent":"shelves/s1","book":` + book + `,"requestId":"r1","ids":["1","2"]}`, reply},
		{"body field with a path field inside", "CreateBook", post("/v1/{book.name=shelves/*/books/*}", "book"),
			`{"book":` + book + `,"requestId":"r1"}`, reply},
		{"body star", "CreateBook", post("/v1/{parent=shelves/*}/books/{book.name=shelves/*/books/*}", "*"),
			`{"parent":"shelves/s1","book":` + book + `,"requestId":"r1","ids":["1"]}`, reply},
		{"body field absent", "CreateBook", post("/v1/{parent=shelves/*}/books", "book"), `{"parent":"shelves/s1"}`, `{}`},
		{"response_body", "GetWrapper", &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/{name}"}, ResponseBody: "book"},
			`{"name":"b","labels":{"k":"v"},"since":"2024-01-01T00:00:00Z","wrapped":"5","colors":["RED",2]}`, reply},
		{"repeated reply", "ListBooks", get("/v1/books"), `{"name":"x"}`, `{"books":[` + reply + `,{}],"nextPageToken":"p"}`},
		{"empty reply", "DeleteBook", get("/v1/{name}"), `{"name":"x"}`, `{}`},
	}
	for _, tc := range cases {
		for _, mode := range []Config{{JSONInt64: "string"}, {JSONInt64: "number"}, {JSONInt64: "number", JSONNames: "lower_camel"}} {
			int64Mode := mode.JSONInt64
			t.Run(tc.name+"/"+int64Mode+"/"+mode.JSONNames, func(t *testing.T) {
				u := testUpstream(srv.URL)
				u.MaxRequestBytes, u.MaxResponseBytes = 1<<20, 1<<20
				setConfig(t, u, mode)
				r := newRoute(u, tc.method, tc.rule, "")
				ep := bindRoute(t, r)
				rec.reply = tc.reply
				in := newMsg(t, r.Method.Input(), tc.req)
				wire, err := proto.Marshal(in)
				if err != nil {
					t.Fatal(err)
				}
				wm := bridge.NewWireMessage(r.Method.Input(), wire)
				fastOut, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: wm})
				if err != nil {
					t.Fatalf("fast: %v", err)
				}
				// Routes without a body read the request for the path and
				// query string only, from the dynamic message.
				if _, ok := wm.Wire(); ok != (tc.rule.GetBody() != "") {
					t.Errorf("request still wire bytes: %v", ok)
				}
				fastReq := rec.last()
				slowOut, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: in})
				if err != nil {
					t.Fatalf("dynamic: %v", err)
				}
				slowReq := rec.last()
				if fastReq.method != slowReq.method || fastReq.url != slowReq.url || fastReq.ctype != slowReq.ctype {
					t.Errorf("requests differ:\nfast    %s %s %s\ndynamic %s %s %s", fastReq.method, fastReq.url, fastReq.ctype, slowReq.method, slowReq.url, slowReq.ctype)
				}
				if (fastReq.body == nil) != (slowReq.body == nil) || len(slowReq.body) > 0 && !reflect.DeepEqual(jsonValue(t, fastReq.body), jsonValue(t, slowReq.body)) {
					t.Errorf("bodies differ:\nfast    %s\ndynamic %s", fastReq.body, slowReq.body)
				}
				if _, ok := fastOut.(*bridge.WireMessage); !ok {
					t.Errorf("the fast path returned a %T", fastOut)
				}
				if !proto.Equal(fastOut, slowOut) {
					t.Errorf("replies differ:\nfast    %s\ndynamic %s", toJSON(t, fastOut), toJSON(t, slowOut))
				}
			})
		}
	}
}

// TestFastPathErrors checks that replies the transcoder refuses fail (or
// succeed) exactly as on the dynamic path, with protojson's wording.
func TestFastPathErrors(t *testing.T) {
	rec := &recorder{ctype: "application/json"}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	u := testUpstream(srv.URL)
	r := newRoute(u, "GetBook", get("/v1/{name}"), "")
	ep := bindRoute(t, r)
	in := newMsg(t, r.Method.Input(), `{"name":"x"}`)
	wire, _ := proto.Marshal(in)
	for _, reply := range []string{`{"id":"x"}`, `{"name":"x`, `{"name":1}`, `[]`, `{"name":"a","name":"b"}`, `{"[google.api.http]":{}}`, `{"color":"NOPE"}`} {
		rec.reply = reply
		_, fastErr := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: bridge.NewWireMessage(r.Method.Input(), wire)})
		want := dynamicpb.NewMessage(r.Method.Output())
		wantErr := decodeWith(ep.(*endpoint), reply, want)
		if (fastErr == nil) != (wantErr == nil) {
			t.Fatalf("%s: fast path error %v, dynamic path error %v", reply, fastErr, wantErr)
		}
		if fastErr != nil {
			if got, want := status.Convert(fastErr).Message(), status.Convert(ep.(*endpoint).badResponse(&http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}}, []byte(reply), wantErr)).Message(); got != want {
				t.Errorf("%s:\nfast    %s\ndynamic %s", reply, got, want)
			}
		}
	}
}

// decodeWith decodes a reply on the dynamic path.
func decodeWith(e *endpoint, reply string, out *dynamicpb.Message) error {
	return e.decode("application/json", []byte(reply), out)
}

// TestSizeHint: the capacity follows a larger output at once, a smaller one
// slowly, and always leaves room for the ratio last seen.
func TestSizeHint(t *testing.T) {
	var h sizeHint
	if got := h.size(1000, 2, 1<<20); got != 2000+62+64 {
		t.Errorf("before any call: %d", got)
	}
	h.learn(1000, 1600)
	if got := h.size(1000, 2, 1<<20); got < 1600 || got > 1600+62+64+1 {
		t.Errorf("after 1000→1600: %d", got)
	}
	h.learn(1000, 3000)
	if got := h.size(1000, 2, 1<<20); got < 3000 {
		t.Errorf("after a larger output: %d, want at least 3000", got)
	}
	h.learn(1000, 1000)
	if got := h.size(1000, 2, 1<<20); got < 2800 {
		t.Errorf("one smaller output shrank the hint to %d", got)
	}
	for range 200 {
		h.learn(1000, 1000)
	}
	if got := h.size(1000, 2, 1<<20); got < 1000 || got > 1200 {
		t.Errorf("after many smaller outputs: %d, want about 1000", got)
	}
	h.learn(10, 500)
	if got := h.size(1000, 2, 4096); got != 4096 {
		t.Errorf("a high ratio sized 1000 bytes to %d, over the limit 4096", got)
	}
	for range 200 {
		h.learn(1000, 1000)
	}
	h.learn(0, 10) // an empty input teaches nothing
	if got := h.size(1000, 2, 1<<20); got < 1000 || got > 1200 {
		t.Errorf("an empty input changed the hint: %d", got)
	}
}

// TestRepliesOutliveTheirBodies: a reply transcoded on the fast path gives
// its body's buffer back for the next call; the replies already returned
// must not change when the next bodies are read into it.
func TestRepliesOutliveTheirBodies(t *testing.T) {
	var n atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"name":"book-%03d","title":"title-%03d"}`, n.Load(), n.Load())
		n.Add(1)
	}))
	defer up.Close()
	r := newRoute(testUpstream(up.URL), "GetBook", get("/v1/x"), "")
	ep := bindRoute(t, r)
	var replies []proto.Message
	for range 20 {
		out, err := ep.Unary(context.Background(), &bridge.Call{Route: r, Request: newMsg(t, r.Method.Input(), "")})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out.(*bridge.WireMessage); !ok {
			t.Fatalf("the reply took the dynamic path (%T): nothing is pooled", out)
		}
		replies = append(replies, out)
	}
	for i, out := range replies {
		want := fmt.Sprintf(`{"name":"book-%03d","title":"title-%03d"}`, i, i)
		if got, _ := protojson.Marshal(out); !jsonEqual(got, want) {
			t.Errorf("reply %d is now %s, want %s", i, got, want)
		}
	}
}

func jsonEqual(a []byte, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
