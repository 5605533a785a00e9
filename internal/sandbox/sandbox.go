// Package sandbox stands between adapters and their upstreams so that
// integrations can be tried without the real backend: it records every
// upstream exchange to HAR 1.2 files, replays calls from them, or mocks
// answers from the route's contract, and injects chaos (latency, errors,
// 429s, 5xx bursts, resets, slow bodies, abrupt WebSocket closes) into
// replayed and mocked answers.
//
// It works at the one place every built-in adapter shares: the HTTP
// transport (bridge.Env.WrapTransport), innermost, under tracing and
// outbound credentials, so a recording holds what went on the wire (with
// its secrets redacted). A WebSocket is an HTTP exchange whose upgraded
// connection is the reply body: its frames are recorded from the bytes,
// and replayed or mocked by a small server speaking RFC 6455 over an
// in-memory pipe. The router wraps each sandboxed route's endpoint
// (Sandbox.Endpoint) so the transport knows the route of a request, and
// a replay that finds no recording can fail the call with
// FAILED_PRECONDITION rather than as an unreachable upstream.
package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/bridge"
)

// Sandbox holds what outlives a route table: HAR writers (a reload keeps
// appending to the same files) and each upstream's chaos knobs as set at
// run time.
//
// A table being built stages its upstreams' modes, chaos settings and mocks
// (Transport, Endpoint); Commit makes them the ones served once the table
// is, and Discard drops them when the build fails, so a rejected reload
// changes nothing the serving table does.
type Sandbox struct {
	flags   Flags
	version string
	log     *slog.Logger

	mu      sync.Mutex
	writers map[string]*harWriter
	chaos   map[string]*chaosState
	modes   map[string]Config
	// next is what the table being built staged (nil between builds).
	next *stage
}

// stage is what one table build set up for the sandbox.
type stage struct {
	modes map[string]Config
	// chaos is each upstream's knobs from its config, applied at Commit to
	// the state its transports share.
	chaos map[string]stagedChaos
	// mockers are the table's mocks by upstream, which learn their routes
	// as the router binds them.
	mockers map[string]*mocker
}

type stagedChaos struct {
	state *chaosState
	knobs *Chaos
	seed  int64
}

// New returns a Sandbox; flags set a mode for upstreams that set none.
// version is written as the HAR creator's version.
func New(flags Flags, version string, log *slog.Logger) *Sandbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if version == "" {
		version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	return &Sandbox{flags: flags, version: version, log: log, writers: map[string]*harWriter{}, chaos: map[string]*chaosState{}, modes: map[string]Config{}}
}

// staged is the build's stage, begun on first use; s.mu is held.
func (s *Sandbox) staged() *stage {
	if s.next == nil {
		s.next = &stage{modes: map[string]Config{}, chaos: map[string]stagedChaos{}, mockers: map[string]*mocker{}}
	}
	return s.next
}

// Commit serves what the last build staged: its upstreams' modes and chaos
// settings (knobs set through the admin endpoint stay), in place of the
// previous table's.
func (s *Sandbox) Commit() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.next
	if st == nil {
		return
	}
	s.next = nil
	s.modes = st.modes
	for n := range s.chaos {
		if _, kept := st.chaos[n]; !kept {
			delete(s.chaos, n)
		}
	}
	for n, c := range st.chaos {
		s.chaos[n] = c.state
		c.state.configure(c.knobs, c.seed)
	}
}

// Discard drops what a failed build staged.
func (s *Sandbox) Discard() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.next = nil
	s.mu.Unlock()
}

// Transport returns the transport wrapper of upstream u whose sandbox
// block is c (nil when absent), or nil when the sandbox leaves it alone.
// red is the upstream's Redactor. A nil Sandbox leaves every upstream alone.
func (s *Sandbox) Transport(u *bridge.Upstream, c *Config, baseDir string, red *bridge.Redactor) (func(http.RoundTripper) http.RoundTripper, error) {
	if s == nil {
		return nil, nil
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	cfg := c.withDefaults(s.flags)
	s.mu.Lock()
	st := s.staged()
	st.modes[u.Name] = cfg
	// The state the serving table's transports share, when there is one:
	// knobs set at run time apply to the new table too.
	ch := s.chaos[u.Name]
	if ch == nil {
		ch = &chaosState{}
	}
	st.chaos[u.Name] = stagedChaos{state: ch, knobs: cfg.Chaos, seed: cfg.Mock.Seed}
	s.mu.Unlock()
	dir := bridge.AbsPath(baseDir, cfg.Dir)
	rd := newRedaction(red, cfg)
	if cfg.Mode != Off {
		s.log.Info("sandbox", "upstream", u.Name, "mode", string(cfg.Mode), "dir", dir)
	}
	switch cfg.Mode {
	case Record:
		w, err := s.writer(dir, u.Name, cfg.MaxEntries)
		if err != nil {
			return nil, err
		}
		return func(rt http.RoundTripper) http.RoundTripper {
			return &recorder{next: rt, w: w, red: rd, limit: int(cfg.MaxBodyBytes), log: s.log.With("upstream", u.Name)}
		}, nil
	case Replay:
		rp, err := newReplayer(dir, u.Name, cfg, rd, s.log)
		if err != nil {
			return nil, err
		}
		return func(http.RoundTripper) http.RoundTripper { return &chaosTransport{state: ch, next: rp} }, nil
	case Mock:
		m := &mocker{upstream: u.Name, cfg: cfg}
		if cfg.Mock.WSDL != "" {
			d, err := wsdl.Load(bridge.AbsPath(baseDir, cfg.Mock.WSDL), wsdl.Options{})
			if err != nil {
				return nil, fmt.Errorf("sandbox.mock.wsdl: %w", err)
			}
			m.defs = d
		}
		if cfg.Mock.OpenAPI != "" {
			ex, err := loadExamples(bridge.AbsPath(baseDir, cfg.Mock.OpenAPI))
			if err != nil {
				return nil, fmt.Errorf("sandbox.mock.openapi: %w", err)
			}
			m.examples = ex
		}
		s.mu.Lock()
		s.staged().mockers[u.Name] = m
		s.mu.Unlock()
		return func(http.RoundTripper) http.RoundTripper { return &chaosTransport{state: ch, next: m} }, nil
	}
	return nil, nil
}

func (s *Sandbox) writer(dir, upstream string, max int) (*harWriter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := dir + "\x00" + upstream
	if w := s.writers[key]; w != nil {
		return w, nil
	}
	w, err := newHARWriter(dir, upstream, max, s.version)
	if err != nil {
		return nil, err
	}
	s.writers[key] = w
	return w, nil
}

// Endpoint wraps the endpoint of a sandboxed route: its calls carry the
// route to the transport, and a replay without a recording fails the call
// with the status the replayer left.
func (s *Sandbox) Endpoint(r *bridge.Route, ep bridge.Endpoint) bridge.Endpoint {
	s.mu.Lock()
	if s.next != nil {
		if m := s.next.mockers[r.Upstream.Name]; m != nil {
			m.addRoute(r)
		}
	}
	s.mu.Unlock()
	return &endpoint{r: r, ep: ep}
}

type endpoint struct {
	r  *bridge.Route
	ep bridge.Endpoint
}

func (e *endpoint) Unary(ctx context.Context, c *bridge.Call) (out proto.Message, err error) {
	st := &state{route: e.r}
	out, err = e.ep.Unary(context.WithValue(ctx, stateKey{}, st), c)
	if err != nil {
		if f := st.failure(); f != nil {
			return nil, f
		}
	}
	return out, err
}

func (e *endpoint) Stream(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
	st := &state{route: e.r}
	err := e.ep.Stream(context.WithValue(ctx, stateKey{}, st), c, s)
	if f := st.failure(); f != nil {
		return f
	}
	return err
}

// Describe is the wrapped endpoint's description.
func (e *endpoint) Describe() string {
	if d, ok := e.ep.(bridge.Describer); ok {
		return d.Describe()
	}
	return ""
}

// state is what one call's transport requests share with its endpoint.
type state struct {
	route *bridge.Route
	mu    sync.Mutex
	fail  error
}

type stateKey struct{}

func stateOf(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// setFailure keeps the first failure a call's transport met.
func (st *state) setFailure(err error) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.fail == nil {
		st.fail = err
	}
}

func (st *state) failure() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.fail
}

func routeName(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.route.Name()
	}
	return ""
}

// errNoRoute is the transport's answer to a request made outside a call.
var errNoRoute = fmt.Errorf("sandbox: request made outside a routed call")
