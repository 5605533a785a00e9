package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// AuthConfig is inbound authentication.
type AuthConfig struct {
	// Open serves every route without authentication. Without it a caller
	// must present a credential unless the route itself is open.
	Open bool `yaml:"open"`
	// APIKeys are accepted keys, stored as SHA-256 digests. Callers send the
	// key in the `x-api-key` metadata or as `authorization: Bearer <key>`.
	APIKeys []APIKey `yaml:"api_keys"`
}

// APIKey is one accepted inbound key.
type APIKey struct {
	// ID names the caller; it becomes the call's identity.
	ID string `yaml:"id"`
	// SHA256 is the hex SHA-256 digest of the key (`printf %s KEY | sha256sum`).
	SHA256 string `yaml:"sha256"`
}

// authenticator checks inbound credentials. Callers are denied unless the
// config or the route is open, or they present a configured API key. The
// caller is never told which check failed.
type authenticator struct {
	open bool
	keys []apiKeyDigest
}

type apiKeyDigest struct {
	id     string
	digest [sha256.Size]byte
}

func newAuthenticator(c AuthConfig) *authenticator {
	a := &authenticator{open: c.Open}
	for _, k := range c.APIKeys {
		var d apiKeyDigest
		d.id = k.ID
		if b, err := hex.DecodeString(k.SHA256); err == nil && len(b) == sha256.Size {
			copy(d.digest[:], b)
			a.keys = append(a.keys, d)
		}
	}
	return a
}

var errUnauthenticated = Errorf(codes.Unauthenticated, "UNAUTHENTICATED", nil, "missing or invalid credentials")

// identify returns the caller's identity, or an UNAUTHENTICATED status.
func (a *authenticator) identify(r *Route, md metadata.MD) (string, error) {
	if a.open || r.Open {
		return "", nil
	}
	key := ""
	if v := md.Get("x-api-key"); len(v) > 0 {
		key = v[0]
	} else if v := md.Get("authorization"); len(v) > 0 && len(v[0]) > 7 && strings.EqualFold(v[0][:7], "bearer ") {
		key = strings.TrimSpace(v[0][7:])
	}
	if key == "" {
		return "", errUnauthenticated
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
		return "", errUnauthenticated
	}
	return id, nil
}

func (a *authenticator) middleware(next Handler) Handler {
	return func(ctx context.Context, c *Call) (proto.Message, error) {
		id, err := a.identify(c.Route, c.Metadata)
		if err != nil {
			return nil, err
		}
		c.Identity = id
		return next(ctx, c)
	}
}

func (a *authenticator) stream(next StreamHandler) StreamHandler {
	return func(ctx context.Context, c *Call, s Stream) error {
		id, err := a.identify(c.Route, c.Metadata)
		if err != nil {
			return err
		}
		c.Identity = id
		return next(ctx, c, s)
	}
}
