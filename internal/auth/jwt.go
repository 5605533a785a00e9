package auth

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/protobridge/protobridge/bridge/httpx"
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
	// keys are the issuer's JWKS; nil for a secret or a key file.
	keys *jwksKeys
}

// jwksFetchTimeout bounds one JWKS fetch.
const jwksFetchTimeout = 10 * time.Second

// errJWKSPending is why a JWT fails while its issuer's keys are not loaded.
var errJWKSPending = errors.New("the issuer's JWKS is not loaded yet")

// jwksKeys are an issuer's JSON Web Key Set, loaded in the background:
// start-up never waits on the JWKS URL. Until the set has loaded once,
// tokens of the issuer are denied, the daemon logs why, and /readyz says
// so; a failed load is retried with backoff. Once loaded, the key
// function refreshes the set itself (every jwks_refresh, and for unknown
// key ids), keeping the old keys when a refresh fails.
type jwksKeys struct {
	issuer string
	log    *slog.Logger
	kf     atomic.Pointer[keyfunc.Keyfunc]
	loaded chan struct{}
}

// load fetches the set until it loads or ctx ends.
func (k *jwksKeys) load(ctx context.Context, jwksURL string, o keyfunc.Override) {
	k.log.Info("loading JWKS in the background; JWTs of the issuer are denied until it loads", "issuer", k.issuer)
	bo := httpx.Backoff(time.Second, time.Minute, 2)
	for {
		// A failed attempt's refresh goroutine ends with its context.
		actx, cancel := context.WithCancel(ctx)
		kf, err := keyfunc.NewDefaultOverrideCtx(actx, []string{jwksURL}, o)
		if err == nil {
			k.kf.Store(&kf)
			close(k.loaded)
			k.log.Info("JWKS loaded; JWTs of the issuer are accepted", "issuer", k.issuer)
			context.AfterFunc(ctx, cancel)
			return
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		wait := bo.NextBackOff()
		k.log.Warn("JWKS not loaded; JWTs of the issuer are denied until it is", "issuer", k.issuer, "error", err.Error(), "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// keyfunc is the key function of the loaded set, or one that fails while
// none has loaded.
func (k *jwksKeys) keyfunc(ctx context.Context) jwt.Keyfunc {
	if kf := k.kf.Load(); kf != nil {
		return (*kf).KeyfuncCtx(ctx)
	}
	return func(*jwt.Token) (any, error) { return nil, errJWKSPending }
}

func newJWTVerifier(cs []config.JWTIssuer, baseDir string, log *slog.Logger) (*jwtVerifier, error) {
	ctx, cancel := context.WithCancel(context.Background())
	v := &jwtVerifier{issuers: map[string]*jwtIssuer{}, stop: cancel}
	for _, c := range cs {
		iss, err := newJWTIssuer(ctx, c, baseDir, log)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("auth.jwt issuer %s: %w", c.Issuer, err)
		}
		v.issuers[c.Issuer] = iss
	}
	return v, nil
}

func newJWTIssuer(ctx context.Context, c config.JWTIssuer, baseDir string, log *slog.Logger) (*jwtIssuer, error) {
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
		keys := &jwksKeys{issuer: c.Issuer, log: log, loaded: make(chan struct{})}
		first := false
		override := keyfunc.Override{
			Client:            &http.Client{Timeout: jwksFetchTimeout},
			HTTPTimeout:       jwksFetchTimeout,
			RefreshInterval:   refresh,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(minRefresh), 1),
			// Bounds the refresh fetch too; a token with an unknown kid
			// arriving while no refresh is due fails at once.
			RateLimitWaitMax:          jwksFetchTimeout,
			NoErrorReturnFirstHTTPReq: &first,
			RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
				return func(_ context.Context, err error) {
					log.Warn("JWKS refresh failed; the keys loaded before stay in use", "issuer", c.Issuer, "error", err.Error())
				}
			},
		}
		if _, err := url.ParseRequestURI(c.JWKSURL); err != nil {
			return nil, fmt.Errorf("jwks_url: %w", err)
		}
		go keys.load(ctx, c.JWKSURL, override)
		iss.keys = keys
		iss.keyfunc = keys.keyfunc
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

// pending lists the issuers whose JWKS has not loaded yet.
func (v *jwtVerifier) pending() []string {
	var out []string
	for name, iss := range v.issuers {
		if iss.keys != nil && iss.keys.kf.Load() == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// wait waits until every JWKS has loaded or ctx ends, and reports whether
// they all did.
func (v *jwtVerifier) wait(ctx context.Context) bool {
	for _, iss := range v.issuers {
		if iss.keys == nil {
			continue
		}
		select {
		case <-iss.keys.loaded:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
