// Package kv is an example protobridge adapter, of kind "kv": unary
// routes that get, put and delete the values of a key-value map kept in
// memory or in a JSON file. It uses the public plugin API only (packages
// bridge and bridge/httpx), passes the conformance suite of
// bridge/bridgetest, and cmd/protobridge-kv is the daemon with the kind
// linked in.
//
// The upstream's kv: block says where the map lives, a route's kv: block
// what the method does:
//
//	upstreams:
//	  store:
//	    kind: kv
//	    kv:
//	      file: kv-data.json          # relative to the config file; omit to keep the map in memory
//	      max_value_bytes: 64KiB
//	routes:
//	  - method: kv.v1.Store/Get
//	    upstream: store
//	    kv: {op: get}                 # NOT_FOUND when the key is absent
//	  - method: kv.v1.Store/Await
//	    upstream: store
//	    kv: {op: get, wait: true}     # waits for the key until the call's deadline
//	  - method: kv.v1.Store/Put
//	    upstream: store
//	    kv: {op: put, key: key, value: value}
//	  - method: kv.v1.Store/Delete
//	    upstream: store
//	    kv: {op: delete}
//
// The key is the request's string field named by key (default "key"); put
// stores the request's string field named by value (default "value"). The
// reply is the method's output message with its key and value fields (by
// the same names) set to the key and its value, the one deleted for
// delete; get needs the value field in the output.
//
// Mistakes in either block are reported at their file:line by
// `protobridge check`. Import the package for its side effect:
//
//	import _ "github.com/protobridge/protobridge/examples/adapter-kv"
package kv

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
)

// Kind is the upstream kind this package registers.
const Kind = "kv"

func init() { bridge.RegisterAdapter(Kind, New) }

// DefaultMaxValueBytes bounds a stored value unless max_value_bytes says.
const DefaultMaxValueBytes = 64 << 10

// Reasons of the kv adapter's own errors (ErrorInfo domain protobridge.dev).
const (
	// ReasonNotFound: get or delete of a key that has no value.
	ReasonNotFound = "KV_KEY_NOT_FOUND"
	// ReasonEmptyKey: the request's key field is empty.
	ReasonEmptyKey = "KV_EMPTY_KEY"
)

// Config is a kv upstream's own block (`kv:` under the upstream).
type Config struct {
	// File is the JSON file holding the map, relative to the config file;
	// created by the first put. Empty keeps the map in memory.
	File string `yaml:"file"`
	// MaxValueBytes bounds a stored value (default 64 KiB).
	MaxValueBytes bridge.ByteSize `yaml:"max_value_bytes"`
}

// RouteConfig is a kv route's own block (`kv:` in a routes: entry).
type RouteConfig struct {
	// Op is what the method does: get, put or delete.
	Op string `yaml:"op"`
	// Key names the request's string field holding the key (default "key").
	Key string `yaml:"key"`
	// Value names the string field holding the value: the request's for
	// put, the reply's for every op (default "value").
	Value string `yaml:"value"`
	// Wait makes get wait for an absent key to be put, until the call's
	// deadline, instead of failing NOT_FOUND.
	Wait bool `yaml:"wait"`
}

// adapter is the kv adapter of one upstream: its map.
type adapter struct {
	u        *bridge.Upstream
	file     string
	store    *store
	maxValue int
}

var _ bridge.Adapter = (*adapter)(nil)

// New builds the adapter of one kv upstream: it decodes the upstream's kv:
// block strictly and loads the map.
func New(u *bridge.Upstream, env *bridge.Env) (bridge.Adapter, error) {
	var cfg Config
	if err := u.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if u.BaseURL != "" {
		return nil, bridge.Problems{{Pos: u.Pos, Msg: fmt.Sprintf("upstream %q: a kv upstream has no base_url", u.Name), Hint: "remove it; kv: {file: path} says where the map is kept"}}
	}
	baseDir := ""
	if env != nil {
		baseDir = env.BaseDir
	}
	s, err := openStore(bridge.AbsPath(baseDir, cfg.File))
	if err != nil {
		return nil, bridge.Problems{{Pos: u.Config.Pos(), Msg: fmt.Sprintf("upstream %q kv.file: %v", u.Name, err)}}
	}
	maxValue := int(cfg.MaxValueBytes)
	if maxValue <= 0 {
		maxValue = DefaultMaxValueBytes
	}
	return &adapter{u: u, file: cfg.File, store: s, maxValue: maxValue}, nil
}

// Close ends the gets waiting for a key (UNAVAILABLE). Nothing else is
// held: every change is already written.
func (a *adapter) Close() error {
	a.store.close()
	return nil
}

// endpoint is one bound kv route.
type endpoint struct {
	a   *adapter
	r   *bridge.Route
	cfg RouteConfig
}

var _ bridge.Endpoint = (*endpoint)(nil)

// Bind checks the route's kv: block against the method's messages.
func (a *adapter) Bind(r *bridge.Route) (bridge.Endpoint, error) {
	md := r.Method
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, errors.New("the kv adapter serves unary methods only")
	}
	if r.Config.IsZero() {
		return nil, fmt.Errorf("no kv: block: give the routes: entry of %s kv: {op: get|put|delete}", r.Name())
	}
	rc := RouteConfig{Key: "key", Value: "value"}
	if err := r.Config.Decode(&rc); err != nil {
		return nil, err
	}
	problem := func(hint, format string, args ...any) error {
		return bridge.Problems{{Pos: r.Config.Pos(), Msg: r.Name() + ": " + fmt.Sprintf(format, args...), Hint: hint}}
	}
	switch rc.Op {
	case "get", "put", "delete":
	default:
		return nil, problem("use get, put or delete", "kv.op %q is not known", rc.Op)
	}
	if rc.Wait && rc.Op != "get" {
		return nil, problem("remove wait, or make the op get", "kv.wait applies to get only")
	}
	if !isString(md.Input(), rc.Key) {
		return nil, problem("name a string field of the request with kv.key", "kv.key %q is not a string field of %s", rc.Key, md.Input().FullName())
	}
	if rc.Op == "put" && !isString(md.Input(), rc.Value) {
		return nil, problem("name a string field of the request with kv.value", "kv.value %q is not a string field of %s", rc.Value, md.Input().FullName())
	}
	if rc.Op == "get" && !isString(md.Output(), rc.Value) {
		return nil, problem("name a string field of the reply with kv.value", "kv.value %q is not a string field of %s", rc.Value, md.Output().FullName())
	}
	return &endpoint{a: a, r: r, cfg: rc}, nil
}

// isString reports whether md has a singular string field named name.
func isString(md protoreflect.MessageDescriptor, name string) bool {
	fd := md.Fields().ByName(protoreflect.Name(name))
	return fd != nil && fd.Kind() == protoreflect.StringKind && fd.Cardinality() != protoreflect.Repeated
}

// Describe names the route's operation, for routes listings.
func (e *endpoint) Describe() string {
	where := "memory"
	if e.a.file != "" {
		where = e.a.file
	}
	if e.cfg.Wait {
		return "kv get, waiting (" + where + ")"
	}
	return "kv " + e.cfg.Op + " (" + where + ")"
}

// meta is the ErrorInfo metadata of the route's errors.
func (e *endpoint) meta() map[string]string {
	return map[string]string{"upstream": e.a.u.Name, "method": e.r.Name()}
}

// Unary performs the route's operation on the map.
func (e *endpoint) Unary(ctx context.Context, c *bridge.Call) (proto.Message, error) {
	if c.Request == nil {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s got no request", e.r.Name())
	}
	key, ok := stringField(c.Request, e.cfg.Key)
	if !ok {
		return nil, bridge.Errorf(codes.Internal, reason.BadRequestType, e.meta(), "%s got a %s request", e.r.Name(), bridge.MessageName(c.Request))
	}
	if key == "" {
		return nil, bridge.Errorf(codes.InvalidArgument, ReasonEmptyKey, e.meta(), "the request's %s is empty", e.cfg.Key)
	}
	s := e.a.store
	switch e.cfg.Op {
	case "put":
		value, _ := stringField(c.Request, e.cfg.Value)
		if len(value) > e.a.maxValue {
			return nil, bridge.Errorf(codes.ResourceExhausted, reason.RequestTooLarge, e.meta(),
				"the value is %d bytes, over upstream %s's limit of %d (max_value_bytes)", len(value), e.a.u.Name, e.a.maxValue)
		}
		if err := httpx.ContextError(ctx, e.a.u.Name, e.meta()); err != nil {
			return nil, err
		}
		if err := s.put(key, value); err != nil {
			return nil, bridge.Wrap(err, codes.Unavailable, reason.UpstreamUnavailable, e.meta(), "upstream %s cannot write its file", e.a.u.Name)
		}
		return e.reply(key, value), nil
	case "delete":
		old, had, err := s.remove(key)
		switch {
		case err != nil:
			return nil, bridge.Wrap(err, codes.Unavailable, reason.UpstreamUnavailable, e.meta(), "upstream %s cannot write its file", e.a.u.Name)
		case !had:
			return nil, e.notFound(key)
		}
		return e.reply(key, old), nil
	}
	for {
		value, ok, changed := s.get(key)
		switch {
		case ok:
			return e.reply(key, value), nil
		case !e.cfg.Wait:
			return nil, e.notFound(key)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, httpx.ContextError(ctx, e.a.u.Name, e.meta())
		case <-s.closed:
			return nil, bridge.Errorf(codes.Unavailable, reason.AdapterClosed, e.meta(), "upstream %s is being closed", e.a.u.Name)
		}
	}
}

// Stream refuses: Bind binds no streaming route.
func (e *endpoint) Stream(context.Context, *bridge.Call, bridge.Stream) error {
	return bridge.Errorf(codes.Unimplemented, reason.StreamingNotAllowed, e.meta(), "%s: the kv adapter does not stream", e.r.Name())
}

func (e *endpoint) notFound(key string) error {
	meta := e.meta()
	meta["key"] = key
	return bridge.Errorf(codes.NotFound, ReasonNotFound, meta, "upstream %s has no value for the key", e.a.u.Name)
}

// reply builds the output message with its key and value fields set.
func (e *endpoint) reply(key, value string) proto.Message {
	out := dynamicpb.NewMessage(e.r.Method.Output())
	if isString(out.Descriptor(), e.cfg.Key) {
		out.Set(out.Descriptor().Fields().ByName(protoreflect.Name(e.cfg.Key)), protoreflect.ValueOfString(key))
	}
	if isString(out.Descriptor(), e.cfg.Value) {
		out.Set(out.Descriptor().Fields().ByName(protoreflect.Name(e.cfg.Value)), protoreflect.ValueOfString(value))
	}
	return out
}

// stringField reads a string field of m by name, whatever m's Go type (a
// bridge.WireMessage, a dynamic or a generated message).
func stringField(m proto.Message, name string) (string, bool) {
	pm := m.ProtoReflect()
	fd := pm.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return "", false
	}
	return pm.Get(fd).String(), true
}
