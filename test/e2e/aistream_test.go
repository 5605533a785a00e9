package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	ws "github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/test/internal/proc"
)

// aiProto is what a user writes for an AI-style API: snake_case fields
// that the API spells the same, an SSE completion stream that ends with
// [DONE], and realtime WebSocket streams whose peer says "done" in a frame.
const aiProto = `syntax = "proto3";
package ai.v1;
import "google/api/annotations.proto";
import "protobridge/v1/options.proto";

service ChatService {
  option (protobridge.v1.service).upstream = "ai";
  rpc CreateCompletion(CompletionRequest) returns (stream CompletionChunk) {
    option (google.api.http) = {post: "/v1/chat/completions" body: "*"};
  }
}

service RealtimeService {
  option (protobridge.v1.service).upstream = "rt";
  rpc Listen(ListenRequest) returns (stream RealtimeEvent) {
    option (protobridge.v1.route).websocket = {path: "/v1/realtime/{session_id}"};
  }
  rpc Talk(stream RealtimeEvent) returns (stream RealtimeEvent) {
    option (protobridge.v1.route).websocket = {path: "/v1/talk"};
  }
}

message CompletionRequest {
  string model = 1;
  int32 max_tokens = 2;
  bool stream = 3;
  repeated ChatMessage messages = 4;
}
message ChatMessage { string role = 1; string content = 2; }
message CompletionChunk { string id = 1; repeated Choice choices = 2; }
message Choice { Delta delta = 1; string finish_reason = 2; }
message Delta { string content = 1; }
message ListenRequest { string session_id = 1; string input_text = 2; }
message RealtimeEvent { string type = 1; string delta_text = 2; }
`

// aiPeer is an OpenAI-style API: POST /v1/chat/completions streams SSE
// chunks (keep-alive comments between them) and then data: [DONE], and
// keeps the connection open after it, as some servers do; model
// "overloaded" gets an error event instead. /v1/realtime/{id} and /v1/talk
// are WebSockets that send a {"type":"done"} frame and wait for the client
// to close. Requests spelled in lowerCamelCase are refused.
type aiPeer struct {
	*httptest.Server
	closes chan string
}

func startAIPeer(t *testing.T) *aiPeer {
	p := &aiPeer{closes: make(chan string, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || req["max_tokens"] == nil || req["maxTokens"] != nil {
			http.Error(w, "want max_tokens: "+string(body), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		if req["model"] == "overloaded" {
			_, _ = io.WriteString(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
			fl.Flush()
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, ": keep-alive\n\n")
		for _, word := range []string{"Hello", " world"} {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word)
			_, _ = io.WriteString(w, ": ping\n\n")
			fl.Flush()
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		fl.Flush()
		<-r.Context().Done() // the bridge must end the call, not wait for EOF
	})
	realtime := func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx := r.Context()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				p.closes <- r.URL.Path + " " + fmt.Sprint(ws.CloseStatus(err))
				return
			}
			var ev map[string]any
			if json.Unmarshal(data, &ev) != nil || ev["inputText"] != nil || ev["deltaText"] != nil {
				_ = c.Close(ws.StatusPolicyViolation, "want snake_case: "+string(data))
				return
			}
			switch {
			case ev["input_text"] != nil: // Listen's request
				_ = c.Write(ctx, ws.MessageText, []byte(`{"type":"delta","delta_text":"Hi `+strings.TrimPrefix(r.URL.Path, "/v1/realtime/")+`"}`))
				_ = c.Write(ctx, ws.MessageText, []byte(`{"type":"done"}`))
			case ev["type"] == "input.commit": // Talk's half-close
				_ = c.Write(ctx, ws.MessageText, []byte(`{"type":"delta","delta_text":"answer"}`))
				_ = c.Write(ctx, ws.MessageText, []byte(`{"type":"done"}`))
			default:
				_ = c.Write(ctx, ws.MessageText, []byte(`{"type":"ack","delta_text":"`+fmt.Sprint(ev["delta_text"])+`"}`))
			}
		}
	}
	mux.HandleFunc("/v1/realtime/{id}", realtime)
	mux.HandleFunc("/v1/talk", realtime)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// TestAIStreaming drives an AI-style API through the daemon: snake_case
// bodies and frames as the .proto spells them, an SSE stream ended by
// [DONE] with OK, an SSE error event as a status, a WebSocket stream ended
// by a done frame with OK (socket closed 1000), and a bidi caller's
// half-close sent on as a declared frame.
func TestAIStreaming(t *testing.T) {
	t.Parallel()
	peer := startAIPeer(t)
	dir := t.TempDir()
	proc.WriteFile(t, filepath.Join(dir, "ai", "v1"), "ai.proto", aiProto)
	wsURL := "ws" + strings.TrimPrefix(peer.URL, "http")
	config := proc.WriteFile(t, dir, "ai.yaml", `server:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [`+dir+`]
  protos: [ai/v1/ai.proto]
auth:
  open: true
upstreams:
  ai:
    kind: rest
    base_url: `+peer.URL+`
  rt:
    kind: websocket
    base_url: `+wsURL+`
routes:
  - method: ai.v1.RealtimeService/Listen
    websocket: {end: {field: type, value: done}}
  - method: ai.v1.RealtimeService/Talk
    websocket: {end: {field: type, value: done}, half_close: send, half_close_frame: '{"type":"input.commit"}'}
`)
	d := startDaemon(t, config)
	fd, err := compileProto(dir, "ai/v1/ai.proto")
	if err != nil {
		t.Fatal(err)
	}
	chat := fd.Services().ByName("ChatService").Methods().ByName("CreateCompletion")
	rt := fd.Services().ByName("RealtimeService").Methods()

	t.Run("SSE ends with [DONE]", func(t *testing.T) {
		got, err := serverStream(t, d.conn, chat, `{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if err != nil {
			t.Fatalf("status %v after %v", err, got)
		}
		if strings.Join(got, "|") != `{"choices":[{"delta":{"content":"Hello"}}],"id":"c1"}|{"choices":[{"delta":{"content":" world"}}],"id":"c1"}` {
			t.Errorf("chunks %v", got)
		}
	})
	t.Run("SSE error event", func(t *testing.T) {
		_, err := serverStream(t, d.conn, chat, `{"model":"overloaded","max_tokens":16}`)
		info, ue := wantStatus(t, err, codes.Unknown)
		if info.GetReason() != "UPSTREAM_STREAM_ERROR" || ue == nil || !strings.Contains(ue.GetBody(), "overloaded_error") {
			t.Errorf("reason %q, detail %v", info.GetReason(), ue)
		}
	})
	t.Run("WebSocket done frame", func(t *testing.T) {
		got, err := serverStream(t, d.conn, rt.ByName("Listen"), `{"session_id":"s-1","input_text":"hello"}`)
		if err != nil || strings.Join(got, "|") != `{"deltaText":"Hi s-1","type":"delta"}` {
			t.Fatalf("%v, %v", got, err)
		}
		if c := <-peer.closes; c != "/v1/realtime/s-1 StatusNormalClosure" {
			t.Errorf("peer saw %s", c)
		}
	})
	t.Run("WebSocket half-close", func(t *testing.T) {
		md := rt.ByName("Talk")
		s, err := d.conn.NewStream(callCtx(t), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/ai.v1.RealtimeService/Talk")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(message(t, md.Input(), `{"type":"text","delta_text":"one"}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			m := dynamicpb.NewMessage(md.Output())
			if err := s.RecvMsg(m); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("status %v after %v", err, got)
				}
				break
			}
			b, _ := protojson.Marshal(m)
			got = append(got, compact(b))
		}
		if strings.Join(got, "|") != `{"deltaText":"one","type":"ack"}|{"deltaText":"answer","type":"delta"}` {
			t.Errorf("events %v", got)
		}
		if c := <-peer.closes; c != "/v1/talk StatusNormalClosure" {
			t.Errorf("peer saw %s", c)
		}
	})
}

// serverStream calls a server-streaming method and collects the messages
// as compact protojson until the status.
func serverStream(t *testing.T, conn *grpc.ClientConn, md protoreflect.MethodDescriptor, req string) ([]string, error) {
	t.Helper()
	name := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	s, err := conn.NewStream(callCtx(t), &grpc.StreamDesc{ServerStreams: true}, name)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(message(t, md.Input(), req)); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var got []string
	for {
		m := dynamicpb.NewMessage(md.Output())
		if err := s.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		b, _ := protojson.Marshal(m)
		got = append(got, compact(b))
	}
}

func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
