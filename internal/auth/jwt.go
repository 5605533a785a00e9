package auth

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/protobridge/protobridge/internal/config"
	"golang.org/x/time/rate"
)

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

func newJWTVerifier(cs []config.JWTIssuer, baseDir string) (*jwtVerifier, error) {
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

func newJWTIssuer(ctx context.Context, c config.JWTIssuer, baseDir string) (*jwtIssuer, error) {
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
			algs = config.AsymmetricAlgs
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
