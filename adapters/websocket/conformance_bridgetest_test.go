package websocket_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ws "github.com/coder/websocket"
	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/adapters/websocket"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/bridgetest"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestBridgetestConformance runs the adapter conformance suite against a
// WebSocket peer speaking protojson text frames: unary methods on shared
// sockets matched by the id field, streams on a socket each.
func TestBridgetestConformance(t *testing.T) {
	bridgetest.Run(t, bridgetest.Harness{
		Kind:   websocket.Kind,
		Start:  startWSPeer,
		Shapes: bridgetest.Unary | bridgetest.ServerStream | bridgetest.ClientStream | bridgetest.BidiStream,
		// Unary calls share a socket, whose handshake carries no call's
		// request id; each stream's handshake carries its own.
		RequestID: bridgetest.ServerStream | bridgetest.ClientStream | bridgetest.BidiStream,
		FailCode:  codes.Internal, // close code 1011
	})
}

// wsRequest is bridgetest.v1.EchoRequest as protojson.
type wsRequest struct {
	Text string `json:"text"`
	ID   string `json:"id"`
	N    int32  `json:"n"`
	Hold bool   `json:"hold"`
	Last bool   `json:"last"`
}

// wsReply is bridgetest.v1.EchoResponse as protojson.
type wsReply struct {
	Text      string `json:"text,omitempty"`
	ID        string `json:"id,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	Seq       int32  `json:"seq,omitempty"`
}

// startWSPeer serves bridgetest.v1.Echo over WebSocket, one path per method.
func startWSPeer(t *testing.T) *bridgetest.Peer {
	// stop ends every socket's reads when the peer stops.
	stop, cancel := context.WithCancel(context.Background())
	type session struct {
		c   *ws.Conn
		rid string
	}
	read := func(s session) (wsRequest, bool) {
		var in wsRequest
		typ, b, err := s.c.Read(stop)
		if err != nil {
			return in, false
		}
		if typ != ws.MessageText || json.Unmarshal(b, &in) != nil {
			_ = s.c.Close(ws.StatusUnsupportedData, "want a protojson text frame")
			return in, false
		}
		return in, true
	}
	write := func(s session, r wsReply) bool {
		r.RequestID = s.rid
		b, _ := json.Marshal(r)
		return s.c.Write(stop, ws.MessageText, b) == nil
	}
	// drain reads until the caller closes the socket or the peer stops.
	drain := func(s session) {
		for {
			if _, _, err := s.c.Read(stop); err != nil {
				return
			}
		}
	}
	handlers := map[string]func(session){
		"/echo": func(s session) {
			for {
				in, ok := read(s)
				if !ok || !write(s, wsReply{Text: in.Text, ID: in.ID}) {
					return
				}
			}
		},
		"/fail": func(s session) {
			if _, ok := read(s); ok {
				_ = s.c.Close(ws.StatusInternalError, "the peer refuses Fail")
			}
		},
		"/hang": drain,
		"/count": func(s session) {
			in, ok := read(s)
			if !ok {
				return
			}
			for i := int32(1); i <= in.N; i++ {
				if !write(s, wsReply{Text: in.Text, ID: in.ID, Seq: i}) {
					return
				}
			}
			if in.Hold {
				drain(s)
				return
			}
			_ = s.c.Close(ws.StatusNormalClosure, "")
		},
		"/collect": func(s session) {
			var texts []string
			for {
				in, ok := read(s)
				if !ok {
					return
				}
				texts = append(texts, in.Text)
				if in.Last {
					break
				}
			}
			if write(s, wsReply{Text: strings.Join(texts, " "), Seq: int32(len(texts))}) {
				_ = s.c.Close(ws.StatusNormalClosure, "")
			}
		},
		"/chat": func(s session) {
			for seq := int32(1); ; seq++ {
				in, ok := read(s)
				if !ok || !write(s, wsReply{Text: in.Text, ID: in.ID, Seq: seq}) {
					return
				}
				if in.Last {
					_ = s.c.Close(ws.StatusNormalClosure, "")
					return
				}
			}
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handlers[r.URL.Path]
		if h == nil {
			http.NotFound(w, r)
			return
		}
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		h(session{c: c, rid: r.Header.Get("X-Request-Id")})
	}))
	t.Cleanup(func() {
		cancel()
		srv.Close()
	})
	routes := map[string]bridgetest.Route{}
	for method, path := range map[string]string{"Echo": "/echo", "Fail": "/fail", "Hang": "/hang", "Count": "/count", "Collect": "/collect", "Chat": "/chat"} {
		routes[method] = bridgetest.Route{Options: &pbv1.RouteOptions{Websocket: &pbv1.WebSocketRoute{Path: path}}}
	}
	return &bridgetest.Peer{Upstream: &bridge.Upstream{BaseURL: srv.URL}, Routes: routes}
}
