package demo

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// ticker is the demo's WebSocket price feed. A client sends one
// subscription frame, {"symbol": "GOPH", "count": 3, "after_seq": "0"} (proto names),
// and receives count ticks after after_seq as JSON text frames, then a
// normal close (1000).
type ticker struct{}

// subscription is a ticker client's first frame.
type subscription struct {
	Symbol   string `json:"symbol"`
	Count    int64  `json:"count"`
	AfterSeq string `json:"after_seq"`
}

// tick is one frame of the feed; the price is a decimal string.
type tick struct {
	Seq    string `json:"seq"`
	Symbol string `json:"symbol"`
	Price  string `json:"price"`
}

// maxTicks bounds one subscription.
const maxTicks = 1000

// handler serves GET /ticks.
func (ticker) handler(ctx context.Context) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ticks" {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		var sub subscription
		if err := wsjson.Read(ctx, c, &sub); err != nil {
			return
		}
		after, err := strconv.ParseInt(sub.AfterSeq, 10, 64)
		if sub.AfterSeq == "" {
			after, err = 0, nil
		}
		if err != nil || sub.Count < 0 || sub.Count > maxTicks || sub.Symbol == "" {
			_ = c.Close(websocket.StatusPolicyViolation, fmt.Sprintf("want a symbol and 0 to %d ticks", maxTicks))
			return
		}
		for seq := after + 1; seq <= after+sub.Count; seq++ {
			cents := 10000 + 25*seq
			t := tick{Seq: strconv.FormatInt(seq, 10), Symbol: sub.Symbol, Price: fmt.Sprintf("%d.%02d", cents/100, cents%100)}
			if err := wsjson.Write(ctx, c, t); err != nil {
				return
			}
		}
		_ = c.Close(websocket.StatusNormalClosure, "done")
	})
}

// chat is the demo's WebSocket echo chat: every frame
// {"user": "ann", "text": "hello"} is answered with
// {"user": "echo", "text": "ann said: hello"}; after answering a frame whose
// text is "bye" it closes normally (1000), which ends the gRPC stream.
type chat struct{}

// chatMessage is one frame either way.
type chatMessage struct {
	User string `json:"user"`
	Text string `json:"text"`
}

// handler serves GET /chat.
func (chat) handler(ctx context.Context) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/chat" {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			var m chatMessage
			if err := wsjson.Read(ctx, c, &m); err != nil {
				return
			}
			if err := wsjson.Write(ctx, c, chatMessage{User: "echo", Text: m.User + " said: " + m.Text}); err != nil {
				return
			}
			if m.Text == "bye" {
				_ = c.Close(websocket.StatusNormalClosure, "bye")
				return
			}
		}
	})
}
