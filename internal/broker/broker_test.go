package broker

import (
	"crypto/x509"
	"fmt"
	"net"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestRefused: only a server that answered and turned the daemon away
// ends the wait for an external cluster; a cluster not there yet does not.
func TestRefused(t *testing.T) {
	for err, want := range map[error]bool{
		nats.ErrNoServers: false,
		&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nats", IsNotFound: true}}: false,
		&net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("i/o timeout")}:                                          false,
		fmt.Errorf("nats: %w", nats.ErrAuthorization):                                                                 true,
		nats.ErrSecureConnRequired:                          true,
		fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}): true,
	} {
		if got := refused(err); got != want {
			t.Errorf("refused(%v) = %v, want %v", err, got, want)
		}
	}
}
