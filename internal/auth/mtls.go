package auth

import (
	"crypto/x509"

	"github.com/protobridge/protobridge/bridge"
)

// certIdentity returns the caller named by the verified client certificate
// of the call's peer, as its front door verified it.
func certIdentity(p bridge.Peer, mode string) (string, bool) {
	if len(p.VerifiedChains) == 0 || len(p.VerifiedChains[0]) == 0 {
		return "", false
	}
	id := certName(p.VerifiedChains[0][0], mode)
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
