package bridge

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
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"gopkg.in/yaml.v3"
)

// OutboundAuth are the credentials the bridge adds to every HTTP request
// an adapter sends to an upstream, through Env.WrapTransport (basic auth
// and WS-Security stay with the adapters): the api_key, bearer, oauth2 and
// jwt keys of an upstream's credentials block. Set at most one. Secrets come
// from the environment or a file, never from the config text; they are
// never logged nor quoted in errors.
type OutboundAuth struct {
	// APIKey sends a key in a header or a query parameter.
	APIKey *OutboundAPIKey `yaml:"api_key"`
	// Bearer sends `Authorization: Bearer <token>` with a static token.
	Bearer *Secret `yaml:"bearer"`
	// OAuth2 gets tokens by the OAuth2 client-credentials grant
	// (golang.org/x/oauth2), caches them until they expire, and on a 401
	// reply fetches a new token and retries the request once.
	OAuth2 *OutboundOAuth2 `yaml:"oauth2"`
	// JWT sends a JWT assertion the bridge signs, renewed before it expires.
	JWT *OutboundJWT `yaml:"jwt"`
}

// OutboundAPIKey sends a key in a header or a query parameter.
type OutboundAPIKey struct {
	// Header is the header carrying the key (such as X-API-Key).
	Header string `yaml:"header"`
	// Query is the query parameter carrying the key, instead of Header.
	Query string `yaml:"query"`
	// Value is the key ({env: VAR} or {file: path}).
	Value Secret `yaml:"value"`
}

// OutboundOAuth2 is an OAuth2 client-credentials grant.
type OutboundOAuth2 struct {
	// TokenURL is the token endpoint.
	TokenURL string `yaml:"token_url"`
	// ClientID and ClientSecret identify the bridge to the token endpoint.
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
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
	KeyFile string  `yaml:"key_file"`
	Secret  *Secret `yaml:"secret"`
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
	errs := decodeStrict(n, (*plain)(k), "OutboundAPIKey")
	if (k.Header == "") == (k.Query == "") {
		errs = append(errs, fmt.Sprintf("line %d: credentials.api_key: give header or query", n.Line))
	}
	return typeError(errs)
}

// UnmarshalYAML decodes an oauth2 block strictly and checks it.
func (c *OutboundOAuth2) UnmarshalYAML(n *yaml.Node) error {
	type plain OutboundOAuth2
	errs := decodeStrict(n, (*plain)(c), "OutboundOAuth2")
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
	errs := decodeStrict(n, (*plain)(j), "OutboundJWT")
	if (j.KeyFile == "") == (j.Secret == nil) {
		errs = append(errs, fmt.Sprintf("line %d: credentials.jwt: give key_file or secret", n.Line))
	}
	if j.TTL < 0 {
		errs = append(errs, fmt.Sprintf("line %d: credentials.jwt: ttl must not be negative", keyLine(n, "ttl")))
	}
	return typeError(errs)
}

// outboundWrapper returns what wraps an upstream's transports so every
// request carries its outbound credentials (identity without any). Secrets
// are read and token caches built once here, so a missing variable or file
// is a load problem and every transport of the upstream shares one token.
func outboundWrapper(o *OutboundAuth, baseDir string) (func(http.RoundTripper) http.RoundTripper, error) {
	set := 0
	for _, v := range []bool{o.APIKey != nil, o.Bearer != nil, o.OAuth2 != nil, o.JWT != nil} {
		if v {
			set++
		}
	}
	switch {
	case set > 1:
		return nil, errors.New("credentials: set one of api_key, bearer, oauth2, jwt")
	case o.APIKey != nil:
		v, err := o.APIKey.Value.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("credentials.api_key: %w", err)
		}
		k := o.APIKey
		return func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				if k.Header != "" {
					r.Header.Set(k.Header, v)
				} else {
					q := r.URL.Query()
					q.Set(k.Query, v)
					r.URL.RawQuery = q.Encode()
				}
				return rt.RoundTrip(r)
			})
		}, nil
	case o.Bearer != nil:
		v, err := o.Bearer.Resolve(baseDir)
		if err != nil {
			return nil, fmt.Errorf("credentials.bearer: %w", err)
		}
		return func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+v)
				return rt.RoundTrip(r)
			})
		}, nil
	case o.OAuth2 != nil:
		tokens, err := newOAuth2Tokens(o.OAuth2, baseDir)
		if err != nil {
			return nil, err
		}
		return func(rt http.RoundTripper) http.RoundTripper { return &oauth2Transport{tokens: tokens, base: rt} }, nil
	case o.JWT != nil:
		signer, err := newJWTAssertions(o.JWT, baseDir)
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

	mu  sync.Mutex
	tok *oauth2.Token
}

func newOAuth2Tokens(c *OutboundOAuth2, baseDir string) (*oauth2Tokens, error) {
	secret, err := c.ClientSecret.Resolve(baseDir)
	if err != nil {
		return nil, fmt.Errorf("credentials.oauth2.client_secret: %w", err)
	}
	params := url.Values{}
	for k, v := range c.Params {
		params.Set(k, v)
	}
	style := map[string]oauth2.AuthStyle{"": oauth2.AuthStyleAutoDetect, "header": oauth2.AuthStyleInHeader, "params": oauth2.AuthStyleInParams}[c.AuthStyle]
	return &oauth2Tokens{
		cfg:    &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: secret, TokenURL: c.TokenURL, Scopes: c.Scopes, EndpointParams: params, AuthStyle: style},
		client: &http.Client{Timeout: 30 * time.Second},
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
	c      *OutboundJWT
	method jwt.SigningMethod
	key    any
	ttl    time.Duration

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func newJWTAssertions(c *OutboundJWT, baseDir string) (*jwtAssertions, error) {
	t := &jwtAssertions{c: c, ttl: c.TTL}
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
	t.token, t.renewAt = s, now.Add(t.ttl*4/5)
	return s, nil
}
