package websocket

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	ws "github.com/coder/websocket"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/testenv"
)

// TestMain stops the node peers after the tests and then checks that no
// goroutine is left behind.
func TestMain(m *testing.M) {
	code := m.Run()
	stopPeers()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitFor polls cond until it holds; it fails the test after a generous
// cap, which only a hang reaches.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var (
	protoOnce sync.Once
	protoFile protoreflect.FileDescriptor
	protoErr  error
)

// method returns a method of testdata/wstest.proto's Echo service.
func method(t testing.TB, name string) protoreflect.MethodDescriptor {
	t.Helper()
	protoOnce.Do(func() {
		comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{"testdata"}})}
		files, err := comp.Compile(context.Background(), "wstest.proto")
		if err != nil {
			protoErr = err
			return
		}
		protoFile = files[0]
	})
	if protoErr != nil {
		t.Fatal(protoErr)
	}
	return protoFile.Services().ByName("Echo").Methods().ByName(protoreflect.Name(name))
}

// route builds a route of method name served by an upstream at baseURL,
// with the (protobridge.v1.route) options given in text format, if any;
// the route's encoding follows the options' as the bridge sets it.
func route(t testing.TB, name, baseURL string, options ...string) *bridge.Route {
	t.Helper()
	ro := &pbv1.RouteOptions{}
	if len(options) > 0 {
		if err := prototext.Unmarshal([]byte(options[0]), ro); err != nil {
			t.Fatalf("route options %q: %v", options[0], err)
		}
	}
	enc := "json"
	switch ro.GetEncoding() {
	case pbv1.Encoding_ENCODING_XML:
		enc = "xml"
	case pbv1.Encoding_ENCODING_PROTOBUF:
		enc = "protobuf"
	}
	return &bridge.Route{
		Method: method(t, name),
		Upstream: &bridge.Upstream{
			Kind: Kind, Name: "wsup", BaseURL: baseURL,
			Timeout: bridge.DefaultUpstreamTimeout, ConnectTimeout: bridge.DefaultConnectTimeout,
			MaxRequestBytes: bridge.DefaultMaxBodyBytes, MaxResponseBytes: bridge.DefaultMaxBodyBytes,
			MaxErrorBodyBytes: bridge.DefaultMaxErrorBodyBytes,
		},
		Options:  ro,
		Encoding: enc,
	}
}

// bind builds an adapter for the route's upstream (closed with the test)
// and binds the route.
func bind(t testing.TB, r *bridge.Route) *endpoint {
	t.Helper()
	return bindEnv(t, r, &bridge.Env{Logger: slog.New(slog.DiscardHandler)})
}

// bindEnv builds the route's adapter with env and binds the route.
func bindEnv(t testing.TB, r *bridge.Route, env *bridge.Env) *endpoint {
	t.Helper()
	a, err := New(r.Upstream, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ep, err := a.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	return ep.(*endpoint)
}

// msg builds a wstest.v1.Msg with fields set by name.
func msg(t testing.TB, fields map[string]any) *dynamicpb.Message {
	t.Helper()
	md := method(t, "Call").Input()
	m := dynamicpb.NewMessage(md)
	for k, v := range fields {
		fd := md.Fields().ByName(protoreflect.Name(k))
		switch v := v.(type) {
		case string:
			m.Set(fd, protoreflect.ValueOfString(v))
		case int:
			m.Set(fd, protoreflect.ValueOfInt64(int64(v)))
		case []byte:
			m.Set(fd, protoreflect.ValueOfBytes(v))
		default:
			t.Fatalf("msg: %T", v)
		}
	}
	return m
}

// field reads a field of a message by name.
func field(m proto.Message, name string) protoreflect.Value {
	r := m.ProtoReflect()
	return r.Get(r.Descriptor().Fields().ByName(protoreflect.Name(name)))
}

// wantStatus checks an error's code and, when reason is set, its ErrorInfo
// reason; it returns the ErrorInfo metadata.
func wantStatus(t testing.TB, err error, code codes.Code, reason string) map[string]string {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v (%v), want %v", st.Code(), err, code)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if reason != "" && info.GetReason() != reason {
				t.Fatalf("reason %q, want %q (%v)", info.GetReason(), reason, err)
			}
			return info.GetMetadata()
		}
	}
	if reason != "" {
		t.Fatalf("no ErrorInfo in %v", err)
	}
	return nil
}

// fakeStream is the caller's side of a streaming call. Messages put on in
// are received (closing it is the caller's half-close); sent messages go to
// out, unbuffered, so Send blocks until the test takes them, as gRPC does
// while the caller does not read. gen, when set, produces messages instead
// of in.
type fakeStream struct {
	ctx  context.Context
	in   chan proto.Message
	out  chan proto.Message
	gen  func(n int64) (proto.Message, error)
	recv atomic.Int64
	sent atomic.Int64
}

func newFake(ctx context.Context) *fakeStream {
	return &fakeStream{ctx: ctx, in: make(chan proto.Message), out: make(chan proto.Message)}
}

func (f *fakeStream) Recv() (proto.Message, error) {
	if f.gen != nil {
		return f.gen(f.recv.Add(1))
	}
	select {
	case m, ok := <-f.in:
		if !ok {
			return nil, io.EOF
		}
		f.recv.Add(1)
		return m, nil
	case <-f.ctx.Done():
		return nil, status.FromContextError(f.ctx.Err()).Err()
	}
}

func (f *fakeStream) Send(m proto.Message) error {
	select {
	case f.out <- m:
		f.sent.Add(1)
		return nil
	case <-f.ctx.Done():
		return status.FromContextError(f.ctx.Err()).Err()
	}
}

func (f *fakeStream) SetHeader(metadata.MD) error { return nil }

// run serves a streaming call on the endpoint in the background; the
// returned channel yields its result.
func run(ctx context.Context, e *endpoint, c *bridge.Call, s bridge.Stream) <-chan error {
	done := make(chan error, 1)
	go func() { done <- e.Stream(ctx, c, s) }()
	return done
}

// recvOut takes the next message the endpoint sent, or fails when the call
// ends first.
func recvOut(t testing.TB, f *fakeStream, done <-chan error) proto.Message {
	t.Helper()
	select {
	case m := <-f.out:
		return m
	case err := <-done:
		t.Fatalf("call ended before a message: %v", err)
	}
	return nil
}

var tags atomic.Int64

// uniq names a stream for the lines a peer prints, unique across runs
// (-count) as the peers outlive a test.
func uniq(name string) string { return fmt.Sprintf("%s-%d", name, tags.Add(1)) }

// nodePeer is one of test/peers/ws/*.js running under node.
type nodePeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	done  chan struct{}

	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

var (
	peersMu sync.Mutex
	peers   = map[string]*nodePeer{}
)

const peersDir = "../../test/peers"

// requirePeers skips (or, with CI=true, fails) when node or the pinned npm
// peers are not installed.
func requirePeers(t testing.TB) {
	t.Helper()
	testenv.Peer(t, "ws")
}

// peer returns the node peer running script, starting it on first use. It
// runs until the tests end.
func peer(t testing.TB, script string) *nodePeer {
	t.Helper()
	requirePeers(t)
	peersMu.Lock()
	defer peersMu.Unlock()
	if p := peers[script]; p != nil {
		return p
	}
	cmd := exec.Command("node", filepath.Join(peersDir, "ws", script), "0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodePeer{cmd: cmd, stdin: stdin, done: make(chan struct{}), changed: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	line := p.waitLine(t, "ready ")
	p.addr = "127.0.0.1:" + strings.TrimPrefix(line, "ready ")
	peers[script] = p
	return p
}

// stopPeers closes every peer's stdin, which ends it, and waits for it.
func stopPeers() {
	peersMu.Lock()
	defer peersMu.Unlock()
	for name, p := range peers {
		_ = p.stdin.Close()
		<-p.done
		_ = p.cmd.Wait()
		delete(peers, name)
	}
}

// url is the peer's address with a path and query.
func (p *nodePeer) url(pathAndQuery string) string { return "ws://" + p.addr + pathAndQuery }

// waitLine waits for a stdout line starting with prefix and returns it.
func (p *nodePeer) waitLine(t testing.TB, prefix string) string {
	t.Helper()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.HasPrefix(l, prefix) {
				p.mu.Unlock()
				return l
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.done:
			t.Fatalf("peer exited before printing %q", prefix)
		case <-timer.C:
			p.mu.Lock()
			n := len(p.lines)
			tail := p.lines[max(0, n-5):]
			p.mu.Unlock()
			t.Fatalf("peer did not print %q; its last lines: %q", prefix, tail)
		}
	}
}

// send writes a line to the peer's stdin.
func (p *nodePeer) send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// goPeer is a coder/websocket server misbehaving in the ways the adapter
// must survive:
//
//	/echo       echoes frames
//	/reverse    answers each pair of frames in reverse order
//	/text       answers the first frame with a text frame "not protobuf"
//	/badjson    answers the first frame with "{not json"
//	/badproto   answers the first frame with a binary frame that is no protobuf
//	/badreply   answers each JSON request with its id and a seq that is no number
//	/big?n=N    answers the first frame with a text frame of N bytes
//	/flaky      a ticker whose first socket drops after two frames, whose
//	            second handshake is refused with 503, and whose third socket
//	            sends two frames after the subscription's after_seq and closes
//	/silent     reads and never answers
//	/nopong     never reads, so never answers pings
//	/hang       never answers the handshake
type goPeer struct {
	srv  *httptest.Server
	quit chan struct{}
}

func startGoPeer(t testing.TB) *goPeer {
	t.Helper()
	p := &goPeer{quit: make(chan struct{})}
	mux := http.NewServeMux()
	accept := func(w http.ResponseWriter, r *http.Request) *ws.Conn {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return nil
		}
		c.SetReadLimit(-1)
		return c
	}
	answerFirst := func(reply func(typ ws.MessageType, data []byte) (ws.MessageType, []byte)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c := accept(w, r)
			if c == nil {
				return
			}
			defer func() { _ = c.CloseNow() }()
			typ, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			rt, rd := reply(typ, data)
			if c.Write(r.Context(), rt, rd) != nil {
				return
			}
			for {
				if _, _, err := c.Read(r.Context()); err != nil {
					return
				}
			}
		}
	}
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c := accept(w, r)
		if c == nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			typ, data, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), typ, data) != nil {
				return
			}
		}
	})
	mux.HandleFunc("/reverse", func(w http.ResponseWriter, r *http.Request) {
		c := accept(w, r)
		if c == nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			t1, d1, err := c.Read(r.Context())
			if err != nil {
				return
			}
			t2, d2, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), t2, d2) != nil || c.Write(r.Context(), t1, d1) != nil {
				return
			}
		}
	})
	mux.HandleFunc("/text", answerFirst(func(ws.MessageType, []byte) (ws.MessageType, []byte) {
		return ws.MessageText, []byte("not protobuf")
	}))
	mux.HandleFunc("/badjson", answerFirst(func(ws.MessageType, []byte) (ws.MessageType, []byte) {
		return ws.MessageText, []byte("{not json")
	}))
	mux.HandleFunc("/badproto", answerFirst(func(ws.MessageType, []byte) (ws.MessageType, []byte) {
		return ws.MessageBinary, []byte{0xff, 0xff, 0xff}
	}))
	mux.HandleFunc("/badreply", func(w http.ResponseWriter, r *http.Request) {
		c := accept(w, r)
		if c == nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		corr := &correlation{out: []protoreflect.FieldDescriptor{method(t, "Call").Output().Fields().ByName("id")}}
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			id, _ := corr.jsonID(data)
			if c.Write(r.Context(), ws.MessageText, fmt.Appendf(nil, `{"id":%q,"seq":"twelve"}`, id)) != nil {
				return
			}
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		var n int
		_, _ = fmt.Sscan(r.URL.Query().Get("n"), &n)
		answerFirst(func(ws.MessageType, []byte) (ws.MessageType, []byte) {
			return ws.MessageText, []byte(`{"text":"` + strings.Repeat("x", n) + `"}`)
		})(w, r)
	})
	var flaky atomic.Int64
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		n := flaky.Add(1)
		if n == 2 {
			http.Error(w, "restarting", http.StatusServiceUnavailable)
			return
		}
		c := accept(w, r)
		if c == nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		_, data, err := c.Read(r.Context())
		if err != nil {
			return
		}
		var sub struct {
			AfterSeq int64 `json:"after_seq,string"`
		}
		_ = json.Unmarshal(data, &sub)
		for seq := sub.AfterSeq + 1; seq <= sub.AfterSeq+2; seq++ {
			if c.Write(r.Context(), ws.MessageText, fmt.Appendf(nil, `{"seq":"%d"}`, seq)) != nil {
				return
			}
		}
		if n > 2 {
			_ = c.Close(ws.StatusNormalClosure, "done")
		}
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {
		c := accept(w, r)
		if c == nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/nopong", func(w http.ResponseWriter, r *http.Request) {
		c := accept(w, r)
		if c == nil {
			return
		}
		<-p.quit
		_ = c.CloseNow()
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-p.quit:
		}
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(p.quit)
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

// url is the peer's address with a path and query.
func (p *goPeer) url(pathAndQuery string) string {
	return "ws" + strings.TrimPrefix(p.srv.URL, "http") + pathAndQuery
}
