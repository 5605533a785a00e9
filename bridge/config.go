package bridge

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

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

	// File is the config file's path; BaseDir its directory.
	File    string `yaml:"-"`
	BaseDir string `yaml:"-"`
}

// ServerConfig holds the gRPC listener's settings.
type ServerConfig struct {
	// Listen is the gRPC listen address (default 127.0.0.1:50051).
	Listen string `yaml:"listen"`
	// ShutdownGrace bounds how long in-flight calls may run after SIGTERM
	// before they are cut (default 10s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// MaxRecvBytes limits one incoming gRPC message (default 4 MiB).
	MaxRecvBytes ByteSize `yaml:"max_recv_bytes"`
	// MaxSendBytes limits one outgoing gRPC message (default 4 MiB).
	MaxSendBytes ByteSize `yaml:"max_send_bytes"`
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
	Token *Secret `yaml:"token"`
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

// Upstream is one backend.
type Upstream struct {
	// Kind selects the adapter ("rest", ...).
	Kind string `yaml:"kind"`
	// BaseURL is where the upstream lives; route paths are joined to it.
	BaseURL string `yaml:"base_url"`
	// Timeout bounds each call (default 30s); the caller's deadline bounds it too.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds dialling and the TLS handshake (default 5s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Headers are sent with every request.
	Headers map[string]string `yaml:"headers"`
	// ForwardMetadata lists the caller's gRPC metadata keys passed on as
	// request headers of the same name; nothing else is forwarded.
	ForwardMetadata []string `yaml:"forward_metadata"`
	// Encoding is the default body or frame encoding: "json", "xml", or
	// "protobuf" (WebSocket frames only).
	Encoding string `yaml:"encoding"`
	// MaxRequestBytes limits an encoded request body (default 4 MiB).
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
	// MaxResponseBytes limits an upstream reply body (default 4 MiB); larger
	// replies fail with RESOURCE_EXHAUSTED.
	MaxResponseBytes ByteSize `yaml:"max_response_bytes"`
	// MaxErrorBodyBytes limits how much of an error reply is quoted in the
	// status details (default 1 KiB).
	MaxErrorBodyBytes ByteSize `yaml:"max_error_body_bytes"`
	// MaxIdleConns bounds pooled idle connections (default 64).
	MaxIdleConns int `yaml:"max_idle_conns"`
	// TLS configures the client side of TLS to the upstream.
	TLS *TLSConfig `yaml:"tls"`
	// StatusCodes overrides the HTTP status → gRPC code mapping, e.g. {409: ALREADY_EXISTS}.
	StatusCodes map[int]string `yaml:"status_codes"`
	// Credentials are sent to the upstream with every request.
	Credentials *Credentials `yaml:"credentials"`
	// Policies are the upstream's resilience and traffic policies, the
	// defaults of every route it serves.
	Policies *PolicyConfig `yaml:"policies"`
	// XMLLax accepts SOAP replies carrying elements the schema does not
	// declare (they are skipped); by default such replies fail naming the
	// path. REST replies always skip unknown elements and JSON fields, as
	// REST APIs add fields without notice.
	XMLLax bool `yaml:"xml_lax"`
	// JSONInt64 is how REST request bodies write 64-bit integers: "number"
	// (default; what OpenAPI int64 means) or "string" (protojson's form).
	// Replies are read in either form.
	JSONInt64 string `yaml:"json_int64"`

	// Name is the upstream's key in the config.
	Name string `yaml:"-"`
	// Pos is where the upstream is declared.
	Pos Pos `yaml:"-"`
}

// TLSConfig is the client side of TLS to an upstream.
type TLSConfig struct {
	// CAFile is a PEM bundle of roots to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate checks off (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Credentials are outbound credentials. Secret values come from the
// environment or a file, never from the config text, and are never logged.
type Credentials struct {
	// Basic sends HTTP basic authentication.
	Basic *BasicCredentials `yaml:"basic"`
	// WSSecurity adds a WS-Security UsernameToken header to SOAP envelopes.
	WSSecurity *WSSecurityCredentials `yaml:"ws_security"`
	// APIKey, Bearer, OAuth2 and JWT are added by the bridge to every HTTP
	// request to the upstream (see OutboundAuth); set at most one.
	APIKey *OutboundAPIKey `yaml:"api_key"`
	Bearer *Secret         `yaml:"bearer"`
	OAuth2 *OutboundOAuth2 `yaml:"oauth2"`
	JWT    *OutboundJWT    `yaml:"jwt"`
}

// BasicCredentials are a user name and password for HTTP basic auth.
type BasicCredentials struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// WSSecurityCredentials configure a WS-Security UsernameToken.
type WSSecurityCredentials struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Digest sends PasswordDigest (with Nonce and Created) instead of PasswordText.
	Digest bool `yaml:"digest"`
}

// Secret names where a secret value is read from: an environment variable or a file.
type Secret struct {
	// Env is the name of an environment variable holding the value.
	Env string `yaml:"env"`
	// File is a file holding the value (trailing newline removed); relative
	// to the config file.
	File string `yaml:"file"`
}

// Resolve reads the secret. Errors name the variable or file, never the value.
func (s Secret) Resolve(baseDir string) (string, error) {
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("a secret takes env or file, not both")
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	case s.File != "":
		p := s.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("secret file %s cannot be read", s.File)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", errors.New("a secret needs env or file")
}

// RouteConfig adds or overrides the binding of one method.
type RouteConfig struct {
	// Method is "package.Service/Method".
	Method string `yaml:"method"`
	// Upstream names the upstream serving the method.
	Upstream string `yaml:"upstream"`
	// HTTP is the REST binding, with google.api.http's fields.
	HTTP *HTTPRuleConfig `yaml:"http"`
	// WebSocket is the WebSocket binding, with (protobridge.v1.route).websocket's
	// fields; set keys override the proto's.
	WebSocket *WebSocketRouteConfig `yaml:"websocket"`
	// Stream tunes a server-streaming REST route (SSE/NDJSON), with
	// (protobridge.v1.route).stream's fields; set keys override the proto's.
	Stream *StreamRouteConfig `yaml:"stream"`
	// Encoding overrides the upstream's body encoding ("json", "xml", or
	// "protobuf" for WebSocket frames).
	Encoding string `yaml:"encoding"`
	// Timeout bounds each call of the route.
	Timeout time.Duration `yaml:"timeout"`
	// Open serves the route without authentication.
	Open bool `yaml:"open"`
	// StatusCodes overrides the upstream's HTTP status → gRPC code mapping.
	StatusCodes map[int]string `yaml:"status_codes"`
	// Policies override the upstream's policies for this route.
	Policies *PolicyConfig `yaml:"policies"`

	// Pos is where the route is declared.
	Pos Pos `yaml:"-"`
}

// WebSocketRouteConfig mirrors protobridge.v1.WebSocketRoute for routes set in config.
type WebSocketRouteConfig struct {
	Path             string   `yaml:"path"`
	Subprotocols     []string `yaml:"subprotocols"`
	CorrelationField string   `yaml:"correlation_field"`
	Buffer           uint32   `yaml:"buffer"`
	ReadLimit        ByteSize `yaml:"read_limit"`
	Keepalive        string   `yaml:"keepalive"`
	KeepaliveTimeout string   `yaml:"keepalive_timeout"`
	Reconnect        *struct {
		MaxAttempts    uint32 `yaml:"max_attempts"`
		InitialBackoff string `yaml:"initial_backoff"`
		MaxBackoff     string `yaml:"max_backoff"`
		ResumeCursor   string `yaml:"resume_cursor"`
		ResumeField    string `yaml:"resume_field"`
	} `yaml:"reconnect"`
}

// StreamRouteConfig mirrors protobridge.v1.StreamRoute for routes set in config.
type StreamRouteConfig struct {
	EventField     string   `yaml:"event_field"`
	IDField        string   `yaml:"id_field"`
	MaxReconnects  *uint32  `yaml:"max_reconnects"`
	InitialBackoff string   `yaml:"initial_backoff"`
	MaxBackoff     string   `yaml:"max_backoff"`
	MaxEventBytes  ByteSize `yaml:"max_event_bytes"`
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

// Pos is a position in a source file.
type Pos struct {
	File string
	Line int
}

// String formats the position as file:line.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Problem is one thing wrong with a config or what it loads.
type Problem struct {
	Pos  Pos
	Msg  string
	Hint string
}

// String formats the problem as "file:line: message (hint)".
func (p Problem) String() string {
	s := p.Pos.String() + ": " + p.Msg
	if p.Hint != "" {
		s += " (" + p.Hint + ")"
	}
	return s
}

// Problems is every problem found in one pass; it is an error.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(pos Pos, hint, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (ps Problems) orNil() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// ByteSize is a size in bytes; config accepts plain numbers or units
// ("512KiB", "4MiB", "1GB").
type ByteSize int64

var byteSizeRE = regexp.MustCompile(`^\s*(\d+)\s*([KMG]i?B|B)?\s*$`)

// UnmarshalYAML parses a size with an optional unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	m := byteSizeRE.FindStringSubmatch(n.Value)
	if n.Kind != yaml.ScalarNode || m == nil {
		return fmt.Errorf("line %d: %q is not a size (use a number of bytes or 512KiB, 4MiB, 1GB)", n.Line, n.Value)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a size: %v", n.Line, n.Value, err)
	}
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]
	*b = ByteSize(v * mult)
	return nil
}

// Defaults applied where a config leaves a value out.
const (
	DefaultListen            = "127.0.0.1:50051"
	DefaultShutdownGrace     = 10 * time.Second
	DefaultMaxMessageBytes   = 4 << 20
	DefaultUpstreamTimeout   = 30 * time.Second
	DefaultConnectTimeout    = 5 * time.Second
	DefaultMaxBodyBytes      = 4 << 20
	DefaultMaxErrorBodyBytes = 1 << 10
	DefaultMaxIdleConns      = 64
)

// maxConfigBytes bounds the config file read.
const maxConfigBytes = 4 << 20

// LoadConfig reads, parses and checks a config file. Unknown keys are errors.
// Problems are reported with file:line and what to do. It does not load
// descriptors or build adapters; Build does.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{Pos: Pos{File: path}, Msg: "cannot read config: " + errors.Unwrap(err).Error()}}
	}
	if len(data) > maxConfigBytes {
		return nil, Problems{{Pos: Pos{File: path}, Msg: fmt.Sprintf("config is %d bytes, over the %d byte limit", len(data), maxConfigBytes)}}
	}
	return ParseConfig(path, data)
}

var yamlLineRE = regexp.MustCompile(`^\s*(?:yaml: )?line (\d+): (.*)$`)
var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type bridge\.(\w+)`)

// ParseConfig parses and checks config text; path names it in problems and
// relative paths resolve against its directory.
func ParseConfig(path string, data []byte) (*Config, error) {
	cfg := &Config{File: path, BaseDir: filepath.Dir(path)}
	var probs Problems
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(line, "yaml: unmarshal errors:"))
			if line == "" {
				continue
			}
			pos := Pos{File: path}
			msg := line
			if m := yamlLineRE.FindStringSubmatch(line); m != nil {
				pos.Line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			hint := ""
			if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
				msg = fmt.Sprintf("unknown key %q in %s", m[1], strings.ToLower(m[2]))
				hint = "check the spelling; README lists every key"
			}
			probs.add(pos, hint, "%s", msg)
		}
		return nil, probs
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		cfg.recordPositions(&root)
	}
	cfg.applyDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// recordPositions finds where each upstream and route is declared.
func (c *Config) recordPositions(root *yaml.Node) {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "upstreams":
			for j := 0; j+1 < len(val.Content); j += 2 {
				if u := c.Upstreams[val.Content[j].Value]; u != nil {
					u.Pos = Pos{File: c.File, Line: val.Content[j].Line}
				}
			}
		case "routes":
			for j, item := range val.Content {
				if j < len(c.Routes) && c.Routes[j] != nil {
					c.Routes[j].Pos = Pos{File: c.File, Line: item.Line}
				}
			}
		}
	}
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
			u.Pos = Pos{File: c.File}
		}
		if u.Timeout == 0 {
			u.Timeout = DefaultUpstreamTimeout
		}
		if u.ConnectTimeout == 0 {
			u.ConnectTimeout = DefaultConnectTimeout
		}
		if u.MaxRequestBytes == 0 {
			u.MaxRequestBytes = DefaultMaxBodyBytes
		}
		if u.MaxResponseBytes == 0 {
			u.MaxResponseBytes = DefaultMaxBodyBytes
		}
		if u.MaxErrorBodyBytes == 0 {
			u.MaxErrorBodyBytes = DefaultMaxErrorBodyBytes
		}
		if u.MaxIdleConns == 0 {
			u.MaxIdleConns = DefaultMaxIdleConns
		}
		if u.Encoding == "" {
			u.Encoding = "json"
		}
		if u.JSONInt64 == "" {
			u.JSONInt64 = "number"
		}
	}
	for _, r := range c.Routes {
		if r != nil && r.Pos.File == "" {
			r.Pos = Pos{File: c.File}
		}
	}
}

var methodNameRE = regexp.MustCompile(`^/?[A-Za-z_][\w.]*/[A-Za-z_]\w*$`)

// check validates what can be validated without loading descriptors.
func (c *Config) check() error {
	var ps Problems
	top := Pos{File: c.File, Line: 1}
	if len(c.Descriptors.Protos) == 0 && len(c.Descriptors.Sets) == 0 {
		ps.add(top, "add descriptors.protos (with descriptors.import_paths) or descriptors.sets", "no service definitions to load")
	}
	if t := c.Server.TLS; t != nil {
		if _, err := t.ServerConfig(c.BaseDir); err != nil {
			ps.add(top, "check server.tls paths (relative to the config file)", "server.tls: %v", err)
		}
	}
	if f := c.Server.LogFormat; f != "text" && f != "json" {
		ps.add(top, `use "text" or "json"`, "server.log_format %q is not known", f)
	}
	if c.Server.ShutdownGrace < 0 {
		ps.add(top, "use a positive duration such as 10s", "server.shutdown_grace is negative")
	}
	if a := c.Admin; a.Listen != "" {
		host, _, err := net.SplitHostPort(a.Listen)
		if err != nil {
			ps.add(top, "use host:port such as 127.0.0.1:9090", "admin.listen %q: %v", a.Listen, err)
		} else if ip := net.ParseIP(host); a.Token == nil && (ip == nil || !ip.IsLoopback()) && host != "localhost" {
			ps.add(top, "set admin.token: {env: VAR} or listen on 127.0.0.1", "admin.listen %q is not loopback and has no token", a.Listen)
		}
		if a.Token != nil {
			if _, err := a.Token.Resolve(c.BaseDir); err != nil {
				ps.add(top, "give the token as {env: VAR} or {file: path}", "admin.token: %v", err)
			}
		}
	}
	switch c.Tracing.Exporter {
	case "", "none", "stdout", "otlp":
	default:
		ps.add(top, "use none, stdout or otlp", "tracing.exporter %q is not known", c.Tracing.Exporter)
	}
	if r := c.Tracing.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		ps.add(top, "use a fraction from 0 to 1", "tracing.sample_ratio %v is out of range", *r)
	}
	for i, k := range c.Auth.APIKeys {
		if k.ID == "" {
			ps.add(top, "give every key an id naming its caller", "auth.api_keys[%d] has no id", i)
		}
		if len(k.SHA256) != 64 || strings.Trim(strings.ToLower(k.SHA256), "0123456789abcdef") != "" {
			ps.add(top, "store the key's digest: printf %s KEY | sha256sum", "auth.api_keys[%d] sha256 is not 64 hex digits", i)
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
			ps.add(top, "give it at least kind and base_url", "upstream %q is empty", n)
			continue
		}
		if u.Kind == "" {
			ps.add(u.Pos, "kinds: "+strings.Join(AdapterKinds(), ", "), "upstream %q has no kind", n)
		} else if _, ok := adapterFactory(u.Kind); !ok {
			ps.add(u.Pos, "kinds: "+strings.Join(AdapterKinds(), ", "), "upstream %q has unknown kind %q", n, u.Kind)
		}
		if u.BaseURL == "" {
			ps.add(u.Pos, "for example http://127.0.0.1:8080", "upstream %q has no base_url", n)
		} else if pu, err := url.Parse(u.BaseURL); err != nil || pu.Host == "" || pu.Scheme == "" {
			ps.add(u.Pos, "use an absolute URL with scheme and host", "upstream %q base_url %q is not an absolute URL", n, u.BaseURL)
		}
		if u.Encoding != "json" && u.Encoding != "xml" && u.Encoding != "protobuf" {
			ps.add(u.Pos, `use "json", "xml" or "protobuf" (WebSocket frames)`, "upstream %q encoding %q is not known", n, u.Encoding)
		}
		if u.JSONInt64 != "number" && u.JSONInt64 != "string" {
			ps.add(u.Pos, `use "number" or "string"`, "upstream %q json_int64 %q is not known", n, u.JSONInt64)
		}
		if u.Timeout < 0 || u.ConnectTimeout < 0 {
			ps.add(u.Pos, "use positive durations", "upstream %q has a negative timeout", n)
		}
		for code, name := range u.StatusCodes {
			if _, ok := codeByName(name); !ok || code < 100 || code > 599 {
				ps.add(u.Pos, "map an HTTP status (100-599) to a gRPC code name such as ALREADY_EXISTS", "upstream %q status_codes %d: %q is not valid", n, code, name)
			}
		}
		if cr := u.Credentials; cr != nil {
			if cr.Basic != nil {
				if _, err := cr.Basic.Password.Resolve(c.BaseDir); err != nil || cr.Basic.Username == "" {
					ps.add(u.Pos, "give username and password: {env: VAR} or {file: path}", "upstream %q credentials.basic: %v", n, errOr(err, "username is empty"))
				}
			}
			if cr.WSSecurity != nil {
				if _, err := cr.WSSecurity.Password.Resolve(c.BaseDir); err != nil || cr.WSSecurity.Username == "" {
					ps.add(u.Pos, "give username and password: {env: VAR} or {file: path}", "upstream %q credentials.ws_security: %v", n, errOr(err, "username is empty"))
				}
			}
		}
		if u.TLS != nil {
			if _, err := u.TLS.ClientConfig(c.BaseDir); err != nil {
				ps.add(u.Pos, "check the tls file paths (relative to the config file)", "upstream %q tls: %v", n, err)
			}
		}
	}
	seen := map[string]Pos{}
	for i, r := range c.Routes {
		if r == nil {
			ps.add(top, "give it at least method", "routes[%d] is empty", i)
			continue
		}
		if !methodNameRE.MatchString(r.Method) {
			ps.add(r.Pos, `write it as "package.Service/Method"`, "route method %q is not a full method name", r.Method)
		}
		m := strings.TrimPrefix(r.Method, "/")
		if prev, dup := seen[m]; dup {
			ps.add(r.Pos, "merge the two entries", "route %q is already declared at %s", m, prev)
		}
		seen[m] = r.Pos
		if r.Upstream != "" && c.Upstreams[r.Upstream] == nil {
			ps.add(r.Pos, "declare it under upstreams: or fix the name", "route %q names unknown upstream %q", m, r.Upstream)
		}
		if r.Encoding != "" && r.Encoding != "json" && r.Encoding != "xml" && r.Encoding != "protobuf" {
			ps.add(r.Pos, `use "json", "xml" or "protobuf" (WebSocket frames)`, "route %q encoding %q is not known", m, r.Encoding)
		}
		for code, name := range r.StatusCodes {
			if _, ok := codeByName(name); !ok || code < 100 || code > 599 {
				ps.add(r.Pos, "map an HTTP status (100-599) to a gRPC code name", "route %q status_codes %d: %q is not valid", m, code, name)
			}
		}
		if r.HTTP != nil {
			if _, err := r.HTTP.rule(); err != nil {
				ps.add(r.Pos, "set exactly one of get, put, post, delete, patch, custom", "route %q http: %v", m, err)
			}
		}
	}
	return ps.orNil()
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

// ClientConfig builds the crypto/tls client config; relative paths resolve against baseDir.
func (t *TLSConfig) ClientConfig(baseDir string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in for tests
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(abs(t.CAFile))
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file and key_file go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(abs(t.CertFile), abs(t.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
