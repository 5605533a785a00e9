package sandbox

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
)

// route is a REST route of a stand-in method, for the state a call carries.
func route(t *testing.T) *bridge.Route {
	t.Helper()
	return &bridge.Route{Method: testMethod(t), HTTP: &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/things"}}}
}

// do sends one request through the sandbox transport of upstream "up"
// configured by c, as a call of route r.
func do(t *testing.T, sb *Sandbox, c *Config, red *bridge.Redactor, next http.RoundTripper, req *http.Request) (*http.Response, error, *state) {
	t.Helper()
	if red == nil {
		red = bridge.NewRedactor()
	}
	wrap, err := sb.Transport(&bridge.Upstream{Name: "up"}, c, "", red)
	if err != nil {
		t.Fatal(err)
	}
	sb.Commit() // as a table build that succeeded
	st := &state{route: route(t)}
	req = req.WithContext(context.WithValue(req.Context(), stateKey{}, st))
	resp, err := wrap(next).RoundTrip(req)
	return resp, err, st
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return string(b)
}

func TestRecordRedactsAndRotates(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=abc123456")
		_, _ = io.WriteString(w, `{"token":"tok-9f8e7d6c","ok":true,"echo":"`+r.Header.Get("X-Custom")+`"}`)
	}))
	defer up.Close()
	dir := t.TempDir()
	red := bridge.NewRedactor()
	red.Add("configured-s3cret")
	sb := New(Flags{Mode: Record, Dir: dir}, "test", nil)
	c := &Config{MaxEntries: 2, RedactFields: []string{"token", "Password"}, RedactQuery: []string{"sig2"}}
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodPost, up.URL+"/v1/things?api_key=qkey-0a1b2c3d&sig2=zzz-77665544&page=2",
			strings.NewReader(`<a:Login xmlns:a="urn:x"><a:Password>pw-1234abcd</a:Password><a:User Password="attr-pw-99">u</a:User></a:Login>`))
		req.Header.Set("Authorization", "Bearer configured-s3cret")
		req.Header.Set("X-Custom", "configured-s3cret")
		resp, err, _ := do(t, sb, c, red, http.DefaultTransport, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); !strings.Contains(got, "tok-9f8e7d6c") {
			t.Fatalf("the caller must get the reply unredacted: %s", got)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) != 2 || filepath.Base(files[0]) != "up-0001.har" || filepath.Base(files[1]) != "up-0002.har" {
		t.Fatalf("want up-0001.har (2 entries) and up-0002.har (1), got %v", files)
	}
	entries, err := readHARs(dir, "up")
	if err != nil || len(entries) != 3 {
		t.Fatalf("read back %d entries, %v", len(entries), err)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{"configured-s3cret", "qkey-0a1b2c3d", "zzz-77665544", "pw-1234abcd", "attr-pw-99", "tok-9f8e7d6c", "abc123456"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %s", filepath.Base(f), secret)
			}
		}
		if !strings.Contains(string(b), "page=2") || !strings.Contains(string(b), `\"ok\":true`) {
			t.Errorf("%s lost what is not secret:\n%s", filepath.Base(f), b)
		}
	}
	if e := entries[0]; e.Route != "test.v1.Things/Create" || e.Response.Status != 200 || e.Request.PostData == nil {
		t.Errorf("entry: %+v", e)
	}
}

func TestReplayMatchesCanonicalRequests(t *testing.T) {
	dir := t.TempDir()
	w, err := newHARWriter(dir, "up", 10, "test")
	if err != nil {
		t.Fatal(err)
	}
	entry := func(body, reply string) Entry {
		return Entry{Route: "test.v1.Things/Create", StartedDateTime: "2026-01-02T03:04:05Z",
			Request:  Request{Method: "POST", URL: "http://up/v1/things", Headers: []NameValue{{"Content-Type", "application/json"}}, PostData: &PostData{Text: body}},
			Response: Response{Status: 201, Headers: []NameValue{{"Content-Type", "application/json"}}, Content: Content{Text: reply}}}
	}
	for _, e := range []Entry{
		entry(`{"a":1,"b":{"c":[1,2]},"id":"r1"}`, `{"n":1}`),
		entry(`{"a":1,"b":{"c":[1,2]},"id":"r1"}`, `{"n":2}`),
		entry(`{"a":2}`, `{"n":3}`),
	} {
		if err := w.add(e); err != nil {
			t.Fatal(err)
		}
	}
	call := func(c *Config, body string) (string, error, *state) {
		req, _ := http.NewRequest(http.MethodPost, "http://up/v1/things", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		resp, err, st := do(t, New(Flags{Mode: Replay, Dir: dir}, "t", nil), c, nil, nil, req)
		if err != nil {
			return "", err, st
		}
		return readAll(t, resp), nil, st
	}
	// Keys in another order: the same JSON. Identical requests get the
	// recorded answers in order, the last repeating.
	sb := New(Flags{Mode: Replay, Dir: dir}, "t", nil)
	wrap, _ := sb.Transport(&bridge.Upstream{Name: "up"}, nil, "", bridge.NewRedactor())
	rt := wrap(nil)
	for i, want := range []string{`{"n":1}`, `{"n":2}`, `{"n":2}`} {
		req, _ := http.NewRequest(http.MethodPost, "http://up/v1/things", strings.NewReader(`{"id":"r1","b":{"c":[1,2]},"a":1}`))
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(context.WithValue(req.Context(), stateKey{}, &state{route: route(t)}))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != want {
			t.Errorf("call %d: %s, want %s", i, got, want)
		}
	}
	// No match: FAILED_PRECONDITION naming the closest and the difference.
	_, err, st := call(nil, `{"a":1,"b":{"c":[1,3]},"id":"r1"}`)
	if err == nil {
		t.Fatal("an unrecorded request was answered")
	}
	s := status.Convert(st.failure())
	if s.Code() != codes.FailedPrecondition || !strings.Contains(s.Message(), `recorded $.b.c[1] = 2; called $.b.c[1] = 3`) {
		t.Fatalf("miss: %v", st.failure())
	}
	// Ignored fields are left out of the comparison; lenient takes the closest.
	if got, err, _ := call(&Config{Match: MatchConfig{IgnoreFields: []string{"id"}}}, `{"a":2,"id":"zzz"}`); err != nil || got != `{"n":3}` {
		t.Fatalf("ignore_fields: %s, %v", got, err)
	}
	if got, err, _ := call(&Config{Match: MatchConfig{Lenient: true}}, `{"a":3}`); err != nil || got != `{"n":3}` {
		t.Fatalf("lenient: %s, %v", got, err)
	}
}

func TestCanonicalXMLIsAnInfoset(t *testing.T) {
	c := newCanonicalizer(MatchConfig{})
	a := c.body([]byte(`<s:Envelope xmlns:s="urn:env"><s:Header><w:Security xmlns:w="` + wsseNS + `"><w:Nonce>1</w:Nonce></w:Security></s:Header><s:Body><m:Add xmlns:m="urn:m" k="v"><a>1</a> <b>2</b></m:Add></s:Body></s:Envelope>`))
	b := c.body([]byte(`<?xml version="1.0"?><Envelope xmlns="urn:env"><Body><x:Add k='v' xmlns:x="urn:m"><a xmlns="">1</a><b xmlns="">2</b></x:Add></Body><Header/></Envelope>`))
	if distance(a, b) != 0 {
		missing, extra := diff(a, b)
		t.Fatalf("same infoset, different lines: %v / %v", missing, extra)
	}
	d := c.body([]byte(`<Envelope xmlns="urn:env"><Body><x:Add xmlns:x="urn:m" k="v"><a xmlns="">1</a><b xmlns="">3</b></x:Add></Body></Envelope>`))
	if distance(a, d) == 0 {
		t.Fatal("a changed value went unnoticed")
	}
}

func TestChaos(t *testing.T) {
	ok := roundTripper(func(r *http.Request) (*http.Response, error) {
		return synth(r, 200, nil, strings.Repeat("x", 400)), nil
	})
	through := func(k *Chaos) (*http.Response, error) {
		st := &chaosState{}
		st.configure(k, 1)
		req, _ := http.NewRequest(http.MethodGet, "http://up/x", nil)
		return (&chaosTransport{state: st, next: ok}).RoundTrip(req)
	}
	resp, err := through(&Chaos{ResetRate: 1})
	if err == nil || httpx.DescribeNetError(err) != "connection reset" {
		t.Fatalf("reset: %v %v", resp, err)
	}
	resp, _ = through(&Chaos{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond})
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("429: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = through(&Chaos{ErrorRate: 1, ErrorStatus: 502})
	if resp.StatusCode != 502 {
		t.Fatalf("error: %d", resp.StatusCode)
	}
	// A burst of 2 in every 3, drawn the same way on every run.
	st := &chaosState{}
	st.configure(&Chaos{Burst: &Burst{Every: 3, Length: 2}, ErrorRate: 0.5}, 9)
	var got []int
	for i := 0; i < 9; i++ {
		_, v := st.draw()
		got = append(got, v.status)
	}
	for i, s := range got {
		if i%3 < 2 && s != 503 {
			t.Fatalf("burst: %v", got)
		}
	}
	st2 := &chaosState{}
	st2.configure(&Chaos{Burst: &Burst{Every: 3, Length: 2}, ErrorRate: 0.5}, 9)
	for i := 0; i < 9; i++ {
		if _, v := st2.draw(); v.status != got[i] {
			t.Fatalf("the same seed drew differently at %d", i)
		}
	}
	// A slow body still arrives whole; a latency is bounded by the caller.
	resp, _ = through(&Chaos{SlowBody: 4000})
	if b, _ := io.ReadAll(resp.Body); len(b) != 400 {
		t.Fatalf("slow body: %d bytes", len(b))
	}
	st3 := &chaosState{}
	st3.configure(&Chaos{Latency: &Latency{Mean: time.Hour / 20}}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://up/x", nil)
	if _, err := (&chaosTransport{state: st3, next: ok}).RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("latency past the deadline: %v", err)
	}
	for _, bad := range []*Chaos{{ErrorRate: 1.5}, {ErrorRate: 0.6, ResetRate: 0.6}, {Burst: &Burst{Every: 2, Length: 3}}, {ErrorStatus: 200}, {Latency: &Latency{Distribution: "pareto"}}, {RetryAfter: 2 * time.Hour}} {
		if bad.Check() == nil {
			t.Errorf("%+v passed the check", bad)
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFailedBuildChangesNothing: what a table build stages (modes, chaos
// knobs) is served only once it is committed; a build that failed (a
// rejected reload) leaves the serving table's sandbox as it was.
func TestFailedBuildChangesNothing(t *testing.T) {
	ok := roundTripper(func(r *http.Request) (*http.Response, error) { return synth(r, 200, nil, "{}"), nil })
	sb := New(Flags{}, "t", nil)
	up := &bridge.Upstream{Name: "up"}
	wrap, err := sb.Transport(up, &Config{Mode: Replay, Dir: t.TempDir(), Chaos: &Chaos{ErrorRate: 0}}, "", bridge.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	sb.Commit()
	serving := &chaosTransport{state: wrap(nil).(*chaosTransport).state, next: ok}
	status := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://up/x", nil)
		resp, err := serving.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != 200 {
		t.Fatalf("before the reload: %d", got)
	}
	// A reload stages every knob failing and the upstream as mocked, then
	// fails.
	if _, err := sb.Transport(up, &Config{Mode: Mock, Chaos: &Chaos{ErrorRate: 1, ErrorStatus: 502}}, "", bridge.NewRedactor()); err != nil {
		t.Fatal(err)
	}
	if !sb.Answers("up") {
		t.Fatal("the build does not see what it staged")
	}
	sb.Discard()
	if got := status(); got != 200 {
		t.Errorf("a failed reload changed the serving chaos knobs: %d", got)
	}
	if m := sb.Modes()["up"]; m != Replay {
		t.Errorf("a failed reload changed the mode to %q", m)
	}
	// The same reload, committed, serves its knobs on the shared state.
	if _, err := sb.Transport(up, &Config{Mode: Replay, Dir: t.TempDir(), Chaos: &Chaos{ErrorRate: 1, ErrorStatus: 502}}, "", bridge.NewRedactor()); err != nil {
		t.Fatal(err)
	}
	sb.Commit()
	if got := status(); got != 502 {
		t.Errorf("after a reload that succeeded: %d, want 502", got)
	}
}
