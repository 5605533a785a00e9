package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
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

// authenticator checks inbound credentials. Callers are denied unless the
// config or the route is open, or they present a configured credential.
// The caller is never told which check failed.
type authenticator struct {
	open bool
	keys []apiKeyDigest
	jwt  *jwtVerifier
	mtls *MTLSAuth
}

type apiKeyDigest struct {
	id     string
	digest [sha256.Size]byte
}

// principal is an authenticated caller.
type principal struct {
	id string
	// claims are the JWT's claims; nil for other credentials.
	claims map[string]any
}

func newAuthenticator(c AuthConfig, baseDir string) (*authenticator, error) {
	a := &authenticator{open: c.Open, mtls: c.MTLS}
	for _, k := range c.APIKeys {
		var d apiKeyDigest
		d.id = k.ID
		if b, err := hex.DecodeString(k.SHA256); err == nil && len(b) == sha256.Size {
			copy(d.digest[:], b)
			a.keys = append(a.keys, d)
		}
	}
	if len(c.JWT) > 0 {
		v, err := newJWTVerifier(c.JWT, baseDir)
		if err != nil {
			return nil, err
		}
		a.jwt = v
	}
	return a, nil
}

// close stops the JWKS refreshes.
func (a *authenticator) close() {
	if a.jwt != nil {
		a.jwt.stop()
	}
}

var (
	errUnauthenticated = Errorf(codes.Unauthenticated, "UNAUTHENTICATED", nil, "missing or invalid credentials")
	errPermission      = Errorf(codes.PermissionDenied, "PERMISSION_DENIED", nil, "the caller may not call this method")
)

// identify returns the caller, or an UNAUTHENTICATED status.
func (a *authenticator) identify(ctx context.Context, md metadata.MD) (principal, error) {
	if a.mtls != nil {
		if id, ok := certIdentity(ctx, a.mtls.Identity); ok {
			return principal{id: id}, nil
		}
	}
	key, bearer := "", ""
	if v := md.Get("x-api-key"); len(v) > 0 {
		key = v[0]
	} else if v := md.Get("authorization"); len(v) > 0 && len(v[0]) > 7 && strings.EqualFold(v[0][:7], "bearer ") {
		bearer = strings.TrimSpace(v[0][7:])
	}
	if bearer != "" && a.jwt != nil && strings.Count(bearer, ".") == 2 {
		p, err := a.jwt.verify(ctx, bearer)
		if err != nil {
			return principal{}, errUnauthenticated
		}
		return p, nil
	}
	if key == "" {
		key = bearer
	}
	if key == "" {
		return principal{}, errUnauthenticated
	}
	sum := sha256.Sum256([]byte(key))
	id := ""
	for _, k := range a.keys {
		// Compare every key so timing does not tell which one matched.
		if subtle.ConstantTimeCompare(sum[:], k.digest[:]) == 1 {
			id = k.id
		}
	}
	if id == "" {
		return principal{}, errUnauthenticated
	}
	return principal{id: id}, nil
}

// guard authenticates a call of a route and applies its allow rules.
type guard struct {
	a     *authenticator
	open  bool
	allow []AllowRule
}

// guardFor returns the authentication of a route. Allow rules on an open
// route are an error: an unauthenticated caller could never match them.
func (a *authenticator) guardFor(rp *routePolicy) (*guard, error) {
	g := &guard{a: a, open: a.open || rp.r.Open, allow: rp.cfg.Allow}
	if g.open && len(g.allow) > 0 {
		return nil, errors.New("policies allow: the route is open (auth.open or open: true), so no caller is identified to match the rules")
	}
	return g, nil
}

// check identifies the caller of a call and sets its identity.
func (g *guard) check(ctx context.Context, c *Call) error {
	if g.open {
		return nil
	}
	p, err := g.a.identify(ctx, c.Metadata)
	if err != nil {
		return err
	}
	if len(g.allow) > 0 && !slices.ContainsFunc(g.allow, p.matches) {
		return errPermission
	}
	c.Identity = p.id
	return nil
}

func (g *guard) middleware(next Handler) Handler {
	return func(ctx context.Context, c *Call) (proto.Message, error) {
		if err := g.check(ctx, c); err != nil {
			return nil, err
		}
		return next(ctx, c)
	}
}

func (g *guard) stream(next StreamHandler) StreamHandler {
	return func(ctx context.Context, c *Call, s Stream) error {
		if err := g.check(ctx, c); err != nil {
			return err
		}
		return next(ctx, c, s)
	}
}

// matches says whether the caller satisfies every condition of a rule.
func (p principal) matches(r AllowRule) bool {
	if len(r.Identities) > 0 && !slices.Contains(r.Identities, p.id) && !slices.Contains(r.Identities, "*") {
		return false
	}
	for name, want := range r.Claims {
		if !claimHolds(name, p.claims[name], want) {
			return false
		}
	}
	return true
}

// claimHolds says whether a claim equals want, or is an array holding it
// (the OAuth "scope" claim, a space-separated string, counts as an array).
func claimHolds(name string, v any, want string) bool {
	switch v := v.(type) {
	case string:
		return v == want || (name == "scope" && slices.Contains(strings.Fields(v), want))
	case []any:
		for _, e := range v {
			if claimHolds("", e, want) {
				return true
			}
		}
	case bool, float64:
		return fmt.Sprint(v) == want
	}
	return false
}
