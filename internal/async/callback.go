package async

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/internal/webhooks"
)

// webhookKey decodes the callback signing secret.
func webhookKey(secret string) ([]byte, error) { return webhooks.StandardKey(secret) }

// notPublic are ranges outside the private and link-local ones that still
// lead into a network or a host's own services: shared address space
// (cloud metadata services sit there), benchmarking, IETF protocol
// assignments, reserved, and the IPv6 translations of IPv4 (NAT64, 6to4)
// that reach private IPv4 addresses.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48"), netip.MustParsePrefix("2002::/16"),
}

// public reports whether a is a public unicast address.
func public(a netip.Addr) bool {
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// callbackClient posts callbacks for a daemon whose jobs.callback_hosts
// are hosts. Redirects are not followed (the signature covers one
// receiver), no proxy is used, and it connects only to public addresses
// unless hosts lists the address itself: a listed name that resolves to
// a loopback, private, link-local or unspecified address cannot turn the
// daemon against its own network.
func callbackClient(hosts []string) *http.Client {
	literal := map[netip.Addr]bool{}
	for _, h := range hosts {
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			literal[a.Unmap()] = true
		}
	}
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if a := ap.Addr().Unmap(); !literal[a] && !public(a) {
			return fmt.Errorf("callback address %s is internal (loopback, private, link-local or unspecified) and not listed as an address in jobs.callback_hosts", a)
		}
		return nil
	}}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = d.DialContext
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// settleCallback POSTs a finished job's callback when one is owed, then
// acknowledges the delivery; a failed POST is tried again after a backoff.
func (s *Service) settleCallback(msg jetstream.Msg, r *record, rev uint64) {
	if !r.callbackDue(s.cfg.CallbackAttempts) {
		_ = msg.Ack()
		return
	}
	var err error
	s.lease(msg, nil, func() { err = s.post(r) })
	cb := r.Callback
	cb.Attempts++
	cb.WebhookId = "job_" + r.ID
	if err == nil {
		cb.Delivered, cb.LastError = true, ""
		s.m.callbacks.WithLabelValues("delivered").Inc()
	} else {
		cb.LastError = err.Error()
		s.m.callbacks.WithLabelValues("failed").Inc()
	}
	r.Updated = time.Now().UTC()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, werr := s.finalWrite(ctx, r, rev); werr != nil {
		s.log.Warn("recording a callback", "job", r.ID, "error", werr)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if err != nil && int(cb.Attempts) < s.cfg.CallbackAttempts {
		b := httpx.Backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, 2)
		var d time.Duration
		for range cb.Attempts {
			d = b.NextBackOff()
		}
		_ = msg.NakWithDelay(d)
		return
	}
	if err != nil {
		s.log.Warn("callback not delivered; giving up", "job", r.ID, "attempts", cb.Attempts, "error", err)
	}
	_ = msg.Ack()
}

// post sends one callback, signed the Standard Webhooks way.
func (s *Service) post(r *record) error {
	job, err := protojson.Marshal(s.view(r))
	if err != nil {
		return err
	}
	now := time.Now()
	body := fmt.Appendf(nil, `{"type":"job.%s","timestamp":%q,"data":%s}`,
		strings.ToLower(strings.TrimPrefix(r.State.String(), "JOB_STATE_")), now.UTC().Format(time.RFC3339Nano), job)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Callback.Url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	id := "job_" + r.ID
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", webhooks.StandardSign(s.secret, id, now, body))
	resp, err := s.callbacks.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			return fmt.Errorf("POST failed: %w", ue.Unwrap())
		}
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}
