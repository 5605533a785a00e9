package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/protobridge/protobridge/bridge"
	"gopkg.in/yaml.v3"
)

// Listener is one address the config has the daemon listen on.
type Listener struct {
	// Key is the config key: server.listen, admin.listen, mcp.listen or webhooks.listen.
	Key string
	// Addr is its host:port.
	Addr string
	// Pos is where the key is written (the file alone when it is not).
	Pos bridge.Pos
}

// Listeners returns the addresses the daemon listens on: server.listen
// always, admin.listen, mcp.listen and webhooks.listen when set.
func (c *Config) Listeners() []Listener {
	var out []Listener
	for _, l := range []Listener{{Key: "server.listen", Addr: c.Server.Listen}, {Key: "admin.listen", Addr: c.Admin.Listen}, {Key: "mcp.listen", Addr: c.MCP.Listen}, {Key: "webhooks.listen", Addr: c.Webhooks.Listen}} {
		if l.Addr == "" {
			continue
		}
		sec, key, _ := strings.Cut(l.Key, ".")
		l.Pos = c.at(sec, key)
		out = append(out, l)
	}
	return out
}

// ListenProblem words a failure to listen on l as a problem at its key.
func ListenProblem(l Listener, err error) bridge.Problem {
	p := bridge.Problem{Pos: l.Pos, Msg: fmt.Sprintf("%s %s: cannot listen: %v", l.Key, l.Addr, err)}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		p.Msg = fmt.Sprintf("%s %s is in use by another process", l.Key, l.Addr)
		p.Hint = "stop what listens there, or choose another port; port 0 picks a free one"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		p.Msg = fmt.Sprintf("%s %s is not an address of this machine", l.Key, l.Addr)
		p.Hint = "use 127.0.0.1, 0.0.0.0 or an address of one of this machine's interfaces"
	case errors.Is(err, syscall.EACCES):
		p.Hint = "ports below 1024 need privileges: use a higher port"
	}
	return p
}

// CheckListeners tries each listen address and closes it at once: what
// check warns about before serve would fail.
func (c *Config) CheckListeners() bridge.Problems {
	var ps bridge.Problems
	for _, l := range c.Listeners() {
		lis, err := net.Listen("tcp", l.Addr)
		if err != nil {
			ps = append(ps, ListenProblem(l, err))
			continue
		}
		_ = lis.Close()
	}
	return ps
}

// at is the position of the key at a path in the config text (mapping keys,
// or list indices as numbers): the deepest of them written, line 1 when
// not even the first is (a default, or a config built in code).
func (c *Config) at(path ...string) bridge.Pos {
	pos := bridge.Pos{File: c.File, Line: 1}
	n := c.doc
	for _, k := range path {
		if n == nil {
			break
		}
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					pos.Line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				pos.Line = next.Line
			}
		}
		n = next
	}
	return pos
}
