// Package httpx holds what the HTTP-based adapters (rest, soap, websocket)
// share: the per-upstream client and the wording of transport failures.
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
	"net/url"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/bridge"
)

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
		return bridge.Errorf(codes.DeadlineExceeded, "DEADLINE_EXCEEDED", meta, "deadline exceeded waiting for upstream %s", upstream)
	case context.Canceled:
		return bridge.Errorf(codes.Canceled, "CANCELLED", meta, "call cancelled while waiting for upstream %s", upstream)
	}
	return nil
}

// TransportError maps a failed round trip: the context's end, or
// UNAVAILABLE with reason UPSTREAM_UNAVAILABLE naming the cause in words.
func TransportError(ctx context.Context, err error, upstream string, meta map[string]string) error {
	if cerr := ContextError(ctx, upstream, meta); cerr != nil {
		return cerr
	}
	return bridge.Errorf(codes.Unavailable, "UPSTREAM_UNAVAILABLE", meta, "upstream %s is unavailable: %s", upstream, DescribeNetError(err))
}
