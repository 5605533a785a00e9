package bridge

import (
	"context"
	"crypto/x509"
	"fmt"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"gopkg.in/yaml.v3"
)

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
	errs := decodeStrict(n, (*plain)(m), "MTLSAuth")
	switch m.Identity {
	case "", "cn", "dns", "uri", "email":
	default:
		errs = append(errs, fmt.Sprintf("line %d: auth.mtls: identity %q is not known (cn, dns, uri, email)", keyLine(n, "identity"), m.Identity))
	}
	return typeError(errs)
}

// certIdentity returns the caller named by the verified client certificate
// of the call's connection.
func certIdentity(ctx context.Context, mode string) (string, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return "", false
	}
	id := certName(ti.State.VerifiedChains[0][0], mode)
	return id, id != ""
}

func certName(c *x509.Certificate, mode string) string {
	switch mode {
	case "dns":
		if len(c.DNSNames) > 0 {
			return c.DNSNames[0]
		}
	case "uri":
		if len(c.URIs) > 0 {
			return c.URIs[0].String()
		}
	case "email":
		if len(c.EmailAddresses) > 0 {
			return c.EmailAddresses[0]
		}
	default:
		return c.Subject.CommonName
	}
	return ""
}
