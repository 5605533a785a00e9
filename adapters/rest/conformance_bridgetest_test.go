package rest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/adapters/rest"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/bridgetest"
)

// TestBridgetestConformance runs the adapter conformance suite against a
// REST peer: JSON bodies for the unary methods, Server-Sent Events for Count.
func TestBridgetestConformance(t *testing.T) {
	bridgetest.Run(t, bridgetest.Harness{
		Kind:      rest.Kind,
		Start:     startRESTPeer,
		Shapes:    bridgetest.Unary | bridgetest.ServerStream,
		RequestID: bridgetest.Unary | bridgetest.ServerStream,
		FailCode:  codes.NotFound,
	})
}

// echoBody is bridgetest.v1.EchoRequest as the adapter writes it in JSON.
type echoBody struct {
	Text string `json:"text"`
	ID   string `json:"id"`
	N    int32  `json:"n"`
	Hold bool   `json:"hold"`
}

// echoReply is bridgetest.v1.EchoResponse in JSON.
type echoReply struct {
	Text      string `json:"text"`
	ID        string `json:"id,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	Seq       int32  `json:"seq,omitempty"`
}

// startRESTPeer serves bridgetest.v1.Echo as a REST API: POST /v1/echo,
// /v1/fail and /v1/hang with JSON bodies, and POST /v1/count answering
// text/event-stream.
func startRESTPeer(t *testing.T) *bridgetest.Peer {
	stop := make(chan struct{})
	read := func(w http.ResponseWriter, r *http.Request) (echoBody, bool) {
		var in echoBody
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			http.Error(w, "want JSON, got "+ct, http.StatusUnsupportedMediaType)
			return in, false
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return in, false
		}
		return in, true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/echo", func(w http.ResponseWriter, r *http.Request) {
		in, ok := read(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoReply{Text: in.Text, ID: in.ID, RequestID: r.Header.Get("X-Request-Id")})
	})
	mux.HandleFunc("POST /v1/fail", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no such thing"}`))
	})
	mux.HandleFunc("POST /v1/hang", func(w http.ResponseWriter, r *http.Request) {
		// net/http notices the client going away only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	mux.HandleFunc("POST /v1/count", func(w http.ResponseWriter, r *http.Request) {
		in, ok := read(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := int32(1); i <= in.N; i++ {
			b, _ := json.Marshal(echoReply{Text: in.Text, ID: in.ID, RequestID: r.Header.Get("X-Request-Id"), Seq: i})
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", i, b)
		}
		w.(http.Flusher).Flush()
		if in.Hold {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	post := func(path string) bridgetest.Route {
		return bridgetest.Route{HTTP: &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: path}, Body: "*"}}
	}
	return &bridgetest.Peer{
		Upstream: &bridge.Upstream{BaseURL: srv.URL},
		Routes: map[string]bridgetest.Route{
			"Echo":  post("/v1/echo"),
			"Fail":  post("/v1/fail"),
			"Hang":  post("/v1/hang"),
			"Count": post("/v1/count"),
			// Client and bidi streams have no REST mapping: Bind must
			// refuse them even with a binding.
			"Collect": post("/v1/collect"),
			"Chat":    post("/v1/chat"),
		},
	}
}
