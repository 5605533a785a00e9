package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/protobridge/protobridge/bridge"
)

// TestRecordAndReplayAnEventStream records an SSE reply read as it
// arrives, with the time of each event, and replays it event by event.
func TestRecordAndReplayAnEventStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "id: %d\ndata: {\"n\":%d}\n\n", i, i)
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer up.Close()
	dir := t.TempDir()
	req, _ := http.NewRequest(http.MethodGet, up.URL+"/v1/things", nil)
	resp, err, _ := do(t, New(Flags{Mode: Record, Dir: dir}, "t", nil), nil, nil, http.DefaultTransport, req)
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, resp)
	entries, err := readHARs(dir, "up")
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	chunks := entries[0].Chunks
	if len(chunks) < 3 || chunks[len(chunks)-1].Offset <= chunks[0].Offset {
		t.Fatalf("the events were not recorded one by one with their times: %+v", chunks)
	}
	for _, speed := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, "http://up/v1/things", nil)
		resp, err, _ := do(t, New(Flags{Mode: Replay, Dir: dir}, "t", nil), &Config{Match: MatchConfig{RecordedSpeed: speed}}, nil, nil, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("replayed Content-Type %q", resp.Header.Get("Content-Type"))
		}
		if got := readAll(t, resp); got != want {
			t.Errorf("replayed (recorded speed %v)\n%q\nrecorded\n%q", speed, got, want)
		}
	}
}

// TestReplayASocketWithChaos replays a recorded socket to a coder/websocket
// client, whole and then cut by ws_close_after.
func TestReplayASocketWithChaos(t *testing.T) {
	dir := t.TempDir()
	w, _ := newHARWriter(dir, "up", 10, "t")
	msgs := []WSMessage{{Type: "send", Opcode: 1, Data: `{"sub":"x"}`}}
	for i := 1; i <= 3; i++ {
		msgs = append(msgs, WSMessage{Type: "receive", Opcode: 1, Data: fmt.Sprintf(`{"seq":%d}`, i)})
	}
	msgs = append(msgs, WSMessage{Type: "receive", Opcode: 8, Data: "1000 done"})
	if err := w.add(Entry{Route: "test.v1.Things/Create", StartedDateTime: "2026-01-02T03:04:05Z",
		Request:           Request{Method: "GET", URL: "http://up/ticks", Headers: []NameValue{{"Upgrade", "websocket"}}},
		Response:          Response{Status: 101},
		WebSocketMessages: msgs}); err != nil {
		t.Fatal(err)
	}
	read := func(c *Config) ([]string, error) {
		sb := New(Flags{Mode: Replay, Dir: dir}, "t", nil)
		wrap, err := sb.Transport(&bridge.Upstream{Name: "up"}, c, "", bridge.NewRedactor())
		if err != nil {
			t.Fatal(err)
		}
		sb.Commit()
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), stateKey{}, &state{route: route(t)}), 10*time.Second)
		defer cancel()
		conn, _, err := ws.Dial(ctx, "ws://up/ticks", &ws.DialOptions{HTTPClient: &http.Client{Transport: wrap(nil)}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		if err := conn.Write(ctx, ws.MessageText, []byte(`{ "sub" : "x" }`)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return got, err
			}
			got = append(got, string(b))
		}
	}
	got, err := read(nil)
	if ws.CloseStatus(err) != ws.StatusNormalClosure || strings.Join(got, " ") != `{"seq":1} {"seq":2} {"seq":3}` {
		t.Fatalf("replayed %v, then %v", got, err)
	}
	got, err = read(&Config{Chaos: &Chaos{WSCloseAfter: 2}})
	if len(got) != 2 || err == nil || ws.CloseStatus(err) != -1 {
		t.Fatalf("ws_close_after 2: %v, then %v (want a cut without a close frame)", got, err)
	}
}

// TestReplayASharedSocketInAnyOrder replays the socket unary calls share
// (dialled outside any call), recorded with calls overlapping: each reply
// goes with the request of the same correlation id (string or number), and
// each frame sent is answered with its recorded request's replies,
// whatever the order the calls come in, carrying the caller's own id; a
// frame no recording has closes the socket with 1008.
func TestReplayASharedSocketInAnyOrder(t *testing.T) {
	dir := t.TempDir()
	w, _ := newHARWriter(dir, "up", 10, "t")
	if err := w.add(Entry{StartedDateTime: "2026-01-02T03:04:05Z",
		Request:  Request{Method: "GET", URL: "http://up/rpc", Headers: []NameValue{{"Upgrade", "websocket"}}},
		Response: Response{Status: 101},
		WebSocketMessages: []WSMessage{
			{Type: "send", Opcode: 1, Data: `{"id":"rec-aaaa","q":"price"}`},
			{Type: "send", Opcode: 1, Data: `{"id":"rec-bbbb","q":"stock"}`},
			{Type: "send", Opcode: 1, Data: `{"id":7,"q":"name"}`},
			{Type: "receive", Opcode: 1, Data: `{"id":"rec-bbbb","count":7}`},
			{Type: "receive", Opcode: 1, Data: `{"id":7,"name":"seven"}`},
			{Type: "receive", Opcode: 1, Data: `{"id":"rec-aaaa","cents":250}`},
			{Type: "send", Opcode: 8, Data: "1001 going away"},
		}}); err != nil {
		t.Fatal(err)
	}
	sb := New(Flags{Mode: Replay, Dir: dir}, "t", nil)
	wrap, err := sb.Transport(&bridge.Upstream{Name: "up"}, &Config{Match: MatchConfig{IgnoreFields: []string{"id"}}}, "", bridge.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	sb.Commit()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := ws.Dial(ctx, "ws://up/rpc", &ws.DialOptions{HTTPClient: &http.Client{Transport: wrap(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	ask := func(frame string) (any, error) {
		if err := conn.Write(ctx, ws.MessageText, []byte(frame)); err != nil {
			return nil, err
		}
		_, b, err := conn.Read(ctx)
		return decodeJSON(b), err
	}
	for _, tc := range []struct{ send, want string }{
		{`{"q":"stock","id":"live-0001"}`, `{"id":"live-0001","count":7}`},
		{`{"id":"live-0002","q":"price"}`, `{"id":"live-0002","cents":250}`},
		{`{"id":12,"q":"name"}`, `{"id":12,"name":"seven"}`},
		{`{"id":"live-0003","q":"price"}`, `{"id":"live-0003","cents":250}`}, // the last answer repeats
	} {
		if got, err := ask(tc.send); err != nil || !reflect.DeepEqual(got, decodeJSON([]byte(tc.want))) {
			t.Fatalf("sent %s: got %v, %v; want %s", tc.send, got, err, tc.want)
		}
	}
	if _, err := ask(`{"id":"live-0004","q":"refund"}`); ws.CloseStatus(err) != ws.StatusPolicyViolation {
		t.Fatalf("a frame no recording has: %v, want a 1008 close", err)
	}
}
