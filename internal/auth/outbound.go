package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Outbound returns what wraps an upstream's transports so every
// request carries its outbound credentials (identity without any). Secrets
// are read and token caches built once here, so a missing variable or file
// is a load problem and every transport of the upstream shares one token.
func Outbound(o *config.Credentials, baseDir string) (func(http.RoundTripper) http.RoundTripper, error) {
	return OutboundRedacting(o, baseDir, nil)
}

// OutboundRedacting is Outbound putting every secret it reads, and every
// token it fetches or signs later, into red (when not nil), so that no
// upstream reply quoting one reaches a caller or a log.
func OutboundRedacting(o *config.Credentials, baseDir string, red *bridge.Redactor) (func(http.RoundTripper) http.RoundTripper, error) {
	if o == nil {
		return func(rt http.RoundTripper) http.RoundTripper { return rt }, nil
	}
	if o.AuthorizationKinds() > 1 {
		return nil, errors.New("credentials: set one of basic, bearer, oauth2, jwt (api_key may go beside it)")
	}
	authz, err := authorization(o, baseDir, red)
	if err != nil || o.APIKey == nil {
		return authz, err
	}
	// An API key beside an Authorization kind: OpenAPI specs such as the
	// Petstore open some operations with a key and others with a token.
	v, err := o.APIKey.Value.Resolve(baseDir)
	if err != nil {
		return nil, fmt.Errorf("credentials.api_key: %w", err)
	}
	red.Add(v)
	k := o.APIKey
	return func(rt http.RoundTripper) http.RoundTripper {
		next := authz(rt)
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			if k.Header != "" {
				r.Header.Set(k.Header, v)
			} else {
				q := r.URL.Query()
				q.Set(k.Query, v)
				r.URL.RawQuery = q.Encode()
			}
			return next.RoundTrip(r)
		})
	}, nil
}

// authorization wraps transports with the one credentials kind of o that
// is not an API key (identity without one).
func authorization(o *config.Credentials, baseDir string, red *bridge.Redactor) (func(http.RoundTripper) http.RoundTripper, error) {
	switch {
	case o.Basic != nil:
		pw, err := o.Basic.Password.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("credentials.basic: %w", err)
		}
		user := o.Basic.Username
		red.AddBasic(user, pw)
		return func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.SetBasicAuth(user, pw)
				return rt.RoundTrip(r)
			})
		}, nil
	case o.Bearer != nil:
		v, err := o.Bearer.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("credentials.bearer: %w", err)
		}
		red.Add(v)
		return func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+v)
				return rt.RoundTrip(r)
			})
		}, nil
	case o.OAuth2 != nil:
		tokens, err := newOAuth2Tokens(o.OAuth2, baseDir, red)
		if err != nil {
			return nil, err
		}
		return func(rt http.RoundTripper) http.RoundTripper { return &oauth2Transport{tokens: tokens, base: rt} }, nil
	case o.JWT != nil:
		signer, err := newJWTAssertions(o.JWT, baseDir, red)
		if err != nil {
			return nil, err
		}
		return func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				s, err := signer.assertion(time.Now())
				if err != nil {
					return nil, err
				}
				r = r.Clone(r.Context())
				if signer.c.Header != "" {
					r.Header.Set(signer.c.Header, s)
				} else {
					r.Header.Set("Authorization", "Bearer "+s)
				}
				return rt.RoundTrip(r)
			})
		}, nil
	}
	return func(rt http.RoundTripper) http.RoundTripper { return rt }, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// oauth2Tokens gets client-credentials tokens and caches them until they
// expire; an upstream's transports share one.
type oauth2Tokens struct {
	cfg    *clientcredentials.Config
	client *http.Client // for the token endpoint

	red *bridge.Redactor

	mu  sync.Mutex
	tok *oauth2.Token
}

func newOAuth2Tokens(c *config.OutboundOAuth2, baseDir string, red *bridge.Redactor) (*oauth2Tokens, error) {
	secret, err := c.ClientSecret.Resolve(baseDir)
	if err != nil {
		return nil, fmt.Errorf("credentials.oauth2.client_secret: %w", err)
	}
	red.Add(secret)
	params := url.Values{}
	for k, v := range c.Params {
		params.Set(k, v)
	}
	style := map[string]oauth2.AuthStyle{"": oauth2.AuthStyleAutoDetect, "header": oauth2.AuthStyleInHeader, "params": oauth2.AuthStyleInParams}[c.AuthStyle]
	return &oauth2Tokens{
		cfg:    &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: secret, TokenURL: c.TokenURL, Scopes: c.Scopes, EndpointParams: params, AuthStyle: style},
		client: &http.Client{Timeout: 30 * time.Second},
		red:    red,
	}, nil
}

// token returns the cached token, or a new one when it expired or stale
// (the one a 401 was answered to) is the one cached.
func (t *oauth2Tokens) token(ctx context.Context, stale *oauth2.Token) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.Valid() && t.tok != stale {
		return t.tok, nil
	}
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.client))
	if err != nil {
		// The endpoint's reply may echo what was sent: say only where it failed.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return nil, fmt.Errorf("outbound credentials: the OAuth2 token endpoint answered HTTP %d", re.Response.StatusCode)
		}
		return nil, errors.New("outbound credentials: the OAuth2 token endpoint cannot be reached")
	}
	t.red.Remember(tok.AccessToken)
	t.red.Remember(tok.RefreshToken)
	t.tok = tok
	return tok, nil
}

// oauth2Transport adds the tokens to requests; on a 401 it gets a new
// token and sends a replayable request once more.
type oauth2Transport struct {
	tokens *oauth2Tokens
	base   http.RoundTripper
}

func (t *oauth2Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.tokens.token(r.Context(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.send(r, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (r.Body != nil && r.Body != http.NoBody && r.GetBody == nil) {
		return resp, err
	}
	// The token may have been revoked: get a new one and try once more.
	fresh, err := t.tokens.token(r.Context(), tok)
	if err != nil {
		return resp, nil
	}
	retry := r.Clone(r.Context())
	if r.GetBody != nil {
		if retry.Body, err = r.GetBody(); err != nil {
			return resp, nil
		}
	}
	_ = resp.Body.Close()
	return t.send(retry, fresh)
}

func (t *oauth2Transport) send(r *http.Request, tok *oauth2.Token) (*http.Response, error) {
	r = r.Clone(r.Context())
	tok.SetAuthHeader(r)
	return t.base.RoundTrip(r)
}

// jwtAssertions signs the JWT assertions of an upstream, renewed before
// they expire.
type jwtAssertions struct {
	c      *config.OutboundJWT
	method jwt.SigningMethod
	key    any
	ttl    time.Duration

	red *bridge.Redactor

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func newJWTAssertions(c *config.OutboundJWT, baseDir string, red *bridge.Redactor) (*jwtAssertions, error) {
	t := &jwtAssertions{c: c, ttl: c.TTL, red: red}
	if t.ttl == 0 {
		t.ttl = 5 * time.Minute
	}
	alg := c.Algorithm
	if c.Secret != nil {
		s, err := c.Secret.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("credentials.jwt.secret: %w", err)
		}
		t.key = []byte(s)
		red.Add(s)
		if alg == "" {
			alg = "HS256"
		}
	} else {
		p := c.KeyFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		key, keyAlg, err := readPrivateKey(p)
		if err != nil {
			return nil, fmt.Errorf("credentials.jwt: %w", err)
		}
		t.key = key
		if alg == "" {
			alg = keyAlg
		}
	}
	if t.method = jwt.GetSigningMethod(alg); t.method == nil || alg == "none" {
		return nil, fmt.Errorf("credentials.jwt: algorithm %q is not known", alg)
	}
	if _, err := t.assertion(time.Now()); err != nil {
		return nil, err
	}
	return t, nil
}

// readPrivateKey reads a PEM private key and the algorithm its type implies.
func readPrivateKey(path string) (any, string, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("key_file %s cannot be read", filepath.Base(path))
	}
	if k, err := jwt.ParseRSAPrivateKeyFromPEM(pem); err == nil {
		return k, "RS256", nil
	}
	if k, err := jwt.ParseECPrivateKeyFromPEM(pem); err == nil {
		alg := map[int]string{256: "ES256", 384: "ES384", 521: "ES512"}[k.Curve.Params().BitSize]
		return k, alg, nil
	}
	if k, err := jwt.ParseEdPrivateKeyFromPEM(pem); err == nil {
		return k, "EdDSA", nil
	}
	return nil, "", fmt.Errorf("key_file %s holds no RSA, ECDSA or Ed25519 private key", filepath.Base(path))
}

// assertion returns the current JWT, signing a new one when due.
func (t *jwtAssertions) assertion(now time.Time) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && now.Before(t.renewAt) {
		return t.token, nil
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	claims := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(t.ttl).Unix(), "jti": hex.EncodeToString(jti[:])}
	for k, v := range t.c.Claims {
		claims[k] = v
	}
	for k, v := range map[string]string{"iss": t.c.Issuer, "sub": t.c.Subject, "aud": t.c.Audience} {
		if v != "" {
			claims[k] = v
		}
	}
	tok := jwt.NewWithClaims(t.method, claims)
	if t.c.KeyID != "" {
		tok.Header["kid"] = t.c.KeyID
	}
	s, err := tok.SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("credentials.jwt: cannot sign with %s: the key does not fit the algorithm", t.method.Alg())
	}
	t.red.Remember(s)
	t.token, t.renewAt = s, now.Add(t.ttl*4/5)
	return s, nil
}
