package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/protobridge/protobridge/bridge"
)

// A canonical request is a sorted list of "where = what" lines: the
// compared headers, the query, and the body as an infoset — JSON objects
// are order-insensitive, XML is read with namespace URIs (never prefixes),
// attributes unordered and blank text dropped. Two requests match when
// their lines are equal; the lines that differ are the difference shown
// when none matches.

// ignoredHeaders are never compared: credentials, tracing, transport and
// per-connection headers.
var ignoredHeaders = []string{"Traceparent", "Tracestate", "Baggage", "User-Agent", "Content-Length", "Accept-Encoding", "Connection", "Date",
	"X-Request-Id", "Idempotency-Key", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Upgrade", "Last-Event-Id"}

// wsseNS is WS-Security's namespace: its header (nonce, created, digest)
// changes with every call and is never compared.
const wsseNS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

type canonicalizer struct {
	headers []string // also ignored, canonical names
	fields  map[string]bool
}

func newCanonicalizer(m MatchConfig) *canonicalizer {
	c := &canonicalizer{fields: map[string]bool{}}
	for _, h := range append(append(slices.Clone(ignoredHeaders), secretHeaders...), m.IgnoreHeaders...) {
		c.headers = append(c.headers, http.CanonicalHeaderKey(h))
	}
	for _, f := range m.IgnoreFields {
		c.fields[f] = true
	}
	return c
}

// request is the canonical form of a request's headers, query and body.
// A header or query value holding a redacted secret is left out: it says
// nothing about which call it is, and a replay sends no credentials.
func (c *canonicalizer) request(h []NameValue, q []NameValue, body []byte) []string {
	var lines []string
	for _, kv := range h {
		if k := http.CanonicalHeaderKey(kv.Name); !slices.Contains(c.headers, k) && !strings.Contains(kv.Value, bridge.Redacted) {
			lines = append(lines, "header "+k+" = "+kv.Value)
		}
	}
	for _, kv := range q {
		if !c.fields[kv.Name] && !strings.Contains(kv.Value, bridge.Redacted) {
			lines = append(lines, "query "+kv.Name+" = "+kv.Value)
		}
	}
	lines = append(lines, c.body(body)...)
	sort.Strings(lines)
	return lines
}

// body is the canonical form of a body or frame.
func (c *canonicalizer) body(b []byte) []string {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil
	}
	var lines []string
	switch t[0] {
	case '{', '[':
		var v any
		d := json.NewDecoder(bytes.NewReader(t))
		d.UseNumber()
		if d.Decode(&v) == nil {
			c.json(&lines, "$", v)
			sort.Strings(lines)
			return lines
		}
	case '<':
		if l, ok := c.xml(t); ok {
			sort.Strings(l)
			return l
		}
	}
	return []string{"body = " + string(t)}
}

func (c *canonicalizer) json(lines *[]string, path string, v any) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			*lines = append(*lines, path+" = {}")
		}
		for k, x := range t {
			if !c.fields[k] {
				c.json(lines, path+"."+k, x)
			}
		}
	case []any:
		if len(t) == 0 {
			*lines = append(*lines, path+" = []")
		}
		for i, x := range t {
			c.json(lines, fmt.Sprintf("%s[%d]", path, i), x)
		}
	default:
		b, _ := json.Marshal(t)
		*lines = append(*lines, path+" = "+string(b))
	}
}

// xml reads an XML document as infoset lines: each element by its path of
// {namespace}local names with the index among same-named siblings, its
// attributes (xmlns declarations excluded) and its non-blank text.
func (c *canonicalizer) xml(b []byte) ([]string, bool) {
	d := xml.NewDecoder(bytes.NewReader(b))
	type frame struct {
		path   string
		counts map[string]int
		kids   int // children compared
		text   strings.Builder
		skip   bool
	}
	stack := []*frame{{counts: map[string]int{}}}
	var lines []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return lines, len(stack) == 1
		}
		if err != nil {
			return nil, false
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			name := "{" + t.Name.Space + "}" + t.Name.Local
			i := top.counts[name]
			top.counts[name]++
			f := &frame{path: fmt.Sprintf("%s/%s[%d]", top.path, name, i), counts: map[string]int{}, skip: top.skip || c.fields[t.Name.Local] || (t.Name.Space == wsseNS && t.Name.Local == "Security")}
			if !f.skip {
				top.kids++
			}
			if !f.skip {
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || c.fields[a.Name.Local] {
						continue
					}
					lines = append(lines, f.path+"/@{"+a.Name.Space+"}"+a.Name.Local+" = "+a.Value)
				}
			}
			stack = append(stack, f)
		case xml.CharData:
			top.text.Write(t)
		case xml.EndElement:
			if len(stack) == 1 {
				return nil, false
			}
			if s := strings.TrimSpace(top.text.String()); !top.skip && (s != "" || top.kids == 0) {
				lines = append(lines, top.path+" = "+s)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// diff lists what differs between a recorded and a live canonical
// request.
func diff(recorded, live []string) (missing, extra []string) {
	rs, ls := map[string]int{}, map[string]int{}
	for _, l := range recorded {
		rs[l]++
	}
	for _, l := range live {
		ls[l]++
	}
	for _, l := range recorded {
		if ls[l] > 0 {
			ls[l]--
			continue
		}
		missing = append(missing, l)
	}
	for _, l := range live {
		if rs[l] > 0 {
			rs[l]--
			continue
		}
		extra = append(extra, l)
	}
	return missing, extra
}

// distance is how many lines differ.
func distance(recorded, live []string) int {
	m, e := diff(recorded, live)
	return len(m) + len(e)
}

// wsseHeader matches a WS-Security header block.
var wsseHeader = regexp.MustCompile(`(?s)<(\w+:)?Security\b[^>]*` + regexp.QuoteMeta(wsseNS) + `.*?</(\w+:)?Security>`)
