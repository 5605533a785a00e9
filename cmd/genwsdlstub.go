package protobridgecmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/protobridge/protobridge/adapters/soap/protogen"
	"github.com/protobridge/protobridge/adapters/soap/wsdl"
)

// wsdlConfigStub is the config `gen wsdl` writes beside the .proto: the
// upstream its services name, base_url from the first soap:address, and
// credentials placeholders (basic, WS-Security UsernameToken) commented
// out, so serving the service is gen, edit one line, serve.
func wsdlConfigStub(d *wsdl.Definitions, upstream, out, pkg, protoName string) []byte {
	if upstream == "" {
		name := d.Name
		if names := protogen.ServiceNames(d); len(names) > 0 {
			name = names[0]
		}
		upstream = protogen.DefaultUpstream(name)
	}
	var addrs []string
	for _, s := range d.Services {
		for _, p := range s.Ports {
			if p.Address != "" && (strings.HasPrefix(p.Address, "http://") || strings.HasPrefix(p.Address, "https://")) {
				addrs = append(addrs, p.Address)
			}
		}
	}
	root, rel := importRoot(out, pkg, protoName)
	env := strings.ToUpper(upstream)
	var b strings.Builder
	fmt.Fprintf(&b, "# protobridge config for the %s SOAP service, written by `protobridge gen wsdl`.\n", upstream)
	b.WriteString("# Check it with `protobridge check --config FILE`, then `protobridge serve --config FILE`.\n")
	b.WriteString("server:\n  listen: 127.0.0.1:50051\n")
	fmt.Fprintf(&b, "descriptors:\n  import_paths: [%q]\n  protos: [%q]\n", root, rel)
	b.WriteString("auth:\n  open: true                 # local trial only; deployments list api_keys, jwt or mtls\n")
	fmt.Fprintf(&b, "upstreams:\n  %s:\n    kind: soap\n", upstream)
	if len(addrs) > 0 {
		fmt.Fprintf(&b, "    base_url: %q       # the WSDL's soap:address\n", addrs[0])
		seen := map[string]bool{addrs[0]: true}
		for _, a := range addrs[1:] {
			if !seen[a] {
				seen[a] = true
				fmt.Fprintf(&b, "    # other address: %s\n", a)
			}
		}
	} else {
		b.WriteString("    base_url: \"http://127.0.0.1:8080\"   # EDIT: the WSDL names no soap:address\n")
	}
	b.WriteString("    timeout: 30s\n")
	b.WriteString("    # Credentials, if the service wants them: uncomment one line and set its variable.\n")
	fmt.Fprintf(&b, "    # credentials: {basic: {username: EDIT, password: {env: %s_PASSWORD}}}\n", env)
	fmt.Fprintf(&b, "    # soap: {ws_security: {username: EDIT, password: {env: %s_PASSWORD}}}\n", env)
	return []byte(b.String())
}

// writeWSDLStub writes NAME.config.yaml beside the .proto.
func writeWSDLStub(d *wsdl.Definitions, upstream, out, pkg, protoFile string) (string, error) {
	base := strings.TrimSuffix(filepath.Base(protoFile), ".proto")
	p := filepath.Join(out, base+".config.yaml")
	return p, os.WriteFile(p, wsdlConfigStub(d, upstream, out, pkg, filepath.Base(protoFile)), 0o644)
}
