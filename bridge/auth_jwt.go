package bridge

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
	"gopkg.in/yaml.v3"
)

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
	// JWKSURL is the issuer's JSON Web Key Set. It is fetched at load
	// (a failure there is retried, not fatal), refreshed every JWKSRefresh,
	// and again when a token names a key id it does not hold (key
	// rotation), at most every JWKSMinRefresh.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSRefresh is the JWKS refresh interval (default 1h).
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// JWKSMinRefresh bounds refreshes for unknown key ids (default 1m).
	JWKSMinRefresh time.Duration `yaml:"jwks_min_refresh"`
	// Secret is the HMAC key for HS256/384/512 tokens ({env: VAR} or {file: path}).
	Secret *Secret `yaml:"secret"`
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

var (
	hmacAlgs       = []string{"HS256", "HS384", "HS512"}
	asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// UnmarshalYAML decodes an issuer strictly and checks it.
func (j *JWTIssuer) UnmarshalYAML(n *yaml.Node) error {
	type plain JWTIssuer
	errs := decodeStrict(n, (*plain)(j), "JWTIssuer")
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
		case j.Secret != nil && !slices.Contains(hmacAlgs, a):
			bad("algorithms: %q does not go with secret (HS256, HS384, HS512)", a)
		case j.Secret == nil && !slices.Contains(asymmetricAlgs, a):
			bad("algorithms: %q does not go with a public key (%s)", a, strings.Join(asymmetricAlgs, ", "))
		}
	}
	if j.JWKSRefresh < 0 || j.JWKSMinRefresh < 0 || (j.Leeway != nil && *j.Leeway < 0) {
		bad("durations must not be negative")
	}
	return typeError(errs)
}

// jwtVerifier checks bearer JWTs against the configured issuers.
type jwtVerifier struct {
	issuers map[string]*jwtIssuer
	// stop ends the JWKS refresh goroutines.
	stop context.CancelFunc
}

type jwtIssuer struct {
	parser   *jwt.Parser
	keyfunc  func(ctx context.Context) jwt.Keyfunc
	identity string
}

func newJWTVerifier(cs []JWTIssuer, baseDir string) (*jwtVerifier, error) {
	ctx, cancel := context.WithCancel(context.Background())
	v := &jwtVerifier{issuers: map[string]*jwtIssuer{}, stop: cancel}
	for _, c := range cs {
		iss, err := newJWTIssuer(ctx, c, baseDir)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("auth.jwt issuer %s: %w", c.Issuer, err)
		}
		v.issuers[c.Issuer] = iss
	}
	return v, nil
}

func newJWTIssuer(ctx context.Context, c JWTIssuer, baseDir string) (*jwtIssuer, error) {
	algs := c.Algorithms
	iss := &jwtIssuer{identity: c.IdentityClaim}
	if iss.identity == "" {
		iss.identity = "sub"
	}
	switch {
	case c.Secret != nil:
		secret, err := c.Secret.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		key := []byte(secret)
		iss.keyfunc = func(context.Context) jwt.Keyfunc { return func(*jwt.Token) (any, error) { return key, nil } }
		if len(algs) == 0 {
			algs = []string{"HS256"}
		}
	case c.PublicKeyFile != "":
		p := c.PublicKeyFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		key, alg, err := readPublicKey(p)
		if err != nil {
			return nil, err
		}
		iss.keyfunc = func(context.Context) jwt.Keyfunc { return func(*jwt.Token) (any, error) { return key, nil } }
		if len(algs) == 0 {
			algs = []string{alg}
		}
	default:
		refresh, minRefresh := c.JWKSRefresh, c.JWKSMinRefresh
		if refresh == 0 {
			refresh = time.Hour
		}
		if minRefresh == 0 {
			minRefresh = time.Minute
		}
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{c.JWKSURL}, keyfunc.Override{
			Client:            &http.Client{Timeout: 10 * time.Second},
			RefreshInterval:   refresh,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(minRefresh), 1),
			// Bounds the refresh fetch too; a token with an unknown kid
			// arriving while no refresh is due fails at once.
			RateLimitWaitMax: 10 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("jwks_url: %w", err)
		}
		iss.keyfunc = kf.KeyfuncCtx
		if len(algs) == 0 {
			algs = asymmetricAlgs
		}
	}
	leeway := 30 * time.Second
	if c.Leeway != nil {
		leeway = *c.Leeway
	}
	iss.parser = jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithIssuer(c.Issuer), jwt.WithAudience(c.Audience...),
		jwt.WithExpirationRequired(), jwt.WithLeeway(leeway))
	return iss, nil
}

// readPublicKey reads a PEM public key and the algorithm its type implies.
func readPublicKey(path string) (any, string, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("public_key_file %s cannot be read", filepath.Base(path))
	}
	if k, err := jwt.ParseRSAPublicKeyFromPEM(pem); err == nil {
		return k, "RS256", nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(pem); err == nil {
		return k, map[elliptic.Curve]string{elliptic.P256(): "ES256", elliptic.P384(): "ES384", elliptic.P521(): "ES512"}[k.Curve], nil
	}
	if k, err := jwt.ParseEdPublicKeyFromPEM(pem); err == nil {
		return k, "EdDSA", nil
	}
	return nil, "", fmt.Errorf("public_key_file %s holds no RSA, ECDSA or Ed25519 public key", filepath.Base(path))
}

// verify checks a token and returns its caller.
func (v *jwtVerifier) verify(ctx context.Context, token string) (principal, error) {
	var unverified jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &unverified); err != nil {
		return principal{}, err
	}
	iss := v.issuers[unverified.Issuer]
	if iss == nil {
		return principal{}, errors.New("unknown issuer")
	}
	claims := jwt.MapClaims{}
	if _, err := iss.parser.ParseWithClaims(token, claims, iss.keyfunc(ctx)); err != nil {
		return principal{}, err
	}
	id, _ := claims[iss.identity].(string)
	if id == "" {
		return principal{}, errors.New("no identity claim")
	}
	return principal{id: id, claims: claims}, nil
}
