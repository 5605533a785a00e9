package bridge

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret in quoted text.
const Redacted = "[REDACTED]"

// minSecret is the shortest secret redacted: shorter ones would mangle
// every quoted body and tell little.
const minSecret = 4

// maxRemembered bounds the fetched secrets (OAuth2 access tokens, signed
// JWT assertions) a Redactor keeps; the oldest go first.
const maxRemembered = 16

// Redactor removes an upstream's outbound secrets from text quoted to
// callers or logged: upstream error bodies, fault strings, messages. The
// core makes one per upstream and fills it with the upstream's configured
// credentials (API key, bearer token, basic password, OAuth2 client
// secret, JWT signing secret) and the tokens it fetches or signs (OAuth2
// access tokens, JWT assertions); adapters add the secrets of their own
// blocks (a WS-Security password) and redact what they quote, and the
// core redacts every status an adapter returns once more. Each secret is
// also found URL-encoded, JSON-escaped ("\/") and, for basic credentials,
// as the base64 of the Authorization header. Safe for concurrent use; a nil
// Redactor redacts nothing.
type Redactor struct {
	mu         sync.RWMutex
	static     [][]byte
	remembered [][]byte
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{} }

// Add redacts secret from now on.
func (r *Redactor) Add(secret string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range variants(secret) {
		if !slices.ContainsFunc(r.static, func(b []byte) bool { return bytes.Equal(b, v) }) {
			r.static = append(r.static, v)
		}
	}
}

// AddBasic redacts a basic-auth password and the Authorization header
// value made of user and password.
func (r *Redactor) AddBasic(user, password string) {
	r.Add(password)
	r.Add(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
}

// Remember redacts a fetched or signed secret, one of the last few: tokens
// renewed over a long run do not pile up.
func (r *Redactor) Remember(secret string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range variants(secret) {
		if slices.ContainsFunc(r.remembered, func(b []byte) bool { return bytes.Equal(b, v) }) {
			continue
		}
		if len(r.remembered) >= maxRemembered {
			r.remembered = r.remembered[1:]
		}
		r.remembered = append(r.remembered, v)
	}
}

func variants(secret string) [][]byte {
	if len(secret) < minSecret {
		return nil
	}
	out := [][]byte{[]byte(secret)}
	add := func(v string) {
		if v != secret && !slices.ContainsFunc(out, func(b []byte) bool { return string(b) == v }) {
			out = append(out, []byte(v))
		}
	}
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	add(strings.ReplaceAll(secret, "/", `\/`))
	return out
}

// empty reports whether there is nothing to redact.
func (r *Redactor) empty() bool {
	return r == nil || len(r.static)+len(r.remembered) == 0
}

// Redact returns b with every secret replaced by Redacted; b itself when
// it holds none.
func (r *Redactor) Redact(b []byte) []byte {
	if r == nil {
		return b
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.empty() {
		return b
	}
	for _, list := range [][][]byte{r.static, r.remembered} {
		for _, s := range list {
			if bytes.Contains(b, s) {
				b = bytes.ReplaceAll(b, s, []byte(Redacted))
			}
		}
	}
	return b
}

// String is Redact for a string.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	empty := r.empty()
	r.mu.RUnlock()
	if empty {
		return s
	}
	return string(r.Redact([]byte(s)))
}

// Quote bounds a body read for quoting (read up to max+1 bytes) to max
// bytes with its secrets redacted, and reports whether it was cut. A
// secret that the cut (or the end of what was read, when cut is already
// known) splits is removed too, so that no prefix of it is quoted.
func (r *Redactor) Quote(b []byte, max int64, cut bool) ([]byte, bool) {
	b = r.Redact(b)
	if int64(len(b)) > max {
		b, cut = b[:max], true
	}
	if cut && r != nil {
		r.mu.RLock()
		defer r.mu.RUnlock()
		for _, list := range [][][]byte{r.static, r.remembered} {
			for _, s := range list {
				for k := min(len(s)-1, len(b)); k >= minSecret/2; k-- {
					if bytes.HasSuffix(b, s[:k]) {
						b = append(b[:len(b)-k:len(b)-k], Redacted...)
						break
					}
				}
			}
		}
	}
	return b, cut
}
