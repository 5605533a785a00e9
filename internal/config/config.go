// Package config reads and checks protobridge's YAML config: the server,
// admin, tracing, descriptors, inbound auth, upstreams (the settings every
// kind shares, outbound credentials, policies) and route overrides. Each
// upstream's and route's adapter block, keyed by the adapter's kind, is
// kept undecoded for its adapter (bridge.RawConfig). Every problem is a
// bridge.Problem with file:line and what to do.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/sandbox"
	"google.golang.org/genproto/googleapis/api/annotations"
	"gopkg.in/yaml.v3"
)

// Config is a parsed and checked protobridge config file.
type Config struct {
	// Server holds the gRPC front door's settings.
	Server ServerConfig `yaml:"server"`
	// Admin is the admin HTTP listener: metrics, health, routes, reload.
	Admin AdminConfig `yaml:"admin"`
	// Tracing is OpenTelemetry tracing (off by default).
	Tracing TracingConfig `yaml:"tracing"`
	// Descriptors says where service definitions come from.
	Descriptors DescriptorConfig `yaml:"descriptors"`
	// Auth is inbound authentication; callers are denied unless a route is open
	// or they present a known credential.
	Auth AuthConfig `yaml:"auth"`
	// Upstreams are the backends, by name.
	Upstreams map[string]*Upstream `yaml:"upstreams"`
	// Routes add or override bindings for methods of the loaded services.
	Routes []*RouteConfig `yaml:"routes"`
	// State is where rate limits, cache entries and idempotency records
	// live: in memory (default) or in Redis, shared by replicas.
	State StateConfig `yaml:"state"`
	// MCP is the Model Context Protocol front door (off by default).
	MCP MCPConfig `yaml:"mcp"`
	// NATS is where async jobs and webhook events are stored (embedded
	// JetStream by default).
	NATS NATSConfig `yaml:"nats"`
	// Jobs turns on async jobs when present.
	Jobs *JobsConfig `yaml:"jobs"`
	// Webhooks is the webhook ingress (off by default).
	Webhooks WebhooksConfig `yaml:"webhooks"`

	// File is the config file's path; BaseDir its directory.
	File    string `yaml:"-"`
	BaseDir string `yaml:"-"`
	// Warnings are things that work but are likely mistakes; check and
	// serve print them.
	Warnings bridge.Problems `yaml:"-"`

	// authLine is where auth: is written (0 when it is not), for warnings.
	authLine int
	// doc is the config text's top mapping, for the lines of keys at fault.
	doc *yaml.Node
}

// ServerConfig holds the gRPC listener's settings.
type ServerConfig struct {
	// Listen is the gRPC listen address (default 127.0.0.1:50051).
	Listen string `yaml:"listen"`
	// ShutdownGrace bounds how long in-flight calls may run after SIGTERM
	// before they are cut (default 10s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// MaxRecvBytes limits one incoming gRPC message (default 4 MiB).
	MaxRecvBytes bridge.ByteSize `yaml:"max_recv_bytes"`
	// MaxSendBytes limits one outgoing gRPC message (default 4 MiB).
	MaxSendBytes bridge.ByteSize `yaml:"max_send_bytes"`
	// Reflection serves grpc.reflection (v1 and v1alpha) for the loaded
	// services (default true).
	Reflection *bool `yaml:"reflection"`
	// LogFormat is "text" (default) or "json".
	LogFormat string `yaml:"log_format"`
	// TLS serves gRPC over TLS, optionally requiring client certificates
	// (mTLS). Without it the port is plaintext.
	TLS *ServerTLSConfig `yaml:"tls"`
}

// ServerTLSConfig is the server side of TLS on the gRPC port.
type ServerTLSConfig struct {
	// CertFile and KeyFile are the server's PEM certificate and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of CAs that sign client certificates.
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientAuth is "none" (default), "request" (verify when given) or
	// "require" (mTLS: every caller presents a certificate signed by ClientCAFile).
	ClientAuth string `yaml:"client_auth"`
}

// ServerConfig builds the crypto/tls server config; relative paths resolve against baseDir.
func (t *ServerTLSConfig) ServerConfig(baseDir string) (*tls.Config, error) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	cert, err := tls.LoadX509KeyPair(abs(t.CertFile), abs(t.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch t.ClientAuth {
	case "", "none":
	case "request":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("client_auth %q is not known (none, request, require)", t.ClientAuth)
	}
	if tc.ClientAuth != tls.NoClientCert {
		if t.ClientCAFile == "" {
			return nil, errors.New("client_auth needs client_ca_file")
		}
		pem, err := os.ReadFile(abs(t.ClientCAFile))
		if err != nil {
			return nil, fmt.Errorf("client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client_ca_file %s holds no PEM certificate", t.ClientCAFile)
		}
		tc.ClientCAs = pool
	}
	return tc, nil
}

// AdminConfig is the admin HTTP listener, separate from the gRPC port.
type AdminConfig struct {
	// Listen is the admin address; empty turns the admin listener off.
	Listen string `yaml:"listen"`
	// Token, when set, must be sent as `Authorization: Bearer <token>`. It is
	// required unless Listen is a loopback address.
	Token *bridge.Secret `yaml:"token"`
}

// DescriptorConfig says where service definitions come from. Paths are
// relative to the config file.
type DescriptorConfig struct {
	// ImportPaths are the roots .proto imports resolve against.
	ImportPaths []string `yaml:"import_paths"`
	// Protos are .proto files, relative to one of ImportPaths, compiled at start-up.
	Protos []string `yaml:"protos"`
	// Sets are binary FileDescriptorSet files (`buf build -o x.binpb`,
	// `protoc --include_imports -o`).
	Sets []string `yaml:"sets"`
}

// Upstream is one backend: what its adapter sees (bridge.Upstream, with
// the adapter's own block) plus what the core applies around the adapter.
type Upstream struct {
	bridge.Upstream `yaml:",inline"`
	// StatusCodes overrides the HTTP status → gRPC code mapping, e.g. {409: ALREADY_EXISTS}.
	StatusCodes map[int]string `yaml:"status_codes"`
	// Credentials are sent to the upstream with every request.
	Credentials *Credentials `yaml:"credentials"`
	// Policies are the upstream's resilience and traffic policies, the
	// defaults of every route it serves.
	Policies *PolicyConfig `yaml:"policies"`
	// Sandbox records, replays or mocks the upstream's traffic (see
	// internal/sandbox); serve --record, --replay and --mock set it for
	// every upstream.
	Sandbox *sandbox.Config `yaml:"sandbox"`
}

// Credentials are outbound credentials, added to every HTTP request to
// the upstream by a transport wrapper around the adapter's own (so every
// adapter gets them). Secret values come from the environment or a file,
// never from the config text, and are never logged. Set at most one of
// basic, bearer, oauth2 and jwt, and an api_key beside it or alone (an
// OpenAPI spec may open some operations with a key, others with a token).
type Credentials struct {
	// Basic sends HTTP basic authentication.
	Basic *BasicCredentials `yaml:"basic"`
	// APIKey sends a key in a header or query parameter.
	APIKey *OutboundAPIKey `yaml:"api_key"`
	// Bearer sends a static bearer token.
	Bearer *bridge.Secret `yaml:"bearer"`
	// OAuth2 fetches and refreshes tokens with the client credentials grant.
	OAuth2 *OutboundOAuth2 `yaml:"oauth2"`
	// JWT signs a short-lived assertion per request.
	JWT *OutboundJWT `yaml:"jwt"`
}

// AuthorizationKinds counts the kinds set that are not an API key.
func (c *Credentials) AuthorizationKinds() int {
	n := 0
	for _, on := range []bool{c.Basic != nil, c.Bearer != nil, c.OAuth2 != nil, c.JWT != nil} {
		if on {
			n++
		}
	}
	return n
}

// BasicCredentials are a user name and password for HTTP basic auth.
type BasicCredentials struct {
	Username string        `yaml:"username"`
	Password bridge.Secret `yaml:"password"`
}

// RouteConfig adds or overrides the binding of one method.
type RouteConfig struct {
	// Method is "package.Service/Method".
	Method string `yaml:"method"`
	// Upstream names the upstream serving the method.
	Upstream string `yaml:"upstream"`
	// HTTP is the REST binding, with google.api.http's fields.
	HTTP *HTTPRuleConfig `yaml:"http"`
	// Encoding overrides the upstream's body or frame encoding ("json",
	// "xml", or "protobuf" for WebSocket frames); the adapter checks it.
	Encoding string `yaml:"encoding"`
	// Timeout bounds each call of the route.
	Timeout time.Duration `yaml:"timeout"`
	// Open serves the route without authentication.
	Open bool `yaml:"open"`
	// StatusCodes overrides the upstream's HTTP status → gRPC code mapping.
	StatusCodes map[int]string `yaml:"status_codes"`
	// Policies override the upstream's policies for this route.
	Policies *PolicyConfig `yaml:"policies"`
	// Map maps the caller's request onto the upstream's message shape and
	// the upstream's reply back, in CEL (unary routes).
	Map *MapConfig `yaml:"map"`
	// Guards are CEL conditions on the request and the reply that fail
	// the call (unary routes).
	Guards *GuardsConfig `yaml:"guards"`
	// Steps make the route a composite: each step calls another route,
	// and Reply assembles the route's reply from their results.
	Steps []*StepConfig `yaml:"steps"`
	// Reply builds a composite route's reply (CEL over request and steps).
	Reply *MessageExpr `yaml:"reply"`

	// Adapter holds the entry's adapter blocks by kind (`websocket: {...}`,
	// `rest: {stream: {...}}`), undecoded; the route's upstream's adapter
	// gets its own as Route.Config.
	Adapter map[string]bridge.RawConfig `yaml:"-"`
	// Pos is where the route is declared.
	Pos bridge.Pos `yaml:"-"`
}

// HTTPRuleConfig mirrors google.api.HttpRule for routes set in config.
type HTTPRuleConfig struct {
	Get    string `yaml:"get"`
	Put    string `yaml:"put"`
	Post   string `yaml:"post"`
	Delete string `yaml:"delete"`
	Patch  string `yaml:"patch"`
	Custom *struct {
		Kind string `yaml:"kind"`
		Path string `yaml:"path"`
	} `yaml:"custom"`
	Body         string `yaml:"body"`
	ResponseBody string `yaml:"response_body"`
}

// Defaults applied where a config leaves a value out.
const (
	DefaultListen          = "127.0.0.1:50051"
	DefaultShutdownGrace   = 10 * time.Second
	DefaultMaxMessageBytes = 4 << 20
)

// maxConfigBytes bounds the config file read.
const maxConfigBytes = 4 << 20

// LoadConfig reads, parses and checks a config file. Unknown keys are errors.
// Problems are reported with file:line and what to do. It does not load
// descriptors or build adapters; Build does.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, bridge.Problems{{Pos: bridge.Pos{File: path}, Msg: "cannot read config: " + errors.Unwrap(err).Error()}}
	}
	if len(data) > maxConfigBytes {
		return nil, bridge.Problems{{Pos: bridge.Pos{File: path}, Msg: fmt.Sprintf("config is %d bytes, over the %d byte limit", len(data), maxConfigBytes)}}
	}
	return ParseConfig(path, data)
}

// ParseConfig parses and checks config text; path names it in problems and
// relative paths resolve against its directory.
func ParseConfig(path string, data []byte) (*Config, error) {
	cfg := &Config{File: path, BaseDir: filepath.Dir(path)}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, bridge.Problems{{Pos: bridge.Pos{File: path, Line: yamlErrorLine(err)}, Msg: "not valid YAML: " + yamlErrorText(err)}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	var ps bridge.Problems
	switch {
	case doc.Kind == 0:
		// An empty file: check reports what is missing.
	case doc.Kind != yaml.MappingNode:
		ps.Add(bridge.Pos{File: path, Line: doc.Line}, "start with keys such as server:, descriptors:, upstreams:", "the config must be a block of keys")
	default:
		cfg.doc = doc
		rest := &yaml.Node{Kind: yaml.MappingNode, Line: doc.Line}
		for i := 0; i+1 < len(doc.Content); i += 2 {
			k, v := doc.Content[i], doc.Content[i+1]
			switch k.Value {
			case "upstreams":
				cfg.parseUpstreams(v, &ps)
			case "routes":
				cfg.parseRoutes(v, &ps)
			default:
				if k.Value == "auth" {
					cfg.authLine = k.Line
				}
				rest.Content = append(rest.Content, k, v)
			}
		}
		ps = append(ps, problemsOf(bridge.DecodeStrict(rest, path, cfg))...)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	cfg.applyDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.warnAuth()
	return cfg, nil
}

// warnAuth adds the warnings of an auth block that works but is likely a
// mistake: every route open on an address others can reach, or no
// credential at all, so that every call is denied.
func (c *Config) warnAuth() {
	a := c.Auth
	if a.Open {
		if !isLoopbackAddr(c.Server.Listen) {
			c.Warnings.Add(bridge.Pos{File: c.File, Line: c.authLine}, "list callers under auth.api_keys, auth.jwt or auth.mtls, or listen on 127.0.0.1 for a local trial",
				"auth.open serves every route without authentication on server.listen %q, which is not a loopback address", c.Server.Listen)
		}
		return
	}
	if len(a.APIKeys) > 0 || len(a.JWT) > 0 || a.MTLS != nil {
		return
	}
	line := c.authLine
	if line == 0 {
		line = 1
	}
	c.Warnings.Add(bridge.Pos{File: c.File, Line: line}, "add auth.api_keys, auth.jwt or auth.mtls; for a local trial on 127.0.0.1 set auth: {open: true}",
		"no inbound credentials are configured: every call to a route that is not open will be denied with UNAUTHENTICATED")
}

// isLoopbackAddr reports whether a listen address (host:port) binds
// loopback only; an empty host binds every interface.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func problemsOf(err error) bridge.Problems {
	if err == nil {
		return nil
	}
	if ps, ok := err.(bridge.Problems); ok {
		return ps
	}
	return bridge.Problems{{Msg: err.Error()}}
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)$`)

func yamlErrorLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func yamlErrorText(err error) string {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return m[2]
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// movedKeys are keys that left the core for an adapter's block: where a
// config still has them, check says where they went.
var movedKeys = map[string]string{
	"xml_lax":    "soap",
	"json_int64": "rest",
	"stream":     "rest",
}

// parseUpstreams decodes the upstreams: mapping. Each upstream's block
// named by its kind goes to its adapter undecoded; the rest is decoded
// strictly here.
func (c *Config) parseUpstreams(n *yaml.Node, ps *bridge.Problems) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		ps.Add(bridge.Pos{File: c.File, Line: n.Line}, "give each upstream a name: upstreams: {shop: {kind: rest, base_url: ...}}", "upstreams must be a block of named upstreams")
		return
	}
	c.Upstreams = map[string]*Upstream{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, body := n.Content[i], n.Content[i+1]
		u := &Upstream{}
		u.Name, u.Pos = name.Value, bridge.Pos{File: c.File, Line: name.Line}
		if _, dup := c.Upstreams[name.Value]; dup {
			ps.Add(u.Pos, "merge the two entries", "upstream %q is declared twice", name.Value)
		}
		c.Upstreams[name.Value] = u
		if body.Kind == yaml.ScalarNode && body.Tag == "!!null" {
			c.Upstreams[name.Value] = nil
			continue
		}
		if body.Kind != yaml.MappingNode {
			ps.Add(u.Pos, "give it at least kind and base_url", "upstream %q must be a block of keys", name.Value)
			continue
		}
		kind := mappingValue(body, "kind")
		core := &yaml.Node{Kind: yaml.MappingNode, Line: body.Line}
		for j := 0; j+1 < len(body.Content); j += 2 {
			k, v := body.Content[j], body.Content[j+1]
			at := bridge.Pos{File: c.File, Line: k.Line}
			switch {
			case k.Value == kind && isKind(kind):
				u.Config = bridge.NewRawConfig(v, c.File)
			case isKind(k.Value):
				ps.Add(at, fmt.Sprintf("an upstream of kind %s takes a %s: block", kind, kind), "upstream %q has a %s: block but is of kind %q", name.Value, k.Value, kind)
			case movedKeys[k.Value] != "":
				ps.Add(at, fmt.Sprintf("write it as %s: {%s: ...}", movedKeys[k.Value], k.Value), "upstream %q: %s moved into the %s adapter's own block", name.Value, k.Value, movedKeys[k.Value])
			case k.Value == "credentials" && mappingValueNode(v, "ws_security") != nil:
				ps.Add(bridge.Pos{File: c.File, Line: mappingKeyLine(v, "ws_security")}, "write it as soap: {ws_security: {username: ..., password: {env: VAR}}}", "upstream %q: credentials.ws_security moved into the soap adapter's own block", name.Value)
			default:
				core.Content = append(core.Content, k, v)
			}
		}
		*ps = append(*ps, problemsOf(bridge.DecodeStrict(core, c.File, u))...)
	}
}

// parseRoutes decodes the routes: list; keys naming an adapter kind are
// that adapter's blocks.
func (c *Config) parseRoutes(n *yaml.Node, ps *bridge.Problems) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		ps.Add(bridge.Pos{File: c.File, Line: n.Line}, "write routes as a list: routes: [{method: pkg.Service/Method, ...}]", "routes must be a list")
		return
	}
	for _, item := range n.Content {
		rc := &RouteConfig{Pos: bridge.Pos{File: c.File, Line: item.Line}}
		if item.Kind == yaml.ScalarNode && item.Tag == "!!null" {
			c.Routes = append(c.Routes, nil)
			continue
		}
		c.Routes = append(c.Routes, rc)
		if item.Kind != yaml.MappingNode {
			ps.Add(rc.Pos, "give it at least method", "a route must be a block of keys")
			continue
		}
		core := &yaml.Node{Kind: yaml.MappingNode, Line: item.Line}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch {
			case isKind(k.Value):
				if rc.Adapter == nil {
					rc.Adapter = map[string]bridge.RawConfig{}
				}
				rc.Adapter[k.Value] = bridge.NewRawConfig(v, c.File)
			case movedKeys[k.Value] != "":
				ps.Add(bridge.Pos{File: c.File, Line: k.Line}, fmt.Sprintf("write it as %s: {%s: ...}", movedKeys[k.Value], k.Value), "route: %s moved into the %s adapter's own block", k.Value, movedKeys[k.Value])
			default:
				core.Content = append(core.Content, k, v)
			}
		}
		*ps = append(*ps, problemsOf(bridge.DecodeStrict(core, c.File, rc))...)
	}
}

func isKind(k string) bool {
	_, ok := bridge.LookupAdapter(k)
	return ok
}

func mappingValueNode(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mappingValue(n *yaml.Node, key string) string {
	if v := mappingValueNode(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func mappingKeyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

func (c *Config) applyDefaults() {
	s := &c.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.ShutdownGrace == 0 {
		s.ShutdownGrace = DefaultShutdownGrace
	}
	if s.MaxRecvBytes == 0 {
		s.MaxRecvBytes = DefaultMaxMessageBytes
	}
	if s.MaxSendBytes == 0 {
		s.MaxSendBytes = DefaultMaxMessageBytes
	}
	if s.Reflection == nil {
		on := true
		s.Reflection = &on
	}
	if s.LogFormat == "" {
		s.LogFormat = "text"
	}
	for name, u := range c.Upstreams {
		if u == nil {
			continue
		}
		u.Name = name
		if u.Pos.File == "" {
			u.Pos = bridge.Pos{File: c.File}
		}
		if u.Timeout == 0 {
			u.Timeout = bridge.DefaultUpstreamTimeout
		}
		if u.ConnectTimeout == 0 {
			u.ConnectTimeout = bridge.DefaultConnectTimeout
		}
		if u.MaxRequestBytes == 0 {
			u.MaxRequestBytes = bridge.DefaultMaxBodyBytes
		}
		if u.MaxResponseBytes == 0 {
			// A reply larger than the front door may send is read in vain.
			u.MaxResponseBytes = min(bridge.DefaultMaxBodyBytes, s.MaxSendBytes)
		}
		if u.MaxErrorBodyBytes == 0 {
			u.MaxErrorBodyBytes = bridge.DefaultMaxErrorBodyBytes
		}
		if u.MaxIdleConns == 0 {
			u.MaxIdleConns = bridge.DefaultMaxIdleConns
		}
	}
	for _, r := range c.Routes {
		if r != nil && r.Pos.File == "" {
			r.Pos = bridge.Pos{File: c.File}
		}
	}
}

var methodNameRE = regexp.MustCompile(`^/?[A-Za-z_][\w.]*/[A-Za-z_]\w*$`)

// check validates what can be validated without loading descriptors.
func (c *Config) check() error {
	var ps bridge.Problems
	if len(c.Descriptors.Protos) == 0 && len(c.Descriptors.Sets) == 0 {
		ps.Add(c.at("descriptors"), "add descriptors.protos (with descriptors.import_paths) or descriptors.sets", "no service definitions to load")
	}
	if t := c.Server.TLS; t != nil {
		if _, err := t.ServerConfig(c.BaseDir); err != nil {
			ps.Add(c.at("server", "tls"), "check server.tls paths (relative to the config file)", "server.tls: %v", err)
		}
	}
	if f := c.Server.LogFormat; f != "text" && f != "json" {
		ps.Add(c.at("server", "log_format"), `use "text" or "json"`, "server.log_format %q is not known", f)
	}
	if c.Server.ShutdownGrace < 0 {
		ps.Add(c.at("server", "shutdown_grace"), "use a positive duration such as 10s", "server.shutdown_grace is negative")
	}
	if a := c.Admin; a.Listen != "" {
		host, _, err := net.SplitHostPort(a.Listen)
		if err != nil {
			ps.Add(c.at("admin", "listen"), "use host:port such as 127.0.0.1:9090", "admin.listen %q: %v", a.Listen, err)
		} else if ip := net.ParseIP(host); a.Token == nil && (ip == nil || !ip.IsLoopback()) && host != "localhost" {
			ps.Add(c.at("admin", "listen"), "set admin.token: {env: VAR} or listen on 127.0.0.1", "admin.listen %q is not loopback and has no token", a.Listen)
		}
		if a.Token != nil {
			if _, err := a.Token.Resolve(c.BaseDir); err != nil {
				ps.Add(c.at("admin", "token"), "give the token as {env: VAR} or {file: path}", "admin.token: %v", err)
			}
		}
	}
	switch c.Tracing.Exporter {
	case "", "none", "stdout", "otlp":
	default:
		ps.Add(c.at("tracing", "exporter"), "use none, stdout or otlp", "tracing.exporter %q is not known", c.Tracing.Exporter)
	}
	if r := c.Tracing.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		ps.Add(c.at("tracing", "sample_ratio"), "use a fraction from 0 to 1", "tracing.sample_ratio %v is out of range", *r)
	}
	for i, k := range c.Auth.APIKeys {
		if k.ID == "" {
			ps.Add(c.at("auth", "api_keys", strconv.Itoa(i)), "give every key an id naming its caller", "auth.api_keys[%d] has no id", i)
		}
		if len(k.SHA256) != 64 || strings.Trim(strings.ToLower(k.SHA256), "0123456789abcdef") != "" {
			ps.Add(c.at("auth", "api_keys", strconv.Itoa(i), "sha256"), "store the key's digest: printf %s KEY | sha256sum", "auth.api_keys[%d] sha256 is not 64 hex digits", i)
		}
	}
	names := make([]string, 0, len(c.Upstreams))
	for n := range c.Upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := c.Upstreams[n]
		if u == nil {
			ps.Add(c.at("upstreams", n), "give it at least kind and base_url", "upstream %q is empty", n)
			continue
		}
		if u.Kind == "" {
			ps.Add(u.Pos, "kinds: "+strings.Join(bridge.AdapterKinds(), ", "), "upstream %q has no kind", n)
		} else if u.Kind == "mock" {
			ps.Add(u.Pos, "keep its real kind (soap, rest, websocket: the mock answers from that adapter's contract) and add sandbox: {mode: mock}, or serve --mock", "upstream %q: a mock is an upstream of its real kind in sandbox mode mock", n)
		} else if !isKind(u.Kind) {
			ps.Add(u.Pos, "kinds: "+strings.Join(bridge.AdapterKinds(), ", "), "upstream %q has unknown kind %q", n, u.Kind)
		}
		if u.MaxResponseBytes > c.Server.MaxSendBytes {
			ps.Add(u.Pos, fmt.Sprintf("lower it, or raise server.max_send_bytes (%d)", c.Server.MaxSendBytes), "upstream %q max_response_bytes %d is over server.max_send_bytes: such a reply could never be sent", n, u.MaxResponseBytes)
		}
		if u.Timeout < 0 || u.ConnectTimeout < 0 {
			ps.Add(u.Pos, "use positive durations", "upstream %q has a negative timeout", n)
		}
		for code, name := range u.StatusCodes {
			if _, ok := bridge.CodeByName(name); !ok || code < 100 || code > 599 {
				ps.Add(u.Pos, "map an HTTP status (100-599) to a gRPC code name such as ALREADY_EXISTS", "upstream %q status_codes %d: %q is not valid", n, code, name)
			}
		}
		if cr := u.Credentials; cr != nil {
			if cr.Basic != nil {
				if _, err := cr.Basic.Password.Resolve(c.BaseDir); err != nil || cr.Basic.Username == "" {
					ps.Add(u.Pos, "give username and password: {env: VAR} or {file: path}", "upstream %q credentials.basic: %v", n, errOr(err, "username is empty"))
				}
			}
			if set := cr.AuthorizationKinds(); set > 1 {
				ps.Add(u.Pos, "keep one of basic, bearer, oauth2, jwt (an api_key may go beside it)", "upstream %q credentials set %d kinds that each write Authorization", n, set)
			}
		}
		if err := u.Sandbox.Check(); err != nil {
			ps.Add(u.Pos, "see the sandbox section of the README", "upstream %q %v", n, err)
		}
		if u.TLS != nil {
			if _, err := u.TLS.ClientConfig(c.BaseDir); err != nil {
				ps.Add(u.Pos, "check the tls file paths (relative to the config file)", "upstream %q tls: %v", n, err)
			}
		}
	}
	seen := map[string]bridge.Pos{}
	for i, r := range c.Routes {
		if r == nil {
			ps.Add(c.at("routes", strconv.Itoa(i)), "give it at least method", "routes[%d] is empty", i)
			continue
		}
		if !methodNameRE.MatchString(r.Method) {
			ps.Add(r.Pos, `write it as "package.Service/Method"`, "route method %q is not a full method name", r.Method)
		}
		m := strings.TrimPrefix(r.Method, "/")
		if prev, dup := seen[m]; dup {
			ps.Add(r.Pos, "merge the two entries", "route %q is already declared at %s", m, prev)
		}
		seen[m] = r.Pos
		if r.Upstream != "" && c.Upstreams[r.Upstream] == nil {
			ps.Add(r.Pos, "declare it under upstreams: or fix the name", "route %q names unknown upstream %q", m, r.Upstream)
		}
		for code, name := range r.StatusCodes {
			if _, ok := bridge.CodeByName(name); !ok || code < 100 || code > 599 {
				ps.Add(r.Pos, "map an HTTP status (100-599) to a gRPC code name", "route %q status_codes %d: %q is not valid", m, code, name)
			}
		}
		if r.HTTP != nil {
			if _, err := r.HTTP.Rule(); err != nil {
				ps.Add(r.Pos, "set exactly one of get, put, post, delete, patch, custom", "route %q http: %v", m, err)
			}
		}
		r.checkCEL(c.File, &ps)
	}
	c.checkMCP(&ps)
	c.checkAsync(&ps)
	return ps.Err()
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

// Rule converts a config HTTP binding to a google.api.HttpRule.
func (h *HTTPRuleConfig) Rule() (*annotations.HttpRule, error) {
	r := &annotations.HttpRule{Body: h.Body, ResponseBody: h.ResponseBody}
	n := 0
	set := func(p string, pat func(string) *annotations.HttpRule) {
		if p != "" {
			n++
			r.Pattern = pat(p).Pattern
		}
	}
	set(h.Get, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: p}}
	})
	set(h.Put, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Put{Put: p}}
	})
	set(h.Post, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: p}}
	})
	set(h.Delete, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Delete{Delete: p}}
	})
	set(h.Patch, func(p string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Patch{Patch: p}}
	})
	if h.Custom != nil {
		n++
		if h.Custom.Kind == "" || h.Custom.Path == "" {
			return nil, errors.New("custom needs kind and path")
		}
		r.Pattern = &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: h.Custom.Kind, Path: h.Custom.Path}}
	}
	if n != 1 {
		return nil, errors.New("exactly one method and path is needed")
	}
	return r, nil
}
