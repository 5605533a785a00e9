package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/protobridge/protobridge/bridge"
)

// Chaos are the failures injected into replayed and mocked answers, so
// that retries, circuit breakers, fallbacks and rate limits can be
// rehearsed. Shares are between 0 and 1 and drawn per request from a
// generator seeded by the mock seed, so a run repeats.
type Chaos struct {
	// Latency delays every answer.
	Latency *Latency `yaml:"latency,omitempty"`
	// ErrorRate is the share of requests answered with ErrorStatus.
	ErrorRate float64 `yaml:"error_rate,omitempty"`
	// ErrorStatus is the HTTP status of injected errors (default 503).
	ErrorStatus int `yaml:"error_status,omitempty"`
	// RateLimitRate is the share of requests answered 429 with Retry-After.
	RateLimitRate float64 `yaml:"rate_limit_rate,omitempty"`
	// RetryAfter is the Retry-After of injected 429s, in whole seconds (default 1s).
	RetryAfter time.Duration `yaml:"retry_after,omitempty"`
	// Burst answers runs of consecutive requests with a 5xx.
	Burst *Burst `yaml:"burst,omitempty"`
	// ResetRate is the share of requests whose connection is reset before any reply.
	ResetRate float64 `yaml:"reset_rate,omitempty"`
	// SlowBody bounds how fast reply bodies and streams are delivered, in
	// bytes per second (0: as fast as read).
	SlowBody bridge.ByteSize `yaml:"slow_body,omitempty"`
	// WSCloseAfter closes a WebSocket abruptly (no close frame) after this
	// many frames from the upstream (0: never).
	WSCloseAfter int `yaml:"ws_close_after,omitempty"`
}

// Latency is a delay distribution.
type Latency struct {
	// Distribution is fixed (Mean), uniform (Min..Max), normal (Mean,
	// StdDev, clamped at 0) or exponential (Mean). Default: uniform when
	// Max is set, else fixed.
	Distribution string        `yaml:"distribution,omitempty"`
	Mean         time.Duration `yaml:"mean,omitempty"`
	Min          time.Duration `yaml:"min,omitempty"`
	Max          time.Duration `yaml:"max,omitempty"`
	StdDev       time.Duration `yaml:"stddev,omitempty"`
}

// Burst fails Length requests in a row out of every Every.
type Burst struct {
	Every  int `yaml:"every,omitempty"`
	Length int `yaml:"length,omitempty"`
	// Status is the burst's HTTP status (default 503).
	Status int `yaml:"status,omitempty"`
}

// maxLatency bounds an injected delay (and a mocked stream's interval);
// the caller's deadline bounds it too.
const maxLatency = 5 * time.Minute

// maxRetryAfter bounds the Retry-After of injected 429s.
const maxRetryAfter = time.Hour

// Check reports what is wrong with the knobs.
func (c *Chaos) Check() error {
	if c == nil {
		return nil
	}
	for name, v := range map[string]float64{"error_rate": c.ErrorRate, "rate_limit_rate": c.RateLimitRate, "reset_rate": c.ResetRate} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return fmt.Errorf("chaos.%s is a share between 0 and 1", name)
		}
	}
	if c.ErrorRate+c.RateLimitRate+c.ResetRate > 1 {
		return errors.New("chaos: error_rate, rate_limit_rate and reset_rate add up to more than 1")
	}
	for name, s := range map[string]int{"error_status": c.ErrorStatus, "burst.status": c.Burst.status()} {
		if s != 0 && (s < 400 || s > 599) {
			return fmt.Errorf("chaos.%s must be a 4xx or 5xx status", name)
		}
	}
	if b := c.Burst; b != nil && (b.Every <= 0 || b.Length <= 0 || b.Length > b.Every) {
		return errors.New("chaos.burst needs every > 0 and 0 < length <= every")
	}
	if l := c.Latency; l != nil {
		switch l.Distribution {
		case "", "fixed", "uniform", "normal", "exponential":
		default:
			return errors.New("chaos.latency.distribution is fixed, uniform, normal or exponential")
		}
		if l.Mean < 0 || l.Min < 0 || l.Max < 0 || l.StdDev < 0 || l.Min > maxLatency || l.Max > maxLatency || l.Mean > maxLatency {
			return fmt.Errorf("chaos.latency values are durations between 0 and %s", maxLatency)
		}
		if l.Max != 0 && l.Max < l.Min {
			return errors.New("chaos.latency.max is below min")
		}
	}
	if c.RetryAfter < 0 || c.SlowBody < 0 || c.WSCloseAfter < 0 {
		return errors.New("chaos: retry_after, slow_body and ws_close_after cannot be negative")
	}
	if c.RetryAfter > maxRetryAfter {
		return fmt.Errorf("chaos.retry_after is at most %s", maxRetryAfter)
	}
	return nil
}

func (b *Burst) status() int {
	if b == nil {
		return 0
	}
	return b.Status
}

// chaosState is one upstream's knobs: those of its config, replaced at run
// time through the admin endpoint, and the generator and counter they draw on.
type chaosState struct {
	mu       sync.Mutex
	config   *Chaos
	override *Chaos
	rng      *rand.Rand
	n        int
}

func (c *chaosState) configure(k *Chaos, seed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.config = k
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	}
}

// set replaces the knobs at run time; nil returns to the config's.
func (c *chaosState) set(k *Chaos) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.override, c.n = k, 0
}

func (c *chaosState) current() *Chaos {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.override != nil {
		return c.override
	}
	return c.config
}

// verdict is what chaos does to one request.
type verdict struct {
	delay  time.Duration
	status int
	reset  bool
}

func (c *chaosState) draw() (*Chaos, verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.override
	if k == nil {
		k = c.config
	}
	if k == nil {
		return nil, verdict{}
	}
	var v verdict
	if l := k.Latency; l != nil {
		v.delay = l.draw(c.rng)
	}
	n := c.n
	c.n++
	if b := k.Burst; b != nil && n%b.Every < b.Length {
		v.status = cmp(b.Status, http.StatusServiceUnavailable)
		return k, v
	}
	switch p := c.rng.Float64(); {
	case p < k.ResetRate:
		v.reset = true
	case p < k.ResetRate+k.RateLimitRate:
		v.status = http.StatusTooManyRequests
	case p < k.ResetRate+k.RateLimitRate+k.ErrorRate:
		v.status = cmp(k.ErrorStatus, http.StatusServiceUnavailable)
	}
	return k, v
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (l *Latency) draw(r *rand.Rand) time.Duration {
	var d float64
	switch dist := l.Distribution; {
	case dist == "uniform" || (dist == "" && l.Max > 0):
		d = float64(l.Min) + r.Float64()*float64(l.Max-l.Min)
	case dist == "normal":
		d = float64(l.Mean) + r.NormFloat64()*float64(l.StdDev)
	case dist == "exponential":
		d = r.ExpFloat64() * float64(l.Mean)
	default:
		d = float64(l.Mean)
	}
	return time.Duration(min(max(d, 0), float64(maxLatency)))
}

// chaosTransport applies an upstream's chaos around replayed or mocked answers.
type chaosTransport struct {
	state *chaosState
	next  http.RoundTripper
}

func (t *chaosTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	k, v := t.state.draw()
	if k == nil {
		return t.next.RoundTrip(req)
	}
	if v.delay > 0 {
		if err := sleep(req.Context(), v.delay); err != nil {
			return nil, err
		}
	}
	switch {
	case v.reset:
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	case v.status == http.StatusTooManyRequests:
		ra := max(int(math.Ceil(cmpDur(k.RetryAfter, time.Second).Seconds())), 1)
		return synth(req, v.status, http.Header{"Retry-After": {strconv.Itoa(ra)}, "Content-Type": {"text/plain"}}, "sandbox chaos: rate limited"), nil
	case v.status != 0:
		return synth(req, v.status, http.Header{"Content-Type": {"text/plain"}}, "sandbox chaos: injected failure"), nil
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		if k.WSCloseAfter > 0 {
			resp.Body = &closeAfter{ReadWriteCloser: rwc, after: k.WSCloseAfter, fr: frameReader{limit: 1 << 20}}
		}
		return resp, nil
	}
	if k.SlowBody > 0 {
		resp.Body = &slowBody{ReadCloser: resp.Body, rate: int64(k.SlowBody), ctx: req.Context()}
	}
	return resp, nil
}

func cmpDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// synth makes a reply to req.
func synth(req *http.Request, status int, h http.Header, body string) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}
}

// slowBody delivers a body at rate bytes per second.
type slowBody struct {
	io.ReadCloser
	rate int64
	ctx  context.Context
}

func (s *slowBody) Read(p []byte) (int, error) {
	chunk := max(s.rate/10, 1)
	if int64(len(p)) > chunk {
		p = p[:chunk]
	}
	n, err := s.ReadCloser.Read(p)
	if n > 0 {
		if e := sleep(s.ctx, time.Duration(int64(n)*int64(time.Second)/s.rate)); e != nil {
			return n, e
		}
	}
	return n, err
}

// closeAfter cuts an upgraded connection, without a close frame, once the
// upstream sent after data frames.
type closeAfter struct {
	io.ReadWriteCloser
	after int
	mu    sync.Mutex
	fr    frameReader
	seen  int
}

func (c *closeAfter) Read(p []byte) (int, error) {
	c.mu.Lock()
	done := c.seen >= c.after
	c.mu.Unlock()
	if done {
		_ = c.ReadWriteCloser.Close()
		return 0, io.ErrUnexpectedEOF
	}
	n, err := c.ReadWriteCloser.Read(p)
	c.mu.Lock()
	for _, m := range c.fr.feed(p[:n]) {
		if m.opcode == opText || m.opcode == opBinary {
			c.seen++
		}
	}
	c.mu.Unlock()
	return n, err
}
