// Package httpx is the toolkit of HTTP-based adapters (the built-in rest,
// soap and websocket, and adapters outside this repository): the
// per-upstream client, sending with the NotSent mark, transport failures
// in words, the upstream's health headers, and the reconnect backoff.
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/cenkalti/backoff/v5"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
)

// pooledBufferSize is the read and write buffer of a pooled connection.
const pooledBufferSize = 32 << 10

// Client builds an upstream's HTTP client: its own transport (dial and TLS
// handshake bounded by connect_timeout, TLS from the upstream's tls block,
// proxy from the environment), wrapped by env.WrapTransport (tracing and
// outbound credentials), and redirects not followed so credentials never
// travel to another host. pooled keeps up to max_idle_conns idle
// connections; WebSocket handshakes pass false, as upgraded connections are
// never reused. The transport is returned too, for CloseIdleConnections.
// A nil env means no wrapping and paths relative to the working directory.
func Client(u *bridge.Upstream, env *bridge.Env, pooled bool) (*http.Client, *http.Transport, error) {
	if env == nil {
		env = &bridge.Env{}
	}
	connect := u.ConnectTimeout
	if connect <= 0 {
		connect = bridge.DefaultConnectTimeout
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: connect,
		DisableKeepAlives:   !pooled,
	}
	if pooled {
		idle := u.MaxIdleConns
		if idle <= 0 {
			idle = bridge.DefaultMaxIdleConns
		}
		t.ForceAttemptHTTP2 = true
		t.MaxIdleConns, t.MaxIdleConnsPerHost = idle, idle
		t.IdleConnTimeout = 90 * time.Second
		t.ExpectContinueTimeout = time.Second
		// One write for the headers and a body of up to 32 KiB, and one
		// read for a reply that size, instead of net/http's 4 KiB buffers
		// (two or more syscalls for a typical JSON or SOAP body).
		t.WriteBufferSize, t.ReadBufferSize = pooledBufferSize, pooledBufferSize
	}
	if u.TLS != nil {
		tc, err := u.TLS.ClientConfig(env.BaseDir)
		if err != nil {
			return nil, nil, fmt.Errorf("tls: %w", err)
		}
		t.TLSClientConfig = tc
	}
	var rt http.RoundTripper = t
	if env.WrapTransport != nil {
		rt = env.WrapTransport(rt)
	}
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, t, nil
}

// DescribeNetError names the cause of a transport failure in words, never
// quoting the URL (which may carry credentials or request data).
func DescribeNetError(err error) string {
	var (
		dnsErr     *net.DNSError
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		recordErr  tls.RecordHeaderError
		netErr     net.Error
		urlErr     *url.Error
		opErr      *net.OpError
		errnoValue syscall.Errno
	)
	switch {
	case errors.As(err, &dnsErr):
		return "cannot resolve its host name"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return "its TLS certificate is not trusted"
	case errors.As(err, &recordErr):
		return "TLS handshake failed (is it serving plain HTTP?)"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "connection timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the reply"
	case errors.As(err, &opErr) && errors.As(err, &errnoValue):
		return opErr.Op + ": " + errnoValue.Error()
	case errors.As(err, &urlErr):
		return strings.TrimPrefix(urlErr.Err.Error(), "net/http: ")
	}
	return "request failed"
}

// ContextError maps a finished call context to DEADLINE_EXCEEDED or
// CANCELLED for upstream, with meta as ErrorInfo metadata; nil while the
// context is live.
func ContextError(ctx context.Context, upstream string, meta map[string]string) error {
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return bridge.Wrap(ctx.Err(), codes.DeadlineExceeded, reason.DeadlineExceeded, meta, "deadline exceeded waiting for upstream %s", upstream)
	case context.Canceled:
		return bridge.Wrap(ctx.Err(), codes.Canceled, reason.Cancelled, meta, "call cancelled while waiting for upstream %s", upstream)
	}
	return nil
}

// TransportError maps a failed round trip: the context's end, or
// UNAVAILABLE with reason UPSTREAM_UNAVAILABLE naming the cause in words.
// The status wraps err, and carries bridge.NotSent when Send or TraceSend
// saw that no byte of the request was written.
func TransportError(ctx context.Context, err error, upstream string, meta map[string]string) error {
	out := ContextError(ctx, upstream, meta)
	if out == nil {
		out = bridge.Wrap(err, codes.Unavailable, reason.UpstreamUnavailable, meta, "upstream %s is unavailable: %s", upstream, DescribeNetError(err))
	}
	if Unsent(err) {
		out = bridge.NotSent(out)
	}
	return out
}

// BodyError maps a failure reading a reply body whose headers arrived:
// the context's end, or, since the body was cut off by the connection (a
// reset, or a close before the announced end), a transport failure —
// UNAVAILABLE with reason UPSTREAM_UNAVAILABLE saying so and how many
// bytes came, never a body that "does not decode". The request was
// processed, so the status carries no bridge.NotSent: the retry policy
// repeats it for idempotent methods only.
func BodyError(ctx context.Context, err error, read int, upstream string, meta map[string]string) error {
	if out := ContextError(ctx, upstream, meta); out != nil {
		return out
	}
	return bridge.Wrap(err, codes.Unavailable, reason.UpstreamUnavailable, meta, "upstream %s is unavailable: its reply body was cut off after %d bytes (%s)", upstream, read, DescribeCutOff(err))
}

// DescribeCutOff names, in words, why a reply body or stream that had
// begun ended early: DescribeNetError, but a premature end of the body is
// "the connection closed" (not "before the reply").
func DescribeCutOff(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection closed"
	}
	return DescribeNetError(err)
}

// Send is client.Do watching whether the request left: a failure after
// the transport looked for a connection but before the request headers
// were written (refused, DNS, TLS handshake) comes back marked, and
// TransportError turns the mark into bridge.NotSent, which lets the retry
// policy repeat even non-idempotent calls.
func Send(client *http.Client, req *http.Request) (*http.Response, error) {
	ctx, mark := TraceSend(req.Context())
	resp, err := client.Do(req.WithContext(ctx))
	return resp, mark(err)
}

// TraceSend returns ctx watched by an httptrace, and a function that marks
// an error of a request made on that context when no byte of it was
// written. For HTTP exchanges not made by Send (a WebSocket handshake).
func TraceSend(ctx context.Context) (context.Context, func(error) error) {
	var dialed, wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn:      func(string) { dialed.Store(true) },
		WroteHeaders: func() { wrote.Store(true) },
	})
	return ctx, func(err error) error {
		if err != nil && dialed.Load() && !wrote.Load() {
			return &unsent{err}
		}
		return err
	}
}

// Unsent reports whether err was marked by Send or TraceSend as a failure
// of a request of which no byte was written.
func Unsent(err error) bool {
	var u *unsent
	return errors.As(err, &u)
}

// unsent marks a transport error of a request that was never written.
type unsent struct{ err error }

func (e *unsent) Error() string { return e.err.Error() }
func (e *unsent) Unwrap() error { return e.err }

// maxNoticeDetail bounds the header text kept in a notice.
const maxNoticeDetail = 256

// HeaderNotices reads the health signals in an upstream's HTTP reply
// headers: Deprecation (RFC 9745: "@<unix seconds>"; older drafts' HTTP-date
// or "true"), Sunset (RFC 8594: an HTTP-date) and Warning. Adapters pass
// them to Env.Notify.
func HeaderNotices(h http.Header) []bridge.Notice {
	var out []bridge.Notice
	if v := strings.TrimSpace(h.Get("Deprecation")); v != "" {
		n := bridge.Notice{Kind: "deprecation", Detail: bound(v)}
		if strings.HasPrefix(v, "@") {
			if secs, err := strconv.ParseInt(v[1:], 10, 64); err == nil {
				n.Date = time.Unix(secs, 0).UTC()
			}
		} else if t, err := http.ParseTime(v); err == nil {
			n.Date = t.UTC()
		}
		out = append(out, n)
	}
	if v := strings.TrimSpace(h.Get("Sunset")); v != "" {
		n := bridge.Notice{Kind: "sunset", Detail: bound(v)}
		if t, err := http.ParseTime(v); err == nil {
			n.Date = t.UTC()
		}
		out = append(out, n)
	}
	for _, v := range h.Values("Warning") {
		out = append(out, bridge.Notice{Kind: "warning", Detail: bound(v)})
	}
	return out
}

func bound(s string) string {
	if len(s) > maxNoticeDetail {
		return s[:maxNoticeDetail]
	}
	return s
}

// Backoff returns the reconnect and retry backoff every adapter and policy
// uses (cenkalti/backoff/v5): the wait before try n+1 is drawn uniformly
// from [0, min(max, initial·multiplier^(n-1))] ("full jitter"), never
// stopping by itself; callers bound the tries and the total time.
func Backoff(initial, max time.Duration, multiplier float64) *backoff.ExponentialBackOff {
	if multiplier < 1 {
		multiplier = 1
	}
	initial = min(initial, max)
	// backoff draws from current·[1-f, 1+f]; with f = 1 and intervals
	// halved that is [0, cap].
	b := &backoff.ExponentialBackOff{
		InitialInterval:     initial / 2,
		RandomizationFactor: 1,
		Multiplier:          multiplier,
		MaxInterval:         max / 2,
	}
	b.Reset()
	return b
}

// ReadBody reads resp's body, at most limit bytes (a caller that must tell
// a body of exactly its maximum from a longer one passes maximum+1). The
// buffer is sized from Content-Length when the upstream sent one, so a body
// is read without the copies io.ReadAll's doubling makes.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	return AppendBody(nil, resp, limit)
}

// AppendBody is ReadBody appending to dst, for a caller that reuses its
// buffers; dst grows to fit as ReadBody sizes a new one.
func AppendBody(dst []byte, resp *http.Response, limit int64) ([]byte, error) {
	size := int64(512)
	if n := resp.ContentLength; n >= 0 {
		size = n + 1 // room to see the end without growing
	}
	buf := slices.Grow(dst, int(max(min(size, limit), 1)))
	r := io.LimitReader(resp.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
