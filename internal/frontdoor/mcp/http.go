package mcpfront

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
)

// Path is where the streamable HTTP endpoint is served.
const Path = "/mcp"

// prmPath is the OAuth 2.0 Protected Resource Metadata (RFC 9728) of the
// endpoint, as the MCP authorization spec asks.
const prmPath = "/.well-known/oauth-protected-resource"

// Handler serves streamable HTTP at /mcp (stateless when cfg.MCP says so)
// and, with JWT auth configured, the Protected Resource Metadata. Tool
// calls carry the request's address and, over TLS (the daemon serves the
// listener with server.tls), its verified client certificates as
// Call.Peer, so auth.mtls identifies MCP callers as it does gRPC ones; calls
// without accepted credentials then get 401 with WWW-Authenticate naming
// it. listen is the bound address, for the default resource URL.
func (s *Server) Handler(cfg *config.Config, listen string) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, &mcp.StreamableHTTPOptions{
		Stateless:                    cfg.MCP.Stateless,
		Logger:                       s.log,
		PropagateRequestCancellation: true,
	})
	mux := http.NewServeMux()
	resource := cfg.MCP.ResourceURL
	if resource == "" {
		scheme := "http://"
		if cfg.Server.TLS != nil {
			scheme = "https://"
		}
		resource = scheme + listen + Path
	}
	jwt := len(cfg.Auth.JWT) > 0 && !cfg.Auth.Open
	if jwt {
		var issuers []string
		for _, j := range cfg.Auth.JWT {
			issuers = append(issuers, j.Issuer)
		}
		doc, _ := json.Marshal(map[string]any{
			"resource":                 resource,
			"authorization_servers":    issuers,
			"bearer_methods_supported": []string{"header"},
			"resource_name":            "protobridge MCP",
		})
		prm := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		})
		mux.Handle(prmPath, prm)
		mux.Handle(prmPath+Path, prm)
	}
	metaURL := strings.TrimSuffix(resource, Path)
	if i := strings.Index(metaURL, "://"); i >= 0 {
		if j := strings.Index(metaURL[i+3:], "/"); j >= 0 {
			metaURL = metaURL[:i+3+j]
		}
	}
	metaURL += prmPath + Path
	mux.Handle(Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The caller's address and verified client certificates reach the
		// tool handlers by reference: a value the caller sent in that
		// header is replaced, so it cannot claim another peer.
		peer := peerOf(r)
		ref := rand.Text()
		s.peers.Store(ref, peer)
		defer s.peers.Delete(ref)
		r.Header.Set(peerRefHeader, ref)
		if jwt && r.Method != http.MethodOptions {
			if err := s.authenticate(r, peer); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+metaURL+`"`)
				http.Error(w, "send a bearer token (Authorization: Bearer …) or an API key (x-api-key)", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	return mux
}

// authenticate checks a request's credentials with the guard of a route
// that needs them; nil when it passes or no route does. Allow rules are
// the per-tool check's concern (PERMISSION_DENIED is not 401).
func (s *Server) authenticate(r *http.Request, peer bridge.Peer) error {
	t := s.router.Table()
	md := metadata.MD{}
	for k, v := range r.Header {
		if k != peerRefHeader {
			md[strings.ToLower(k)] = v
		}
	}
	for _, route := range t.Routes() {
		g := t.Guard(route)
		if g == nil || g.Open() {
			continue
		}
		err := g.Allows(r.Context(), &bridge.Call{Route: route, Metadata: md, FrontDoor: FrontDoor, Peer: peer})
		if status.Code(err) == codes.Unauthenticated {
			return err
		}
		return nil
	}
	return nil
}

// peerRefHeader carries the reference of a request's peer (Server.peers)
// from the HTTP handler to the tool handlers; never forwarded upstream.
const peerRefHeader = "Protobridge-Mcp-Peer"

// peerOf is an HTTP request's network peer and verified client
// certificates (the listener serves TLS when server.tls is set).
func peerOf(r *http.Request) bridge.Peer {
	var p bridge.Peer
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		p.Addr = net.TCPAddrFromAddrPort(ap)
	}
	if r.TLS != nil {
		p.VerifiedChains = r.TLS.VerifiedChains
	}
	return p
}

// RunStdio serves MCP over stdin and stdout until ctx ends or stdin
// closes. Tool calls carry the credentials of the environment:
// PROTOBRIDGE_MCP_API_KEY (as x-api-key) or PROTOBRIDGE_MCP_TOKEN (as a
// bearer token).
func (s *Server) RunStdio(ctx context.Context) error {
	return s.RunTransport(ctx, &mcp.StdioTransport{})
}

// RunTransport serves one MCP session over t (stdio in `protobridge
// mcp`, in-memory transports in tests) until it ends.
func (s *Server) RunTransport(ctx context.Context, t mcp.Transport) error {
	md := metadata.MD{}
	if k := os.Getenv("PROTOBRIDGE_MCP_API_KEY"); k != "" {
		md.Set("x-api-key", k)
	}
	if tok := os.Getenv("PROTOBRIDGE_MCP_TOKEN"); tok != "" {
		md.Set("authorization", "Bearer "+tok)
	}
	s.stdioMD = md
	return s.mcp.Run(ctx, t)
}
