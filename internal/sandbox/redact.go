package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/protobridge/protobridge/bridge"
)

// secretHeaders are never recorded with their values.
var secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key", "X-Auth-Token", "X-Amz-Security-Token"}

// secretQuery are query parameters never recorded with their values.
var secretQuery = []string{"api_key", "apikey", "api-key", "key", "token", "access_token", "auth", "password", "secret", "client_secret", "signature", "sig"}

// redaction removes secrets from what is recorded: the upstream's
// Redactor (its credentials, fetched tokens and the secrets of its
// adapter block, such as a WS-Security password), secret header and query
// names, and the configured body fields.
type redaction struct {
	red    *bridge.Redactor
	query  []string
	fields []fieldRE       // XML elements and attributes
	names  map[string]bool // JSON keys
}

type fieldRE struct {
	re   *regexp.Regexp
	repl []byte
}

func newRedaction(red *bridge.Redactor, c Config) *redaction {
	r := &redaction{red: red, names: map[string]bool{}}
	for _, q := range append(slices.Clone(secretQuery), c.RedactQuery...) {
		r.query = append(r.query, strings.ToLower(q))
	}
	for _, f := range c.RedactFields {
		r.names[strings.ToLower(f)] = true
		q := regexp.QuoteMeta(f)
		r.fields = append(r.fields,
			fieldRE{regexp.MustCompile(`(?s)(<(?:[\w.-]+:)?` + q + `(?:\s[^>]*)?>)(?:<!\[CDATA\[.*?\]\]>|[^<])*(</(?:[\w.-]+:)?` + q + `\s*>)`), []byte("${1}" + bridge.Redacted + "${2}")},
			fieldRE{regexp.MustCompile(`(\s(?:[\w.-]+:)?` + q + `\s*=\s*)(?:"[^"]*"|'[^']*')`), []byte(`${1}"` + bridge.Redacted + `"`)})
	}
	return r
}

func (r *redaction) secretHeader(name string) bool {
	return slices.ContainsFunc(secretHeaders, func(h string) bool { return strings.EqualFold(h, name) })
}

// headers lists h sorted, secrets redacted.
// secretsKey carries the header and query names of a request whose
// values are recorded redacted (WithSecrets).
type secretsKey struct{}

type secrets struct {
	header http.Header
	query  url.Values
}

// WithSecrets marks the headers named in h and the query parameters named
// in q as secret for the requests made with ctx: recordings hold their
// values redacted and replay leaves them out of matching. The mapping
// transport marks what a route's map: computes (often a credential taken
// from the caller).
func WithSecrets(ctx context.Context, h http.Header, q url.Values) context.Context {
	if len(h) == 0 && len(q) == 0 {
		return ctx
	}
	return context.WithValue(ctx, secretsKey{}, secrets{h, q})
}

func secretsOf(ctx context.Context) secrets {
	s, _ := ctx.Value(secretsKey{}).(secrets)
	return s
}

// requestHeaders are a request's headers as recorded: headers(), with the
// values of the headers WithSecrets marked redacted too.
func (r *redaction) requestHeaders(req *http.Request) []NameValue {
	out := r.headers(req.Header)
	if marked := secretsOf(req.Context()).header; marked != nil {
		for i, kv := range out {
			if _, ok := marked[http.CanonicalHeaderKey(kv.Name)]; ok {
				out[i].Value = bridge.Redacted
			}
		}
	}
	return out
}

// requestURL is a request's URL and query as recorded: url(), with the
// values of the query parameters WithSecrets marked redacted too.
func (r *redaction) requestURL(req *http.Request) (string, []NameValue) {
	return r.url(req.URL, secretsOf(req.Context()).query)
}

func (r *redaction) headers(h http.Header) []NameValue {
	out := []NameValue{}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			if r.secretHeader(k) {
				v = bridge.Redacted
			} else {
				v = r.red.String(v)
			}
			out = append(out, NameValue{Name: k, Value: v})
		}
	}
	return out
}

// url returns u with secret query values and user info redacted, and the
// query as HAR lists it.
func (r *redaction) url(u *url.URL, marked url.Values) (string, []NameValue) {
	c := *u
	c.User = nil
	qs := []NameValue{}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for i, v := range q[k] {
			if _, ok := marked[k]; ok || slices.Contains(r.query, strings.ToLower(k)) {
				v = bridge.Redacted
			} else {
				v = r.red.String(v)
			}
			q[k][i] = v
			qs = append(qs, NameValue{Name: k, Value: v})
		}
	}
	c.RawQuery = q.Encode()
	return r.red.String(c.String()), qs
}

// notRecorded stands for a body whose configured fields could not be
// found because it could not be parsed: it is not recorded at all.
const notRecorded = "[NOT RECORDED: body could not be parsed for redaction]"

// record is what is recorded of a body of content type ct: redacted
// whole, then cut to limit bytes; cut says b is already a cut read. No
// prefix of a secret split by a cut is kept, and when fields are
// configured, a body that cannot be parsed (or that was cut before it
// could be redacted, other than a stream, whose cut last line is) is
// replaced by notRecorded.
// The result reports whether anything was cut.
func (r *redaction) record(b []byte, ct string, limit int, cut bool) ([]byte, bool) {
	if cut && len(r.names) > 0 && isStream(ct) {
		// the last line is cut short: its fields cannot be told apart
		i := bytes.LastIndexByte(b, '\n') + 1
		b = append(b[:i:i], notRecorded...)
	}
	out, ok := r.body(b, ct)
	if !ok || (cut && len(r.names) > 0 && !isStream(ct)) {
		return []byte(notRecorded), cut || len(b) > limit
	}
	return r.red.Quote(out, int64(limit), cut)
}

// body returns b, of content type ct, with secrets and configured fields
// redacted; false when fields are configured and b cannot be parsed to
// find them. Event streams are redacted per data payload, NDJSON per line;
// a line that cannot be parsed is replaced by notRecorded.
func (r *redaction) body(b []byte, ct string) ([]byte, bool) {
	b = r.red.Redact(bytes.Clone(b))
	if len(r.names) == 0 {
		return b, true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "text/event-stream":
		out, _ := r.lines(b, func(l []byte) ([]byte, bool) {
			if p, ok := bytes.CutPrefix(l, []byte("data:")); ok {
				sp := bytes.HasPrefix(p, []byte(" "))
				v, ok := r.value(bytes.TrimPrefix(p, []byte(" ")))
				if sp {
					v = append([]byte(" "), v...)
				}
				return append([]byte("data:"), v...), ok
			}
			return l, true
		})
		return out, true
	case isStream(ct):
		out, _ := r.lines(b, r.value)
		return out, true
	case mt == "application/x-www-form-urlencoded":
		return r.form(b)
	}
	return r.value(b)
}

// lines redacts each line of b with f; a line f cannot parse becomes
// notRecorded, so that nothing else is lost. The result is false when
// any line could not be parsed.
func (r *redaction) lines(b []byte, f func([]byte) ([]byte, bool)) ([]byte, bool) {
	var out []byte
	all := true
	for len(b) > 0 {
		l, rest, nl := bytes.Cut(b, []byte("\n"))
		b = rest
		cr := bytes.HasSuffix(l, []byte("\r"))
		l = bytes.TrimSuffix(l, []byte("\r"))
		v, ok := f(l)
		if !ok {
			v, all = []byte(notRecorded), false
		}
		out = append(out, v...)
		if cr {
			out = append(out, '\r')
		}
		if nl {
			out = append(out, '\n')
		}
	}
	return out, all
}

// value redacts one JSON document (or several, one per line), or an XML
// or text body; false when it looks like JSON but does not parse.
func (r *redaction) value(b []byte) ([]byte, bool) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		for _, f := range r.fields {
			b = f.re.ReplaceAll(b, f.repl)
		}
		return b, true
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(t))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if d.More() || d.InputOffset() < int64(len(t)) && len(bytes.TrimSpace(t[d.InputOffset():])) > 0 {
		if !bytes.Contains(t, []byte("\n")) {
			return nil, false
		}
		return r.lines(b, r.value)
	}
	if !r.jsonFields(v) {
		return b, true
	}
	out, err := json.Marshal(v)
	return out, err == nil
}

// form redacts the configured fields of a URL-encoded form, keeping the
// order of its pairs.
func (r *redaction) form(b []byte) ([]byte, bool) {
	pairs := strings.Split(string(b), "&")
	for i, p := range pairs {
		k, _, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return nil, false
		}
		if r.names[strings.ToLower(name)] {
			pairs[i] = k + "=" + url.QueryEscape(bridge.Redacted)
		}
	}
	return []byte(strings.Join(pairs, "&")), true
}

// jsonFields redacts the configured keys in v; true when any was found.
func (r *redaction) jsonFields(v any) bool {
	found := false
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if r.names[strings.ToLower(k)] {
				t[k], found = bridge.Redacted, true
			} else if r.jsonFields(x) {
				found = true
			}
		}
	case []any:
		for _, x := range t {
			if r.jsonFields(x) {
				found = true
			}
		}
	}
	return found
}

// redacted is r.body(b, ct), notRecorded when b cannot be parsed, as the
// recorder would have written it.
func redacted(r *redaction, b []byte, ct string) []byte {
	out, ok := r.body(b, ct)
	if !ok {
		return []byte(notRecorded)
	}
	return out
}
