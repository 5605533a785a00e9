package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
)

// replayCall sends req through a replaying sandbox of upstream "up" over
// the recordings in dir, as a call of the test route; it returns the
// response, the transport's error and the failure the call carries.
func replayCall(t *testing.T, dir string, c *Config, req *http.Request) (*http.Response, error, error) {
	t.Helper()
	sb := New(Flags{Mode: Replay, Dir: dir}, "t", nil)
	wrap, err := sb.Transport(&bridge.Upstream{Name: "up"}, c, "", bridge.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	sb.Commit()
	st := &state{route: route(t)} // test.v1.Things/Create
	req = req.WithContext(context.WithValue(req.Context(), stateKey{}, st))
	resp, err := wrap(nil).RoundTrip(req)
	return resp, err, st.failure()
}

// TestReplayMissQuotesOnlyItsRoute: a replay miss quotes the closest
// recording of the caller's own route, never another route's recorded
// request.
func TestReplayMissQuotesOnlyItsRoute(t *testing.T) {
	for _, tc := range []struct {
		recorded string
		quoted   bool
	}{
		{"hr.v1.Payroll/Update", false},
		{"test.v1.Things/Create", true},
	} {
		t.Run(tc.recorded, func(t *testing.T) {
			dir := t.TempDir()
			w, err := newHARWriter(dir, "up", 10, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.add(Entry{Route: tc.recorded, StartedDateTime: "2026-01-02T03:04:05Z",
				Request:  Request{Method: "POST", URL: "http://up/v1/things", Headers: []NameValue{{Name: "Content-Type", Value: "application/json"}}, PostData: &PostData{Text: `{"ssn":"078-05-1120"}`}},
				Response: Response{Status: 200, Content: Content{Text: `{}`}}}); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, "http://up/v1/things", strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			_, err, failure := replayCall(t, dir, nil, req)
			if err == nil {
				t.Fatal("a request matching no recording was answered")
			}
			s := status.Convert(failure)
			if s.Code() != codes.FailedPrecondition {
				t.Fatalf("status %v, want FailedPrecondition", s)
			}
			if got := strings.Contains(s.Message(), "078-05-1120"); got != tc.quoted {
				t.Errorf("recording of %s quoted = %v, want %v: %s", tc.recorded, got, tc.quoted, s.Message())
			}
			if !tc.quoted && !strings.Contains(s.Message(), "no recording for test.v1.Things/Create") {
				t.Errorf("the miss does not say the route has no recording: %s", s.Message())
			}
		})
	}
}

// TestHARFilesOfOneUpstreamOnly: an upstream reads only files named
// <upstream>-NNNN.har, not those of an upstream whose name it prefixes,
// in the order they were written.
func TestHARFilesOfOneUpstreamOnly(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a-2024-0001.har", "a-0002.har", "a-0001.har", "a-10000.har", "a-0001.har.tmp", "ab-0001.har"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := harFiles(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if want := []string{"a-0001.har", "a-0002.har", "a-10000.har"}; !slices.Equal(got, want) {
		t.Errorf("harFiles(a) = %v, want %v", got, want)
	}
	if files, err := harFiles(filepath.Join(dir, "missing"), "a"); err != nil || len(files) != 0 {
		t.Errorf("harFiles of a missing dir = %v, %v; want none", files, err)
	}
}

// TestReplayTruncatedRecordingFails: a recording cut at max_body_bytes is
// not replayed as if whole; the call fails with FAILED_PRECONDITION
// naming max_body_bytes.
func TestReplayTruncatedRecordingFails(t *testing.T) {
	dir := t.TempDir()
	w, err := newHARWriter(dir, "up", 10, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.add(Entry{Route: "test.v1.Things/Create", Truncated: true, Request: Request{Method: "POST", URL: "http://up/v1/things"},
		Response: Response{Status: 200, Content: Content{Text: `{"name":"abc`}}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://up/v1/things", nil)
	resp, err, failure := replayCall(t, dir, nil, req)
	if err == nil {
		t.Fatalf("a truncated recording was replayed (status %d)", resp.StatusCode)
	}
	if s := status.Convert(failure); s.Code() != codes.FailedPrecondition || !strings.Contains(s.Message(), "max_body_bytes") {
		t.Errorf("failure = %v, want FailedPrecondition naming max_body_bytes", s)
	}
}

// TestRecordSkipsCallsCutByTheirCaller: a call whose own context ended
// while it was recorded (the request failed, or the reply was cut) is not
// written as an entry, while a call that completes is, and so is a
// stream its caller ends (as far as it went).
func TestRecordSkipsCallsCutByTheirCaller(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/slow-headers" {
			<-release
			return
		}
		ct := "application/json"
		if r.URL.Path == "/v1/stream" {
			ct = "application/x-ndjson"
		}
		w.Header().Set("Content-Type", ct)
		_, _ = io.WriteString(w, "{\"n\":1}\n")
		w.(http.Flusher).Flush()
		if r.URL.Path != "/v1/done" {
			<-release
		}
	}))
	defer up.Close()
	defer close(release)
	dir := t.TempDir()
	sb := New(Flags{Mode: Record, Dir: dir}, "test", nil)

	// cancelled before the reply's headers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL+"/v1/slow-headers", nil)
	if _, err, _ := do(t, sb, &Config{}, nil, http.DefaultTransport, req); err == nil {
		t.Fatal("a call past its deadline got a reply")
	}
	cancel()
	// cancelled while reading the reply
	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, up.URL+"/v1/slow-body", nil)
	resp, err, _ := do(t, sb, &Config{}, nil, http.DefaultTransport, req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a cancelled reply read to its end")
	}
	_ = resp.Body.Close()
	// a stream the caller ends: recorded as far as it went
	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, up.URL+"/v1/stream", nil)
	resp, err, _ = do(t, sb, &Config{}, nil, http.DefaultTransport, req)
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 8)
	if _, err := io.ReadFull(resp.Body, line); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	// completed
	req, _ = http.NewRequest(http.MethodGet, up.URL+"/v1/done", nil)
	resp, err, _ = do(t, sb, &Config{}, nil, http.DefaultTransport, req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)

	entries, err := readHARs(dir, "up")
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range entries {
		urls = append(urls, e.Request.URL[strings.LastIndex(e.Request.URL, "/"):])
	}
	if strings.Join(urls, " ") != "/stream /done" {
		t.Errorf("recorded %v, want /stream and /done", urls)
	}
}
