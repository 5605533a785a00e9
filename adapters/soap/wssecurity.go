package soap

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // PasswordDigest is defined with SHA-1
	"encoding/base64"
	"encoding/xml"
	"time"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
)

// WS-Security 1.0 namespaces and URIs (OASIS UsernameToken Profile 1.0).
const (
	wsseNS         = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	wsuNS          = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	passwordText   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	passwordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	base64Encoding = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

// wsSecurity writes a UsernameToken header block.
type wsSecurity struct {
	user, pass string
	digest     bool
	now        func() time.Time
	nonce      func([]byte) error
}

func newWSSecurity(user, pass string, digest bool) *wsSecurity {
	return &wsSecurity{user: user, pass: pass, digest: digest, now: time.Now, nonce: func(b []byte) error {
		_, err := rand.Read(b)
		return err
	}}
}

// passwordDigestOf is Base64(SHA-1(nonce + created + password)).
func passwordDigestOf(nonce []byte, created, password string) string {
	h := sha1.New() //nolint:gosec // mandated by the profile
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// write writes the wsse:Security header block, mustUnderstand, with a
// UsernameToken: PasswordText, or PasswordDigest with Nonce and Created.
func (s *wsSecurity) write(w *xmlcodec.Writer, v *envVersion) error {
	w.Start(xml.Name{Space: wsseNS, Local: "Security"})
	w.Attr(v.qname("mustUnderstand"), v.mustUnderstand)
	w.Start(xml.Name{Space: wsseNS, Local: "UsernameToken"})
	w.Start(xml.Name{Space: wsseNS, Local: "Username"})
	w.Text(s.user)
	w.End()
	w.Start(xml.Name{Space: wsseNS, Local: "Password"})
	if !s.digest {
		w.Attr(xml.Name{Local: "Type"}, passwordText)
		w.Text(s.pass)
		w.End()
	} else {
		nonce := make([]byte, 16)
		if err := s.nonce(nonce); err != nil {
			return err
		}
		created := s.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
		w.Attr(xml.Name{Local: "Type"}, passwordDigest)
		w.Text(passwordDigestOf(nonce, created, s.pass))
		w.End()
		w.Start(xml.Name{Space: wsseNS, Local: "Nonce"})
		w.Attr(xml.Name{Local: "EncodingType"}, base64Encoding)
		w.Text(base64.StdEncoding.EncodeToString(nonce))
		w.End()
		w.Start(xml.Name{Space: wsuNS, Local: "Created"})
		w.Text(created)
		w.End()
	}
	w.End()
	w.End()
	return w.Err()
}
