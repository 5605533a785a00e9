// Package auth is inbound authentication — API keys, JWTs (secret, PEM or
// JWKS), client certificates — with per-route allow rules, and the
// outbound credentials wrapped around every upstream's HTTP transport.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// authenticator checks inbound credentials. Callers are denied unless the
// config or the route is open, or they present a configured credential.
// The caller is never told which check failed.
type Authenticator struct {
	open bool
	keys []apiKeyDigest
	jwt  *jwtVerifier
	mtls *config.MTLSAuth
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

// New builds the authenticator of a config's auth block. JWKS are loaded
// in the background (see Pending); log receives what happens to them.
func New(c config.AuthConfig, baseDir string, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{open: c.Open, mtls: c.MTLS}
	for _, k := range c.APIKeys {
		var d apiKeyDigest
		d.id = k.ID
		if b, err := hex.DecodeString(k.SHA256); err == nil && len(b) == sha256.Size {
			copy(d.digest[:], b)
			a.keys = append(a.keys, d)
		}
	}
	if len(c.JWT) > 0 {
		v, err := newJWTVerifier(c.JWT, baseDir, log)
		if err != nil {
			return nil, err
		}
		a.jwt = v
	}
	return a, nil
}

// Pending lists the JWT issuers whose JWKS has not loaded yet: their
// tokens are denied until it has.
func (a *Authenticator) Pending() []string {
	if a.jwt == nil {
		return nil
	}
	return a.jwt.pending()
}

// WaitKeys waits until every JWKS has loaded or ctx ends, and reports
// whether they all did.
func (a *Authenticator) WaitKeys(ctx context.Context) bool {
	return a.jwt == nil || a.jwt.wait(ctx)
}

// Close stops the JWKS loads and refreshes.
func (a *Authenticator) Close() {
	if a.jwt != nil {
		a.jwt.stop()
	}
}

var (
	errUnauthenticated = bridge.Errorf(codes.Unauthenticated, reason.Unauthenticated, nil, "missing or invalid credentials")
	errPermission      = bridge.Errorf(codes.PermissionDenied, reason.PermissionDenied, nil, "the caller may not call this method")
)

// identify returns the caller, or an UNAUTHENTICATED status.
func (a *Authenticator) identify(ctx context.Context, c *bridge.Call) (principal, error) {
	md := c.Metadata
	if a.mtls != nil {
		if id, ok := certIdentity(c.Peer, a.mtls.Identity); ok {
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

// Guard authenticates the calls of one route and applies its allow rules.
type Guard struct {
	a     *Authenticator
	open  bool
	allow []config.AllowRule
}

// Guard returns the authentication of a route: open when the config or
// the route is, else a credential is required and allow (when set) must
// match. Allow rules on an open route are an error: an unauthenticated
// caller could never match them.
func (a *Authenticator) Guard(routeOpen bool, allow []config.AllowRule) (*Guard, error) {
	g := &Guard{a: a, open: a.open || routeOpen, allow: allow}
	if g.open && len(g.allow) > 0 {
		return nil, errors.New("policies allow: the route is open (auth.open or open: true), so no caller is identified to match the rules")
	}
	return g, nil
}

// Open reports whether the route is served without authentication.
func (g *Guard) Open() bool { return g.open }

// Allows reports whether the caller of c may call the route: open, or
// authenticated (or preauthenticated by its front door) and matching the
// allow rules. It sets c.Identity and c.Claims. Front doors that list
// routes (MCP tools/list) call it to show only what a caller may call.
func (g *Guard) Allows(ctx context.Context, c *bridge.Call) error {
	if g.open {
		return nil
	}
	p := principal{id: c.Identity, claims: c.Claims}
	if !c.Preauthenticated {
		var err error
		if p, err = g.a.identify(ctx, c); err != nil {
			return err
		}
	}
	if len(g.allow) > 0 && !slices.ContainsFunc(g.allow, p.matches) {
		return errPermission
	}
	c.Identity, c.Claims = p.id, p.claims
	return nil
}

// Middleware is the guard of unary calls.
func (g *Guard) Middleware(next bridge.Handler) bridge.Handler {
	return func(ctx context.Context, c *bridge.Call) (proto.Message, error) {
		if err := g.Allows(ctx, c); err != nil {
			return nil, err
		}
		return next(ctx, c)
	}
}

// Stream is the guard of streaming calls.
func (g *Guard) Stream(next bridge.StreamHandler) bridge.StreamHandler {
	return func(ctx context.Context, c *bridge.Call, s bridge.Stream) error {
		if err := g.Allows(ctx, c); err != nil {
			return err
		}
		return next(ctx, c, s)
	}
}

// matches says whether the caller satisfies every condition of a rule.
func (p principal) matches(r config.AllowRule) bool {
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
