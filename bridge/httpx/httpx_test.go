package httpx

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
)

func TestClientWrapsAndRefusesRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(r.Header.Get("X-Wrapped")))
	}))
	defer srv.Close()
	wrapped := 0
	env := &bridge.Env{WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		wrapped++
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r.Header.Set("X-Wrapped", "yes")
			return rt.RoundTrip(r)
		})
	}}
	c, tr, err := Client(&bridge.Upstream{MaxIdleConns: 3}, env, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	if wrapped != 1 || tr.MaxIdleConnsPerHost != 3 || tr.DisableKeepAlives {
		t.Fatalf("wrapped %d, transport %+v", wrapped, tr)
	}
	resp, err := c.Get(srv.URL + "/redirect")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect followed: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "yes" {
		t.Fatalf("WrapTransport not applied: %q", b)
	}
	_, tr2, _ := Client(&bridge.Upstream{}, &bridge.Env{}, false)
	if !tr2.DisableKeepAlives {
		t.Error("unpooled transport keeps connections")
	}
	if _, _, err := Client(&bridge.Upstream{TLS: &bridge.TLSConfig{CAFile: "missing.pem"}}, &bridge.Env{}, true); err == nil {
		t.Error("missing CA file accepted")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDescribeNetError(t *testing.T) {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := lis.Addr().String()
	lis.Close()
	_, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
	if got := DescribeNetError(err); got != "connection refused" {
		t.Errorf("refused: %q", got)
	}
	if got := DescribeNetError(errors.New("x")); got != "request failed" {
		t.Errorf("other: %q", got)
	}
	if got := DescribeNetError(&net.DNSError{Err: "no such host", Name: "h"}); got != "cannot resolve its host name" {
		t.Errorf("dns: %q", got)
	}
}

func TestContextAndTransportErrors(t *testing.T) {
	live := context.Background()
	if err := ContextError(live, "up", nil); err != nil {
		t.Fatalf("live context: %v", err)
	}
	cancelled, cancel := context.WithCancel(live)
	cancel()
	if got := status.Code(TransportError(cancelled, errors.New("x"), "up", nil)); got != codes.Canceled {
		t.Errorf("cancelled: %v", got)
	}
	expired, cancel2 := context.WithTimeout(live, -1)
	defer cancel2()
	if got := status.Code(ContextError(expired, "up", nil)); got != codes.DeadlineExceeded {
		t.Errorf("expired: %v", got)
	}
	err := TransportError(live, syscall.ECONNREFUSED, "up", map[string]string{"upstream": "up"})
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "upstream up is unavailable: connection refused") {
		t.Errorf("refused: %v", err)
	}
}

// TestBackoff draws every wait from [0, min(max, initial·2^(n-1))], and a
// first wait above the cap is capped.
func TestBackoff(t *testing.T) {
	initial, maxWait := 10*time.Millisecond, 50*time.Millisecond
	for run := 0; run < 20; run++ {
		bo := Backoff(initial, maxWait, 2)
		var top time.Duration
		for n := 1; n < 40; n++ {
			limit := maxWait
			if n < 4 {
				limit = initial << (n - 1)
			}
			d := bo.NextBackOff()
			if d < 0 || d > limit {
				t.Fatalf("attempt %d: %v outside [0, %v]", n, d, limit)
			}
			top = max(top, d)
		}
		if top < maxWait/4 {
			t.Fatalf("waits never grew: largest %v", top)
		}
	}
	if d := Backoff(time.Second, 100*time.Millisecond, 2).NextBackOff(); d > 100*time.Millisecond {
		t.Fatalf("first wait %v is over the cap", d)
	}
}

func TestReadBody(t *testing.T) {
	body := strings.Repeat("x", 5000)
	for _, c := range []struct {
		name   string
		length int64
		limit  int64
		want   int
	}{
		{"exact length", 5000, 10001, 5000},
		{"no length", -1, 10001, 5000},
		{"wrong length", 100, 10001, 5000},
		{"over the limit", 5000, 4001, 4001},
		{"over the limit, no length", -1, 4001, 4001},
	} {
		resp := &http.Response{ContentLength: c.length, Body: io.NopCloser(strings.NewReader(body))}
		got, err := ReadBody(resp, c.limit)
		if err != nil || len(got) != c.want || string(got) != body[:c.want] {
			t.Errorf("%s: %d bytes, %v; want %d", c.name, len(got), err, c.want)
		}
	}
	failing := &http.Response{ContentLength: -1, Body: io.NopCloser(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF)))}
	if got, err := ReadBody(failing, 100); !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "abc" {
		t.Errorf("cut body: %q, %v", got, err)
	}
}
