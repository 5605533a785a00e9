package httpx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// TestSendBufferedReleasesOnce: a request whose body is read from a buffer
// gives the buffer back once, after the call.
func TestSendBufferedReleasesOnce(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer up.Close()
	var released atomic.Int32
	for range 3 {
		buf := []byte("hello")
		req, _ := http.NewRequest(http.MethodPost, up.URL, bytes.NewReader(buf))
		resp, err := SendBuffered(up.Client(), req, buf, func(b []byte) {
			if string(b) != "hello" {
				t.Errorf("released %q", b)
			}
			released.Add(1)
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	if n := released.Load(); n != 3 {
		t.Fatalf("released %d times for 3 calls", n)
	}
	// A request that never reaches a connection releases at once too.
	buf := []byte("x")
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1", bytes.NewReader(buf))
	if _, err := SendBuffered(up.Client(), req, buf, func([]byte) { released.Add(1) }); err == nil {
		t.Fatal("a refused connection succeeded")
	}
	if n := released.Load(); n != 4 {
		t.Fatalf("a refused request was released %d times", n-3)
	}
}

// TestSendBufferedWaitsForTheWrite: an upstream that answers before it
// reads the body leaves the transport writing after Do has returned; the
// buffer is released only once that write has ended.
func TestSendBufferedWaitsForTheWrite(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	readBody := make(chan struct{})
	served := make(chan int64, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		<-readBody
		n, _ := io.Copy(io.Discard, req.Body)
		served <- n
	}()
	// More than the loopback socket buffers hold.
	sendHeldBody(t, &http.Client{}, "http://"+lis.Addr().String(), 64<<20, 1, readBody, served)
}

// TestSendBufferedWaitsForTheWriteHTTP2 is the same over HTTP/2, whose
// transport writes the body from its own goroutine under flow control.
func TestSendBufferedWaitsForTheWriteHTTP2(t *testing.T) {
	readBody := make(chan struct{})
	served := make(chan int64, 1)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-readBody
		n, _ := io.Copy(io.Discard, r.Body)
		served <- n
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	// Far more than HTTP/2's flow-control windows.
	sendHeldBody(t, up.Client(), up.URL, 8<<20, 2, readBody, served)
}

// sendHeldBody sends a body of size bytes to an upstream that answers,
// then reads the body once readBody is closed and says how much it read
// on served: the buffer must stay held until the upstream has read it
// all, then be released.
func sendHeldBody(t *testing.T, client *http.Client, url string, size, protoMajor int, readBody chan struct{}, served chan int64) {
	t.Helper()
	buf := make([]byte, size)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(buf))
	var released atomic.Bool
	resp, err := SendBuffered(client, req, buf, func([]byte) { released.Store(true) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ProtoMajor != protoMajor {
		t.Fatalf("the call used %s", resp.Proto)
	}
	if released.Load() {
		t.Fatal("the buffer was released while the transport was still writing it")
	}
	close(readBody)
	if n := <-served; n != int64(size) {
		t.Fatalf("the upstream read %d of %d body bytes", n, size)
	}
	waitReleased(t, &released)
}

// waitReleased waits for a buffer's release after its write has ended.
func waitReleased(t *testing.T, released *atomic.Bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !released.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the buffer was not released once the write ended")
		}
		time.Sleep(time.Millisecond)
	}
}
