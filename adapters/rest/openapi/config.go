package openapi

import (
	"fmt"
	"slices"
	"strings"
)

// StubOptions place the generated files for the config stub.
type StubOptions struct {
	// ImportPath is the descriptors import path (the directory the proto
	// path is relative to), relative to where the config will live.
	ImportPath string
	// ProtoPath is the .proto's path under ImportPath.
	ProtoPath string
	// Listen is the gRPC address (default 127.0.0.1:50051).
	Listen string
}

// ConfigStub is a config that serves the generated file: the upstream with
// base_url from the spec's first server and credentials placeholders from
// its security schemes (a commented credentials block, one line per
// scheme), and routes entries for header parameters. Serving
// the API is: gen, set the credentials' variables (or edit base_url),
// serve.
func ConfigStub(s *Spec, f *File, o StubOptions) []byte {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:50051"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# protobridge config for %s, written by `protobridge gen openapi`.\n", yamlComment(s.Title))
	b.WriteString("# Check it with `protobridge check --config FILE`, then `protobridge serve --config FILE`.\n")
	fmt.Fprintf(&b, "server:\n  listen: %s\n", o.Listen)
	fmt.Fprintf(&b, "descriptors:\n  import_paths: [%s]\n  protos: [%s]\n", yamlString(o.ImportPath), yamlString(o.ProtoPath))
	b.WriteString("auth:\n  open: true                 # local trial only; deployments list api_keys, jwt or mtls\n")
	b.WriteString("upstreams:\n")
	fmt.Fprintf(&b, "  %s:\n    kind: rest\n", f.Upstream)
	base := "http://127.0.0.1:8080"
	switch {
	case len(s.Servers) > 0 && (strings.HasPrefix(s.Servers[0], "http://") || strings.HasPrefix(s.Servers[0], "https://")):
		base = s.Servers[0]
		fmt.Fprintf(&b, "    base_url: %s       # from the spec's servers\n", yamlString(base))
	case len(s.Servers) > 0:
		fmt.Fprintf(&b, "    base_url: %s   # EDIT: the spec's server is %s (relative)\n", yamlString(base), yamlComment(s.Servers[0]))
	default:
		fmt.Fprintf(&b, "    base_url: %s   # EDIT: the spec names no server\n", yamlString(base))
	}
	for _, sv := range s.Servers[min(1, len(s.Servers)):] {
		fmt.Fprintf(&b, "    # other server: %s\n", yamlComment(sv))
	}
	b.WriteString("    timeout: 30s\n")
	env := strings.ToUpper(f.Upstream)
	var creds []string
	for _, sc := range s.Security {
		var c string
		switch {
		case sc.Type == "apiKey" && sc.In == "header":
			c = fmt.Sprintf("api_key: {header: %s, value: {env: %s_API_KEY}}", yamlString(sc.ParamName), env)
		case sc.Type == "apiKey" && sc.In == "query":
			c = fmt.Sprintf("api_key: {query: %s, value: {env: %s_API_KEY}}", yamlString(sc.ParamName), env)
		case sc.Type == "http" && sc.Scheme == "bearer":
			c = fmt.Sprintf("bearer: {env: %s_TOKEN}", env)
		case sc.Type == "http" && sc.Scheme == "basic":
			c = fmt.Sprintf("basic: {username: EDIT, password: {env: %s_PASSWORD}}", env)
		case sc.Type == "oauth2" && sc.TokenURL != "":
			scopes := make([]string, len(sc.Scopes))
			for i, s := range sc.Scopes {
				scopes[i] = yamlString(s)
			}
			c = fmt.Sprintf("oauth2: {token_url: %s, client_id: EDIT, client_secret: {env: %s_CLIENT_SECRET}, scopes: [%s]}",
				yamlString(sc.TokenURL), env, strings.Join(scopes, ", "))
		case sc.Type == "oauth2" || sc.Type == "openIdConnect":
			// No client-credentials flow: a token obtained elsewhere.
			c = fmt.Sprintf("bearer: {env: %s_TOKEN}", env)
		default:
			continue
		}
		creds = append(creds, fmt.Sprintf("%s\x00%s", yamlComment(sc.Name), c))
	}
	if len(creds) > 0 {
		b.WriteString("    # Credentials from the spec's security schemes: uncomment `credentials:` and\n")
		b.WriteString("    # the schemes the operations you call need (an api_key may go beside one\n")
		b.WriteString("    # other kind; one line per kind), and set their variables (check refuses a\n")
		b.WriteString("    # variable that is not set).\n")
		b.WriteString("    # credentials:\n")
		for _, c := range creds {
			scheme, body, _ := strings.Cut(c, "\x00")
			fmt.Fprintf(&b, "    #   %s   # security scheme %s\n", body, scheme)
		}
	}
	if len(f.Routes) > 0 {
		b.WriteString("routes:                    # header parameters: request fields sent as headers\n")
		for _, r := range f.Routes {
			fields := make([]string, 0, len(r.Headers))
			for k := range r.Headers {
				fields = append(fields, k)
			}
			slices.Sort(fields)
			var hs []string
			for _, k := range fields {
				hs = append(hs, k+": "+yamlString(r.Headers[k]))
			}
			fmt.Fprintf(&b, "  - method: %s\n    rest: {headers: {%s}}\n", r.Method, strings.Join(hs, ", "))
		}
	}
	return []byte(b.String())
}

// yamlString quotes s for YAML flow context.
func yamlString(s string) string {
	return fmt.Sprintf("%q", s)
}

func yamlComment(s string) string {
	return strings.Join(strings.Fields(clean(s)), " ")
}
