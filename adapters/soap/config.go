package soap

import "github.com/protobridge/protobridge/bridge"

// Config is a soap upstream's own block (`soap:` under the upstream).
type Config struct {
	// XMLLax accepts replies carrying elements the schema does not declare
	// (they are skipped); by default such replies fail naming the path.
	XMLLax bool `yaml:"xml_lax"`
	// WSSecurity adds a WS-Security UsernameToken header to every envelope.
	WSSecurity *WSSecurityConfig `yaml:"ws_security"`
}

// WSSecurityConfig is a WS-Security UsernameToken.
type WSSecurityConfig struct {
	Username string        `yaml:"username"`
	Password bridge.Secret `yaml:"password"`
	// Digest sends PasswordDigest (with Nonce and Created) instead of PasswordText.
	Digest bool `yaml:"digest"`
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}
