// Package mcpfront is the Model Context Protocol front door: every unary
// and server-streaming route of the current table is a tool, with JSON
// Schema 2020-12 input and output schemas generated from its messages,
// served over streamable HTTP (stateful or stateless) and stdio with the
// official Go SDK. Tool calls go through the bridge.Invoker like every
// other front door's, so auth, allow rules and every policy apply; a
// reload that changes the tool set tells connected clients.
package mcpfront

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/router"
)

// FrontDoor labels the calls of this front door in logs, metrics and traces.
const FrontDoor = "mcp"

// Version is announced as the server implementation's version.
var Version = "dev"

// Server is the MCP front door over one router.
type Server struct {
	mcp    *mcp.Server
	router *router.Router
	log    *slog.Logger

	mu    sync.Mutex // one sync at a time
	tools atomic.Pointer[map[string]*tool]
	// inflight counts tool calls running, for Drain.
	inflight atomic.Int64
	// stdioMD is the metadata of stdio calls (credentials from the
	// environment of `protobridge mcp`).
	stdioMD metadata.MD
	// peers holds the network peer of each HTTP request in flight, by the
	// reference the handler puts in its peerRefHeader (the SDK hands tool
	// handlers the request's headers, not the request).
	peers sync.Map // string → bridge.Peer
}

// tool is one route served as a tool.
type tool struct {
	route    string // "pkg.Service/Method"
	def      *mcp.Tool
	defJSON  []byte
	streams  bool
	maxItems int
}

// New builds the MCP front door for a router and follows its reloads.
func New(r *router.Router, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{router: r, log: logger}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "protobridge", Title: "protobridge", Version: Version}, &mcp.ServerOptions{
		Instructions: "Each tool calls one operation of a REST, SOAP or WebSocket backend through protobridge. Arguments must match the tool's inputSchema exactly; errors say which field is wrong and how to fix it.",
		PageSize:     1 << 20,
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	s.mcp.AddReceivingMiddleware(s.filterList)
	empty := map[string]*tool{}
	s.tools.Store(&empty)
	s.Sync(r.Table())
	r.OnSwap(func(_, cur *router.Table) { s.Sync(cur) })
	return s
}

// Drain waits until no tool call runs or ctx ends, then closes every
// session (cancelling what still runs).
func (s *Server) Drain(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			s.closeSessions()
			return
		case <-tick.C:
		}
	}
	s.closeSessions()
}

func (s *Server) closeSessions() {
	for ss := range s.mcp.Sessions() {
		_ = ss.Close()
	}
}

// MCP returns the SDK server (for transports of a test's own).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Sync makes the tool set that of table t: tools gone or changed are
// removed and new or changed ones added, which sends
// notifications/tools/list_changed (and the 2026-07-28 subscription
// event) to connected clients when anything changed.
func (s *Server) Sync(t *router.Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	requiredCache.Clear() // the old table's descriptors go with it
	want := Tools(t.Routes(), t.Config().MCP)
	old := *s.tools.Load()
	var removed []string
	for name, o := range old {
		if n, ok := want[name]; !ok || string(n.defJSON) != string(o.defJSON) {
			removed = append(removed, name)
		}
	}
	next := make(map[string]*tool, len(want))
	for name, n := range want {
		if o, ok := old[name]; ok && string(o.defJSON) == string(n.defJSON) {
			next[name] = o
			continue
		}
		next[name] = n
	}
	s.tools.Store(&next)
	if len(removed) > 0 {
		s.mcp.RemoveTools(removed...)
	}
	for name, n := range next {
		if o, ok := old[name]; ok && o == n {
			continue
		}
		s.mcp.AddTool(n.def, s.handler(name))
	}
}

// Tools returns the tools of routes under the mcp: config, by name.
func Tools(routes []*bridge.Route, cfg config.MCPConfig) map[string]*tool {
	out := map[string]*tool{}
	used := map[string]bool{}
	for _, r := range routes {
		m := r.Method
		if m.IsStreamingClient() || !selected(r, cfg) {
			continue
		}
		ov := override(r, cfg)
		if ov == nil {
			continue
		}
		name := ov.Name
		if name == "" {
			name = toolName(r, used)
		}
		used[name] = true
		t := &tool{route: r.Name(), streams: m.IsStreamingServer(), maxItems: cfg.MaxStreamMessages}
		if t.maxItems <= 0 {
			t.maxItems = config.DefaultMCPStreamMessages
		}
		t.def = toolDef(r, name, *ov, t.streams, t.maxItems)
		t.defJSON, _ = json.Marshal(t.def)
		out[name] = t
	}
	return out
}

// override merges the method's (protobridge.v1.mcp) option under the
// config's mcp.tools entry; nil when the option excludes the method.
func override(r *bridge.Route, cfg config.MCPConfig) *config.MCPTool {
	ov := cfg.Tools[r.Name()]
	if opt, _ := bridge.ReadOption(r.Method.Options(), pbv1.E_Mcp).(*pbv1.MCPToolOptions); opt != nil {
		if opt.GetExclude() {
			return nil
		}
		if ov.Name == "" {
			ov.Name = opt.GetName()
		}
		if ov.Title == "" {
			ov.Title = opt.GetTitle()
		}
		if ov.Description == "" {
			ov.Description = opt.GetDescription()
		}
	}
	return &ov
}

// selected applies include and exclude by service or method.
func selected(r *bridge.Route, cfg config.MCPConfig) bool {
	svc := string(r.Method.Parent().FullName())
	match := func(list []string) bool {
		for _, s := range list {
			if s == svc || s == r.Name() {
				return true
			}
		}
		return false
	}
	if len(cfg.Include) > 0 && !match(cfg.Include) {
		return false
	}
	return !match(cfg.Exclude)
}

// toolName is "Service_Method" (the service's package left out), made
// unique with the package when two services share a name; within MCP's
// 128 characters of [A-Za-z0-9_.-].
func toolName(r *bridge.Route, used map[string]bool) string {
	svc := r.Method.Parent()
	name := clean(string(svc.Name()) + "_" + string(r.Method.Name()))
	if used[name] {
		name = clean(strings.ReplaceAll(string(svc.FullName()), ".", "_") + "_" + string(r.Method.Name()))
	}
	for i := 2; used[name]; i++ {
		name = clean(fmt.Sprintf("%s_%d", name, i))
	}
	return name
}

func clean(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 128 {
		b = b[len(b)-128:]
	}
	return string(b)
}

// toolDef is the tool of a route: title and description from the rpc's
// and service's comments (or the config's overrides), schemas from its
// messages and annotations from what it declares.
func toolDef(r *bridge.Route, name string, ov config.MCPTool, streams bool, maxItems int) *mcp.Tool {
	m := r.Method
	desc := comment(m)
	title := ov.Title
	if title == "" {
		title = splitCamel(string(m.Name()))
	}
	var parts []string
	if ov.Description != "" {
		parts = append(parts, ov.Description)
	} else {
		if desc != "" {
			parts = append(parts, desc)
		}
		if sd := comment(m.Parent()); sd != "" {
			parts = append(parts, fmt.Sprintf("Part of %s: %s", m.Parent().Name(), sd))
		}
	}
	parts = append(parts, fmt.Sprintf("Calls %s on upstream %s (%s)%s.", r.Name(), r.Upstream.Name, r.Upstream.Kind, binding(r)))
	if streams {
		parts = append(parts, fmt.Sprintf("Streams: returns the messages collected, at most %d; each is also sent as a progress notification when a progress token is given.", maxItems))
	}
	out := MessageSchema(m.Output())
	if streams {
		out = streamSchema(out)
	} else if out["type"] != "object" {
		out = nil
	}
	// Schemas go out as JSON marshalled once here: tools/list then copies
	// bytes instead of encoding maps on every call.
	in, _ := json.Marshal(MessageSchema(m.Input()))
	def := &mcp.Tool{
		Name:        name,
		Title:       title,
		Description: strings.Join(parts, "\n\n"),
		InputSchema: json.RawMessage(in),
		Annotations: annotationsOf(r, title),
	}
	if out != nil {
		raw, _ := json.Marshal(out)
		def.OutputSchema = json.RawMessage(raw)
	}
	return def
}

// streamSchema wraps a message schema as the result of a streaming tool.
func streamSchema(msg Schema) Schema {
	defs := msg["$defs"]
	delete(msg, "$defs")
	delete(msg, "$schema")
	s := Schema{
		"$schema": SchemaDraft,
		"type":    "object",
		"properties": Schema{
			"messages":  Schema{"type": "array", "items": msg, "description": "the stream's messages, in order"},
			"truncated": Schema{"type": "boolean", "description": "true when the stream was cut at the tool's message bound"},
		},
		"required":             []string{"messages", "truncated"},
		"additionalProperties": false,
	}
	if defs != nil {
		s["$defs"] = defs
	}
	return s
}

func binding(r *bridge.Route) string {
	if r.HTTP == nil {
		return ""
	}
	verb, path := bridge.HTTPMethodAndPath(r.HTTP)
	return ": " + verb + " " + path
}

// annotationsOf are the hints a route's declarations support.
func annotationsOf(r *bridge.Route, title string) *mcp.ToolAnnotations {
	opts, _ := r.Method.Options().(*descriptorpb.MethodOptions)
	level := opts.GetIdempotencyLevel()
	verb := ""
	if r.HTTP != nil {
		verb, _ = bridge.HTTPMethodAndPath(r.HTTP)
	}
	a := &mcp.ToolAnnotations{Title: title}
	a.ReadOnlyHint = verb == "GET" || level == descriptorpb.MethodOptions_NO_SIDE_EFFECTS
	a.IdempotentHint = a.ReadOnlyHint || level == descriptorpb.MethodOptions_IDEMPOTENT || verb == "PUT" || verb == "DELETE"
	destructive := verb == "DELETE"
	if !a.ReadOnlyHint {
		a.DestructiveHint = &destructive
	}
	// Every route reaches a backend outside the daemon.
	open := true
	a.OpenWorldHint = &open
	return a
}

func splitCamel(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && c >= 'A' && c <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// filterList shows a caller only the tools whose routes it may call.
func (s *Server) filterList(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if method != "tools/list" || err != nil {
			return res, err
		}
		lr, ok := res.(*mcp.ListToolsResult)
		if !ok {
			return res, err
		}
		t := s.router.Table()
		md, peer := s.caller(req.GetExtra())
		tools := *s.tools.Load()
		kept := lr.Tools[:0:0]
		for _, def := range lr.Tools {
			tl, ok := tools[def.Name]
			if !ok {
				continue
			}
			route, ok := s.router.Route(tl.route)
			if !ok {
				continue
			}
			if g := t.Guard(route); g != nil && g.Allows(ctx, &bridge.Call{Route: route, Metadata: md, FrontDoor: FrontDoor, Peer: peer}) != nil {
				continue
			}
			kept = append(kept, def)
		}
		lr.Tools = kept
		return lr, nil
	}
}

// caller is a request's HTTP headers as call metadata (lower-case keys)
// and its network peer, or the stdio credentials.
func (s *Server) caller(extra *mcp.RequestExtra) (metadata.MD, bridge.Peer) {
	if extra == nil || extra.Header == nil {
		return s.stdioMD.Copy(), bridge.Peer{}
	}
	md := metadata.MD{}
	var peer bridge.Peer
	for k, v := range extra.Header {
		if http.CanonicalHeaderKey(k) == peerRefHeader {
			if len(v) == 1 {
				if p, ok := s.peers.Load(v[0]); ok {
					peer = p.(bridge.Peer)
				}
			}
			continue
		}
		md[strings.ToLower(k)] = append([]string(nil), v...)
	}
	return md, peer
}

// handler serves tools/call of one tool name.
func (s *Server) handler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		tl, ok := (*s.tools.Load())[name]
		if !ok {
			return nil, fmt.Errorf("unknown tool %q", name)
		}
		route, ok := s.router.Route(tl.route)
		if !ok {
			return errorText(fmt.Sprintf("%s is no longer served (the daemon reloaded); list the tools again.", name)), nil
		}
		t := s.router.Table()
		types := dynamicpb.NewTypes(t.Files())
		in, problems := decodeArgs(req.Params.Arguments, route.Method.Input(), types)
		if len(problems) > 0 {
			return argumentsResult(name, problems), nil
		}
		md, peer := s.caller(req.Extra)
		call := &bridge.Call{Route: route, Request: in, Metadata: md, FrontDoor: FrontDoor, Peer: peer}
		if tl.streams {
			return s.stream(ctx, req, tl, call, types)
		}
		resp, err := s.router.Unary(ctx, call)
		if err != nil {
			return errorResult(name, err), nil
		}
		return messageResult(resp, types)
	}
}

// messageResult is a reply as structured content and a text rendering
// (the same JSON: compact, which costs an agent fewer tokens).
func messageResult(m proto.Message, types *dynamicpb.Types) (*mcp.CallToolResult, error) {
	raw, err := protojson.MarshalOptions{Resolver: types}.Marshal(m)
	if err != nil {
		return errorText("The upstream's reply could not be encoded as JSON: " + err.Error()), nil
	}
	res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(raw)}}}
	if len(raw) > 0 && raw[0] == '{' {
		res.StructuredContent = json.RawMessage(raw)
	}
	return res, nil
}

// errStreamBound ends a stream that reached the tool's message bound.
var errStreamBound = errors.New("stream message bound reached")

// stream runs a server-streaming call, collecting its messages (bounded)
// and sending each as a progress notification when the client gave a
// progress token.
func (s *Server) stream(ctx context.Context, req *mcp.CallToolRequest, tl *tool, call *bridge.Call, types *dynamicpb.Types) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	col := &collector{max: tl.maxItems, types: types, cancel: cancel, out: call.Route.Method.Output()}
	if tok := req.Params.GetProgressToken(); tok != nil && req.Session != nil {
		col.progress = func(n int, text string) {
			_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(n), Message: text})
		}
	}
	err := s.router.Stream(ctx, call, col)
	if err != nil && !(col.truncated && errors.Is(context.Cause(ctx), errStreamBound)) {
		if len(col.msgs) == 0 {
			return errorResult(tl.def.Name, err), nil
		}
		res := errorResult(tl.def.Name, err)
		res.Content = append(res.Content, &mcp.TextContent{Text: fmt.Sprintf("%d message(s) arrived before the failure:\n%s", len(col.msgs), strings.Join(col.texts, "\n"))})
		return res, nil
	}
	structured := map[string]any{"messages": col.msgs, "truncated": col.truncated}
	raw, _ := json.Marshal(structured)
	pretty, _ := json.MarshalIndent(structured, "", "  ")
	text := string(pretty)
	if col.truncated {
		text = fmt.Sprintf("(stream cut at %d messages)\n", tl.maxItems) + text
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: json.RawMessage(raw)}, nil
}

// collector is a streaming tool's side of the stream.
type collector struct {
	max       int
	types     *dynamicpb.Types
	out       protoreflect.MessageDescriptor
	cancel    context.CancelCauseFunc
	progress  func(n int, text string)
	mu        sync.Mutex
	msgs      []json.RawMessage
	texts     []string
	truncated bool
}

// Recv: a server stream's request travels in the call.
func (c *collector) Recv() (proto.Message, error) { return nil, io.EOF }

// SetHeader drops response headers: MCP results carry none.
func (c *collector) SetHeader(metadata.MD) error { return nil }

// Send collects one message and reports it as progress.
func (c *collector) Send(m proto.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) >= c.max {
		c.truncated = true
		c.cancel(errStreamBound)
		return errStreamBound
	}
	raw, err := protojson.MarshalOptions{Resolver: c.types}.Marshal(m)
	if err != nil {
		return bridge.Errorf(codes.Internal, "ENCODE", nil, "cannot encode a stream message as JSON: %v", err)
	}
	c.msgs = append(c.msgs, raw)
	c.texts = append(c.texts, string(raw))
	if c.progress != nil {
		c.progress(len(c.msgs), string(raw))
	}
	if len(c.msgs) == c.max {
		// The bound is reached: end the upstream stream now.
		c.truncated = true
		c.cancel(errStreamBound)
	}
	return nil
}

// errorText is an isError result of one text.
func errorText(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// argumentsResult says what is wrong with a call's arguments; the call
// did not reach the upstream.
func argumentsResult(name string, problems []argProblem) *mcp.CallToolResult {
	var b strings.Builder
	fmt.Fprintf(&b, "The arguments of %s do not fit its inputSchema, so nothing was sent to the upstream. Fix these and call again:\n", name)
	for _, p := range problems {
		fmt.Fprintf(&b, "- %s\n", p)
	}
	return errorText(strings.TrimSpace(b.String()))
}
