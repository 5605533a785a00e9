package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Upstream is one backend as its adapter sees it: the settings every kind
// shares, and the adapter's own block (Config) undecoded. Credentials,
// policies and status-code overrides are applied by the core around the
// adapter and are not part of it.
type Upstream struct {
	// Name is the upstream's key in the config.
	Name string `yaml:"-"`
	// Kind selects the adapter ("rest", "soap", "websocket", ...).
	Kind string `yaml:"kind"`
	// BaseURL is where the upstream lives; what it must look like is the
	// adapter's to check.
	BaseURL string `yaml:"base_url"`
	// Timeout bounds each call (default 30s); the caller's deadline bounds it too.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds dialling and the TLS handshake (default 5s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Headers are sent with every request.
	Headers map[string]string `yaml:"headers"`
	// ForwardMetadata lists the caller's metadata keys passed on as request
	// headers of the same name; nothing else is forwarded.
	ForwardMetadata []string `yaml:"forward_metadata"`
	// Encoding is the default body or frame encoding; the adapter says which
	// it knows and which is its default.
	Encoding string `yaml:"encoding"`
	// MaxRequestBytes limits an encoded request body (default 4 MiB).
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
	// MaxResponseBytes limits an upstream reply body (default 4 MiB, never
	// above server.max_send_bytes); larger replies fail with RESOURCE_EXHAUSTED.
	MaxResponseBytes ByteSize `yaml:"max_response_bytes"`
	// MaxErrorBodyBytes limits how much of an error reply is quoted in the
	// status details (default 1 KiB).
	MaxErrorBodyBytes ByteSize `yaml:"max_error_body_bytes"`
	// MaxIdleConns bounds pooled idle connections (default 64).
	MaxIdleConns int `yaml:"max_idle_conns"`
	// TLS configures the client side of TLS to the upstream.
	TLS *TLSConfig `yaml:"tls"`
	// Config is the adapter's own block, the key named by Kind
	// (`soap: {xml_lax: true}`); decode it with Config.Decode.
	Config RawConfig `yaml:"-"`
	// Pos is where the upstream is declared.
	Pos Pos `yaml:"-"`
}

// Defaults applied where a config leaves a value out.
const (
	DefaultUpstreamTimeout   = 30 * time.Second
	DefaultConnectTimeout    = 5 * time.Second
	DefaultMaxBodyBytes      = 4 << 20
	DefaultMaxErrorBodyBytes = 1 << 10
	DefaultMaxIdleConns      = 64
)

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

// ClientConfig builds the crypto/tls client config; relative paths resolve against baseDir.
func (t *TLSConfig) ClientConfig(baseDir string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(AbsPath(baseDir, t.CAFile))
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
		cert, err := tls.LoadX509KeyPair(AbsPath(baseDir, t.CertFile), AbsPath(baseDir, t.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// AbsPath resolves a config path against the config file's directory.
func AbsPath(baseDir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

// Secret names where a secret value is read from: an environment variable
// or a file. Secrets are never written inline in a config.
type Secret struct {
	// Env is the name of an environment variable holding the value.
	Env string `yaml:"env"`
	// File is a file holding the value (trailing newline removed); relative
	// to the config file.
	File string `yaml:"file"`
}

// UnmarshalYAML accepts only {env: VAR} or {file: path}. A plain value is
// refused without being echoed back, as it is likely the secret itself.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a secret is written as {env: VAR} or {file: path}, never inline", n.Line)}}
	}
	type plain Secret
	if err := DecodeStrict(n, "", (*plain)(s)); err != nil {
		return err.(Problems).TypeError()
	}
	return nil
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
		b, err := os.ReadFile(AbsPath(baseDir, s.File))
		if err != nil {
			return "", fmt.Errorf("secret file %s cannot be read", s.File)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", errors.New("a secret needs env or file")
}

// ByteSize is a size in bytes; config accepts plain numbers or units
// ("512KiB", "4MiB", "1GB").
type ByteSize int64

var byteSizeRE = regexp.MustCompile(`^\s*(\d+)\s*([KMG]i?B|B)?\s*$`)

// UnmarshalYAML parses a size with an optional unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	m := byteSizeRE.FindStringSubmatch(n.Value)
	if n.Kind != yaml.ScalarNode || m == nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a size (use a number of bytes or 512KiB, 4MiB, 1GB)", n.Line, n.Value)}}
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]
	if err != nil || v > (1<<62)/mult {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is too large a size", n.Line, n.Value)}}
	}
	*b = ByteSize(v * mult)
	return nil
}
