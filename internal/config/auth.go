package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/protobridge/protobridge/bridge"
	"gopkg.in/yaml.v3"
)

// AuthConfig is inbound authentication. Callers are denied unless the
// config or their route is open, or they present one of the credentials
// below: a client certificate (mtls), an API key, or a JWT. The first that
// verifies names the caller (Call.Identity); routes may then restrict
// callers with policies.allow. Failures answer UNAUTHENTICATED or
// PERMISSION_DENIED without saying which check failed.
type AuthConfig struct {
	// Open serves every route without authentication. Without it a caller
	// must present a credential unless the route itself is open.
	Open bool `yaml:"open"`
	// APIKeys are accepted keys, stored as SHA-256 digests. Callers send the
	// key in the `x-api-key` metadata or as `authorization: Bearer <key>`.
	APIKeys []APIKey `yaml:"api_keys"`
	// JWT accepts bearer tokens (`authorization: Bearer <jwt>`) from these
	// issuers; a token is checked against the issuer its iss claim names.
	JWT []JWTIssuer `yaml:"jwt"`
	// MTLS accepts callers by their client certificate, verified by
	// server.tls (client_auth: require or request).
	MTLS *MTLSAuth `yaml:"mtls"`
}

// APIKey is one accepted inbound key.
type APIKey struct {
	// ID names the caller; it becomes the call's identity.
	ID string `yaml:"id"`
	// SHA256 is the hex SHA-256 digest of the key (`printf %s KEY | sha256sum`).
	SHA256 string `yaml:"sha256"`
}

// JWTIssuer accepts JWTs (golang-jwt) from one issuer. The token's
// signature, iss, aud, exp (required) and nbf (when present) are checked,
// with Leeway for clock skew. Give exactly one key source: JWKSURL,
// Secret (HMAC) or PublicKeyFile.
//
//	auth:
//	  jwt:
//	  - issuer: https://id.example.com/
//	    audience: [protobridge]
//	    jwks_url: https://id.example.com/.well-known/jwks.json
type JWTIssuer struct {
	// Issuer is the iss claim tokens must carry (required).
	Issuer string `yaml:"issuer"`
	// Audience lists accepted audiences; the aud claim must hold one (required).
	Audience []string `yaml:"audience"`
	// JWKSURL is the issuer's JSON Web Key Set. It is fetched in the
	// background from start-up on (start-up never waits for it; a failure
	// is logged and retried with backoff up to a minute apart); until it has
	// loaded once, the issuer's tokens are denied and /readyz answers 503.
	// A reload waits up to 10s for it. It is refreshed every JWKSRefresh,
	// and again when a token names a key id it does not hold (key
	// rotation), at most every JWKSMinRefresh.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSRefresh is the JWKS refresh interval (default 1h).
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// JWKSMinRefresh bounds refreshes for unknown key ids (default 1m).
	JWKSMinRefresh time.Duration `yaml:"jwks_min_refresh"`
	// Secret is the HMAC key for HS256/384/512 tokens ({env: VAR} or {file: path}).
	Secret *bridge.Secret `yaml:"secret"`
	// PublicKeyFile is a PEM RSA, ECDSA or Ed25519 public key; relative
	// to the config file.
	PublicKeyFile string `yaml:"public_key_file"`
	// Algorithms lists the accepted alg values. Default: HS256 with
	// Secret; with PublicKeyFile the one its key type implies (RS256,
	// ES256/384/512 by curve, EdDSA); with JWKSURL every asymmetric one.
	// HMAC algorithms are refused with public keys.
	Algorithms []string `yaml:"algorithms"`
	// IdentityClaim is the claim naming the caller (default "sub").
	IdentityClaim string `yaml:"identity_claim"`
	// Leeway is the clock skew allowed on exp and nbf (default 30s).
	Leeway *time.Duration `yaml:"leeway"`
}

// JWT algorithms by key kind.
var (
	HMACAlgs       = []string{"HS256", "HS384", "HS512"}
	AsymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// UnmarshalYAML decodes an issuer strictly and checks it.
func (j *JWTIssuer) UnmarshalYAML(n *yaml.Node) error {
	type plain JWTIssuer
	errs := decodeStrict(n, (*plain)(j))
	bad := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		errs = append(errs, fmt.Sprintf("line %d: auth.jwt: %s", keyLine(n, msg), msg))
	}
	if j.Issuer == "" {
		bad("issuer is required")
	}
	if len(j.Audience) == 0 {
		bad("audience is required (the aud values this daemon accepts)")
	}
	sources := 0
	for _, set := range []bool{j.JWKSURL != "", j.Secret != nil, j.PublicKeyFile != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		bad("give exactly one of jwks_url, secret, public_key_file")
	}
	for _, a := range j.Algorithms {
		switch {
		case j.Secret != nil && !slices.Contains(HMACAlgs, a):
			bad("algorithms: %q does not go with secret (HS256, HS384, HS512)", a)
		case j.Secret == nil && !slices.Contains(AsymmetricAlgs, a):
			bad("algorithms: %q does not go with a public key (%s)", a, strings.Join(AsymmetricAlgs, ", "))
		}
	}
	if j.JWKSRefresh < 0 || j.JWKSMinRefresh < 0 || (j.Leeway != nil && *j.Leeway < 0) {
		bad("durations must not be negative")
	}
	return typeError(errs)
}

// MTLSAuth accepts callers presenting a client certificate that server.tls
// verified against its client_ca_file (client_auth: require, or request
// with other credentials as the alternative). The certificate names the
// caller.
type MTLSAuth struct {
	// Identity is what names the caller: "cn" (the subject's common name,
	// default), "dns", "uri" or "email" (the first such subject
	// alternative name).
	Identity string `yaml:"identity"`
}

// UnmarshalYAML decodes the mtls block strictly and checks it.
func (m *MTLSAuth) UnmarshalYAML(n *yaml.Node) error {
	type plain MTLSAuth
	errs := decodeStrict(n, (*plain)(m))
	switch m.Identity {
	case "", "cn", "dns", "uri", "email":
	default:
		errs = append(errs, fmt.Sprintf("line %d: auth.mtls: identity %q is not known (cn, dns, uri, email)", keyLine(n, "identity"), m.Identity))
	}
	return typeError(errs)
}

// OutboundAPIKey sends a key in a header or a query parameter.
type OutboundAPIKey struct {
	// Header is the header carrying the key (such as X-API-Key).
	Header string `yaml:"header"`
	// Query is the query parameter carrying the key, instead of Header.
	Query string `yaml:"query"`
	// Value is the key ({env: VAR} or {file: path}).
	Value bridge.Secret `yaml:"value"`
}

// OutboundOAuth2 is an OAuth2 client-credentials grant.
type OutboundOAuth2 struct {
	// TokenURL is the token endpoint.
	TokenURL string `yaml:"token_url"`
	// ClientID and ClientSecret identify the bridge to the token endpoint.
	ClientID     string        `yaml:"client_id"`
	ClientSecret bridge.Secret `yaml:"client_secret"`
	// Scopes are requested with every token.
	Scopes []string `yaml:"scopes"`
	// Params are extra token request parameters (such as audience).
	Params map[string]string `yaml:"params"`
	// AuthStyle is how the client authenticates: "header" (HTTP basic),
	// "params" (form fields) or "" (detected).
	AuthStyle string `yaml:"auth_style"`
}

// OutboundJWT is a JWT assertion signed by the bridge, sent as
// `Authorization: Bearer <jwt>` (or in Header). It carries iss, sub, aud,
// iat, exp and a random jti, plus Claims.
type OutboundJWT struct {
	// Issuer, Subject and Audience fill iss, sub and aud.
	Issuer   string `yaml:"issuer"`
	Subject  string `yaml:"subject"`
	Audience string `yaml:"audience"`
	// Claims are extra claims.
	Claims map[string]string `yaml:"claims"`
	// KeyFile is a PEM private key (RSA, ECDSA or Ed25519), relative to
	// the config file; or Secret an HMAC key. Give one.
	KeyFile string         `yaml:"key_file"`
	Secret  *bridge.Secret `yaml:"secret"`
	// Algorithm is the alg (default: RS256, ES256/384/512 by curve, EdDSA,
	// or HS256 with Secret).
	Algorithm string `yaml:"algorithm"`
	// KeyID is the kid header, when the upstream needs it.
	KeyID string `yaml:"key_id"`
	// TTL is the assertion's lifetime (default 5m); it is renewed when a
	// fifth of it is left.
	TTL time.Duration `yaml:"ttl"`
	// Header carries the assertion instead of Authorization (sent bare).
	Header string `yaml:"header"`
}

// UnmarshalYAML decodes an api_key block strictly and checks it.
func (k *OutboundAPIKey) UnmarshalYAML(n *yaml.Node) error {
	type plain OutboundAPIKey
	errs := decodeStrict(n, (*plain)(k))
	if (k.Header == "") == (k.Query == "") {
		errs = append(errs, fmt.Sprintf("line %d: credentials.api_key: give header or query", n.Line))
	}
	return typeError(errs)
}

// UnmarshalYAML decodes an oauth2 block strictly and checks it.
func (c *OutboundOAuth2) UnmarshalYAML(n *yaml.Node) error {
	type plain OutboundOAuth2
	errs := decodeStrict(n, (*plain)(c))
	bad := func(key, msg string) {
		errs = append(errs, fmt.Sprintf("line %d: credentials.oauth2: %s", keyLine(n, key), msg))
	}
	if u, err := url.Parse(c.TokenURL); err != nil || u.Host == "" {
		bad("token_url", "token_url must be an absolute URL")
	}
	if c.ClientID == "" {
		bad("client_id", "client_id is required")
	}
	if !slices.Contains([]string{"", "header", "params"}, c.AuthStyle) {
		bad("auth_style", fmt.Sprintf("auth_style %q is not known (header, params)", c.AuthStyle))
	}
	return typeError(errs)
}

// UnmarshalYAML decodes a jwt block strictly and checks it.
func (j *OutboundJWT) UnmarshalYAML(n *yaml.Node) error {
	type plain OutboundJWT
	errs := decodeStrict(n, (*plain)(j))
	if (j.KeyFile == "") == (j.Secret == nil) {
		errs = append(errs, fmt.Sprintf("line %d: credentials.jwt: give key_file or secret", n.Line))
	}
	if j.TTL < 0 {
		errs = append(errs, fmt.Sprintf("line %d: credentials.jwt: ttl must not be negative", keyLine(n, "ttl")))
	}
	return typeError(errs)
}

// TracingConfig turns OpenTelemetry tracing on. Off by default.
type TracingConfig struct {
	// Exporter is "none" (default), "stdout" (spans as JSON on the log
	// output) or "otlp" (OTLP over gRPC to Endpoint).
	Exporter string `yaml:"exporter"`
	// Endpoint is the OTLP collector's host:port (default 127.0.0.1:4317).
	Endpoint string `yaml:"endpoint"`
	// Insecure sends OTLP without TLS.
	Insecure bool `yaml:"insecure"`
	// SampleRatio is the fraction of new traces sampled (default 1); calls
	// that arrive with a sampled parent are always traced.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name resource attribute (default protobridge).
	ServiceName string `yaml:"service_name"`
}
