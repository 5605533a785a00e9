package bridgetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
)

// Timing of the checks.
const (
	// patience bounds calls that should simply complete; only a hang
	// reaches it.
	patience = 10 * time.Second
	// hangDeadline is the deadline of the Deadline checks.
	hangDeadline = 300 * time.Millisecond
	// cancelAfter is how long a call runs before the Cancel checks cancel it.
	cancelAfter = 100 * time.Millisecond
	// concurrentCalls is how many calls the Concurrent check makes at once.
	concurrentCalls = 20
)

// unaryText is the text of the Unary check: markup, quotes and non-ASCII
// must travel through every encoding unchanged.
const unaryText = `hello <b>&amp;</b> "q" 'a' ünïcødé ✓`

// reasonRE is the form google.rpc.ErrorInfo gives reasons.
var reasonRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]+[A-Z0-9]$`)

// result is how one call ended.
type result struct {
	msg      proto.Message
	err      error
	panicked any
	at       time.Time
}

// goUnary runs a unary call in a goroutine.
func goUnary(ctx context.Context, ep bridge.Endpoint, c *bridge.Call) <-chan result {
	ch := make(chan result, 1)
	go func() {
		var res result
		res.panicked = catch(func() { res.msg, res.err = ep.Unary(ctx, c) })
		res.at = time.Now()
		ch <- res
	}()
	return ch
}

// goStream runs a streaming call in a goroutine.
func goStream(ctx context.Context, ep bridge.Endpoint, c *bridge.Call, s *callerStream) chan result {
	ch := make(chan result, 1)
	go func() {
		var res result
		res.panicked = catch(func() { res.err = ep.Stream(ctx, c, s) })
		res.at = time.Now()
		ch <- res
	}()
	return ch
}

// wait waits up to limit for a call to return; the test fails when it has
// not, or panicked.
func wait(t *testing.T, ch <-chan result, limit time.Duration, what string) result {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case res := <-ch:
		if res.panicked != nil {
			t.Fatalf("%s panicked: %v", what, res.panicked)
		}
		return res
	case <-timer.C:
		t.Fatalf("%s has not returned after %v", what, limit)
	}
	return result{}
}

// echoRequest builds a bridgetest.v1.EchoRequest.
func echoRequest(text string, n int32, hold, last bool) *dynamicpb.Message {
	md := Service().Methods().ByName("Echo").Input()
	m := dynamicpb.NewMessage(md)
	f := md.Fields()
	m.Set(f.ByName("text"), protoreflect.ValueOfString(text))
	if n != 0 {
		m.Set(f.ByName("n"), protoreflect.ValueOfInt32(n))
	}
	if hold {
		m.Set(f.ByName("hold"), protoreflect.ValueOfBool(true))
	}
	if last {
		m.Set(f.ByName("last"), protoreflect.ValueOfBool(true))
	}
	return m
}

// wireOf returns m as the gRPC front door passes requests.
func wireOf(t *testing.T, m proto.Message) *bridge.WireMessage {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return bridge.NewWireMessage(m.ProtoReflect().Descriptor(), b)
}

// reply reads the fields of an EchoResponse by name, whatever its Go type.
type reply struct {
	text, id, requestID string
	seq                 int32
}

func (r reply) String() string {
	return fmt.Sprintf("{text: %q, id: %q, request_id: %q, seq: %d}", r.text, r.id, r.requestID, r.seq)
}

// checkReply checks that m is a message of rt's output type and reads it.
func checkReply(t *testing.T, rt *bridge.Route, m proto.Message, what string) (reply, bool) {
	t.Helper()
	if m == nil {
		t.Errorf("%s: no message", what)
		return reply{}, false
	}
	want := rt.Method.Output().FullName()
	if got := bridge.MessageName(m); got != want {
		t.Errorf("%s: the message is a %s, want the method's output type %s", what, got, want)
		return reply{}, false
	}
	pm := m.ProtoReflect()
	get := func(name protoreflect.Name) protoreflect.Value {
		return pm.Get(pm.Descriptor().Fields().ByName(name))
	}
	return reply{text: get("text").String(), id: get("id").String(), requestID: get("request_id").String(), seq: int32(get("seq").Int())}, true
}

// wantStatus checks that err is a gRPC status of code with a message and an
// ErrorInfo of domain protobridge.dev with a well-formed reason.
func wantStatus(t *testing.T, err error, code codes.Code, what string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Errorf("%s: the error is not a gRPC status: %v", what, err)
		return
	}
	if st.Code() != code {
		t.Errorf("%s: code %v, want %v (%v)", what, st.Code(), code, err)
	}
	if st.Message() == "" {
		t.Errorf("%s: the status has no message", what)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info = ei
			break
		}
	}
	switch {
	case info == nil:
		t.Errorf("%s: the status has no google.rpc.ErrorInfo detail: %v", what, err)
	case info.GetDomain() != bridge.ErrorDomain:
		t.Errorf("%s: ErrorInfo domain %q, want %q", what, info.GetDomain(), bridge.ErrorDomain)
	case !reasonRE.MatchString(info.GetReason()):
		t.Errorf("%s: ErrorInfo reason %q is not UPPER_SNAKE_CASE", what, info.GetReason())
	}
}

// callContext is the context of a call that should simply complete.
func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

func (r *runner) testBind(t *testing.T) {
	a, u := r.adapter(t)
	methods := Service().Methods()
	for i := range methods.Len() {
		md := methods.Get(i)
		name := string(md.Name())
		shape := shapeOf(md)
		served := r.h.Shapes.Has(shape)
		if _, ok := r.peer.Routes[name]; served && !ok {
			t.Errorf("Peer.Routes has no route for %s, a %s method the adapter serves", name, shapeName(shape))
			continue
		}
		ep, err, p := tryBind(a, r.route(u, name))
		switch {
		case p != nil:
			t.Errorf("Bind(%s) panicked: %v", name, p)
		case served && err != nil:
			t.Errorf("Bind(%s), a %s method: %v", name, shapeName(shape), err)
		case served && ep == nil:
			t.Errorf("Bind(%s) returned no endpoint and no error", name)
		case !served && err == nil:
			t.Errorf("Bind(%s) accepted a %s method, which Harness.Shapes says the adapter does not serve", name, shapeName(shape))
		case !served && ep != nil:
			t.Errorf("Bind(%s) refused the method (%v) but returned an endpoint", name, err)
		case !served:
			t.Logf("Bind(%s) refused: %v", name, err)
		}
	}
}

func (r *runner) testUnary(t *testing.T) {
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Echo")
	for _, wire := range []bool{true, false} {
		form := "a dynamic message"
		if wire {
			form = "a WireMessage"
		}
		req := echoRequest(unaryText, 0, false, false)
		orig := proto.Clone(req)
		var in proto.Message = req
		if wire {
			in = wireOf(t, req)
		}
		c := newCall(rt, in)
		res := wait(t, goUnary(callContext(t), ep, c), patience, "Unary(Echo)")
		if res.err != nil {
			t.Fatalf("Echo with %s: %v", form, res.err)
		}
		got, ok := checkReply(t, rt, res.msg, "Echo with "+form)
		if !ok {
			continue
		}
		if got.text != unaryText {
			t.Errorf("Echo with %s: text %q, want %q", form, got.text, unaryText)
		}
		if !proto.Equal(in, orig) {
			t.Errorf("Echo with %s: the adapter changed the caller's request", form)
		}
		if r.h.RequestID.Has(Unary) && got.requestID != c.RequestID {
			t.Errorf("Echo with %s: the peer received request id %q, want the call's %q", form, got.requestID, c.RequestID)
		}
	}
}

func (r *runner) testError(t *testing.T) {
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Fail")
	res := wait(t, goUnary(callContext(t), ep, newCall(rt, wireOf(t, echoRequest("fail", 0, false, false)))), patience, "Unary(Fail)")
	if res.err == nil {
		t.Fatalf("Fail succeeded with %v", res.msg)
	}
	if res.msg != nil {
		t.Errorf("Fail returned a message along with its error %v", res.err)
	}
	wantStatus(t, res.err, r.h.FailCode, "Fail")
}

func (r *runner) testDeadline(t *testing.T) {
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Hang")
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	deadline, _ := ctx.Deadline()
	res := wait(t, goUnary(ctx, ep, newCall(rt, wireOf(t, echoRequest("hang", 0, false, false)))), hangDeadline+Grace, "Unary(Hang) with a 300ms deadline")
	if res.err == nil {
		t.Fatalf("Hang returned %v", res.msg)
	}
	if late := res.at.Sub(deadline); late > Grace {
		t.Errorf("Hang returned %v after its deadline, over %v", late, Grace)
	}
	wantStatus(t, res.err, codes.DeadlineExceeded, "Hang past its deadline")
}

func (r *runner) testCancel(t *testing.T) {
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Hang")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := goUnary(ctx, ep, newCall(rt, wireOf(t, echoRequest("hang", 0, false, false))))
	select {
	case res := <-ch:
		t.Fatalf("Hang returned before it was cancelled: %v, %v (panic: %v)", res.msg, res.err, res.panicked)
	case <-time.After(cancelAfter):
	}
	cancel()
	cancelled := time.Now()
	res := wait(t, ch, Grace, "Unary(Hang) once cancelled")
	if res.err == nil {
		t.Fatalf("the cancelled Hang returned %v", res.msg)
	}
	if late := res.at.Sub(cancelled); late > Grace {
		t.Errorf("Hang returned %v after it was cancelled, over %v", late, Grace)
	}
	wantStatus(t, res.err, codes.Canceled, "Hang cancelled")
}

func (r *runner) testConcurrent(t *testing.T) {
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Echo")
	ctx := callContext(t)
	type call struct {
		text string
		c    *bridge.Call
		ch   <-chan result
	}
	calls := make([]call, concurrentCalls)
	start := make(chan struct{})
	for i := range calls {
		text := fmt.Sprintf("call %d of %d", i+1, concurrentCalls)
		c := newCall(rt, wireOf(t, echoRequest(text, 0, false, false)))
		ch := make(chan result, 1)
		go func() {
			<-start
			ch <- <-goUnary(ctx, ep, c)
		}()
		calls[i] = call{text: text, c: c, ch: ch}
	}
	close(start)
	for _, cl := range calls {
		res := wait(t, cl.ch, patience, "Unary(Echo) "+cl.text)
		if res.err != nil {
			t.Errorf("Echo %q: %v", cl.text, res.err)
			continue
		}
		got, ok := checkReply(t, rt, res.msg, "Echo "+cl.text)
		if !ok {
			continue
		}
		if got.text != cl.text {
			t.Errorf("Echo %q got the reply %v", cl.text, got)
		}
		if r.h.RequestID.Has(Unary) && got.requestID != cl.c.RequestID {
			t.Errorf("Echo %q: the peer received request id %q, want the call's %q", cl.text, got.requestID, cl.c.RequestID)
		}
	}
}

// drain takes the messages already sent.
func drain(s *callerStream, got []proto.Message) []proto.Message {
	for {
		select {
		case m := <-s.out:
			got = append(got, m)
		default:
			return got
		}
	}
}

// next waits for the stream's next message; the test fails when the call
// returns or nothing comes within limit. A call that sent its message and
// returned at once keeps its result (and later messages) for the waits
// that follow.
func next(t *testing.T, s *callerStream, ch chan result, limit time.Duration, what string) proto.Message {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case m := <-s.out:
		return m
	case res := <-ch:
		if m := drain(s, nil); len(m) > 0 {
			// Sent before returning: the call's end is checked later. The
			// call has returned, so nothing else writes to either channel.
			for _, later := range m[1:] {
				s.out <- later
			}
			ch <- res
			return m[0]
		}
		t.Fatalf("%s: the call returned (%v, panic: %v) before sending a message", what, res.err, res.panicked)
	case <-timer.C:
		t.Fatalf("%s: no message after %v", what, limit)
	}
	return nil
}

// feed hands the endpoint one caller message; the test fails when the call
// returns first, or does not take it within patience.
func feed(t *testing.T, s *callerStream, ch <-chan result, m proto.Message, what string) {
	t.Helper()
	timer := time.NewTimer(patience)
	defer timer.Stop()
	select {
	case s.in <- m:
	case res := <-ch:
		t.Fatalf("%s: the call returned (%v, panic: %v) before taking the caller's message", what, res.err, res.panicked)
	case <-timer.C:
		t.Fatalf("%s: the caller's message was not taken within %v", what, patience)
	}
}

// collect receives a stream's messages until the call returns.
func collect(t *testing.T, s *callerStream, ch <-chan result, limit time.Duration, what string) ([]proto.Message, result) {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var got []proto.Message
	for {
		select {
		case m := <-s.out:
			got = append(got, m)
		case res := <-ch:
			if res.panicked != nil {
				t.Fatalf("%s panicked: %v", what, res.panicked)
			}
			return drain(s, got), res
		case <-timer.C:
			t.Fatalf("%s has not returned after %v (%d messages so far)", what, limit, len(got))
		}
	}
}

func (r *runner) testServerStream(t *testing.T) {
	r.need(t, ServerStream)
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Count")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	const n = 5
	s := newCallerStream(ctx)
	c := newCall(rt, wireOf(t, echoRequest("tick", n, false, false)))
	got, res := collect(t, s, goStream(ctx, ep, c, s), patience, "Stream(Count)")
	if res.err != nil {
		t.Errorf("Count ended with %v after %d messages, want a nil error", res.err, len(got))
	}
	if len(got) != n {
		t.Errorf("Count delivered %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		rep, ok := checkReply(t, rt, m, fmt.Sprintf("Count message %d", i+1))
		if !ok {
			continue
		}
		if rep.seq != int32(i+1) || rep.text != "tick" {
			t.Errorf("Count message %d is %v, want seq %d and text %q", i+1, rep, i+1, "tick")
		}
		if r.h.RequestID.Has(ServerStream) && rep.requestID != c.RequestID {
			t.Errorf("Count message %d: the peer received request id %q, want the call's %q", i+1, rep.requestID, c.RequestID)
		}
	}
}

func (r *runner) testServerStreamCancel(t *testing.T) {
	r.need(t, ServerStream)
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Count")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newCallerStream(ctx)
	ch := goStream(ctx, ep, newCall(rt, wireOf(t, echoRequest("held", 1, true, false))), s)
	if m := next(t, s, ch, patience, "a held Count"); m != nil {
		checkReply(t, rt, m, "a held Count's message")
	}
	select {
	case res := <-ch:
		t.Fatalf("a held Count returned before it was cancelled: %v (panic: %v)", res.err, res.panicked)
	case <-time.After(cancelAfter):
	}
	cancel()
	cancelled := time.Now()
	res := wait(t, ch, Grace, "a held Count once cancelled")
	if late := res.at.Sub(cancelled); late > Grace {
		t.Errorf("the stream returned %v after it was cancelled, over %v", late, Grace)
	}
	if res.err == nil {
		t.Fatal("the cancelled stream returned a nil error")
	}
	wantStatus(t, res.err, codes.Canceled, "a cancelled Count")
}

func (r *runner) testServerStreamDeadline(t *testing.T) {
	r.need(t, ServerStream)
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Count")
	ctx, cancel := context.WithTimeout(context.Background(), hangDeadline)
	defer cancel()
	deadline, _ := ctx.Deadline()
	s := newCallerStream(ctx)
	_, res := collect(t, s, goStream(ctx, ep, newCall(rt, wireOf(t, echoRequest("held", 1, true, false))), s), hangDeadline+Grace, "a held Count with a 300ms deadline")
	if late := res.at.Sub(deadline); late > Grace {
		t.Errorf("the stream returned %v after its deadline, over %v", late, Grace)
	}
	if res.err == nil {
		t.Fatal("a held Count past its deadline returned a nil error")
	}
	wantStatus(t, res.err, codes.DeadlineExceeded, "a held Count past its deadline")
}

func (r *runner) testClientStream(t *testing.T) {
	r.need(t, ClientStream)
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Collect")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	s := newCallerStream(ctx)
	c := newCall(rt, nil)
	ch := goStream(ctx, ep, c, s)
	words := []string{"one", "two", "three"}
	for i, w := range words {
		feed(t, s, ch, echoRequest(w, 0, false, i == len(words)-1), "Stream(Collect)")
	}
	close(s.in)
	got, res := collect(t, s, ch, patience, "Stream(Collect)")
	if res.err != nil {
		t.Errorf("Collect ended with %v, want a nil error", res.err)
	}
	if len(got) != 1 {
		t.Fatalf("Collect delivered %d messages, want 1", len(got))
	}
	rep, ok := checkReply(t, rt, got[0], "Collect's reply")
	if !ok {
		return
	}
	if want := strings.Join(words, " "); rep.text != want || rep.seq != int32(len(words)) {
		t.Errorf("Collect replied %v, want text %q and seq %d", rep, want, len(words))
	}
	if r.h.RequestID.Has(ClientStream) && rep.requestID != c.RequestID {
		t.Errorf("Collect: the peer received request id %q, want the call's %q", rep.requestID, c.RequestID)
	}
}

func (r *runner) testBidi(t *testing.T) {
	r.need(t, BidiStream)
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Chat")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	s := newCallerStream(ctx)
	c := newCall(rt, nil)
	ch := goStream(ctx, ep, c, s)
	words := []string{"ping", "pong"}
	for i, w := range words {
		feed(t, s, ch, echoRequest(w, 0, false, i == len(words)-1), "Stream(Chat)")
		// The reply must come before the next message is sent: the
		// stream is bidirectional, not a client stream answered at the end.
		m := next(t, s, ch, patience, fmt.Sprintf("Chat's reply to %q", w))
		rep, ok := checkReply(t, rt, m, fmt.Sprintf("Chat's reply to %q", w))
		if !ok {
			continue
		}
		if rep.text != w || rep.seq != int32(i+1) {
			t.Errorf("Chat replied %v to %q, want text %q and seq %d", rep, w, w, i+1)
		}
		if r.h.RequestID.Has(BidiStream) && rep.requestID != c.RequestID {
			t.Errorf("Chat: the peer received request id %q, want the call's %q", rep.requestID, c.RequestID)
		}
	}
	close(s.in)
	extra, res := collect(t, s, ch, patience, "Stream(Chat)")
	if res.err != nil {
		t.Errorf("Chat ended with %v, want a nil error", res.err)
	}
	if len(extra) > 0 {
		t.Errorf("Chat delivered %d messages more than the %d replies", len(extra), len(words))
	}
}

func (r *runner) testBidiCancel(t *testing.T) {
	r.need(t, BidiStream)
	a, u := r.adapter(t)
	ep, rt := r.bind(t, a, u, "Chat")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newCallerStream(ctx)
	ch := goStream(ctx, ep, newCall(rt, nil), s)
	feed(t, s, ch, echoRequest("ping", 0, false, false), "Stream(Chat)")
	if m := next(t, s, ch, patience, "Chat's reply"); m != nil {
		checkReply(t, rt, m, "Chat's reply")
	}
	cancel()
	cancelled := time.Now()
	res := wait(t, ch, Grace, "Chat once cancelled")
	if late := res.at.Sub(cancelled); late > Grace {
		t.Errorf("Chat returned %v after it was cancelled, over %v", late, Grace)
	}
	if res.err == nil {
		t.Fatal("the cancelled Chat returned a nil error")
	}
	wantStatus(t, res.err, codes.Canceled, "a cancelled Chat")
}

func (r *runner) testClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, u := r.open(t)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = a.Close()
		}
	})
	// Use the adapter as the bridge would: a completed call, a call that
	// timed out while the peer hung, and a call of each streaming shape.
	ep, rt := r.bind(t, a, u, "Echo")
	if res := wait(t, goUnary(callContext(t), ep, newCall(rt, wireOf(t, echoRequest("before close", 0, false, false)))), patience, "Unary(Echo)"); res.err != nil {
		t.Fatalf("Echo: %v", res.err)
	}
	ep, rt = r.bind(t, a, u, "Hang")
	ctx, cancel := context.WithTimeout(context.Background(), cancelAfter)
	wait(t, goUnary(ctx, ep, newCall(rt, wireOf(t, echoRequest("hang", 0, false, false)))), cancelAfter+Grace, "Unary(Hang)")
	cancel()
	if r.h.Shapes.Has(ServerStream) {
		ep, rt = r.bind(t, a, u, "Count")
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		s := newCallerStream(ctx)
		_, res := collect(t, s, goStream(ctx, ep, newCall(rt, wireOf(t, echoRequest("tick", 2, false, false))), s), patience, "Stream(Count)")
		cancel() // the call ends: gRPC cancels its context
		if res.err != nil {
			t.Fatalf("Count: %v", res.err)
		}
	}
	for _, sh := range []struct {
		shape Shape
		name  string
	}{{ClientStream, "Collect"}, {BidiStream, "Chat"}} {
		if !r.h.Shapes.Has(sh.shape) {
			continue
		}
		ep, rt = r.bind(t, a, u, sh.name)
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		s := newCallerStream(ctx)
		ch := goStream(ctx, ep, newCall(rt, nil), s)
		feed(t, s, ch, echoRequest("bye", 0, false, true), "Stream("+sh.name+")")
		close(s.in)
		_, res := collect(t, s, ch, patience, "Stream("+sh.name+")")
		cancel()
		if res.err != nil {
			t.Fatalf("%s: %v", sh.name, res.err)
		}
	}
	closed = true
	var err error
	if p := catch(func() { err = a.Close() }); p != nil {
		t.Fatalf("Close panicked: %v", p)
	}
	if err != nil {
		t.Errorf("Close: %v", err)
	}
	// goleak.Find retries for a while by itself; keep asking until Grace
	// has passed.
	until := time.Now().Add(Grace)
	for {
		err := goleak.Find(before)
		if err == nil {
			break
		}
		if time.Now().After(until) {
			t.Errorf("goroutines started since the adapter was built are still running %v after Close: %v", Grace, err)
			break
		}
	}
}
