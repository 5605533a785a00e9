package schema_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/schema"
)

// TestCheckFindsWhatIsWrong feeds configs with one mistake each and wants
// the problem at the key's line, worded without the value written there.
func TestCheckFindsWhatIsWrong(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		msg, hint  string
	}{
		{"unknown key", "server:\n  listn: 127.0.0.1:1\n", 2, `unknown key "listn" in server`, "listen"},
		{"duration as a number", "upstreams:\n  shop:\n    kind: rest\n    timeout: 10\n", 4, "upstreams.shop.timeout is a number; it takes a string", "duration"},
		{"duration in a wrong form", "upstreams:\n  shop:\n    kind: rest\n    timeout: ten seconds\n", 4, "upstreams.shop.timeout is not written in the form it takes", "10s"},
		{"inline secret", "admin:\n  listen: 127.0.0.1:9090\n  token: abc123\n", 3, "admin.token is a string; it takes a block of keys", "{env: VAR}"},
		{"secret with both", "admin:\n  token: {env: A, file: b}\n", 2, "admin.token is not written in a form it takes", "{env: VAR}"},
		{"size", "server:\n  max_recv_bytes: 4 lots\n", 2, "server.max_recv_bytes is not written in a form it takes", "4MiB"},
		{"adapter block key", "upstreams:\n  shop:\n    kind: rest\n    rest: {json_int64: number, jsn_names: x}\n", 4, `unknown key "jsn_names" in upstreams.shop.rest`, "json_names"},
		{"route list item", "routes:\n  - method: a.B/C\n  - method: a.B/D\n    timout: 1s\n", 4, `unknown key "timout" in routes[1]`, "timeout"},
		{"top", "srever: {}\n", 1, `unknown key "srever" in the config`, "server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := schema.Check("x.yaml", []byte(c.yaml))
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %d: %v", len(ps), ps)
			}
			p := ps[0]
			if p.Pos.Line != c.line || p.Pos.File != "x.yaml" {
				t.Errorf("at %s, want x.yaml:%d", p.Pos, c.line)
			}
			if p.Msg != c.msg {
				t.Errorf("message %q, want %q", p.Msg, c.msg)
			}
			if !strings.Contains(p.Hint, c.hint) {
				t.Errorf("hint %q does not mention %q", p.Hint, c.hint)
			}
			for _, secret := range []string{"abc123", "ten seconds", "lots"} {
				if strings.Contains(p.String(), secret) {
					t.Errorf("problem quotes the value %q: %s", secret, p)
				}
			}
		})
	}
}

// TestCheckAcceptsAFullConfig checks a config using every kind of value.
func TestCheckAcceptsAFullConfig(t *testing.T) {
	cfg := `
server: {listen: 127.0.0.1:50051, shutdown_grace: 1m30s, max_recv_bytes: 4MiB, max_send_bytes: 1048576, reflection: false, log_format: json}
admin: {listen: 127.0.0.1:9090, token: {env: ADMIN_TOKEN}}
descriptors: {import_paths: [proto], protos: [a/v1/a.proto]}
auth:
  api_keys: [{id: ci, sha256: 0000000000000000000000000000000000000000000000000000000000000000}]
upstreams:
  shop:
    kind: rest
    base_url: http://127.0.0.1:4010
    status_codes: {409: ALREADY_EXISTS}
    credentials: {basic: {username: u, password: {file: pw.txt}}}
    policies: {retry: {attempts: 3, initial_backoff: 100ms}, fallback: {static: {name: x}}}
    rest: {json_int64: string}
  calc: {kind: soap, base_url: http://127.0.0.1:1, soap: {xml_lax: true}}
  chat: {kind: websocket, base_url: ws://127.0.0.1:2, websocket: {json_names: lower_camel}}
  kv: {kind: kv, base_url: file:kv.json, kv: {anything: here}}
routes:
  - method: a.v1.S/Get
    upstream: shop
    http: {get: /things/{id}}
    rest: {stream: {end: "[DONE]", max_event_bytes: 64KiB}}
  - method: a.v1.S/Chat
    upstream: chat
    websocket: {path: /chat, reconnect: {max_attempts: 3}}
state: {backend: redis, address: 127.0.0.1:6379, password: {env: REDIS_PASSWORD}}
mcp: {listen: 127.0.0.1:8765, tools: {a.v1.S/Get: {name: get}}}
`
	if ps := schema.Check("full.yaml", []byte(cfg)); len(ps) > 0 {
		t.Fatalf("a valid config has problems:\n%v", ps)
	}
}

var modeline = regexp.MustCompile(`(?m)^# yaml-language-server: \$schema=(\S+)$`)

// TestExampleConfigsCarryTheSchema wants every example config to name the
// schema in a yaml-language-server modeline (a path that exists) and to
// pass Check.
func TestExampleConfigsCarryTheSchema(t *testing.T) {
	var configs []string
	for _, glob := range []string{"../examples/*/*.yaml", "../examples/*/*/*.yaml", "../examples/*/*.yaml.tmpl"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		configs = append(configs, m...)
	}
	if len(configs) < 3 {
		t.Fatalf("found only %v", configs)
	}
	for _, f := range configs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := modeline.FindSubmatch(data)
		if m == nil {
			t.Errorf("%s has no `# yaml-language-server: $schema=` modeline", f)
			continue
		}
		if strings.HasSuffix(f, ".tmpl") {
			continue // written beside the rendered config; examples/demo checks it
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(f), string(m[1]))); err != nil {
			t.Errorf("%s: the modeline's schema path: %v", f, err)
		}
		if ps := schema.Check(f, data); len(ps) > 0 {
			t.Errorf("%s:\n%v", f, ps)
		}
	}
}
